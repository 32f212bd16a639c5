package nn

import (
	"math/rand/v2"
	"testing"

	"forger/tensor"
)

func TestClamp(t *testing.T) {
	c := NewClamp(1.5)
	x := &tensor.Tensor{Data: []float32{-3, -1.5, -0.2, 0, 1.4, 1.5, 2}, Shape: []int{7}}
	y := c.Forward(x)
	want := []float32{-1.5, -1.5, -0.2, 0, 1.4, 1.5, 1.5}
	for i, v := range want {
		if y.Data[i] != v {
			t.Fatalf("Forward %v, want %v", y.Data, want)
		}
	}
	dx := c.Backward(&tensor.Tensor{Data: []float32{1, 2, 3, 4, 5, 6, 7}, Shape: []int{7}})
	// torch.clamp's gradient: passed inside the interval, ends included.
	wantDx := []float32{0, 2, 3, 4, 5, 6, 0}
	for i, v := range wantDx {
		if dx.Data[i] != v {
			t.Fatalf("Backward %v, want %v", dx.Data, wantDx)
		}
	}
	// Away from the ends the gradient is that of finite differences.
	rng := rand.New(rand.NewPCG(3, 4))
	xs := randTensor(rng, 2, 3, 3, 4)
	awayFromZero(xs, 0.05)
	for i, v := range xs.Data {
		if v > 0.9 && v < 1.1 || v < -0.9 && v > -1.1 {
			xs.Data[i] = 0.5
		}
	}
	checkGradients(t, "clamp", NewClamp(1), xs, 1e-2)
}

// TestClampHoldMask: with the mask held, the clamp is the linear map it was
// at the held input, on another input too.
func TestClampHoldMask(t *testing.T) {
	c := NewClamp(1)
	c.Forward(&tensor.Tensor{Data: []float32{-2, 0.5, 3}, Shape: []int{3}})
	c.HoldMask(true)
	y := c.Forward(&tensor.Tensor{Data: []float32{0.5, 4, 0.2}, Shape: []int{3}})
	if y.Data[0] != -1 || y.Data[1] != 4 || y.Data[2] != 1 {
		t.Fatalf("held Forward %v, want [-1 4 1]", y.Data)
	}
	dx := c.Backward(&tensor.Tensor{Data: []float32{1, 1, 1}, Shape: []int{3}})
	if dx.Data[0] != 0 || dx.Data[1] != 1 || dx.Data[2] != 0 {
		t.Fatalf("held Backward %v, want [0 1 0]", dx.Data)
	}
	c.HoldMask(false)
	if y := c.Forward(&tensor.Tensor{Data: []float32{0.5, 4, 0.2}, Shape: []int{3}}); y.Data[1] != 1 {
		t.Fatalf("released Forward %v", y.Data)
	}
}
