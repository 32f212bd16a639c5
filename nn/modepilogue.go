package nn

import (
	"fmt"

	"forger/parallel"
	"forger/tensor"
)

// ModEpilogue is the rest of StyleGAN2's synthesis layer after the
// modulated convolution, fused into one pass each way:
//
//	y = lrelu(c·d + Strength·noise + b)·Gain
//
// for the convolution c and demodulation coefficients d of
// ModConv2d.ForwardRaw, the noise of a NoiseInput (its Forward is not used:
// the epilogue draws and adds the noise itself) and a bias. It computes what
// ModConv2d (demodulation), NoiseInput and BiasAct compute one after the
// other, reading and writing the activations once instead of three times.
type ModEpilogue struct {
	C     int
	Noise *NoiseInput // nil: no noise
	Bias  *Param      // [C]
	Slope float32     // 0.2
	Gain  float32     // √2

	n, pix  int
	c, y    *tensor.Tensor
	d, dg   []float32 // [N, C] coefficients (nil: 1), and d·Gain
	dy      []float32
	dc      *tensor.Tensor
	dd, bs  []float32 // [N, C] gradient of d; per-sample bias sums
	ns      []float64 // [N] per-sample Σ dz·noise
	held    []float32
	holding bool
	fwd     parallel.Func
	bwd     parallel.Func
}

// NewModEpilogue returns the epilogue over c channels with noise (may be
// nil) and a zero bias, leaky ReLU 0.2 and gain √2.
func NewModEpilogue(c int, noise *NoiseInput) *ModEpilogue {
	return &ModEpilogue{C: c, Noise: noise, Bias: newParam("bias", c), Slope: 0.2, Gain: SqrtTwo}
}

// Params returns the bias and the noise strength.
func (e *ModEpilogue) Params() []*Param {
	if e.Noise == nil {
		return []*Param{e.Bias}
	}
	return []*Param{e.Noise.Strength, e.Bias}
}

// HoldMask: see EqualLinear.HoldMask.
func (e *ModEpilogue) HoldMask(on bool) {
	e.holding = on
	if on {
		e.held = append(e.held[:0], e.y.Data...)
	}
}

func (e *ModEpilogue) noisy() bool { return e.Noise != nil && e.Noise.Mode != NoiseNone }

// Forward returns y for c [N, H, W, C] and d [N, C] (nil: no
// demodulation).
func (e *ModEpilogue) Forward(c *tensor.Tensor, d []float32) *tensor.Tensor {
	if len(c.Shape) != 4 || c.Shape[3] != e.C || (d != nil && len(d) != c.Shape[0]*e.C) {
		panic(fmt.Sprintf("nn.ModEpilogue: input %v with %d coefficients, want [N,H,W,%d] and N·%d", c.Shape, len(d), e.C, e.C))
	}
	if e.fwd == nil {
		e.fwd, e.bwd = e.forwardRange, e.backwardRange
	}
	e.n, e.pix = c.Shape[0], c.Shape[1]*c.Shape[2]
	e.c, e.d = c, d
	if e.noisy() {
		if c.Shape[1] != e.Noise.H || c.Shape[2] != e.Noise.W {
			panic(fmt.Sprintf("nn.ModEpilogue: input %v, noise of %d×%d", c.Shape, e.Noise.H, e.Noise.W))
		}
		e.Noise.prepare(e.n)
	}
	e.dg = resize(e.dg, e.n*e.C)
	for i := range e.dg {
		e.dg[i] = e.Gain
		if d != nil {
			e.dg[i] = d[i] * e.Gain
		}
	}
	e.y = tensor.Ensure(e.y, c.Shape...)
	parallel.For(e.n*e.pix, grainFor(e.C), e.fwd)
	return e.y
}

