package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"forger/tensor"
)

// lossOf is Σ y·r in float64: a scalar whose gradient with respect to y is r.
func lossOf(y, r *tensor.Tensor) float64 {
	var s float64
	for i, v := range y.Data {
		s += float64(v) * float64(r.Data[i])
	}
	return s
}

func randTensor(rng *rand.Rand, shape ...int) *tensor.Tensor {
	t := tensor.New(shape...)
	t.FillNormal(rng, 0, 1)
	return t
}

// awayFromZero pushes values out of (-m, m), where kinked activations would
// make finite differences meaningless.
func awayFromZero(t *tensor.Tensor, m float32) {
	for i, v := range t.Data {
		if v >= 0 && v < m {
			t.Data[i] = v + m
		} else if v < 0 && v > -m {
			t.Data[i] = v - m
		}
	}
}

// checkGradients compares the analytic input and parameter gradients of f
// (a forward function followed by a backward one) with central finite
// differences of Σ y·r evaluated in float64, on up to maxProbe random
// coordinates of the input and of each parameter.
func checkGradients(t *testing.T, name string, l Layer, x *tensor.Tensor, eps float64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	y := l.Forward(x)
	r := randTensor(rng, y.Shape...)
	ZeroGrad(l.Params())
	dx := l.Backward(r).Clone()
	const maxProbe = 40
	check := func(what string, values []float32, analytic []float32) {
		t.Helper()
		idx := rng.Perm(len(values))
		if len(idx) > maxProbe {
			idx = idx[:maxProbe]
		}
		for _, i := range idx {
			old := values[i]
			values[i] = old + float32(eps)
			lp := lossOf(l.Forward(x), r)
			values[i] = old - float32(eps)
			lm := lossOf(l.Forward(x), r)
			values[i] = old
			num := (lp - lm) / (2 * eps)
			got := float64(analytic[i])
			if math.Abs(num-got) > 1e-2*math.Max(1, math.Abs(num)) {
				t.Errorf("%s: d/d%s[%d]: backward %.6g, finite difference %.6g", name, what, i, got, num)
				return
			}
		}
	}
	check("x", x.Data, dx.Data)
	for _, p := range l.Params() {
		check(p.Name, p.Value.Data, p.Grad.Data)
	}
}

func TestGradConv2d(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 0))
	for _, c := range []struct{ k, s, p int }{{3, 1, 1}, {4, 2, 1}, {1, 1, 0}, {3, 2, 0}, {5, 3, 2}} {
		l := NewConv2d(3, 4, c.k, c.s, c.p, true, rng)
		checkGradients(t, "conv", l, randTensor(rng, 2, 7, 6, 3), 1e-2)
	}
	// TensorFlow's "same" padding with stride 2 on an even size: 0 before, 1 after.
	l := NewConv2d(2, 3, 3, 2, 0, false, rng)
	l.PadB, l.PadR = 1, 1
	checkGradients(t, "conv same", l, randTensor(rng, 2, 6, 6, 2), 1e-2)
}

func TestGradConvTranspose2d(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 0))
	for _, c := range []struct{ k, s, p int }{{4, 2, 1}, {4, 1, 0}, {3, 1, 1}, {3, 2, 0}, {1, 1, 0}} {
		l := NewConvTranspose2d(3, 2, c.k, c.s, c.p, true, rng)
		checkGradients(t, "convT", l, randTensor(rng, 2, 4, 5, 3), 1e-2)
	}
}

func TestGradLinear(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 0))
	checkGradients(t, "linear", NewLinear(5, 4, true, rng), randTensor(rng, 3, 5), 1e-2)
	checkGradients(t, "linear 3d", NewLinear(5, 2, false, rng), randTensor(rng, 2, 3, 5), 1e-2)
}

func TestGradBatchNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 0))
	b := NewBatchNorm(3)
	b.Gamma.Value.FillNormal(rng, 1, 0.3)
	b.Beta.Value.FillNormal(rng, 0, 0.3)
	checkGradients(t, "bn train", b, randTensor(rng, 4, 3, 2, 3), 1e-2)
	b.SetTraining(false)
	b.RunMean.Value.FillNormal(rng, 0, 0.5)
	b.RunVar.Value.FillUniform(rng, 0.5, 2)
	checkGradients(t, "bn eval", b, randTensor(rng, 4, 3, 2, 3), 1e-2)
}

