package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"forger/parallel"
	"forger/tensor"
)

// DepthwiseConv2d convolves each input channel with its own Mult kernels
// (TensorFlow's depthwise_conv2d; PyTorch's Conv2d with groups = in). Output
// channel c·Mult+m is input channel c through kernel m. The weight keeps
// TensorFlow's layout [KH, KW, In, Mult], so that at each tap the weights of
// all output channels are contiguous, in output order.
type DepthwiseConv2d struct {
	Window
	In, Mult int
	Weight   *Param // [KH, KW, In, Mult]
	Bias     *Param // [In·Mult], or nil

	g            geom
	x, y, dx     *tensor.Tensor
	dy           []float32
	fwd, bwd, dw parallel.Func
	bj           biasJob
	cs           colSum
	// With Mult = 1 and stride 1 each tap's weights are repeated along an
	// output row (wTile, bTile for the bias), so that a tap of a whole row
	// is one element-wise multiply-add.
	wTile, bTile []float32
}

// NewDepthwiseConv2d returns a k×k depthwise convolution with symmetric
// padding (set Same for TensorFlow's "same"), its weight drawn as PyTorch
// draws a grouped convolution's (Kaiming-uniform with fan-in k·k).
func NewDepthwiseConv2d(in, mult, k, stride, pad int, bias bool, rng *rand.Rand) *DepthwiseConv2d {
	d := &DepthwiseConv2d{Window: Window{KH: k, KW: k, Stride: stride, PadT: pad, PadL: pad, PadB: pad, PadR: pad}, In: in, Mult: mult}
	d.Weight = newParam("weight", k, k, in, mult)
	bound := 1 / math.Sqrt(float64(k*k))
	d.Weight.Value.FillUniform(rng, -bound, bound)
	if bias {
		d.Bias = newParam("bias", in*mult)
		d.Bias.Value.FillUniform(rng, -bound, bound)
	}
	d.init()
	return d
}

func (d *DepthwiseConv2d) init() {
	d.fwd, d.bwd, d.dw = d.forwardRange, d.backwardRange, d.weightGradRange
}

// Out is the number of output channels, In·Mult.
func (d *DepthwiseConv2d) Out() int { return d.In * d.Mult }

func (d *DepthwiseConv2d) Params() []*Param {
	if d.Bias == nil {
		return []*Param{d.Weight}
	}
	return []*Param{d.Weight, d.Bias}
}
func (d *DepthwiseConv2d) Buffers() []*Param   { return nil }
func (d *DepthwiseConv2d) SetTraining(bool)    {}
func (d *DepthwiseConv2d) WeightParam() *Param { return d.Weight }

func (d *DepthwiseConv2d) Forward(x *tensor.Tensor) *tensor.Tensor {
	if len(x.Shape) != 4 || x.Shape[3] != d.In {
		panic(fmt.Sprintf("nn.DepthwiseConv2d: input %v, want [N,H,W,%d]", x.Shape, d.In))
	}
	if d.fwd == nil {
		d.init()
	}
	d.g = d.geomFor("DepthwiseConv2d", x)
	d.x = x
	d.y = tensor.Ensure(d.y, d.g.n, d.g.ho, d.g.wo, d.Out())
	if d.Mult == 1 {
		d.tile()
	}
	// One chunk is a row of outputs (n, oy).
	parallel.For(d.g.n*d.g.ho, grainFor(d.g.wo*d.Out()*d.KH*d.KW), d.fwd)
	if d.Bias != nil && d.Mult != 1 {
		d.bj = biasJob{y: d.y.Data, b: d.Bias.Value.Data}
		parallel.For(d.g.rows(), rowGrain, &d.bj)
	}
	return d.y
}

// tile repeats the weights (for stride 1) and the bias along an output row.
// It runs on every Forward: the weights may have changed since.
func (d *DepthwiseConv2d) tile() {
	C, wo, taps := d.In, d.g.wo, d.KH*d.KW
	if d.Bias != nil {
		d.bTile = grow(d.bTile, wo*C)
		for ox := 0; ox < wo; ox++ {
			copy(d.bTile[ox*C:(ox+1)*C], d.Bias.Value.Data)
		}
	}
	if d.Stride != 1 {
		return
	}
	d.wTile = grow(d.wTile, taps*wo*C)
	for t := 0; t < taps; t++ {
		w := d.Weight.Value.Data[t*C : (t+1)*C]
		for ox := 0; ox < wo; ox++ {
			copy(d.wTile[(t*wo+ox)*C:], w)
		}
	}
}

