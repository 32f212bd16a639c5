package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"forger/tensor"
)

// distinct returns a tensor holding a random permutation of well-separated
// values, so that no perturbation of a finite difference changes which
// value of a window is the largest.
func distinct(rng *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	for i, p := range rng.Perm(t.Len()) {
		t.Data[i] = float32(p)*0.1 - float32(t.Len())*0.05
	}
	return t
}

func TestSamePad(t *testing.T) {
	for _, c := range []struct{ in, k, s, b, a int }{
		{112, 3, 2, 0, 1}, {56, 3, 1, 1, 1}, {7, 3, 2, 1, 1}, {150, 7, 2, 2, 3}, {5, 1, 1, 0, 0}, {4, 7, 1, 3, 3}, {3, 2, 2, 0, 1},
	} {
		if b, a := SamePad(c.in, c.k, c.s); b != c.b || a != c.a {
			t.Errorf("SamePad(%d,%d,%d) = %d,%d want %d,%d", c.in, c.k, c.s, b, a, c.b, c.a)
		}
	}
}

// naivePool is the direct definition of max and average pooling, in float64.
func naivePool(x *tensor.Tensor, k, s, pt, pl, ho, wo int, isMax, countPad bool) *tensor.Tensor {
	n, h, w, c := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	y := tensor.New(n, ho, wo, c)
	for b := 0; b < n; b++ {
		for oy := 0; oy < ho; oy++ {
			for ox := 0; ox < wo; ox++ {
				for ch := 0; ch < c; ch++ {
					best, sum, cnt := math.Inf(-1), 0.0, 0
					for ky := 0; ky < k; ky++ {
						for kx := 0; kx < k; kx++ {
							iy, ix := oy*s-pt+ky, ox*s-pl+kx
							if iy < 0 || iy >= h || ix < 0 || ix >= w {
								continue
							}
							v := float64(x.Data[((b*h+iy)*w+ix)*c+ch])
							best = math.Max(best, v)
							sum += v
							cnt++
						}
					}
					if countPad {
						cnt = k * k
					}
					out := best
					if !isMax {
						out = sum / float64(cnt)
					}
					y.Data[((b*ho+oy)*wo+ox)*c+ch] = float32(out)
				}
			}
		}
	}
	return y
}

func TestPoolForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 0))
	x := randTensor(rng, 2, 7, 8, 3)
	for _, c := range []struct {
		k, s, pad int
		same      bool
	}{{3, 2, 0, false}, {2, 2, 0, false}, {3, 1, 1, false}, {3, 2, 0, true}, {2, 2, 0, true}, {7, 2, 0, true}} {
		mp, ap := NewMaxPool2d(c.k, c.s, c.pad), NewAvgPool2d(c.k, c.s, c.pad)
		mp.Same, ap.Same = c.same, c.same
		h, w := x.Shape[1], x.Shape[2]
		pt, pl := c.pad, c.pad
		if c.same {
			pt, _ = SamePad(h, c.k, c.s)
			pl, _ = SamePad(w, c.k, c.s)
		}
		ho, wo := mp.OutSize(h, w)
		if c.same && (ho != (h+c.s-1)/c.s || wo != (w+c.s-1)/c.s) {
			t.Fatalf("same output %d×%d", ho, wo)
		}
		if d := tensor.MaxAbsDiff(mp.Forward(x), naivePool(x, c.k, c.s, pt, pl, ho, wo, true, false)); d != 0 {
			t.Errorf("max pool %+v: differs by %g", c, d)
		}
		if d := tensor.MaxAbsDiff(ap.Forward(x), naivePool(x, c.k, c.s, pt, pl, ho, wo, false, false)); d > 1e-6 {
			t.Errorf("avg pool %+v: differs by %g", c, d)
		}
		ap.CountPad = true
		if d := tensor.MaxAbsDiff(ap.Forward(x), naivePool(x, c.k, c.s, pt, pl, ho, wo, false, true)); d > 1e-6 {
			t.Errorf("avg pool count pad %+v: differs by %g", c, d)
		}
	}
}

func TestGradPools(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 0))
	for _, c := range []struct {
		k, s, pad int
		same      bool
	}{{3, 2, 0, false}, {2, 2, 0, false}, {3, 1, 1, false}, {3, 2, 0, true}, {4, 3, 1, false}} {
		mp := NewMaxPool2d(c.k, c.s, c.pad)
		mp.Same = c.same
		checkGradients(t, "maxpool", mp, distinct(rng, 2, 7, 6, 3), 1e-2)
		ap := NewAvgPool2d(c.k, c.s, c.pad)
		ap.Same = c.same
		checkGradients(t, "avgpool", ap, randTensor(rng, 2, 7, 6, 3), 1e-2)
		ap.CountPad = true
		checkGradients(t, "avgpool countpad", ap, randTensor(rng, 2, 7, 6, 3), 1e-2)
	}
	// Asymmetric explicit padding.
	mp := NewMaxPool2d(3, 2, 0)
	mp.PadB, mp.PadR = 1, 1
	checkGradients(t, "maxpool asym", mp, distinct(rng, 1, 6, 6, 2), 1e-2)
	checkGradients(t, "global avg", NewGlobalAvgPool(), randTensor(rng, 3, 4, 5, 6), 1e-2)
}

func TestGlobalAvgPool(t *testing.T) {
	x := tensor.FromData([]float32{1, 10, 2, 20, 3, 30, 4, 40, 5, 50, 6, 60, 7, 70, 8, 80}, 2, 2, 2, 2)
	y := NewGlobalAvgPool().Forward(x)
	want := []float32{2.5, 25, 6.5, 65}
	for i, v := range want {
		if y.Data[i] != v {
			t.Fatalf("global avg = %v, want %v", y.Data, want)
		}
	}
	if !tensor.SameShape(y.Shape, []int{2, 2}) {
		t.Fatalf("shape %v", y.Shape)
	}
}

func TestPoolNoAllocs(t *testing.T) {
	rng := rand.New(rand.NewPCG(22, 0))
	x := randTensor(rng, 2, 16, 16, 8)
	mp, ap, gp := NewMaxPool2d(3, 2, 1), NewAvgPool2d(2, 2, 0), NewGlobalAvgPool()
	step := func() {
		mp.Backward(mp.Forward(x))
		ap.Backward(ap.Forward(x))
		gp.Backward(gp.Forward(x))
	}
	step()
	if a := testing.AllocsPerRun(10, step); a != 0 {
		t.Fatalf("%.1f allocations per step", a)
	}
}

func TestPoolTooSmall(t *testing.T) {
	p := NewMaxPool2d(3, 2, 0)
	if h, w := p.OutSize(2, 3); h != 0 || w != 1 {
		t.Fatalf("OutSize(2,3) = %d,%d", h, w)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("no panic for an input smaller than the window")
		}
	}()
	p.Forward(tensor.New(1, 2, 2, 1))
}
