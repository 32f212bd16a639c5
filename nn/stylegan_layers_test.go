package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"forger/tensor"
)

// naiveUpFIRDn is upfirdn2d by its definition: zero-insertion upsampling, 2-D
// padding, 2-D correlation with the outer product of the taps, decimation.
func naiveUpFIRDn(x *tensor.Tensor, up, down, p0, p1 int, taps []float32) *tensor.Tensor {
	n, h, w, c := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	k := len(taps)
	uh, uw := h*up+p0+p1, w*up+p0+p1
	u := tensor.New(n, uh, uw, c)
	for b := 0; b < n; b++ {
		for i := 0; i < h; i++ {
			for j := 0; j < w; j++ {
				copy(u.Data[((b*uh+i*up+p0)*uw+j*up+p0)*c:][:c], x.Data[((b*h+i)*w+j)*c:][:c])
			}
		}
	}
	ho, wo := (uh-k)/down+1, (uw-k)/down+1
	y := tensor.New(n, ho, wo, c)
	for b := 0; b < n; b++ {
		for oy := 0; oy < ho; oy++ {
			for ox := 0; ox < wo; ox++ {
				for ch := 0; ch < c; ch++ {
					var s float64
					for ky := 0; ky < k; ky++ {
						for kx := 0; kx < k; kx++ {
							s += float64(taps[ky]*taps[kx]) * float64(u.Data[((b*uh+oy*down+ky)*uw+ox*down+kx)*c+ch])
						}
					}
					y.Data[((b*ho+oy)*wo+ox)*c+ch] = float32(s)
				}
			}
		}
	}
	return y
}

func TestUpFIRDn2dMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(40, 0))
	for _, f := range []*UpFIRDn2d{NewUpsample2x(), NewDownsample2x(), NewBlur(2, 1), NewBlur(1, 2), NewUpFIRDn2d(2, 2, 3, 0, []float32{1, 2, 3})} {
		x := randTensor(rng, 2, 6, 5, 3)
		y := f.Forward(x)
		want := naiveUpFIRDn(x, f.Up, f.Down, f.Pad0, f.Pad1, f.Taps)
		if !tensor.SameShape(y.Shape, want.Shape) {
			t.Fatalf("up %d down %d pad %d,%d: shape %v, want %v", f.Up, f.Down, f.Pad0, f.Pad1, y.Shape, want.Shape)
		}
		if d := tensor.MaxAbsDiff(y, want); d > 1e-5 {
			t.Errorf("up %d down %d pad %d,%d: differs from the definition by %g", f.Up, f.Down, f.Pad0, f.Pad1, d)
		}
		checkGradients(t, fmt.Sprintf("upfirdn up %d down %d", f.Up, f.Down), f, x, 1e-2)
	}
	// The 2× upsampling is half-pixel bilinear inside the image.
	x := randTensor(rng, 1, 4, 4, 1)
	y := NewUpsample2x().Forward(x)
	at := func(t *tensor.Tensor, w, i, j int) float32 { return t.Data[i*w+j] }
	// Output 2i+1 is ¾ of input i and ¼ of i+1; output 2i is ¼ of i−1 and ¾ of i.
	got := at(y, 8, 3, 4)
	want := 0.75*(0.75*at(x, 4, 1, 2)+0.25*at(x, 4, 1, 1)) + 0.25*(0.75*at(x, 4, 2, 2)+0.25*at(x, 4, 2, 1))
	if math.Abs(float64(got-want)) > 1e-6 {
		t.Errorf("upsampled (3,4) = %g, bilinear %g", got, want)
	}
}

