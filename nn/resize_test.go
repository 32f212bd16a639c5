package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"forger/tensor"
)

func TestResizeBilinearLegacy(t *testing.T) {
	// 1×4 → 1×3 (legacy): sources 0, 4/3, 8/3.
	x := tensor.FromData([]float32{0, 10, 20, 30}, 1, 1, 4, 1)
	r := NewResizeBilinear(1, 3)
	y := r.Forward(x)
	want := []float64{0, 10 + 10.0/3, 20 + 20.0/3}
	for i, w := range want {
		if math.Abs(float64(y.Data[i])-w) > 1e-5 {
			t.Fatalf("legacy resize = %v, want %v", y.Data, want)
		}
	}
	// Upsampling clamps at the last pixel: 1×2 → 1×4: sources 0, .5, 1, 1.5.
	x = tensor.FromData([]float32{0, 8}, 1, 1, 2, 1)
	r = NewResizeBilinear(1, 4)
	y = r.Forward(x)
	for i, w := range []float32{0, 4, 8, 8} {
		if y.Data[i] != w {
			t.Fatalf("legacy upsample = %v", y.Data)
		}
	}
	// Same size is the identity.
	rng := rand.New(rand.NewPCG(50, 0))
	x = randTensor(rng, 2, 5, 6, 3)
	r = NewResizeBilinear(5, 6)
	if d := tensor.MaxAbsDiff(r.Forward(x), x); d != 0 {
		t.Fatalf("identity resize differs by %g", d)
	}
	// Align corners keeps the corners; half-pixel centres average.
	x = tensor.FromData([]float32{0, 10, 20, 30}, 1, 1, 4, 1)
	r = &ResizeBilinear{OutH: 1, OutW: 2, AlignCorners: true}
	if y := r.Forward(x); y.Data[0] != 0 || y.Data[1] != 30 {
		t.Fatalf("align corners = %v", y.Data)
	}
	r = &ResizeBilinear{OutH: 1, OutW: 2, HalfPixel: true}
	if y := r.Forward(x); y.Data[0] != 5 || y.Data[1] != 25 {
		t.Fatalf("half pixel = %v", y.Data)
	}
}

func TestGradResizeBilinear(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 0))
	for _, r := range []*ResizeBilinear{
		NewResizeBilinear(4, 5), NewResizeBilinear(9, 11), NewResizeBilinear(7, 6),
		{OutH: 9, OutW: 4, AlignCorners: true}, {OutH: 5, OutW: 10, HalfPixel: true},
	} {
		checkGradients(t, "resize", r, randTensor(rng, 2, 7, 6, 3), 1e-2)
	}
	r := NewResizeBilinear(9, 11)
	x := randTensor(rng, 2, 7, 6, 3)
	step := func() { r.Backward(r.Forward(x)) }
	step()
	if a := testing.AllocsPerRun(5, step); a != 0 {
		t.Fatalf("%.1f allocations per step", a)
	}
}
