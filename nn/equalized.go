package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"forger/blas"
	"forger/parallel"
	"forger/tensor"
)

// Equalized learning rate (Karras et al., "Progressive growing of GANs"):
// weights are stored as N(0,1)/LRMul and scaled at run time by
// LRMul/√fan_in, so that Adam, whose steps do not depend on a gradient's
// scale, moves every layer's effective weights at the same relative rate;
// LRMul < 1 slows a layer down (StyleGAN's mapping network uses 0.01).
// Biases are scaled by LRMul likewise. The layers fuse StyleGAN2's bias_act:
// bias, then optionally leaky ReLU (slope 0.2), then a gain (√2 after a
// leaky ReLU, which keeps the activations' second moment).

// SqrtTwo is the gain StyleGAN2 applies after a leaky ReLU.
const SqrtTwo = math.Sqrt2

// biasAct is y = act(x·wg + b·bg)·gain over rows of c channels, and its
// backward, shared by the equalized layers. Since leaky ReLU commutes with
// positive scaling, forward is one affine map and one leaky ReLU (SIMD).
type biasAct struct {
	act            bool
	slope, gain    float32
	wg, bg         float32
	c              int
	scale, shift   []float32 // [c]: wg·gain and b·bg·gain, the affine map
	x, y, dy, dx   []float32
	sums           []float32 // [c] column sums of the gradient
	dxBuf          []float32 // EqualLinear's gradient of its product
	held           []float32 // the output whose signs a held mask uses
	holding        bool
	bias           *Param
	fwd, bwd, bsum parallel.Func
}

func (b *biasAct) init(c int, act bool, gain float32, bias *Param, bg float32) {
	b.c, b.act, b.gain, b.bias, b.bg, b.slope = c, act, gain, bias, bg, 0.2
	b.scale, b.shift = make([]float32, c), make([]float32, c)
	b.sums = make([]float32, c)
	b.fwd, b.bwd, b.bsum = b.forwardRange, b.backwardRange, b.sumRange
}

// forward sets y = act(x·wg + bias·bg)·gain.
func (b *biasAct) forward(y, x []float32, wg float32) {
	b.wg = wg
	for i := range b.scale {
		b.scale[i] = wg * b.gain
		b.shift[i] = 0
		if b.bias != nil {
			b.shift[i] = b.bias.Value.Data[i] * b.bg * b.gain
		}
	}
	b.x, b.y = x, y
	parallel.For(len(x)/b.c, grainFor(b.c), b.fwd)
}

func (b *biasAct) forwardRange(lo, hi int) {
	c := b.c
	y := b.y[lo*c : hi*c]
	affineAct(y, b.x[lo*c:hi*c], b.scale, b.shift, c, b.slope, b.act && !b.holding)
	if b.holding {
		for i, v := range b.held[lo*c : hi*c] {
			if v <= 0 {
				y[i] *= b.slope
			}
		}
	}
}

// holdMask fixes (on) or releases the leaky ReLU's mask at the signs of the
// last output; see Activation.HoldMask.
func (b *biasAct) holdMask(on bool) {
	b.holding = on && b.act
	if b.holding {
		b.held = append(b.held[:0], b.y...)
	}
}

// backward sets dx = dL/d(x·wg)·wg, the gradient with respect to x, and
// accumulates the bias gradient. y is the output of the forward pass.
func (b *biasAct) backward(dx, dy []float32) {
	b.dx, b.dy = dx, dy
	parallel.For(len(dy)/b.c, grainFor(b.c), b.bwd)
	if b.bias != nil && !b.bias.Frozen {
		// dL/d(bias) = bg · Σ dz, and dx = dz·wg.
		parallel.For(b.c, 8, b.bsum)
		for i, v := range b.sums {
			b.bias.Grad.Data[i] += v * b.bg / b.wg
		}
	}
}

func (b *biasAct) backwardRange(lo, hi int) {
	c := b.c
	dx, dy := b.dx[lo*c:hi*c], b.dy[lo*c:hi*c]
	if b.act {
		// The sign of y is that of the pre-activation (gain > 0).
		mask := b.y
		if b.holding {
			mask = b.held
		}
		leakyGrad(dx, dy, mask[lo*c:hi*c], b.slope)
		dy = dx
	}
	f := b.wg * b.gain
	for i, v := range dy {
		dx[i] = v * f
	}
}