func TestGradEqualized(t *testing.T) {
	rng := rand.New(rand.NewPCG(41, 0))
	for _, act := range []bool{false, true} {
		l := NewEqualLinear(6, 5, true, 0.5, 0.01, act, rng)
		l.Bias.Value.FillNormal(rng, 0, 30) // effective bias b·0.01
		x := randTensor(rng, 4, 6)
		checkGradients(t, fmt.Sprintf("equal linear act=%v", act), l, x, 1e-2)
		// With lrMul the effective weight is N(0,1)/√in, whatever lrMul is.
		if g := float64(l.WeightGain()) * 100; math.Abs(g-1/math.Sqrt(6)) > 1e-6 {
			t.Errorf("weight gain %g", g)
		}
	}
	for _, c := range []struct {
		k, s, p   int
		bias, act bool
		gain      float32
	}{{3, 1, 1, true, true, 1}, {1, 1, 0, false, false, float32(math.Sqrt(0.5))}, {3, 2, 0, true, true, float32(math.Sqrt(0.5))}} {
		l := NewEqualConv2d(3, 4, c.k, c.s, c.p, c.bias, c.act, c.gain, rng)
		if l.Bias != nil {
			l.Bias.Value.FillNormal(rng, 0, 0.5)
		}
		x := randTensor(rng, 2, 6, 6, 3)
		checkGradients(t, fmt.Sprintf("equal conv %+v", c), l, x, 1e-3) // a kink near a probe spoils larger steps
	}
	checkGradients(t, "pixel norm", &PixelNorm{}, randTensor(rng, 3, 7), 1e-2)
	for _, act := range []bool{false, true} {
		b := NewBiasAct(5, act)
		x := randTensor(rng, 3, 2, 5)
		awayFromZero(x, 0.05) // the bias stays 0: x + b keeps away from the kink
		checkGradients(t, fmt.Sprintf("bias act=%v", act), b, x, 1e-2)
	}
}

// modAdapter makes a ModConv2d a Layer of x, with w a parameter, so that
// checkGradients probes the gradient of w too.
type modAdapter struct {
	m *ModConv2d
	w *Param
}

func (a *modAdapter) Forward(x *tensor.Tensor) *tensor.Tensor { return a.m.Forward(x, a.w.Value) }
func (a *modAdapter) Backward(dy *tensor.Tensor) *tensor.Tensor {
	dx, dw := a.m.Backward(dy)
	addTo(a.w.Grad.Data, dw.Data)
	return dx
}
func (a *modAdapter) Params() []*Param  { return append(a.m.Params(), a.w) }
func (a *modAdapter) Buffers() []*Param { return nil }
func (a *modAdapter) SetTraining(bool)  {}

func TestGradModConv2d(t *testing.T) {
	rng := rand.New(rand.NewPCG(42, 0))
	for _, c := range []struct {
		k         int
		up, demod bool
	}{{3, false, true}, {3, true, true}, {1, false, false}, {3, false, false}, {1, true, true}} {
		m := NewModConv2d(3, 4, c.k, 5, c.up, c.demod, rng)
		m.Affine.Bias.Value.FillNormal(rng, 1, 0.3)
		w := newParam("w", 2, 5)
		w.Value.FillNormal(rng, 0, 1)
		checkGradients(t, fmt.Sprintf("modconv %+v", c), &modAdapter{m, w}, randTensor(rng, 2, 4, 5, 3), 1e-2)
	}
}

// TestModConv2dIsGrouped: the non-fused path equals convolving each sample
// with its own modulated (and demodulated) weight.
func TestModConv2dIsGrouped(t *testing.T) {
	rng := rand.New(rand.NewPCG(43, 0))
	for _, up := range []bool{false, true} {
		for _, demod := range []bool{true, false} {
			m := NewModConv2d(3, 4, 3, 5, up, demod, rng)
			x, w := randTensor(rng, 3, 4, 4, 3), randTensor(rng, 3, 5)
			y := m.Forward(x, w).Clone()
			s := m.Affine.Forward(w)
			for n := 0; n < 3; n++ {
				ref := NewModConv2d(3, 4, 3, 5, up, false, rng)
				ref.StyleGain = 1
				ref.Affine.Weight.Value.Zero()
				ref.Affine.Bias.Value.Fill(1)
				// Per-sample weight W·s (·d), input scaled by 1.
				for o := 0; o < 4; o++ {
					var q float64
					for k := 0; k < 9; k++ {
						for i := 0; i < 3; i++ {
							v := m.Weight.Value.Data[(o*9+k)*3+i] * s.Data[n*3+i] * m.StyleGain
							ref.Weight.Value.Data[(o*9+k)*3+i] = v
							q += float64(v) * float64(v)
						}
					}
					if demod {
						for k := 0; k < 9; k++ {
							for i := 0; i < 3; i++ {
								ref.Weight.Value.Data[(o*9+k)*3+i] *= float32(1 / math.Sqrt(q+1e-8))
							}
						}
					}
				}
				xn := x.Samples(n, n+1)
				yn := ref.Forward(xn, tensor.New(1, 5))
				if d := tensor.MaxAbsDiff(yn, y.Samples(n, n+1)); d > 1e-5 {
					t.Errorf("up=%v demod=%v sample %d: differs from the grouped convolution by %g", up, demod, n, d)
				}
			}
		}
	}
}

