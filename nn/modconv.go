package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"forger/parallel"
	"forger/tensor"
)

// ModConv2d is StyleGAN2's modulated convolution: an affine layer turns w
// into one style per input channel, the style scales the weights' input
// channels, and demodulation divides each output channel by the norm of its
// scaled weights, so that every sample has its own convolution.
//
// It runs as StyleGAN2's non-fused path: the input is scaled by the style,
// convolved with the shared weight (one GEMM over the whole batch, as
// Conv2d does) and the output scaled by the demodulation coefficients
// 1/√(Σ (W·s)² + 1e-8). This is exactly the grouped per-sample convolution,
// without building N weight tensors.
//
// With Up the convolution doubles the size as StyleGAN2's conv0 does: a
// transposed convolution of stride 2 followed by the [1,3,3,1] blur (gain 4),
// which is a quarter of the work of convolving the upsampled image. The
// weight is not scaled by an equalized gain: demodulation makes its scale
// irrelevant. ToRGB layers (no demodulation) scale the styles by StyleGain
// = 1/√(In·K·K) instead.
//
// Forward takes the input and w; Backward returns the gradients of both.
type ModConv2d struct {
	In, Out, K int
	Up         bool
	Demod      bool
	StyleGain  float32
	Affine     *EqualLinear // w → styles, bias 1
	Weight     *Param       // [Out, K, K, In], N(0,1)

	conv  *Conv2d          // without Up: shares Weight
	convT *ConvTranspose2d // with Up: Weight transposed to [In, K, K, Out]
	blur  *UpFIRDn2d       // with Up

	n, pix      int // batch, output positions per sample
	x           *tensor.Tensor
	s           []float32 // [N, In] styles (× StyleGain)
	xs, c, y    *tensor.Tensor
	d, dd       []float32 // [N, Out] demodulation coefficients, their gradient
	w2          []float32 // [Out, In] Σ over the kernel of W²
	dc, dx, ds  *tensor.Tensor
	inPix       int
	dw2         []float64 // [In] scratch of demodBackward
	scaleJob    modScale
	demodJob    modScale
	sumJob      modSums
	fwd, demodF parallel.Func
}

// NewModConv2d returns a k×k modulated convolution (padding k/2, size kept,
// or doubled with up) styled from w of wDim features.
func NewModConv2d(in, out, k, wDim int, up, demod bool, rng *rand.Rand) *ModConv2d {
	m := &ModConv2d{In: in, Out: out, K: k, Up: up, Demod: demod, StyleGain: 1}
	m.Affine = NewEqualLinear(wDim, in, true, 1, 1, false, rng)
	Prefix("affine", m.Affine.Params())
	m.Weight = newParam("weight", out, k, k, in)
	m.Weight.Value.FillNormal(rng, 0, 1)
	if !demod {
		m.StyleGain = 1 / float32(math.Sqrt(float64(in*k*k)))
	}
	if up {
		m.convT = &ConvTranspose2d{In: in, Out: out, K: k, Stride: 2, Weight: newParam("weight", in, k, k, out)}
		// The transposed convolution gives 2n+k-2 samples; the blur's
		// padding brings them to 2n, as StyleGAN2's conv2d_resample pads.
		pad := k/2 + 3 - k
		if pad < 0 {
			panic("nn.NewModConv2d: upsampling needs a kernel of at most 3")
		}
		m.blur = NewBlur(pad, 2)
	} else {
		m.conv = &Conv2d{In: in, Out: out, KH: k, KW: k, Stride: 1, PadT: k / 2, PadL: k / 2, PadB: k / 2, PadR: k / 2, Weight: m.Weight}
	}
	return m
}

func (m *ModConv2d) Params() []*Param {
	return append([]*Param{m.Weight}, m.Affine.Params()...)
}
func (m *ModConv2d) Buffers() []*Param { return nil }

// Blur returns the resampling filter that follows the transposed
// convolution of an upsampling convolution (nil without Up), for exporters
// to read.
func (m *ModConv2d) Blur() *UpFIRDn2d { return m.blur }

// SetWorkspace makes the convolution keep its column matrix in ws.
func (m *ModConv2d) SetWorkspace(ws *Workspace) {
	if m.conv != nil {
		m.conv.WS = ws
	} else {
		m.convT.WS = ws
	}
}

// Forward returns the modulated convolution of x [N,H,W,In] styled by w
// [N, wDim].
func (m *ModConv2d) Forward(x, w *tensor.Tensor) *tensor.Tensor {
	c, d := m.ForwardRaw(x, w)
	if !m.Demod {
		return c
	}
	m.y = tensor.Ensure(m.y, c.Shape...)
	m.demodJob = modScale{dst: m.y.Data, x: c.Data, s: d, c: m.Out, pix: m.pix}
	parallel.For(m.n*m.pix, grainFor(m.Out), m.demodF)
	return m.y
}