func grow(b []float32, n int) []float32 {
	if cap(b) < n {
		return make([]float32, n)
	}
	return b[:n]
}

// validOut returns the outputs [lo,hi) along an axis whose kernel tap k reads
// inside the input: 0 ≤ o·s − pad + k < in.
func validOut(k, pad, s, in, outs int) (lo, hi int) {
	if a := pad - k; a > 0 {
		lo = (a + s - 1) / s
	}
	if b := in - 1 + pad - k; b < 0 {
		return lo, lo
	} else {
		hi = min(outs, b/s+1)
	}
	return lo, max(lo, hi)
}

func (d *DepthwiseConv2d) forwardRange(lo, hi int) {
	if d.Mult != 1 {
		d.forwardMult(lo, hi)
		return
	}
	g, C := &d.g, d.In
	x, w, y := d.x.Data, d.Weight.Value.Data, d.y.Data
	for row := lo; row < hi; row++ {
		n, oy := row/g.ho, row%g.ho
		out := y[row*g.wo*C : (row+1)*g.wo*C]
		if d.Bias != nil {
			copy(out, d.bTile)
		} else {
			clear(out)
		}
		y0 := oy*g.sh - g.pt
		for ky := max(0, -y0); ky < min(g.kh, g.h-y0); ky++ {
			in := x[(n*g.h+y0+ky)*g.w*C:][:g.w*C]
			for kx := 0; kx < g.kw; kx++ {
				ox0, ox1 := validOut(kx, g.pl, g.sw, g.w, g.wo)
				if ox0 == ox1 {
					continue
				}
				t := ky*g.kw + kx
				if g.sw == 1 {
					ix0 := ox0 - g.pl + kx
					fmadd(out[ox0*C:ox1*C], in[ix0*C:], d.wTile[t*g.wo*C:])
					continue
				}
				wt := w[t*C : (t+1)*C]
				for ox := ox0; ox < ox1; ox++ {
					ix := ox*g.sw - g.pl + kx
					fmadd(out[ox*C:(ox+1)*C], in[ix*C:], wt)
				}
			}
		}
	}
}

// forwardMult is the general case Mult > 1.
func (d *DepthwiseConv2d) forwardMult(lo, hi int) {
	g, C, M, O := &d.g, d.In, d.Mult, d.Out()
	x, w, y := d.x.Data, d.Weight.Value.Data, d.y.Data
	for row := lo; row < hi; row++ {
		n, oy := row/g.ho, row%g.ho
		for ox := 0; ox < g.wo; ox++ {
			out := y[((n*g.ho+oy)*g.wo+ox)*O:][:O]
			clear(out)
			ky0, ky1, kx0, kx1 := g.taps(oy, ox)
			for ky := ky0; ky < ky1; ky++ {
				iy := oy*g.sh - g.pt + ky
				for kx := kx0; kx < kx1; kx++ {
					ix := ox*g.sw - g.pl + kx
					in := x[((n*g.h+iy)*g.w+ix)*C:][:C]
					wt := w[(ky*g.kw+kx)*O:][:O]
					for c, v := range in {
						o, k := out[c*M:(c+1)*M], wt[c*M:(c+1)*M]
						for m := range o {
							o[m] += v * k[m]
						}
					}
				}
			}
		}
	}
}

func (d *DepthwiseConv2d) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if dy.Len() != d.y.Len() {
		panic(fmt.Sprintf("nn.DepthwiseConv2d: gradient %v does not match output %v", dy.Shape, d.y.Shape))
	}
	d.dy = dy.Data
	if !d.Weight.Frozen {
		// Each channel's kernel gradient is summed by one goroutine.
		parallel.For(d.In, max(1, d.In/16), d.dw)
	}
	if d.Bias != nil && !d.Bias.Frozen {
		d.cs = colSum{m: dy.Data, sum: d.Bias.Grad.Data}
		parallel.For(d.Out(), 8, &d.cs)
	}
	d.dx = tensor.Ensure(d.dx, d.x.Shape...)
	// Every input row (n, iy) gathers from the outputs that read it.
	parallel.For(d.g.n*d.g.h, grainFor(d.g.w*d.Out()*d.KH*d.KW), d.bwd)
	return d.dx
}