func TestGradNoiseInput(t *testing.T) {
	rng := rand.New(rand.NewPCG(44, 0))
	l := NewNoiseInput(4, 5, rng)
	l.Strength.Value.Fill(0.7)
	l.Mode = NoiseConst
	checkGradients(t, "noise const", l, randTensor(rng, 2, 4, 5, 3), 1e-2)
	// Random noise: fresh per sample, reproducible from the seed.
	l.Mode = NoiseRandom
	l.RNG = rand.New(rand.NewPCG(1, 2))
	a := l.Forward(tensor.New(2, 4, 5, 3)).Clone()
	l.RNG = rand.New(rand.NewPCG(1, 2))
	b := l.Forward(tensor.New(2, 4, 5, 3))
	if tensor.MaxAbsDiff(a, b) != 0 || tensor.MaxAbsDiff(a.Samples(0, 1), a.Samples(1, 2)) == 0 {
		t.Error("random noise is not reproducible per seed, or repeats across samples")
	}
	if a.Data[0] != a.Data[1] || a.Data[0] != a.Data[2] {
		t.Error("noise differs across the channels of a pixel")
	}
	// Given noise: its gradient, checked as a parameter.
	l.Mode = NoiseGiven
	l.Given = randTensor(rng, 2, 4, 5)
	checkGradients(t, "noise given", &givenAdapter{l, &Param{Name: "noise", Value: l.Given, Grad: tensor.New(2, 4, 5)}}, randTensor(rng, 2, 4, 5, 3), 1e-2)
	l.Mode = NoiseNone
	x := randTensor(rng, 1, 4, 5, 2)
	if l.Forward(x) != x {
		t.Error("NoiseNone changed its input")
	}
}

// givenAdapter exposes a NoiseInput's given noise as a parameter.
type givenAdapter struct {
	*NoiseInput
	noise *Param
}

func (a *givenAdapter) Params() []*Param { return append(a.NoiseInput.Params(), a.noise) }
func (a *givenAdapter) Backward(dy *tensor.Tensor) *tensor.Tensor {
	dx := a.NoiseInput.Backward(dy)
	addTo(a.noise.Grad.Data, a.NoiseGrad().Data)
	return dx
}

