package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// randSigned returns n values with both signs and some exact zeros, which
// are where the masked kernels could disagree with the branches of Go.
func randSigned(rng *rand.Rand, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		if rng.IntN(10) == 0 {
			continue
		}
		v[i] = float32(rng.NormFloat64())
	}
	return v
}

func near(t *testing.T, what string, got, want []float32) {
	t.Helper()
	for i := range want {
		d := math.Abs(float64(got[i] - want[i]))
		if d > 1e-5*(1+math.Abs(float64(want[i]))) {
			t.Fatalf("%s[%d] = %g, want %g", what, i, got[i], want[i])
		}
	}
}

// TestSIMDKernelsMatchGo: the dispatchers (AVX2 kernels on CPUs that have
// them) agree with the portable Go loops, for lengths with and without a
// tail of fewer than 8 and for channel counts the kernels take and refuse.
func TestSIMDKernelsMatchGo(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 5, 8, 37, 1024} {
		for _, slope := range []float32{0, 0.2} {
			x, dy := randSigned(rng, n), randSigned(rng, n)
			got, want := make([]float32, n), make([]float32, n)
			leaky(got, x, slope)
			leakyGo(want, x, slope)
			near(t, "leaky", got, want)
			leakyGrad(got, dy, x, slope)
			leakyGradGo(want, dy, x, slope)
			near(t, "leakyGrad", got, want)
			copy(got, dy)
			copy(want, dy)
			addTo(got, x)
			addToGo(want, x)
			near(t, "addTo", got, want)
		}
	}
	for _, c := range []int{8, 12, 64} {
		rows := 33
		x, y, dy := randSigned(rng, rows*c), randSigned(rng, rows*c), randSigned(rng, rows*c)
		a, b, cc := randSigned(rng, c), randSigned(rng, c), randSigned(rng, c)
		for _, act := range []bool{false, true} {
			got, want := make([]float32, rows*c), make([]float32, rows*c)
			affineAct(got, x, a, b, c, 0.2, act)
			affineActGo(want, x, a, b, c, 0.2, act)
			near(t, "affineAct", got, want)
			bnGradRows(got, dy, x, y, a, b, cc, c, 0.2, act)
			bnGradGo(want, dy, x, y, a, b, cc, c, 0.2, act)
			near(t, "bnGrad", got, want)
			// A channel range inside the rows, as bnReduce splits them.
			lo, n := 0, c
			if c == 64 {
				lo, n = 16, 24
			}
			s, q := make([]float32, n), make([]float32, n)
			s0, q0 := make([]float32, n), make([]float32, n)
			bnReduceRows(s, q, x[lo:], dy[lo:], y[lo:], rows, c, 0.2, act)
			bnReduceGo(s0, q0, x[lo:], dy[lo:], y[lo:], rows, c, 0.2, act)
			near(t, "bnReduce Σd", s, s0)
			near(t, "bnReduce Σdx", q, q0)
		}
	}
}

// TestSIMDLayersMatchGo: batch norm (plain and fused with an activation)
// and the activations give the same outputs and gradients through the SIMD
// kernels as through the portable loops.
func TestSIMDLayersMatchGo(t *testing.T) {
	if !hasAVX2FMA {
		t.Skip("no AVX2/FMA: only the portable loops run here")
	}
	rng := rand.New(rand.NewPCG(5, 6))
	layers := map[string]func() Layer{
		"bn":         func() Layer { return NewBatchNorm(16) },
		"bn+relu":    func() Layer { return NewBatchNormAct(16, ReLU, 0) },
		"bn+leaky":   func() Layer { return NewBatchNormAct(16, LeakyReLU, 0.2) },
		"leaky":      func() Layer { return NewLeakyReLU(0.2) },
		"relu":       func() Layer { return NewReLU() },
		"conv^T 4/2": func() Layer { return NewConvTranspose2d(16, 8, 4, 2, 1, true, rand.New(rand.NewPCG(1, 1))) },
	}
	for name, mk := range layers {
		x := randTensor(rng, 6, 5, 5, 16)
		dy := randTensor(rng, 6, 5, 5, 16)
		run := func(simd bool) (y, dx []float32) {
			old := hasAVX2FMA
			hasAVX2FMA = simd
			defer func() { hasAVX2FMA = old }()
			l := mk()
			out := l.Forward(x)
			g := dy
			if out.Len() != dy.Len() {
				g = randTensor(rand.New(rand.NewPCG(9, 9)), out.Shape...)
			}
			return append([]float32(nil), out.Data...), append([]float32(nil), l.Backward(g).Data...)
		}
		y1, dx1 := run(true)
		y0, dx0 := run(false)
		near(t, name+" forward", y1, y0)
		near(t, name+" backward", dx1, dx0)
	}
}