// sumRange sums the columns [lo,hi) of dx in float64, one fixed order.
func (b *biasAct) sumRange(lo, hi int) {
	c := b.c
	rows := len(b.dx) / c
	for j := lo; j < hi; j++ {
		var s float64
		for r := 0; r < rows; r++ {
			s += float64(b.dx[r*c+j])
		}
		b.sums[j] = float32(s)
	}
}

// EqualLinear is StyleGAN2's FullyConnectedLayer: a linear layer on the last
// axis with equalized learning rate, bias and optional leaky ReLU with gain.
type EqualLinear struct {
	In, Out int
	LRMul   float32
	Act     bool    // leaky ReLU (0.2) after the bias
	Gain    float32 // multiplies the output (√2 with Act in StyleGAN2)
	Weight  *Param  // [Out, In], N(0,1)/LRMul
	Bias    *Param  // [Out], or nil; scaled by LRMul

	x, y, dx *tensor.Tensor
	shape    []int
	ba       biasAct
}

// NewEqualLinear returns the layer with weights N(0,1)/lrMul and the bias
// filled with biasInit (StyleGAN2's affine layers start at 1, so that the
// styles start near 1). With act it applies leaky ReLU and gain √2.
func NewEqualLinear(in, out int, bias bool, biasInit, lrMul float32, act bool, rng *rand.Rand) *EqualLinear {
	l := &EqualLinear{In: in, Out: out, LRMul: lrMul, Act: act, Gain: 1, Weight: newParam("weight", out, in)}
	if act {
		l.Gain = SqrtTwo
	}
	l.Weight.Value.FillNormal(rng, 0, 1/float64(lrMul))
	if bias {
		l.Bias = newParam("bias", out)
		l.Bias.Value.Fill(biasInit)
	}
	return l
}

// HoldMask fixes, when on, which units of the leaky ReLU pass: those of the
// last Forward's output (see Activation.HoldMask; an R1 penalty's
// finite-difference second derivatives need it). Without Act it does
// nothing.
func (l *EqualLinear) HoldMask(on bool) { l.ba.holdMask(on) }

// WeightGain is the run-time scale of the weight, LRMul/√In.
func (l *EqualLinear) WeightGain() float32 { return l.LRMul / float32(math.Sqrt(float64(l.In))) }

func (l *EqualLinear) Params() []*Param {
	if l.Bias == nil {
		return []*Param{l.Weight}
	}
	return []*Param{l.Weight, l.Bias}
}
func (l *EqualLinear) Buffers() []*Param { return nil }
func (l *EqualLinear) SetTraining(bool)  {}

func (l *EqualLinear) Forward(x *tensor.Tensor) *tensor.Tensor {
	if x.Dim(-1) != l.In {
		panic(fmt.Sprintf("nn.EqualLinear: input %v, want last axis %d", x.Shape, l.In))
	}
	if l.ba.c != l.Out {
		l.ba.init(l.Out, l.Act, l.Gain, l.Bias, l.LRMul)
	}
	l.ba.act, l.ba.gain, l.ba.bias, l.ba.bg = l.Act, l.Gain, l.Bias, l.LRMul
	l.x = x
	rows := x.Rows()
	l.shape = append(l.shape[:0], x.Shape...)
	l.shape[len(l.shape)-1] = l.Out
	l.y = tensor.Ensure(l.y, l.shape...)
	blas.Sgemm(false, true, rows, l.Out, l.In, 1, x.Data, l.In, l.Weight.Value.Data, l.In, 0, l.y.Data, l.Out)
	l.ba.forward(l.y.Data, l.y.Data, l.WeightGain())
	return l.y
}