func TestGradBatchNormAct(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 0))
	// 3 channels take the portable loops, 16 the SIMD kernels (see simd.go;
	// TestSIMDLayersMatchGo compares the two).
	for _, c := range []int{3, 16} {
		for _, b := range []*BatchNorm{NewBatchNormAct(c, ReLU, 0), NewBatchNormAct(c, LeakyReLU, 0.2)} {
			b.Gamma.Value.FillNormal(rng, 1, 0.3)
			b.Beta.Value.FillNormal(rng, 0, 0.3)
			if c == 3 { // wider layers have values near the kink, where finite differences fail
				checkGradients(t, fmt.Sprintf("bn+act train c=%d", c), b, randTensor(rng, 4, 3, 2, c), 1e-3)
			}
			// Fused equals the two layers one after the other.
			x := randTensor(rng, 5, 2, 2, c)
			plain := NewBatchNorm(c)
			plain.Gamma.Value.CopyFrom(b.Gamma.Value)
			plain.Beta.Value.CopyFrom(b.Beta.Value)
			act := newActivation(b.Act, b.Slope)
			want := act.Forward(plain.Forward(x))
			if d := tensor.MaxAbsDiff(b.Forward(x), want); d > 1e-6 {
				t.Fatalf("c=%d: fused forward differs by %g", c, d)
			}
			r := randTensor(rng, x.Shape...)
			wantDx := plain.Backward(act.Backward(r))
			if d := tensor.MaxAbsDiff(b.Backward(r), wantDx); d > 1e-5 {
				t.Fatalf("c=%d: fused backward differs by %g", c, d)
			}
			b.SetTraining(false)
			if c == 3 {
				checkGradients(t, fmt.Sprintf("bn+act eval c=%d", c), b, randTensor(rng, 4, 3, 2, c), 1e-3)
			}
		}
	}
}

func TestWorkspaceSharedGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 0))
	s := NewSequential(
		NewConv2d(2, 3, 3, 2, 1, false, rng),
		NewBatchNormAct(3, LeakyReLU, 0.2),
		NewConv2d(3, 4, 3, 1, 1, true, rng),
		NewConvTranspose2d(4, 2, 4, 2, 1, false, rng),
	)
	var ws Workspace
	ShareWorkspace(&ws, s)
	checkGradients(t, "shared workspace", s, randTensor(rng, 2, 6, 6, 2), 1e-3)
	first := s.Layers[0].(*Conv2d)
	first.SkipInputGrad = true
	y := s.Forward(randTensor(rng, 2, 6, 6, 2))
	ZeroGrad(s.Params())
	if dx := s.Backward(randTensor(rng, y.Shape...)); dx != nil {
		t.Fatal("SkipInputGrad returned an input gradient")
	}
	if first.Weight.Grad.Sum() == 0 {
		t.Fatal("SkipInputGrad lost the weight gradient")
	}
}

func TestGradActivations(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 0))
	for _, l := range []*Activation{NewReLU(), NewLeakyReLU(0.2), NewTanh(), NewSigmoid()} {
		x := randTensor(rng, 3, 4, 5)
		awayFromZero(x, 0.05)
		checkGradients(t, "activation", l, x, 1e-2)
	}
}

func TestGradSequentialAndReshape(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 0))
	s := NewSequential(
		NewConv2d(2, 3, 3, 2, 1, false, rng),
		NewBatchNorm(3),
		NewLeakyReLU(0.2),
		NewReshape(3*3*3),
		NewLinear(27, 1, true, rng),
	)
	checkGradients(t, "seq", s, randTensor(rng, 4, 5, 5, 2), 1e-3)
	if s.Params()[0].Name != "0.weight" || s.Params()[1].Name != "1.weight" {
		t.Fatalf("names %q %q", s.Params()[0].Name, s.Params()[1].Name)
	}
}

func TestGradSpectralNorm(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 0))
	for _, inner := range []Weighted{NewConv2d(3, 4, 3, 1, 1, true, rng), NewLinear(6, 5, true, rng), NewConvTranspose2d(3, 2, 4, 2, 1, false, rng)} {
		s := NewSpectralNorm(inner, rng)
		var x *tensor.Tensor
		switch inner.(type) {
		case *Linear:
			x = randTensor(rng, 3, 6)
		default:
			x = randTensor(rng, 2, 4, 4, 3)
		}
		for i := 0; i < 30; i++ { // converge the power iteration
			s.Forward(x)
		}
		s.SetTraining(false) // u, v fixed: the function is then deterministic
		checkGradients(t, "spectral", s, x, 1e-3)
	}
}

func TestSpectralNormUnitSigma(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 0))
	l := NewLinear(8, 8, false, rng)
	l.Weight.Value.FillNormal(rng, 0, 3)
	s := NewSpectralNorm(l, rng)
	x := randTensor(rng, 2, 8)
	for i := 0; i < 100; i++ {
		s.Forward(x)
	}
	// The normalised weight's largest singular value is 1: check with a power
	// iteration of its own on WᵀW.
	w := l.Weight.Value.Data
	v := make([]float64, 8)
	for i := range v {
		v[i] = 1
	}
	var norm float64
	for it := 0; it < 500; it++ {
		wv := make([]float64, 8)
		for r := 0; r < 8; r++ {
			for c := 0; c < 8; c++ {
				wv[r] += float64(w[r*8+c]) * v[c]
			}
		}
		nv := make([]float64, 8)
		for c := 0; c < 8; c++ {
			for r := 0; r < 8; r++ {
				nv[c] += float64(w[r*8+c]) * wv[r]
			}
		}
		norm = 0
		for _, a := range nv {
			norm += a * a
		}
		norm = math.Sqrt(norm)
		for i := range v {
			v[i] = nv[i] / norm
		}
	}
	if sv := math.Sqrt(norm); math.Abs(sv-1) > 1e-3 {
		t.Fatalf("largest singular value after normalisation = %v, want 1", sv)
	}
}

