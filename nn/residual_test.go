package nn

import (
	"math/rand/v2"
	"testing"

	"forger/tensor"
)

func TestGradScale(t *testing.T) {
	rng := rand.New(rand.NewPCG(40, 0))
	for _, bias := range []bool{true, false} {
		s := NewScale(5, bias)
		s.Weight.Value.FillNormal(rng, 1, 0.5)
		if bias {
			s.Bias.Value.FillNormal(rng, 0, 0.5)
		}
		checkGradients(t, "scale", s, randTensor(rng, 2, 3, 4, 5), 1e-2)
	}
	s := NewScale(2, true)
	s.Weight.Value.Data[0], s.Weight.Value.Data[1] = 2, -1
	s.Bias.Value.Data[0], s.Bias.Value.Data[1] = 1, 0.5
	y := s.Forward(tensor.FromData([]float32{1, 2, 3, 4}, 2, 2))
	for i, want := range []float32{3, -1.5, 7, -3.5} {
		if y.Data[i] != want {
			t.Fatalf("scale = %v", y.Data)
		}
	}
}

func TestZeroPad(t *testing.T) {
	x := tensor.FromData([]float32{1, 2, 3, 4, 5, 6, 7, 8}, 1, 2, 2, 2)
	p := &ZeroPad{Top: 1, Right: 1, ChanAfter: 1}
	y := p.Forward(x)
	if !tensor.SameShape(y.Shape, []int{1, 3, 3, 3}) {
		t.Fatalf("shape %v", y.Shape)
	}
	want := []float32{
		0, 0, 0, 0, 0, 0, 0, 0, 0,
		1, 2, 0, 3, 4, 0, 0, 0, 0,
		5, 6, 0, 7, 8, 0, 0, 0, 0,
	}
	for i, v := range want {
		if y.Data[i] != v {
			t.Fatalf("padded = %v\nwant %v", y.Data, want)
		}
	}
	rng := rand.New(rand.NewPCG(41, 0))
	for _, p := range []*ZeroPad{NewZeroPad(0, 1, 0, 1), NewChannelPad(0, 3), NewChannelPad(2, 1), {Top: 2, Bottom: 1, Left: 1, Right: 3, ChanBefore: 1, ChanAfter: 2}} {
		checkGradients(t, "zeropad", p, randTensor(rng, 2, 3, 4, 2), 1e-2)
	}
}

func TestGradResidual(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 0))
	// Identity shortcut.
	body := NewSequential(NewConv2d(3, 3, 3, 1, 1, true, rng), NewScale(3, true), NewTanh(), NewConv2d(3, 3, 3, 1, 1, false, rng))
	r := NewResidual(body, nil)
	checkGradients(t, "residual", r, randTensor(rng, 2, 5, 5, 3), 1e-2)
	if r.Params()[0].Name != "body.0.weight" {
		t.Fatalf("name %q", r.Params()[0].Name)
	}
	// ResNet's down block: stride-2 body, average-pooled shortcut padded
	// with zero channels, body padded to the shortcut's size.
	conv := NewConv2d(3, 6, 3, 2, 0, true, rng)
	down := NewResidual(
		NewSequential(conv, NewTanh(), NewConv2d(6, 6, 3, 1, 1, true, rng), NewZeroPad(0, 1, 0, 1)),
		NewSequential(NewAvgPool2d(2, 2, 0), NewChannelPad(0, 3)))
	x := randTensor(rng, 2, 8, 8, 3)
	if y := down.Forward(x); !tensor.SameShape(y.Shape, []int{2, 4, 4, 6}) {
		t.Fatalf("down block shape %v", y.Shape)
	}
	checkGradients(t, "residual down", down, x, 1e-2)
	step := func() { down.Backward(down.Forward(x)) }
	step()
	if a := testing.AllocsPerRun(5, step); a != 0 && !raceEnabled {
		t.Fatalf("%.1f allocations per step", a)
	}
}

func TestAdd(t *testing.T) {
	var a Add
	x := tensor.FromData([]float32{1, 2}, 2)
	y := tensor.FromData([]float32{10, 20}, 2)
	z := tensor.FromData([]float32{100, 200}, 2)
	if s := a.Forward(x, y, z); s.Data[0] != 111 || s.Data[1] != 222 {
		t.Fatalf("sum %v", s.Data)
	}
	if s := a.Forward(x); s.Data[1] != 2 || &s.Data[0] == &x.Data[0] {
		t.Fatal("single input must be copied")
	}
	if a.Backward(x) != x {
		t.Fatal("gradient of a sum is dy")
	}
}

// raceEnabled is set by race_test.go under the race detector, whose
// instrumentation allocates (allocation counts are then meaningless).
var raceEnabled bool
