package face

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"forger/internal/fixture"
	"forger/picture"
	"image"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"

	xdraw "golang.org/x/image/draw"
)

// astronautPath is scikit-image's astronaut.png (Debian python3-skimage):
// Eileen Collins, NASA, public domain; 512×512.
const astronautPath = "/usr/lib/python3/dist-packages/skimage/data/astronaut.png"

// Face-api.js's own eye centres on astronaut.png: the means of landmarks
// 36–41 and 42–47 of reference.json's face_h_astronaut.png case (face-api
// 1.7.15 on a crop of box 166,75 111×111 resized to 150), mapped back to
// the photo's pixels.
var (
	astronautLeftEye  = Point{202.95, 101.01}
	astronautRightEye = Point{245.77, 103.14}
)

func loadAstronaut(t testing.TB) image.Image {
	t.Helper()
	if _, err := os.Stat(astronautPath); err != nil {
		fixture.Missingf(t, "%s is missing (apt-get install python3-skimage)", astronautPath)
	}
	img, err := LoadImage(astronautPath)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// The detector is shared by the tests (loading it takes a moment).
var (
	testDetOnce sync.Once
	testDet     *Detector
	testDetErr  error
	testDetMu   sync.Mutex // a Detector is not safe for concurrent use
)

func loadDetector(t testing.TB) *Detector {
	t.Helper()
	testDetOnce.Do(func() { testDet, testDetErr = LoadDetector(DefaultDir()) })
	if testDetErr != nil {
		fixture.Missingf(t, "%v (the detection tests need the face models)", testDetErr)
	}
	return testDet
}

func detect(t testing.TB, img image.Image) []Face {
	d := loadDetector(t)
	testDetMu.Lock()
	defer testDetMu.Unlock()
	return d.Detect(img)
}

// demoPhoto loads one of face-api's demo photos, installed beside the
// models by `forger models get face`.
func demoPhoto(t testing.TB, name string) image.Image {
	t.Helper()
	p := filepath.Join(DefaultDir(), name)
	if _, err := os.Stat(p); err != nil {
		fixture.Missingf(t, "%s is missing: run 'forger models get face'", p)
	}
	img, err := LoadImage(p)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func dist(a, b Point) float64 { return math.Hypot(a[0]-b[0], a[1]-b[1]) }

func TestDetectAstronaut(t *testing.T) {
	img := loadAstronaut(t)
	faces := detect(t, img)
	if len(faces) != 1 {
		t.Fatalf("%d faces, want 1: %+v", len(faces), faces)
	}
	f := faces[0]
	t.Logf("box %+v score %.1f eyes %.2f %.2f (face-api: %.2f %.2f) angle %.2f°",
		f.Box, f.Score, f.LeftEye, f.RightEye, astronautLeftEye, astronautRightEye, f.Angle*180/math.Pi)
	if !f.EyesOK {
		t.Errorf("eyes not trusted: %s", f.Problem)
	}
	// Within 2 px of face-api's own landmarks (eyes 43 px apart).
	if d := dist(f.LeftEye, astronautLeftEye); d > 2 {
		t.Errorf("left eye %.2f is %.2f px from face-api's %.2f", f.LeftEye, d, astronautLeftEye)
	}
	if d := dist(f.RightEye, astronautRightEye); d > 2 {
		t.Errorf("right eye %.2f is %.2f px from face-api's %.2f", f.RightEye, d, astronautRightEye)
	}
	// The box holds the eyes, in its upper half.
	for _, e := range []Point{f.LeftEye, f.RightEye} {
		if e[0] < f.Box.X || e[0] > f.Box.X+f.Box.W || e[1] < f.Box.Y || e[1] > f.Box.Y+f.Box.H/2 {
			t.Errorf("eye %.1f outside the upper half of box %+v", e, f.Box)
		}
	}
	for i, p := range f.Pupils {
		if d := dist(p, [2]Point{f.LeftEye, f.RightEye}[i]); d > 0.35*f.EyeDistance() {
			t.Errorf("pupil %d at %.1f, %.1f px from the landmark eye", i, p, d)
		}
	}
}

// faceAt reports whether one of faces has its box centre inside r.
func faceAt(faces []Face, r Box) bool {
	for _, f := range faces {
		c := f.Box.Center()
		if c[0] > r.X && c[0] < r.X+r.W && c[1] > r.Y && c[1] < r.Y+r.H {
			return true
		}
	}
	return false
}

func TestDetectGroupPhoto(t *testing.T) {
	// face-api's sample3.jpg: three women; the boxes of two of them from
	// face/testdata/README.md (found by face-api's own detector).
	img := demoPhoto(t, "sample3.jpg")
	faces := detect(t, img)
	for _, f := range faces {
		t.Logf("box %.0f,%.0f %.0fx%.0f score %.1f eyes %.1f %.1f ok %v %s", f.Box.X, f.Box.Y, f.Box.W, f.Box.H, f.Score, f.LeftEye, f.RightEye, f.EyesOK, f.Problem)
	}
	if len(faces) != 3 {
		t.Errorf("%d faces in sample3.jpg, want 3", len(faces))
	}
	for name, r := range map[string]Box{"left (face_a_s3)": {563, 369, 250, 250}, "right (face_f_s3_wide)": {1436, 338, 312, 260}} {
		if !faceAt(faces, r) {
			t.Errorf("no face found in the %s box %+v", name, r)
		}
	}
	for i := 1; i < len(faces); i++ {
		if faces[i].Box.W*faces[i].Box.H > faces[i-1].Box.W*faces[i-1].Box.H {
			t.Errorf("faces not sorted largest first")
		}
	}
}

// rotateImage turns img by deg degrees (clockwise on screen) about its
// centre into an image of the same size (corners black) and returns the
// mapping of points.
func rotateImage(img image.Image, deg float64) (*image.RGBA, Similarity) {
	b := img.Bounds()
	w, h := float64(b.Dx()), float64(b.Dy())
	s := Similarity{Scale: 1, Angle: deg * math.Pi / 180}
	c := s.Apply(Point{w / 2, h / 2})
	s.Tx, s.Ty = w/2-c[0], h/2-c[1]
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	xdraw.CatmullRom.Transform(dst, s.Aff3(), img, b, xdraw.Src, nil)
	return dst, s
}

// meanAbsDiff is the mean absolute difference of the RGB values of two
// images of the same size over the rectangle r.
func meanAbsDiff(a, b *image.RGBA, r image.Rectangle) float64 {
	var sum float64
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			i, j := a.PixOffset(x, y), b.PixOffset(x, y)
			for c := 0; c < 3; c++ {
				sum += math.Abs(float64(a.Pix[i+c]) - float64(b.Pix[j+c]))
				n++
			}
		}
	}
	return sum / float64(n)
}