// ForwardRaw is Forward without the demodulation's output scaling: it
// returns the convolution c of the modulated input and the demodulation
// coefficients d [N, Out] (nil without Demod), so that a following layer
// can fuse y = c·d with its own element-wise work (see ModEpilogue).
// BackwardRaw is its backward.
func (m *ModConv2d) ForwardRaw(x, w *tensor.Tensor) (c *tensor.Tensor, d []float32) {
	if len(x.Shape) != 4 || x.Shape[3] != m.In || len(w.Shape) != 2 || w.Shape[0] != x.Shape[0] {
		panic(fmt.Sprintf("nn.ModConv2d: input %v and w %v, want [N,H,W,%d] and [N,%d]", x.Shape, w.Shape, m.In, m.Affine.In))
	}
	if m.fwd == nil {
		m.fwd, m.demodF = m.scaleJob.do, m.demodJob.do
	}
	n := x.Shape[0]
	m.n, m.x = n, x
	m.inPix = x.Shape[1] * x.Shape[2]
	a := m.Affine.Forward(w)
	m.s = resize(m.s, n*m.In)
	for i, v := range a.Data {
		m.s[i] = v * m.StyleGain
	}
	m.xs = tensor.Ensure(m.xs, x.Shape...)
	m.scaleJob = modScale{dst: m.xs.Data, x: x.Data, s: m.s, c: m.In, pix: m.inPix}
	parallel.For(n*m.inPix, grainFor(m.In), m.fwd)
	if m.Up {
		m.transposeWeight()
		m.convT.Weight.Frozen = m.Weight.Frozen
		m.c = m.blur.Forward(m.convT.Forward(m.xs))
	} else {
		m.c = m.conv.Forward(m.xs)
	}
	m.pix = m.c.Shape[1] * m.c.Shape[2]
	if !m.Demod {
		return m.c, nil
	}
	m.computeDemod()
	return m.c, m.d
}

// transposeWeight copies Weight [Out,K,K,In] into the transposed
// convolution's [In,K,K,Out].
func (m *ModConv2d) transposeWeight() {
	src, dst := m.Weight.Value.Data, m.convT.Weight.Value.Data
	kk := m.K * m.K
	for o := 0; o < m.Out; o++ {
		for k := 0; k < kk; k++ {
			for i := 0; i < m.In; i++ {
				dst[(i*kk+k)*m.Out+o] = src[(o*kk+k)*m.In+i]
			}
		}
	}
}

// computeDemod sets w2 and d = 1/√(Σᵢ sᵢ²·W2ₒᵢ + 1e-8).
func (m *ModConv2d) computeDemod() {
	kk := m.K * m.K
	m.w2 = resize(m.w2, m.Out*m.In)
	clear(m.w2)
	wv := m.Weight.Value.Data
	for o := 0; o < m.Out; o++ {
		row := m.w2[o*m.In : (o+1)*m.In]
		for k := 0; k < kk; k++ {
			for i, v := range wv[(o*kk+k)*m.In : (o*kk+k+1)*m.In] {
				row[i] += v * v
			}
		}
	}
	m.d = resize(m.d, m.n*m.Out)
	for n := 0; n < m.n; n++ {
		s := m.s[n*m.In : (n+1)*m.In]
		for o := 0; o < m.Out; o++ {
			var q float64
			for i, v := range m.w2[o*m.In : (o+1)*m.In] {
				q += float64(s[i]) * float64(s[i]) * float64(v)
			}
			m.d[n*m.Out+o] = float32(1 / math.Sqrt(q+1e-8))
		}
	}
}

// Backward takes the gradient of the output and returns those of x and w,
// accumulating the gradients of Weight and the affine layer.
func (m *ModConv2d) Backward(dy *tensor.Tensor) (dx, dw *tensor.Tensor) {
	if m.c == nil || dy.Len() != m.c.Len() {
		panic(fmt.Sprintf("nn.ModConv2d: gradient %v does not match the output", dy.Shape))
	}
	if !m.Demod {
		return m.BackwardRaw(dy, nil)
	}
	// dd = Σ_pixels dy·c per (sample, channel); dc = dy·d.
	m.dd = resize(m.dd, m.n*m.Out)
	m.sumJob = modSums{a: dy.Data, b: m.c.Data, out: m.dd, c: m.Out, pix: m.pix}
	parallel.For(m.n, 1, &m.sumJob)
	m.dc = tensor.Ensure(m.dc, dy.Shape...)
	m.demodJob = modScale{dst: m.dc.Data, x: dy.Data, s: m.d, c: m.Out, pix: m.pix}
	parallel.For(m.n*m.pix, grainFor(m.Out), m.demodF)
	return m.BackwardRaw(m.dc, m.dd)
}

