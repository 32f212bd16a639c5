package nn

import (
	"fmt"
	"math/rand/v2"

	"forger/parallel"
	"forger/tensor"
)

// NoiseMode says where a NoiseInput's noise comes from.
type NoiseMode int

const (
	// NoiseRandom draws fresh N(0,1) noise per sample and pixel on every
	// Forward, from the layer's RNG (training).
	NoiseRandom NoiseMode = iota
	// NoiseConst uses the layer's fixed noise image for every sample, so
	// that a w gives the same image every time (generation, projection).
	NoiseConst
	// NoiseNone adds nothing.
	NoiseNone
	// NoiseGiven uses Given, one noise image per sample, and Backward
	// computes its gradient (NoiseGrad): StyleGAN2's projector optimises the
	// noise beside w.
	NoiseGiven
)

// NoiseInput is StyleGAN's per-layer noise: y = x + Strength·noise, one noise
// value per sample and pixel, shared by all channels. Strength is learned
// and starts at 0, so the generator chooses how much stochastic detail each
// layer gets.
type NoiseInput struct {
	H, W     int
	Mode     NoiseMode
	RNG      *rand.Rand     // for NoiseRandom
	Strength *Param         // [1]
	Const    *Param         // buffer [H, W]: the noise of NoiseConst
	Given    *tensor.Tensor // [N, H, W]: the noise of NoiseGiven

	noise    *tensor.Tensor // [N, H, W]: the noise of the last Forward
	dnoise   *tensor.Tensor // [N, H, W]: NoiseGiven's gradient
	x, y, dy *tensor.Tensor
	fwd, sum parallel.Func
	sums     []float64 // per sample: Σ dy·noise
}

// NewNoiseInput returns noise for h×w activations; the constant noise is
// drawn from rng, as is the random noise until RNG is changed.
func NewNoiseInput(h, w int, rng *rand.Rand) *NoiseInput {
	l := &NoiseInput{H: h, W: w, RNG: rng, Strength: newParam("noise_strength", 1), Const: newBuffer("noise_const", h, w)}
	l.Const.Value.FillNormal(rng, 0, 1)
	return l
}

func (l *NoiseInput) Params() []*Param  { return []*Param{l.Strength} }
func (l *NoiseInput) Buffers() []*Param { return []*Param{l.Const} }
func (l *NoiseInput) SetTraining(bool)  {}

// Noise returns the noise of the last Forward, [N, H, W] (nil with
// NoiseNone).
func (l *NoiseInput) Noise() *tensor.Tensor {
	if l.Mode == NoiseNone {
		return nil
	}
	return l.noise
}

func (l *NoiseInput) Forward(x *tensor.Tensor) *tensor.Tensor {
	if len(x.Shape) != 4 || x.Shape[1] != l.H || x.Shape[2] != l.W {
		panic(fmt.Sprintf("nn.NoiseInput: input %v, want [N,%d,%d,C]", x.Shape, l.H, l.W))
	}
	l.x = x
	if l.Mode == NoiseNone {
		return x
	}
	n := x.Shape[0]
	l.prepare(n)
	if l.fwd == nil {
		l.fwd = l.forwardRange
	}
	l.y = tensor.Ensure(l.y, x.Shape...)
	parallel.For(n*l.H*l.W, grainFor(x.Shape[3]), l.fwd)
	return l.y
}

// prepare sets the noise of a forward pass of n samples by the mode (not
// NoiseNone).
func (l *NoiseInput) prepare(n int) {
	l.noise = tensor.Ensure(l.noise, n, l.H, l.W)
	switch l.Mode {
	case NoiseRandom:
		if l.RNG == nil {
			panic("nn.NoiseInput: random noise needs an RNG")
		}
		l.noise.FillNormal(l.RNG, 0, 1)
	case NoiseConst:
		for i := 0; i < n; i++ {
			copy(l.noise.Data[i*l.H*l.W:], l.Const.Value.Data)
		}
	case NoiseGiven:
		if l.Given == nil || !tensor.SameShape(l.Given.Shape, l.noise.Shape) {
			panic(fmt.Sprintf("nn.NoiseInput: given noise, want [%d,%d,%d]", n, l.H, l.W))
		}
		l.noise.CopyFrom(l.Given)
	}
}

func (l *NoiseInput) forwardRange(lo, hi int) {
	c := l.x.Shape[3]
	s := l.Strength.Value.Data[0]
	for p := lo; p < hi; p++ {
		v := s * l.noise.Data[p]
		x, y := l.x.Data[p*c:(p+1)*c], l.y.Data[p*c:(p+1)*c]
		for i, xv := range x {
			y[i] = xv + v
		}
	}
}

// NoiseGrad returns the gradient of the given noise after a Backward in
// NoiseGiven mode, [N, H, W].
func (l *NoiseInput) NoiseGrad() *tensor.Tensor { return l.dnoise }

// Backward returns dy itself (the noise is added) and accumulates the
// gradient of Strength; with NoiseGiven it also sets NoiseGrad.
func (l *NoiseInput) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if dy.Len() != l.x.Len() {
		panic(fmt.Sprintf("nn.NoiseInput: gradient %v does not match input %v", dy.Shape, l.x.Shape))
	}
	if l.Mode == NoiseGiven {
		l.dnoise = tensor.Ensure(l.dnoise, l.noise.Shape...)
	}
	if l.Mode == NoiseNone || (l.Strength.Frozen && l.Mode != NoiseGiven) {
		return dy
	}
	n := l.x.Shape[0]
	if len(l.sums) != n {
		l.sums = make([]float64, n)
	}
	if l.sum == nil {
		l.sum = l.sumRange
	}
	l.dy = dy
	parallel.For(n, 1, l.sum)
	var g float64
	for _, v := range l.sums {
		g += v
	}
	if !l.Strength.Frozen {
		l.Strength.Grad.Data[0] += float32(g)
	}
	return dy
}

// sumRange sets sums[i] = Σ dy·noise over sample i, for samples [lo,hi),
// and with NoiseGiven the noise's gradient Strength·Σ_channels dy.
func (l *NoiseInput) sumRange(lo, hi int) {
	c, hw := l.x.Shape[3], l.H*l.W
	st := float64(l.Strength.Value.Data[0])
	for i := lo; i < hi; i++ {
		var s float64
		for p := i * hw; p < (i+1)*hw; p++ {
			var r float64
			for _, v := range l.dy.Data[p*c : (p+1)*c] {
				r += float64(v)
			}
			s += r * float64(l.noise.Data[p])
			if l.Mode == NoiseGiven {
				l.dnoise.Data[p] = float32(st * r)
			}
		}
		l.sums[i] = s
	}
}