// The proof that alignment works: the astronaut and a copy turned by 20°
// give the same aligned crop, and the eyes found in the copy are the
// original's turned. A mirrored copy, aligned the same way, differs a lot
// (the measure can tell).
func TestAlignUndoesRotation(t *testing.T) {
	img := loadAstronaut(t)
	orig := detect(t, img)
	if len(orig) != 1 {
		t.Fatalf("%d faces in the original", len(orig))
	}
	const size = 128
	want := Align(img, orig[0].LeftEye, orig[0].RightEye, size, EdgeReplicate)
	face := image.Rect(size/5, size/5, size*4/5, size*9/10) // eyes to chin
	for _, deg := range []float64{20, -12} {
		rot, s := rotateImage(img, deg)
		faces := detect(t, rot)
		if len(faces) != 1 {
			t.Fatalf("rotated %g°: %d faces", deg, len(faces))
		}
		f := faces[0]
		if d := dist(f.LeftEye, s.Apply(orig[0].LeftEye)); d > 1.5 {
			t.Errorf("rotated %g°: left eye %.2f, want %.2f (%.2f px off)", deg, f.LeftEye, s.Apply(orig[0].LeftEye), d)
		}
		if d := dist(f.RightEye, s.Apply(orig[0].RightEye)); d > 1.5 {
			t.Errorf("rotated %g°: right eye %.2f, want %.2f (%.2f px off)", deg, f.RightEye, s.Apply(orig[0].RightEye), d)
		}
		if a := f.Angle * 180 / math.Pi; math.Abs(a-deg-orig[0].Angle*180/math.Pi) > 1 {
			t.Errorf("rotated %g°: eye line at %.2f°, original's at %.2f°", deg, a, orig[0].Angle*180/math.Pi)
		}
		got := Align(rot, f.LeftEye, f.RightEye, size, EdgeReplicate)
		diff := meanAbsDiff(want, got, face)
		t.Logf("rotated %g°: aligned crops differ by %.2f levels on average", deg, diff)
		if diff > 6 {
			t.Errorf("rotated %g°: aligned crop differs from the original's by %.2f levels (want ≤ 6)", deg, diff)
		}
	}
	flipped := image.NewRGBA(img.Bounds())
	b := img.Bounds()
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			flipped.Set(b.Dx()-1-x, y, img.At(x, y))
		}
	}
	faces := detect(t, flipped)
	if len(faces) != 1 {
		t.Fatalf("mirrored: %d faces", len(faces))
	}
	diff := meanAbsDiff(want, Align(flipped, faces[0].LeftEye, faces[0].RightEye, size, EdgeReplicate), face)
	t.Logf("mirrored: aligned crops differ by %.2f levels", diff)
	if diff < 15 {
		t.Errorf("the mirrored astronaut's crop differs by only %.2f: the measure cannot tell faces apart", diff)
	}
}