// TestModEpilogueIsTheComposition: ModConv2d.ForwardRaw with ModEpilogue
// computes what ModConv2d, NoiseInput and BiasAct compute in turn: outputs,
// the gradients of x, w and every parameter, and of given noise.
func TestModEpilogueIsTheComposition(t *testing.T) {
	rng := rand.New(rand.NewPCG(45, 0))
	for _, out := range []int{8, 3} { // 8: the SIMD kernels; 3: the Go loops
		for _, demod := range []bool{true, false} {
			for _, mode := range []NoiseMode{NoiseConst, NoiseRandom, NoiseGiven, NoiseNone} {
				for _, hold := range []bool{false, true} {
					m := NewModConv2d(3, out, 3, 5, false, demod, rng)
					m.Affine.Bias.Value.FillNormal(rng, 1, 0.3)
					noise := NewNoiseInput(4, 5, rng)
					noise.Strength.Value.Fill(0.6)
					noise.Mode = mode
					noise.Given = randTensor(rng, 2, 4, 5)
					act := NewBiasAct(out, true)
					act.Bias.Value.FillNormal(rng, 0, 0.5)
					epi := NewModEpilogue(out, noise)
					epi.Bias = act.Bias
					x, w, dy := randTensor(rng, 2, 4, 5, 3), randTensor(rng, 2, 5), randTensor(rng, 2, 4, 5, out)
					ps := append(m.Params(), noise.Strength, act.Bias)

					type result struct {
						y, dx, dw, dnoise *tensor.Tensor
						grads             []*tensor.Tensor
					}
					run := func(fused bool) result {
						ZeroGrad(ps)
						noise.RNG = rand.New(rand.NewPCG(3, 3))
						var y *tensor.Tensor
						if fused {
							c, d := m.ForwardRaw(x, w)
							y = epi.Forward(c, d)
						} else {
							y = act.Forward(noise.Forward(m.Forward(x, w)))
						}
						x2 := x.Clone() // a second input, for held masks
						for i := range x2.Data {
							x2.Data[i] += 0.3
						}
						if hold {
							noise.RNG = rand.New(rand.NewPCG(3, 3)) // the same noise again
							if fused {
								epi.HoldMask(true)
								c, d := m.ForwardRaw(x2, w)
								y = epi.Forward(c, d)
							} else {
								act.HoldMask(true)
								y = act.Forward(noise.Forward(m.Forward(x2, w)))
							}
						}
						r := result{y: y.Clone()}
						var dx, dw *tensor.Tensor
						if fused {
							dc, dd := epi.Backward(dy)
							dx, dw = m.BackwardRaw(dc, dd)
							epi.HoldMask(false)
						} else {
							dx, dw = m.Backward(noise.Backward(act.Backward(dy)))
							act.HoldMask(false)
						}
						r.dx, r.dw = dx.Clone(), dw.Clone()
						if mode == NoiseGiven {
							r.dnoise = noise.NoiseGrad().Clone()
						}
						for _, p := range ps {
							r.grads = append(r.grads, p.Grad.Clone())
						}
						return r
					}
					want, got := run(false), run(true)
					name := fmt.Sprintf("out=%d demod=%v noise=%d hold=%v", out, demod, mode, hold)
					same := func(what string, a, b *tensor.Tensor) {
						t.Helper()
						if d := tensor.MaxAbsDiff(a, b); d > 1e-4*math.Max(1, maxAbs(b)) {
							t.Errorf("%s: %s differs by %g", name, what, d)
						}
					}
					same("y", got.y, want.y)
					same("dx", got.dx, want.dx)
					same("dw", got.dw, want.dw)
					if mode == NoiseGiven {
						same("dnoise", got.dnoise, want.dnoise)
					}
					for i, p := range ps {
						same("d"+p.Name, got.grads[i], want.grads[i])
					}
				}
			}
		}
	}
}

func maxAbs(t *tensor.Tensor) float64 {
	var m float64
	for _, v := range t.Data {
		m = math.Max(m, math.Abs(float64(v)))
	}
	return m
}

// epiAdapter makes a ModEpilogue a Layer of c, with d a parameter.
type epiAdapter struct {
	e *ModEpilogue
	d *Param
}

func (a *epiAdapter) Forward(c *tensor.Tensor) *tensor.Tensor { return a.e.Forward(c, a.d.Value.Data) }
func (a *epiAdapter) Backward(dy *tensor.Tensor) *tensor.Tensor {
	dc, dd := a.e.Backward(dy)
	for i, v := range dd {
		a.d.Grad.Data[i] += v
	}
	return dc
}
func (a *epiAdapter) Params() []*Param  { return append(a.e.Params(), a.d) }
func (a *epiAdapter) Buffers() []*Param { return nil }
func (a *epiAdapter) SetTraining(bool)  {}

func TestGradModEpilogue(t *testing.T) {
	rng := rand.New(rand.NewPCG(46, 0))
	noise := NewNoiseInput(3, 4, rng)
	noise.Mode = NoiseConst
	noise.Strength.Value.Fill(0.5)
	e := NewModEpilogue(5, noise)
	d := newParam("d", 2, 5)
	d.Value.FillUniform(rng, 0.5, 1.5)
	c := randTensor(rng, 2, 3, 4, 5)
	awayFromZero(c, 0.3) // with d ≥ 0.5, few pre-activations lie near the kink
	e.Bias.Value.FillNormal(rng, 0, 0.05)
	checkGradients(t, "modepilogue", &epiAdapter{e, d}, c, 1e-3)
}