// BackwardRaw is the backward of ForwardRaw: it takes the gradients of c
// and of d ([N, Out]; nil without Demod; it is overwritten) and returns
// those of x and w, accumulating the parameters' gradients.
func (m *ModConv2d) BackwardRaw(dc *tensor.Tensor, dd []float32) (dx, dw *tensor.Tensor) {
	if m.c == nil || dc.Len() != m.c.Len() || (m.Demod && len(dd) != m.n*m.Out) {
		panic(fmt.Sprintf("nn.ModConv2d: gradient %v does not match the output", dc.Shape))
	}
	var dxs *tensor.Tensor
	if m.Up {
		m.convT.Weight.Grad.Zero()
		dxs = m.convT.Backward(m.blur.Backward(dc))
		if !m.Weight.Frozen {
			kk := m.K * m.K
			src, dst := m.convT.Weight.Grad.Data, m.Weight.Grad.Data
			for o := 0; o < m.Out; o++ {
				for k := 0; k < kk; k++ {
					for i := 0; i < m.In; i++ {
						dst[(o*kk+k)*m.In+i] += src[(i*kk+k)*m.Out+o]
					}
				}
			}
		}
	} else {
		dxs = m.conv.Backward(dc)
	}
	// dx = dxs·s; ds = Σ_pixels dxs·x.
	m.dx = tensor.Ensure(m.dx, m.x.Shape...)
	m.scaleJob = modScale{dst: m.dx.Data, x: dxs.Data, s: m.s, c: m.In, pix: m.inPix}
	parallel.For(m.n*m.inPix, grainFor(m.In), m.fwd)
	m.ds = tensor.Ensure(m.ds, m.n, m.In)
	m.sumJob = modSums{a: dxs.Data, b: m.x.Data, out: m.ds.Data, c: m.In, pix: m.inPix}
	parallel.For(m.n, 1, &m.sumJob)
	if m.Demod {
		m.demodBackward(dd)
	}
	for i := range m.ds.Data {
		m.ds.Data[i] *= m.StyleGain
	}
	return m.dx, m.Affine.Backward(m.ds)
}

// demodBackward adds the demodulation's share to ds and Weight.Grad:
// with q = Σᵢ sᵢ²·W2ₒᵢ + ε and d = q^(-1/2), dq = −½·dd·d³, ds += 2s·(dq·W2)
// and dW += 2W·(dqᵀ·s²).
func (m *ModConv2d) demodBackward(dd []float32) {
	dq := dd // reused in place
	for i, v := range m.d {
		dq[i] *= -0.5 * v * v * v
	}
	for n := 0; n < m.n; n++ {
		s, ds := m.s[n*m.In:(n+1)*m.In], m.ds.Data[n*m.In:(n+1)*m.In]
		for o := 0; o < m.Out; o++ {
			g := dq[n*m.Out+o]
			for i, v := range m.w2[o*m.In : (o+1)*m.In] {
				ds[i] += 2 * s[i] * g * v
			}
		}
	}
	if m.Weight.Frozen {
		return
	}
	kk := m.K * m.K
	wv, wg := m.Weight.Value.Data, m.Weight.Grad.Data
	if len(m.dw2) != m.In {
		m.dw2 = make([]float64, m.In)
	}
	dw2 := m.dw2
	for o := 0; o < m.Out; o++ {
		clear(dw2)
		for n := 0; n < m.n; n++ {
			g := float64(dq[n*m.Out+o])
			for i, v := range m.s[n*m.In : (n+1)*m.In] {
				dw2[i] += g * float64(v) * float64(v)
			}
		}
		for k := 0; k < kk; k++ {
			off := (o*kk + k) * m.In
			for i := range dw2 {
				wg[off+i] += 2 * wv[off+i] * float32(dw2[i])
			}
		}
	}
}

// modScale sets dst = x·s per sample and channel (s is [N, c]).
type modScale struct {
	dst, x, s []float32
	c, pix    int
}

func (j *modScale) do(lo, hi int) {
	c := j.c
	for r := lo; r < hi; r++ {
		s := j.s[r/j.pix*c:][:c]
		dst, x := j.dst[r*c:(r+1)*c], j.x[r*c:(r+1)*c]
		for i, v := range x {
			dst[i] = v * s[i]
		}
	}
}

// modSums sets out[n,c] = Σ over the pixels of sample n of a·b, for the
// samples [lo,hi): blocks of sumBlock pixels are summed in float32 by the
// fused multiply-add kernel, the blocks' sums in float64.
type modSums struct {
	a, b, out []float32
	c, pix    int
}

const sumBlock = 64

func (j *modSums) Do(lo, hi int) {
	c := j.c
	var buf [512]float64
	var buf32 [512]float32
	acc, blk := buf[:0], buf32[:0]
	if c <= len(buf) {
		acc, blk = buf[:c], buf32[:c]
	} else {
		acc, blk = make([]float64, c), make([]float32, c)
	}
	for n := lo; n < hi; n++ {
		clear(acc)
		for p0 := 0; p0 < j.pix; p0 += sumBlock {
			clear(blk)
			for p := p0; p < min(p0+sumBlock, j.pix); p++ {
				r := (n*j.pix + p) * c
				fmadd(blk, j.a[r:r+c], j.b[r:r+c])
			}
			for i, v := range blk {
				acc[i] += float64(v)
			}
		}
		for i, v := range acc {
			j.out[n*c+i] = float32(v)
		}
	}
}

// resize returns s with length n, reallocated only when too short.
func resize(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}