// exifJPEG encodes img as a JPEG with an APP1 Exif segment holding only
// an orientation tag.
func exifJPEG(t testing.TB, img image.Image, orientation uint16, bigEndian bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	var bo binary.AppendByteOrder = binary.LittleEndian
	tiff := []byte("II*\x00")
	if bigEndian {
		bo, tiff = binary.BigEndian, []byte("MM\x00*")
	}
	tiff = bo.AppendUint32(tiff, 8)           // IFD0 offset
	tiff = bo.AppendUint16(tiff, 1)           // one entry
	tiff = bo.AppendUint16(tiff, 0x0112)      // Orientation
	tiff = bo.AppendUint16(tiff, 3)           // SHORT
	tiff = bo.AppendUint32(tiff, 1)           // count
	tiff = bo.AppendUint16(tiff, orientation) // value, padded to 4 bytes
	tiff = bo.AppendUint16(tiff, 0)
	tiff = bo.AppendUint32(tiff, 0) // no next IFD
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := binary.BigEndian.AppendUint16([]byte{0xFF, 0xE1}, uint16(2+len(payload)))
	seg = append(seg, payload...)
	b := buf.Bytes()
	return append(append(append([]byte{}, b[:2]...), seg...), b[2:]...)
}

// A JPEG stored turned 90° counter-clockwise with orientation 6 ("turn 90°
// clockwise to display") is detected as the upright photo.
func TestDetectEXIFOrientation(t *testing.T) {
	img := loadAstronaut(t)
	orig := detect(t, img)
	if len(orig) != 1 {
		t.Fatalf("%d faces in the original", len(orig))
	}
	stored := Orient(img, 8) // turned 90° counter-clockwise
	for _, be := range []bool{false, true} {
		decoded, err := DecodeImage(exifJPEG(t, stored, 6, be))
		if err != nil {
			t.Fatal(err)
		}
		if decoded.Bounds() != img.Bounds() {
			t.Fatalf("decoded %v, want %v", decoded.Bounds(), img.Bounds())
		}
		faces := detect(t, decoded)
		if len(faces) != 1 {
			t.Fatalf("big endian %v: %d faces", be, len(faces))
		}
		if d := math.Max(dist(faces[0].LeftEye, orig[0].LeftEye), dist(faces[0].RightEye, orig[0].RightEye)); d > 1.5 {
			t.Errorf("big endian %v: eyes %.2f %.2f, upright photo's %.2f %.2f", be, faces[0].LeftEye, faces[0].RightEye, orig[0].LeftEye, orig[0].RightEye)
		}
	}
}

func TestNoFace(t *testing.T) {
	// A photo with no face: scikit-image's coffee cup.
	p := filepath.Join(filepath.Dir(astronautPath), "coffee.png")
	img, err := LoadImage(p)
	if err != nil {
		fixture.Missing(t, err)
	}
	if faces := detect(t, img); len(faces) != 0 {
		t.Errorf("%d faces in coffee.png: %+v", len(faces), faces[0].Box)
	}
}

// faceapiPipeline is face/testdata/faceapi_pipeline.json: face-api.js's
// detectAllFaces().withFaceLandmarks().withFaceDescriptors() on whole
// photos (see scripts/face/pipeline-reference.mjs).
type faceapiPipeline struct {
	Photos map[string]struct {
		Width, Height int
		Faces         []struct {
			Box           [4]float64     `json:"box"`
			DescriptorBox [4]int         `json:"descriptor_box"`
			Landmarks     [68][2]float32 `json:"landmarks"`
			Descriptor    Descriptor     `json:"descriptor"`
		} `json:"faces"`
	} `json:"photos"`
}

