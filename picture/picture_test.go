package picture

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, ch := range []int{1, 3} {
		const size = 7
		pix := make([]float32, size*size*ch)
		for i := range pix {
			pix[i] = rng.Float32()*2 - 1
		}
		// Include the extremes and the midpoint.
		pix[0], pix[1], pix[2] = -1, 1, 0

		img := FromTensor(pix, size, ch)
		if b := img.Bounds(); b != image.Rect(0, 0, size, size) {
			t.Fatalf("channels=%d: bounds = %v", ch, b)
		}
		got := make([]float32, len(pix))
		ToFloats(img, ch, got)
		for i := range pix {
			if d := math.Abs(float64(got[i] - pix[i])); d > 1.0/255+1e-6 {
				t.Errorf("channels=%d: value %d: %v -> %v, off by %v > 1/255", ch, i, pix[i], got[i], d)
			}
		}
	}
}

func TestFromTensorTypes(t *testing.T) {
	if _, ok := FromTensor(make([]float32, 4), 2, 1).(*image.Gray); !ok {
		t.Error("1 channel: not *image.Gray")
	}
	m, ok := FromTensor(make([]float32, 12), 2, 3).(*image.NRGBA)
	if !ok {
		t.Fatal("3 channels: not *image.NRGBA")
	}
	if !m.Opaque() {
		t.Error("3 channels: image not opaque")
	}
}

func TestFromTensorClipping(t *testing.T) {
	nan := float32(math.NaN())
	inf := float32(math.Inf(1))
	in := []float32{-1, 1, 0, -3, 2, nan, inf, -inf, 0.5}
	want := []uint8{0, 255, 128, 0, 255, 0, 255, 0, 191}
	m := FromTensor(in, 3, 1).(*image.Gray)
	for i := range in {
		if m.Pix[i] != want[i] {
			t.Errorf("%v -> %d, want %d", in[i], m.Pix[i], want[i])
		}
	}
}

func TestFromTensorColourLayout(t *testing.T) {
	// 2×2, NHWC: pixel (1,0) is pure red, pixel (0,1) pure blue.
	pix := make([]float32, 2*2*3)
	for i := range pix {
		pix[i] = -1
	}
	pix[3*1+0] = 1 // (x=1, y=0) R
	pix[3*2+2] = 1 // (x=0, y=1) B
	m := FromTensor(pix, 2, 3)
	if got := m.At(1, 0); got != (color.NRGBA{255, 0, 0, 255}) {
		t.Errorf("At(1,0) = %v, want red", got)
	}
	if got := m.At(0, 1); got != (color.NRGBA{0, 0, 255, 255}) {
		t.Errorf("At(0,1) = %v, want blue", got)
	}
}

func TestFromTensorPanics(t *testing.T) {
	for _, tc := range []struct {
		n, size, ch int
	}{
		{4, 2, 2},  // bad channels
		{5, 2, 1},  // bad length
		{12, 2, 1}, // length for 3 channels
		{0, 0, 1},  // bad size
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("FromTensor(len %d, %d, %d) did not panic", tc.n, tc.size, tc.ch)
				}
			}()
			FromTensor(make([]float32, tc.n), tc.size, tc.ch)
		}()
	}
}

func TestToFloatsConversions(t *testing.T) {
	// Gray to 3 channels replicates.
	g := image.NewGray(image.Rect(0, 0, 2, 1))
	g.Pix[0], g.Pix[1] = 0, 255
	got := make([]float32, 6)
	ToFloats(g, 3, got)
	want := []float32{-1, -1, -1, 1, 1, 1}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("gray->3: got %v, want %v", got, want)
			break
		}
	}

	// Colour to 1 channel uses luminance: pure green is brighter than
	// pure blue, white is 1.
	c := image.NewNRGBA(image.Rect(0, 0, 3, 1))
	copy(c.Pix, []uint8{0, 255, 0, 255, 0, 0, 255, 255, 255, 255, 255, 255})
	lum := make([]float32, 3)
	ToFloats(c, 1, lum)
	if !(lum[0] > lum[1]) || lum[2] != 1 {
		t.Errorf("colour->1: got %v", lum)
	}

	// A sub-image with a non-zero origin and a generic image type.
	r := image.NewRGBA(image.Rect(0, 0, 4, 4))
	r.Set(2, 3, color.RGBA{255, 0, 0, 255})
	sub := r.SubImage(image.Rect(2, 2, 4, 4))
	vals := make([]float32, 2*2*3)
	ToFloats(sub, 3, vals)
	// (2,3) is row 1, column 0 of the sub-image.
	if i := (1*2 + 0) * 3; vals[i] != 1 || vals[i+1] != -1 || vals[i+2] != -1 {
		t.Errorf("sub-image: pixel = %v, want red", vals[i:i+3])
	}
}

func TestToFloatsPanicsOnWrongLength(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic")
		}
	}()
	ToFloats(image.NewGray(image.Rect(0, 0, 2, 2)), 1, make([]float32, 3))
}

func TestUpscale(t *testing.T) {
	g := image.NewGray(image.Rect(0, 0, 2, 2))
	g.Pix = []uint8{10, 20, 30, 40}
	up, ok := Upscale(g, 3).(*image.Gray)
	if !ok {
		t.Fatal("Upscale(*image.Gray) is not *image.Gray")
	}
	if b := up.Bounds(); b != image.Rect(0, 0, 6, 6) {
		t.Fatalf("bounds = %v", b)
	}
	for y := range 6 {
		for x := range 6 {
			if got, want := up.GrayAt(x, y).Y, g.GrayAt(x/3, y/3).Y; got != want {
				t.Errorf("(%d,%d) = %d, want %d", x, y, got, want)
			}
		}
	}

	if Upscale(g, 1) != image.Image(g) {
		t.Error("factor 1 did not return the image itself")
	}

	// A generic image with a non-zero origin becomes an NRGBA at (0,0).
	r := image.NewRGBA(image.Rect(0, 0, 4, 4))
	r.Set(3, 2, color.RGBA{0, 0, 255, 255})
	sub := r.SubImage(image.Rect(2, 2, 4, 4))
	upc, ok := Upscale(sub, 2).(*image.NRGBA)
	if !ok {
		t.Fatal("Upscale(*image.RGBA) is not *image.NRGBA")
	}
	if b := upc.Bounds(); b != image.Rect(0, 0, 4, 4) {
		t.Fatalf("bounds = %v", b)
	}
	// Source (3,2) is sub-image (1,0) -> block x 2..3, y 0..1.
	for _, p := range []image.Point{{2, 0}, {3, 1}} {
		if got := upc.NRGBAAt(p.X, p.Y); got != (color.NRGBA{0, 0, 255, 255}) {
			t.Errorf("%v = %v, want blue", p, got)
		}
	}
	if got := upc.NRGBAAt(1, 1); got != (color.NRGBA{0, 0, 0, 0}) {
		t.Errorf("(1,1) = %v, want transparent", got)
	}
}
