package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"forger/tensor"
)

// naiveDepthwise is the direct definition of the depthwise convolution.
func naiveDepthwise(x *tensor.Tensor, d *DepthwiseConv2d) *tensor.Tensor {
	n, h, w, c := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	pt, pl, _, _ := d.pads(h, w)
	ho, wo := d.OutSize(h, w)
	M, O := d.Mult, d.Out()
	y := tensor.New(n, ho, wo, O)
	for b := 0; b < n; b++ {
		for oy := 0; oy < ho; oy++ {
			for ox := 0; ox < wo; ox++ {
				for ci := 0; ci < c; ci++ {
					for m := 0; m < M; m++ {
						var s float64
						if d.Bias != nil {
							s = float64(d.Bias.Value.Data[ci*M+m])
						}
						for ky := 0; ky < d.KH; ky++ {
							for kx := 0; kx < d.KW; kx++ {
								iy, ix := oy*d.Stride-pt+ky, ox*d.Stride-pl+kx
								if iy < 0 || iy >= h || ix < 0 || ix >= w {
									continue
								}
								s += float64(x.Data[((b*h+iy)*w+ix)*c+ci]) * float64(d.Weight.Value.Data[((ky*d.KW+kx)*c+ci)*M+m])
							}
						}
						y.Data[((b*ho+oy)*wo+ox)*O+ci*M+m] = float32(s)
					}
				}
			}
		}
	}
	return y
}

func TestDepthwiseForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(30, 0))
	for _, c := range []struct {
		mult, k, s, pad int
		same, bias      bool
	}{{1, 3, 1, 1, false, true}, {1, 3, 2, 0, true, false}, {2, 3, 2, 1, false, true}, {3, 5, 1, 0, true, true}, {1, 1, 1, 0, false, false}, {1, 3, 2, 0, false, true}} {
		d := NewDepthwiseConv2d(4, c.mult, c.k, c.s, c.pad, c.bias, rng)
		d.Same = c.same
		x := randTensor(rng, 2, 8, 7, 4)
		if diff := tensor.MaxAbsDiff(d.Forward(x), naiveDepthwise(x, d)); diff > 1e-5 {
			t.Errorf("%+v: differs from the definition by %g", c, diff)
		}
	}
}

func TestGradDepthwise(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 0))
	for _, c := range []struct {
		mult, k, s, pad int
		same, bias      bool
	}{{1, 3, 1, 1, false, true}, {1, 3, 2, 0, true, false}, {2, 3, 2, 1, false, true}, {3, 5, 1, 0, true, true}, {1, 4, 3, 1, false, true}} {
		d := NewDepthwiseConv2d(3, c.mult, c.k, c.s, c.pad, c.bias, rng)
		d.Same = c.same
		checkGradients(t, "depthwise", d, randTensor(rng, 2, 7, 6, 3), 1e-2)
	}
}

func TestDepthwiseFrozenAndNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(32, 0))
	d := NewDepthwiseConv2d(8, 1, 3, 2, 0, true, rng)
	d.Same = true
	x := randTensor(rng, 2, 12, 12, 8)
	step := func() { d.Backward(d.Forward(x)) }
	step()
	if a := testing.AllocsPerRun(10, step); a != 0 {
		t.Fatalf("%.1f allocations per step", a)
	}
	Freeze(d.Params(), true)
	ZeroGrad(d.Params())
	dx := d.Backward(d.Forward(x))
	if d.Weight.Grad.Sum() != 0 || d.Bias.Grad.Sum() != 0 {
		t.Fatal("frozen parameters got gradients")
	}
	if tensor.MaxAbsDiff(dx, tensor.New(dx.Shape...)) == 0 {
		t.Fatal("no input gradient through a frozen layer")
	}
}

func TestFmadd(t *testing.T) {
	rng := rand.New(rand.NewPCG(33, 0))
	for n := 0; n < 80; n++ {
		a, b := randTensor(rng, n+3), randTensor(rng, n+5)
		dst := randTensor(rng, n+1)
		want := dst.Clone()
		fmadd(dst.Data[:n], a.Data, b.Data)
		for i := 0; i < n; i++ {
			w := float64(want.Data[i]) + float64(a.Data[i])*float64(b.Data[i])
			if math.Abs(float64(dst.Data[i])-w) > 1e-5 {
				t.Fatalf("n=%d: dst[%d] = %v, want %v", n, i, dst.Data[i], w)
			}
		}
		if dst.Data[n] != want.Data[n] {
			t.Fatalf("n=%d: wrote past the end", n)
		}
	}
}