func (l *EqualLinear) Backward(dy *tensor.Tensor) *tensor.Tensor {
	rows := l.x.Rows()
	if dy.Len() != rows*l.Out {
		panic(fmt.Sprintf("nn.EqualLinear: gradient %v does not match output", dy.Shape))
	}
	// dz is the gradient of the unscaled product x·Wᵀ (l.y still holds the
	// activation's mask).
	dz := l.ba.dzBuffer(rows * l.Out)
	l.ba.backward(dz, dy.Data)
	if !l.Weight.Frozen {
		blas.Sgemm(true, false, l.Out, l.In, rows, 1, dz, l.Out, l.x.Data, l.In, 1, l.Weight.Grad.Data, l.In)
	}
	l.dx = tensor.Ensure(l.dx, l.x.Shape...)
	blas.Sgemm(false, false, rows, l.In, l.Out, 1, dz, l.Out, l.Weight.Value.Data, l.In, 0, l.dx.Data, l.In)
	return l.dx
}

// dzBuffer returns scratch of n floats for the gradient of the
// pre-activation product.
func (b *biasAct) dzBuffer(n int) []float32 {
	if cap(b.dxBuf) < n {
		b.dxBuf = make([]float32, n)
	}
	return b.dxBuf[:n]
}

// EqualConv2d is StyleGAN2's Conv2dLayer without resampling (compose it with
// UpFIRDn2d for that): a convolution with equalized learning rate, weight
// N(0,1) scaled by 1/√(In·K·K), bias, optional leaky ReLU, and a gain.
type EqualConv2d struct {
	Conv *Conv2d // its Weight is this layer's; its Bias is nil
	Bias *Param  // [Out], or nil
	Act  bool
	Gain float32

	y, dx *tensor.Tensor
	ba    biasAct
}

// NewEqualConv2d returns a k×k convolution with stride and symmetric
// padding; with act, leaky ReLU and gain √2 (times gain, which StyleGAN2's
// residual blocks set to √½).
func NewEqualConv2d(in, out, k, stride, pad int, bias, act bool, gain float32, rng *rand.Rand) *EqualConv2d {
	c := &Conv2d{In: in, Out: out, KH: k, KW: k, Stride: stride, PadT: pad, PadL: pad, PadB: pad, PadR: pad}
	c.Weight = newParam("weight", out, k, k, in)
	c.Weight.Value.FillNormal(rng, 0, 1)
	l := &EqualConv2d{Conv: c, Act: act, Gain: gain}
	if act {
		l.Gain *= SqrtTwo
	}
	if bias {
		l.Bias = newParam("bias", out)
	}
	return l
}

// HoldMask: see EqualLinear.HoldMask.
func (l *EqualConv2d) HoldMask(on bool) { l.ba.holdMask(on) }

// WeightGain is the run-time scale of the weight, 1/√(In·K·K).
func (l *EqualConv2d) WeightGain() float32 {
	return 1 / float32(math.Sqrt(float64(l.Conv.In*l.Conv.KH*l.Conv.KW)))
}

func (l *EqualConv2d) Params() []*Param {
	if l.Bias == nil {
		return []*Param{l.Conv.Weight}
	}
	return []*Param{l.Conv.Weight, l.Bias}
}
func (l *EqualConv2d) Buffers() []*Param { return nil }
func (l *EqualConv2d) SetTraining(bool)  {}

// SetWorkspace makes the convolution keep its column matrix in ws (see
// Workspace).
func (l *EqualConv2d) SetWorkspace(ws *Workspace) { l.Conv.WS = ws }

func (l *EqualConv2d) Forward(x *tensor.Tensor) *tensor.Tensor {
	if l.ba.c != l.Conv.Out {
		l.ba.init(l.Conv.Out, l.Act, l.Gain, l.Bias, 1)
	}
	l.ba.act, l.ba.gain, l.ba.bias = l.Act, l.Gain, l.Bias
	c := l.Conv.Forward(x)
	l.y = tensor.Ensure(l.y, c.Shape...)
	l.ba.forward(l.y.Data, c.Data, l.WeightGain())
	return l.y
}

func (l *EqualConv2d) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if l.y == nil || dy.Len() != l.y.Len() {
		panic(fmt.Sprintf("nn.EqualConv2d: gradient %v does not match output", dy.Shape))
	}
	l.dx = tensor.Ensure(l.dx, l.y.Shape...)
	l.ba.y = l.y.Data
	l.ba.backward(l.dx.Data, dy.Data)
	return l.Conv.Backward(l.dx)
}

