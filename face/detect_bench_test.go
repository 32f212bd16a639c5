package face

import (
	"testing"

	"forger/picture"
)

// BenchmarkDetectGroupPhoto is Detect on face-api's sample3.jpg (1920×1350,
// three faces): the cascade at five angles plus the landmark passes.
func BenchmarkDetectGroupPhoto(b *testing.B) {
	img := picture.RGBA(demoPhoto(b, "sample3.jpg"))
	d := loadDetector(b)
	benchCalls(b, func() { d.Detect(img) })
}

// BenchmarkCascadeGroupPhoto is the cascade alone (Candidates) on sample3.jpg.
func BenchmarkCascadeGroupPhoto(b *testing.B) {
	img := picture.RGBA(demoPhoto(b, "sample3.jpg"))
	d := loadDetector(b)
	benchCalls(b, func() { d.Candidates(img) })
}

// BenchmarkDetectAstronaut is Detect on astronaut.png (512×512, one face).
func BenchmarkDetectAstronaut(b *testing.B) {
	img := picture.RGBA(loadAstronaut(b))
	d := loadDetector(b)
	benchCalls(b, func() { d.Detect(img) })
}

// BenchmarkAlign256 is the warp alone: a 256×256 aligned crop of the
// astronaut (eyes 43 px apart in the photo: magnified 1.8×).
func BenchmarkAlign256(b *testing.B) {
	img := picture.RGBA(loadAstronaut(b))
	benchCalls(b, func() { Align(img, astronautLeftEye, astronautRightEye, 256, EdgeReplicate) })
}

// BenchmarkEmbedFace is a detected face's descriptor (face-api's crop,
// resized to 150, the network).
func BenchmarkEmbedFace(b *testing.B) {
	img := picture.RGBA(loadAstronaut(b))
	faces := loadDetector(b).Detect(img)
	if len(faces) == 0 {
		b.Fatal("no face")
	}
	net := loadDescriptor(b)
	benchCalls(b, func() { net.EmbedFace(img, &faces[0].Landmarks) })
}