func TestGradEmbeddingAndConcat(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 0))
	e := NewEmbedding(4, 3, rng)
	labels := []int32{2, 0, 2}
	var c Concat
	z := randTensor(rng, 3, 2)
	y := c.Forward(z, e.Lookup(labels))
	if y.Dim(-1) != 5 || y.Data[2] != e.Weight.Value.Data[6] {
		t.Fatalf("concat wrong: %v", y.Data[:5])
	}
	r := randTensor(rng, 3, 5)
	grads := c.Backward(r)
	ZeroGrad(e.Params())
	e.Backward(grads[1])
	// Row 2 of the embedding was used twice: its gradient is the sum.
	for j := 0; j < 3; j++ {
		want := r.Data[0*5+2+j] + r.Data[2*5+2+j]
		if got := e.Weight.Grad.Data[2*3+j]; math.Abs(float64(got-want)) > 1e-6 {
			t.Fatalf("embedding grad %v want %v", got, want)
		}
		if e.Weight.Grad.Data[1*3+j] != 0 {
			t.Fatal("unused row got a gradient")
		}
	}
	if grads[0].Data[1] != r.Data[1] || grads[0].Data[2] != r.Data[5] {
		t.Fatal("concat backward split wrong")
	}
}

func TestLossGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 0))
	x := randTensor(rng, 6, 1)
	awayFromZero(x, 0.05)
	for i := range x.Data { // keep hinge inputs away from the kinks at ±1
		if math.Abs(math.Abs(float64(x.Data[i]))-1) < 0.05 {
			x.Data[i] *= 1.2
		}
	}
	target := randTensor(rng, 6, 1)
	losses := map[string]func(x, g *tensor.Tensor) float64{
		"bce1":      func(x, g *tensor.Tensor) float64 { return BCEWithLogits(x, 1, g) },
		"bce0.9":    func(x, g *tensor.Tensor) float64 { return BCEWithLogits(x, 0.9, g) },
		"bce0":      func(x, g *tensor.Tensor) float64 { return BCEWithLogits(x, 0, g) },
		"hingeReal": HingeReal,
		"hingeFake": HingeFake,
		"negmean":   NegMean,
		"mse":       func(x, g *tensor.Tensor) float64 { return MSE(x, target, g) },
		"mseconst":  func(x, g *tensor.Tensor) float64 { return MSEConst(x, 1, g) },
		"l1":        func(x, g *tensor.Tensor) float64 { return L1(x, target, g) },
	}
	for name, f := range losses {
		g := tensor.New(x.Shape...)
		f(x, g)
		scratch := tensor.New(x.Shape...)
		for i := range x.Data {
			old := x.Data[i]
			const eps = 1e-3
			x.Data[i] = old + eps
			lp := f(x, scratch)
			x.Data[i] = old - eps
			lm := f(x, scratch)
			x.Data[i] = old
			num := (lp - lm) / (2 * eps)
			if math.Abs(num-float64(g.Data[i])) > 1e-3*math.Max(1, math.Abs(num)) {
				t.Errorf("%s: grad[%d] = %v, finite difference %v", name, i, g.Data[i], num)
			}
		}
	}
	// BCE value on a known point: x=0 gives log 2 for either target.
	z := tensor.New(1)
	if v := BCEWithLogits(z, 1, tensor.New(1)); math.Abs(v-math.Ln2) > 1e-9 {
		t.Fatalf("BCE(0,1) = %v, want ln 2", v)
	}
}

func TestFrozenParamsGetNoGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 0))
	l := NewConv2d(2, 3, 3, 1, 1, true, rng)
	Freeze(l.Params(), true)
	x := randTensor(rng, 1, 4, 4, 2)
	y := l.Forward(x)
	dx := l.Backward(randTensor(rng, y.Shape...))
	if l.Weight.Grad.Sum() != 0 || l.Bias.Grad.Sum() != 0 {
		t.Fatal("frozen parameters got gradients")
	}
	if tensor.MaxAbsDiff(dx, tensor.New(dx.Shape...)) == 0 {
		t.Fatal("no input gradient through frozen layer")
	}
}

// ClassBias: gradients of the input and of the rows of the labels used, and
// the forward sum itself.
func TestGradClassBias(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	b := NewClassBias(3, 2*2*4, 0.5, rng)
	b.SetLabels([]int32{2, 0, 2})
	x := randTensor(rng, 3, 2, 2, 4)
	checkGradients(t, "classbias", b, x, 1e-3)
	y := b.Forward(x)
	if got, want := y.Data[5], x.Data[5]+b.Weight.Value.Data[2*16+5]; got != want {
		t.Errorf("sample 0 (class 2), value 5: %g, want %g", got, want)
	}
}