// PixelNorm is StyleGAN's normalize_2nd_moment: each row of the last axis
// divided by its root mean square (plus 1e-8 inside the root), so that z
// enters the mapping network on the sphere of radius √dim.
type PixelNorm struct {
	stateless
	x, y, dx *tensor.Tensor
	r        []float32 // per row, 1/√(mean(x²)+ε)
}

func (p *PixelNorm) Forward(x *tensor.Tensor) *tensor.Tensor {
	p.x = x
	p.y = tensor.Ensure(p.y, x.Shape...)
	rows, c := x.Rows(), x.Dim(-1)
	if cap(p.r) < rows {
		p.r = make([]float32, rows)
	}
	p.r = p.r[:rows]
	for i := 0; i < rows; i++ {
		row := x.Data[i*c : (i+1)*c]
		var s float64
		for _, v := range row {
			s += float64(v) * float64(v)
		}
		r := 1 / math.Sqrt(s/float64(c)+1e-8)
		p.r[i] = float32(r)
		for j, v := range row {
			p.y.Data[i*c+j] = v * float32(r)
		}
	}
	return p.y
}

// Backward: dx = r·dy − r³/C · x · Σ dy·x, per row.
func (p *PixelNorm) Backward(dy *tensor.Tensor) *tensor.Tensor {
	x := p.x
	p.dx = tensor.Ensure(p.dx, x.Shape...)
	rows, c := x.Rows(), x.Dim(-1)
	for i := 0; i < rows; i++ {
		row, d := x.Data[i*c:(i+1)*c], dy.Data[i*c:(i+1)*c]
		var s float64
		for j, v := range row {
			s += float64(v) * float64(d[j])
		}
		r := float64(p.r[i])
		k := r * r * r * s / float64(c)
		for j, v := range row {
			p.dx.Data[i*c+j] = float32(r*float64(d[j]) - k*float64(v))
		}
	}
	return p.dx
}

// BiasAct is StyleGAN2's bias_act as a layer: y = act(x + b)·Gain over the
// last axis, act a leaky ReLU (0.2) or the identity.
type BiasAct struct {
	C    int
	Bias *Param // [C], zero at first
	Act  bool
	Gain float32

	y, dx *tensor.Tensor
	ba    biasAct
}

// NewBiasAct returns a zero bias over c channels; with act, leaky ReLU and
// gain √2.
func NewBiasAct(c int, act bool) *BiasAct {
	b := &BiasAct{C: c, Bias: newParam("bias", c), Act: act, Gain: 1}
	if act {
		b.Gain = SqrtTwo
	}
	return b
}

// HoldMask: see EqualLinear.HoldMask.
func (b *BiasAct) HoldMask(on bool) { b.ba.holdMask(on) }

func (b *BiasAct) Params() []*Param  { return []*Param{b.Bias} }
func (b *BiasAct) Buffers() []*Param { return nil }
func (b *BiasAct) SetTraining(bool)  {}

func (b *BiasAct) Forward(x *tensor.Tensor) *tensor.Tensor {
	if x.Dim(-1) != b.C {
		panic(fmt.Sprintf("nn.BiasAct: input %v, want %d channels", x.Shape, b.C))
	}
	if b.ba.c != b.C {
		b.ba.init(b.C, b.Act, b.Gain, b.Bias, 1)
	}
	b.ba.act, b.ba.gain, b.ba.bias = b.Act, b.Gain, b.Bias
	b.y = tensor.Ensure(b.y, x.Shape...)
	b.ba.forward(b.y.Data, x.Data, 1)
	return b.y
}

func (b *BiasAct) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if b.y == nil || dy.Len() != b.y.Len() {
		panic(fmt.Sprintf("nn.BiasAct: gradient %v does not match output", dy.Shape))
	}
	b.dx = tensor.Ensure(b.dx, b.y.Shape...)
	b.ba.y = b.y.Data
	b.ba.backward(b.dx.Data, dy.Data)
	return b.dx
}
