package face

import (
	"errors"
	"image"
	"testing"
)

// A tight crop of the astronaut's face has no room for the cascade: the
// detector finds it in a copy with a border, and DescribeLargest gives the
// face back in the crop's own coordinates with about the descriptor of the
// whole photo's face.
func TestDescribeLargestTightCrop(t *testing.T) {
	img := loadAstronaut(t)
	det := loadDetector(t)
	net, err := LoadDescriptorNet(DefaultDir())
	if err != nil {
		t.Skip(err)
	}
	testDetMu.Lock()
	defer testDetMu.Unlock()
	whole, wf, err := DescribeLargest(det, net, img)
	if err != nil {
		t.Fatal(err)
	}
	if f, src := det.LargestFace(img); f == nil || src != img {
		t.Fatalf("whole photo: face %v, found in a bordered copy: %v", f, src != img)
	}
	crop := toRGBA(img).SubImage(image.Rect(170, 70, 280, 180)) // 110×110 around the eyes and mouth
	tight := toRGBA(crop)
	if faces := det.Detect(tight); len(faces) != 0 {
		t.Skipf("the cascade found the tight crop's face without a border (%d faces): nothing to test", len(faces))
	}
	f, src := det.LargestFace(tight)
	if f == nil || src == image.Image(tight) || src.Bounds().Dx() != 110+2*Border(tight) {
		t.Fatalf("tight crop: face %v, source %v", f, src.Bounds())
	}
	d, cf, err := DescribeLargest(det, net, tight)
	if err != nil {
		t.Fatal(err)
	}
	// In the crop's coordinates: the whole photo's eyes moved by (-170, -70).
	for i, p := range []Point{cf.LeftEye, cf.RightEye} {
		want := []Point{wf.LeftEye, wf.RightEye}[i]
		if dist(p, Point{want[0] - 170, want[1] - 70}) > 3 {
			t.Errorf("eye %d at %.1f, want near %.1f", i, p, Point{want[0] - 170, want[1] - 70})
		}
	}
	if dd := d.Distance(whole); dd > 0.3 {
		t.Errorf("descriptor of the tight crop is %.3f from the whole photo's", dd)
	}
	blank := image.NewRGBA(image.Rect(0, 0, 64, 64))
	if _, f, err := DescribeLargest(det, net, blank); !errors.Is(err, ErrNoFace) || f != nil {
		t.Errorf("blank image: %v, %v", f, err)
	}
}