func (e *ModEpilogue) forwardRange(lo, hi int) {
	c := e.C
	var buf [512]float32
	shift := buf[:0]
	if c <= len(buf) {
		shift = buf[:c]
	} else {
		shift = make([]float32, c)
	}
	var s float32
	if e.noisy() {
		s = e.Noise.Strength.Value.Data[0]
	}
	b := e.Bias.Value.Data
	for r := lo; r < hi; r++ {
		var v float32
		if e.noisy() {
			v = s * e.Noise.noise.Data[r]
		}
		for i, bv := range b {
			shift[i] = (bv + v) * e.Gain
		}
		n := r / e.pix
		y := e.y.Data[r*c : (r+1)*c]
		affineAct(y, e.c.Data[r*c:(r+1)*c], e.dg[n*c:(n+1)*c], shift, c, e.Slope, !e.holding)
		if e.holding {
			for i, h := range e.held[r*c : (r+1)*c] {
				if h <= 0 {
					y[i] *= e.Slope
				}
			}
		}
	}
}

// Backward takes dL/dy and returns dL/dc and dL/dd ([N, C]; nil when
// Forward had no d), accumulating the gradients of the bias and the noise
// strength, and with NoiseGiven setting the noise's (Noise.NoiseGrad).
func (e *ModEpilogue) Backward(dy *tensor.Tensor) (dc *tensor.Tensor, dd []float32) {
	if e.y == nil || dy.Len() != e.y.Len() {
		panic(fmt.Sprintf("nn.ModEpilogue: gradient %v does not match the output", dy.Shape))
	}
	e.dy = dy.Data
	e.dc = tensor.Ensure(e.dc, e.y.Shape...)
	e.dd = resize(e.dd, e.n*e.C)
	e.bs = resize(e.bs, e.n*e.C)
	if len(e.ns) != e.n {
		e.ns = make([]float64, e.n)
	}
	if e.noisy() && e.Noise.Mode == NoiseGiven {
		e.Noise.dnoise = tensor.Ensure(e.Noise.dnoise, e.n, e.Noise.H, e.Noise.W)
	}
	parallel.For(e.n, 1, e.bwd)
	if !e.Bias.Frozen {
		for i := range e.Bias.Grad.Data {
			var s float64
			for n := 0; n < e.n; n++ {
				s += float64(e.bs[n*e.C+i])
			}
			e.Bias.Grad.Data[i] += float32(s * float64(e.Gain))
		}
	}
	if e.noisy() && !e.Noise.Strength.Frozen {
		var s float64
		for _, v := range e.ns {
			s += v
		}
		e.Noise.Strength.Grad.Data[0] += float32(s * float64(e.Gain))
	}
	if e.d == nil {
		return e.dc, nil
	}
	return e.dc, e.dd
}

// backwardRange handles the samples [lo,hi): with dz = dL/dy masked by the
// leaky ReLU (without Gain), dc = dz·d·Gain, and per sample the sums of
// dz·c (for dd), of dz (the bias) and of dz·noise (the strength).
func (e *ModEpilogue) backwardRange(lo, hi int) {
	c := e.C
	noisy := e.noisy()
	given := noisy && e.Noise.Mode == NoiseGiven
	var st float32
	if noisy {
		st = e.Noise.Strength.Value.Data[0] * e.Gain
	}
	mask := e.y.Data
	if e.holding {
		mask = e.held
	}
	for n := lo; n < hi; n++ {
		dd, bs := e.dd[n*c:(n+1)*c], e.bs[n*c:(n+1)*c]
		clear(dd)
		clear(bs)
		dg := e.dg[n*c : (n+1)*c]
		var ns float64
		for r := n * e.pix; r < (n+1)*e.pix; r++ {
			dz := e.dc.Data[r*c : (r+1)*c]
			leakyGrad(dz, e.dy[r*c:(r+1)*c], mask[r*c:(r+1)*c], e.Slope)
			addTo(bs, dz)
			fmadd(dd, dz, e.c.Data[r*c:(r+1)*c])
			if noisy {
				var sum float32
				for _, v := range dz {
					sum += v
				}
				ns += float64(sum) * float64(e.Noise.noise.Data[r])
				if given {
					e.Noise.dnoise.Data[r] = st * sum
				}
			}
			for i := range dz {
				dz[i] *= dg[i]
			}
		}
		for i := range dd {
			dd[i] *= e.Gain
		}
		e.ns[n] = ns
	}
}