// Given face-api's landmarks, DescriptorBox and EmbedFace cut face-api's
// crop and give its descriptor (within maxDescriptorDistance); from our own
// detection, the eyes are within a few pixels of face-api's and the
// descriptor is the same person's by a wide margin.
func TestEmbedFaceMatchesFaceAPI(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "faceapi_pipeline.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref faceapiPipeline
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	net := loadDescriptor(t)
	photos := map[string]func() image.Image{
		"astronaut.png": func() image.Image { return loadAstronaut(t) },
		"sample3.jpg":   func() image.Image { return demoPhoto(t, "sample3.jpg") },
	}
	for name, load := range photos {
		p, ok := ref.Photos[name]
		if !ok || len(p.Faces) == 0 {
			t.Fatalf("no faces of %s in faceapi_pipeline.json", name)
		}
		img := load()
		if b := img.Bounds(); b.Dx() != p.Width || b.Dy() != p.Height {
			t.Fatalf("%s: %v, face-api saw %dx%d", name, b, p.Width, p.Height)
		}
		ours := detect(t, img)
		for i, f := range p.Faces {
			lm := Landmarks(f.Landmarks)
			want := image.Rect(f.DescriptorBox[0], f.DescriptorBox[1], f.DescriptorBox[0]+f.DescriptorBox[2], f.DescriptorBox[1]+f.DescriptorBox[3])
			want = want.Intersect(image.Rect(0, 0, p.Width, p.Height))
			if got := DescriptorBox(&lm, p.Width, p.Height); got != want {
				t.Errorf("%s face %d: DescriptorBox %v, face-api cut %v", name, i, got, want)
			}
			if d := net.EmbedFace(img, &lm).Distance(f.Descriptor); d > maxDescriptorDistance {
				t.Errorf("%s face %d: descriptor from face-api's landmarks is %.5f from face-api's", name, i, d)
			}
			le, re := eyeCentres(&lm)
			var match *Face
			for j := range ours {
				if dist(ours[j].LeftEye, le) < 0.1*dist(le, re) {
					match = &ours[j]
				}
			}
			if match == nil {
				t.Errorf("%s face %d (box %.0f): not detected", name, i, f.Box)
				continue
			}
			eyes := math.Max(dist(match.LeftEye, le), dist(match.RightEye, re))
			d := net.EmbedFace(img, &match.Landmarks).Distance(f.Descriptor)
			t.Logf("%s face %d: our eyes within %.2f px of face-api's (eye distance %.1f); descriptor %.4f from face-api's", name, i, eyes, dist(le, re), d)
			if eyes > 0.05*dist(le, re) {
				t.Errorf("%s face %d: our eyes are %.2f px from face-api's", name, i, eyes)
			}
			if d > 0.2 {
				t.Errorf("%s face %d: our descriptor is %.4f from face-api's", name, i, d)
			}
		}
	}
}

// Tilting a face moves the descriptor of face-api's (unturned) crop a lot,
// that of the upright crop little: the reason forger's index uses the
// latter.
func TestEmbedFaceUprightIgnoresTilt(t *testing.T) {
	img := loadAstronaut(t)
	net := loadDescriptor(t)
	orig := detect(t, img)
	if len(orig) != 1 {
		t.Fatalf("%d faces", len(orig))
	}
	refAPI := net.EmbedFace(img, &orig[0].Landmarks)
	ref := net.EmbedFaceUpright(img, &orig[0].Landmarks)
	t.Logf("original (tilted %.1f°): upright crop's descriptor %.4f from face-api crop's", orig[0].Angle*180/math.Pi, ref.Distance(refAPI))
	for _, deg := range []float64{-25, 25} {
		rot, _ := rotateImage(img, deg)
		faces := detect(t, rot)
		if len(faces) != 1 {
			t.Fatalf("%g°: %d faces", deg, len(faces))
		}
		api := net.EmbedFace(rot, &faces[0].Landmarks).Distance(refAPI)
		up := net.EmbedFaceUpright(rot, &faces[0].Landmarks).Distance(ref)
		t.Logf("turned %+g°: descriptor moved by %.3f (face-api's crop), %.3f (upright crop)", deg, api, up)
		if up > 0.2 {
			t.Errorf("turned %+g°: the upright crop's descriptor moved by %.3f", deg, up)
		}
		if api < 2*up {
			t.Errorf("turned %+g°: face-api's crop moved by only %.3f (upright %.3f): is the upright crop still needed?", deg, api, up)
		}
	}
}

// checkEyes refuses landmarks whose mouth is above the eyes.
func TestCheckEyesRejects(t *testing.T) {
	img := loadAstronaut(t)
	faces := detect(t, img)
	if len(faces) != 1 || !faces[0].EyesOK {
		t.Fatalf("faces %+v", faces)
	}
	f := faces[0]
	if m := f.MouthOffset; math.Abs(m[0]) > 0.2 || m[1] < 0.8 || m[1] > 1.4 {
		t.Errorf("mouth at %.2f eye distances from the eyes, want about (0, 1)", m)
	}
	eyeY := float32((f.LeftEye[1] + f.RightEye[1]) / 2)
	for i := 48; i < 68; i++ {
		f.Landmarks[i][1] = 2*eyeY - f.Landmarks[i][1] // mouth mirrored above the eyes
	}
	d := loadDetector(t)
	testDetMu.Lock()
	d.checkEyes(picture.RGBA(img), &f)
	testDetMu.Unlock()
	if f.EyesOK || f.Problem == "" {
		t.Errorf("a mouth above the eyes passed: %+v", f.MouthOffset)
	}
	t.Logf("problem: %s", f.Problem)
}
