package face

import (
	"bytes"
	"errors"
	"forger/internal/fixture"
	"forger/picture"
	"image"
	"image/color"
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
		fixture.Missing(t, err)
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
	crop := picture.RGBA(img).SubImage(image.Rect(170, 70, 280, 180)) // 110×110 around the eyes and mouth
	tight := picture.RGBA(crop)
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

// AlignLayout with the default layout is Align, and puts the eyes where the
// layout says.
func TestAlignLayout(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 200, 160))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	le, re := Point{60, 70}, Point{120, 80}
	a, b := Align(img, le, re, 64, EdgeReplicate), AlignLayout(img, le, re, 64, DefaultLayout, EdgeReplicate)
	if !bytes.Equal(a.Pix, b.Pix) {
		t.Error("AlignLayout(DefaultLayout) differs from Align")
	}
	// A bright 5×5 square on each eye lands at the layout's places.
	l := Layout{0.37, 0.63, 0.57}
	dot := image.NewRGBA(image.Rect(0, 0, 200, 160))
	for _, p := range []Point{le, re} {
		for y := -2; y <= 2; y++ {
			for x := -2; x <= 2; x++ {
				dot.Set(int(p[0])+x, int(p[1])+y, color.White)
			}
		}
	}
	out := AlignLayout(dot, Point{le[0] + 0.5, le[1] + 0.5}, Point{re[0] + 0.5, re[1] + 0.5}, 100, l, EdgeBlack)
	for _, want := range []image.Point{{37, 57}, {63, 57}} {
		if r, _, _, _ := out.At(want.X, want.Y).RGBA(); r < 0x8000 {
			t.Errorf("no eye at %v (red %#x)", want, r)
		}
		if r, _, _, _ := out.At(want.X, want.Y+5).RGBA(); r > 0x1000 {
			t.Errorf("the eye at %v reaches 5 pixels down (red %#x)", want, r)
		}
	}
}