func (d *DepthwiseConv2d) backwardRange(lo, hi int) {
	if d.Mult != 1 {
		d.backwardMult(lo, hi)
		return
	}
	g, C := &d.g, d.In
	w, dx, dy := d.Weight.Value.Data, d.dx.Data, d.dy
	for row := lo; row < hi; row++ {
		n, iy := row/g.h, row%g.h
		dst := dx[row*g.w*C : (row+1)*g.w*C]
		clear(dst)
		oy0, oy1 := outRange(iy, g.pt, g.kh, g.sh, g.ho)
		for oy := oy0; oy < oy1; oy++ {
			ky := iy + g.pt - oy*g.sh
			src := dy[(n*g.ho+oy)*g.wo*C:][:g.wo*C]
			for kx := 0; kx < g.kw; kx++ {
				ox0, ox1 := validOut(kx, g.pl, g.sw, g.w, g.wo)
				if ox0 == ox1 {
					continue
				}
				t := ky*g.kw + kx
				if g.sw == 1 {
					ix0 := ox0 - g.pl + kx
					fmadd(dst[ix0*C:(ix0+ox1-ox0)*C], src[ox0*C:], d.wTile[t*g.wo*C:])
					continue
				}
				wt := w[t*C : (t+1)*C]
				for ox := ox0; ox < ox1; ox++ {
					ix := ox*g.sw - g.pl + kx
					fmadd(dst[ix*C:(ix+1)*C], src[ox*C:], wt)
				}
			}
		}
	}
}

// backwardMult is the general case Mult > 1.
func (d *DepthwiseConv2d) backwardMult(lo, hi int) {
	g, C, M, O := &d.g, d.In, d.Mult, d.Out()
	w, dx, dy := d.Weight.Value.Data, d.dx.Data, d.dy
	for row := lo; row < hi; row++ {
		n, iy := row/g.h, row%g.h
		oy0, oy1 := outRange(iy, g.pt, g.kh, g.sh, g.ho)
		for ix := 0; ix < g.w; ix++ {
			dst := dx[((n*g.h+iy)*g.w+ix)*C:][:C]
			clear(dst)
			ox0, ox1 := outRange(ix, g.pl, g.kw, g.sw, g.wo)
			for oy := oy0; oy < oy1; oy++ {
				ky := iy + g.pt - oy*g.sh
				for ox := ox0; ox < ox1; ox++ {
					kx := ix + g.pl - ox*g.sw
					src := dy[((n*g.ho+oy)*g.wo+ox)*O:][:O]
					wt := w[(ky*g.kw+kx)*O:][:O]
					for c := range dst {
						var s float32
						for m := 0; m < M; m++ {
							s += src[c*M+m] * wt[c*M+m]
						}
						dst[c] += s
					}
				}
			}
		}
	}
}

// weightGradRange accumulates the kernel gradients of input channels
// [lo,hi) over every output position.
func (d *DepthwiseConv2d) weightGradRange(lo, hi int) {
	g, C, M, O := &d.g, d.In, d.Mult, d.Out()
	x, dy, gw := d.x.Data, d.dy, d.Weight.Grad.Data
	for n := 0; n < g.n; n++ {
		for oy := 0; oy < g.ho; oy++ {
			for ox := 0; ox < g.wo; ox++ {
				src := dy[((n*g.ho+oy)*g.wo+ox)*O:][lo*M : hi*M]
				ky0, ky1, kx0, kx1 := g.taps(oy, ox)
				for ky := ky0; ky < ky1; ky++ {
					iy := oy*g.sh - g.pt + ky
					for kx := kx0; kx < kx1; kx++ {
						ix := ox*g.sw - g.pl + kx
						in := x[((n*g.h+iy)*g.w+ix)*C:][lo:hi]
						gt := gw[(ky*g.kw+kx)*O:][lo*M : hi*M]
						if M == 1 {
							fmadd(gt, in, src)
							continue
						}
						for c, v := range in {
							for m := 0; m < M; m++ {
								gt[c*M+m] += v * src[c*M+m]
							}
						}
					}
				}
			}
		}
	}
}
