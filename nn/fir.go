package nn

import (
	"fmt"

	"forger/parallel"
	"forger/tensor"
)

// UpFIRDn2d is StyleGAN2's upfirdn2d on NHWC images with a separable filter:
// upsample each spatial axis by Up (inserting Up-1 zeros after every
// sample), pad it with Pad0 zeros before and Pad1 after, correlate it with
// Taps, and keep every Down-th sample. Every linear resampling of StyleGAN2
// (the generator's 2× upsampling, the blur after a transposed convolution,
// the discriminator's blur and 2× downsampling) is one of these, so the
// networks built from it match the reference to rounding, borders included.
//
// Taps carry the gain: StyleGAN2's 2-D filter [1,3,3,1]ᵀ[1,3,3,1]/64 with gain
// Up² is Taps = [1,3,3,1]·Up/8 on each axis. The two axes are filtered one
// after the other, each as a sum of a few whole rows, so the work is
// contiguous and every output has one fixed summation order.
type UpFIRDn2d struct {
	stateless
	Up, Down   int
	Pad0, Pad1 int
	Taps       []float32

	in        []int
	ho, wo    int
	x, tmp, y *tensor.Tensor
	dtmp, dx  *tensor.Tensor
	pass      firPass
	fwd, bwd  parallel.Func
	tapVecs   [][]float32 // [tap] the tap's value repeated (fillTaps)
}

// StyleGAN2's [1,3,3,1] filter, normalised to sum 1 on each axis.
var fir1331 = [4]float32{1.0 / 8, 3.0 / 8, 3.0 / 8, 1.0 / 8}

// NewUpsample2x returns StyleGAN2's upsample2d: 2× upsampling with the
// [1,3,3,1] filter, output exactly twice the input size. It is the
// bilinear interpolation with half-pixel centres (weights 1/4, 3/4), except
// that samples beyond the border count as zero.
func NewUpsample2x() *UpFIRDn2d {
	return NewUpFIRDn2d(2, 1, 2, 1, scaledTaps(2))
}

// NewDownsample2x returns StyleGAN2's downsample2d: the [1,3,3,1] blur and
// every second sample, output half the input size.
func NewDownsample2x() *UpFIRDn2d {
	return NewUpFIRDn2d(1, 2, 1, 1, scaledTaps(1))
}

// NewBlur returns the [1,3,3,1] filter with gain (1, or 2 per axis after a
// transposed convolution of stride 2) and padding pad on each side.
func NewBlur(pad int, gain float32) *UpFIRDn2d {
	return NewUpFIRDn2d(1, 1, pad, pad, scaledTaps(gain))
}

func scaledTaps(gain float32) []float32 {
	t := make([]float32, len(fir1331))
	for i, v := range fir1331 {
		t[i] = v * gain
	}
	return t
}

// NewUpFIRDn2d returns the general resampling layer.
func NewUpFIRDn2d(up, down, pad0, pad1 int, taps []float32) *UpFIRDn2d {
	if up < 1 || down < 1 || len(taps) == 0 {
		panic("nn.NewUpFIRDn2d: up and down must be at least 1 and the filter not empty")
	}
	return &UpFIRDn2d{Up: up, Down: down, Pad0: pad0, Pad1: pad1, Taps: append([]float32(nil), taps...)}
}

// OutLen returns the output length of one axis of length n; below 1 when
// the filter does not fit.
func (f *UpFIRDn2d) OutLen(n int) int {
	l := n*f.Up + f.Pad0 + f.Pad1 - len(f.Taps)
	if l < 0 {
		return 0
	}
	return l/f.Down + 1
}

// firPass is the 1-D resampling of axis L of an array [outer, L, inner].
type firPass struct {
	f                *UpFIRDn2d
	outer, l, lo, in int
	src, dst         []float32
}

// forward computes output rows (a, o) in [lo,hi) of [outer, lo, inner].
func (p *firPass) forward(lo, hi int) {
	f := p.f
	k := len(f.Taps)
	for r := lo; r < hi; r++ {
		a, o := r/p.lo, r%p.lo
		dst := p.dst[r*p.in : (r+1)*p.in]
		clear(dst)
		for t := 0; t < k; t++ {
			q := o*f.Down + t - f.Pad0 // position in the upsampled axis
			if q < 0 || q%f.Up != 0 || q/f.Up >= p.l {
				continue
			}
			fmadd(dst, p.src[(a*p.l+q/f.Up)*p.in:][:p.in], f.tapVecs[t])
		}
	}
}

// backward computes input-gradient rows (a, i) in [lo,hi) of [outer, l,
// inner] from the output gradient p.src: the sum over the outputs o and
// taps t with o·Down + t − Pad0 = i·Up.
func (p *firPass) backward(lo, hi int) {
	f := p.f
	k := len(f.Taps)
	for r := lo; r < hi; r++ {
		a, i := r/p.l, r%p.l
		dst := p.dst[r*p.in : (r+1)*p.in]
		clear(dst)
		q := i*f.Up + f.Pad0
		for t := 0; t < k; t++ {
			if (q-t)%f.Down != 0 || q-t < 0 {
				continue
			}
			o := (q - t) / f.Down
			if o >= p.lo {
				continue
			}
			fmadd(dst, p.src[(a*p.lo+o)*p.in:][:p.in], f.tapVecs[t])
		}
	}
}

// fillTaps makes tapVecs[t] a vector of n copies of Taps[t], so that a
// row's multiply-add by a tap is the SIMD kernel fmadd.
func (f *UpFIRDn2d) fillTaps(n int) {
	if len(f.tapVecs) == len(f.Taps) && len(f.tapVecs[0]) >= n && f.sameTaps() {
		return
	}
	f.tapVecs = make([][]float32, len(f.Taps))
	for t, v := range f.Taps {
		f.tapVecs[t] = make([]float32, n)
		for i := range f.tapVecs[t] {
			f.tapVecs[t][i] = v
		}
	}
}

// sameTaps reports whether tapVecs still hold Taps.
func (f *UpFIRDn2d) sameTaps() bool {
	for t, v := range f.Taps {
		if f.tapVecs[t][0] != v {
			return false
		}
	}
	return true
}

// init binds the pass functions once: they read f.pass, which each of the
// two passes sets before it runs.
func (f *UpFIRDn2d) init() {
	if f.fwd == nil {
		f.fwd, f.bwd = f.pass.forward, f.pass.backward
	}
}

func (f *UpFIRDn2d) Forward(x *tensor.Tensor) *tensor.Tensor {
	if len(x.Shape) != 4 {
		panic(fmt.Sprintf("nn.UpFIRDn2d: input %v, want [N,H,W,C]", x.Shape))
	}
	f.init()
	n, h, w, c := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	f.ho, f.wo = f.OutLen(h), f.OutLen(w)
	if f.ho < 1 || f.wo < 1 {
		panic(fmt.Sprintf("nn.UpFIRDn2d: input %v too small for the filter", x.Shape))
	}
	f.x = x
	f.in = append(f.in[:0], x.Shape...)
	f.tmp = tensor.Ensure(f.tmp, n, f.ho, w, c)
	f.y = tensor.Ensure(f.y, n, f.ho, f.wo, c)
	f.fillTaps(w * c)
	f.pass = firPass{f: f, outer: n, l: h, lo: f.ho, in: w * c, src: x.Data, dst: f.tmp.Data}
	parallel.For(n*f.ho, grainFor(w*c*len(f.Taps)), f.fwd)
	f.pass = firPass{f: f, outer: n * f.ho, l: w, lo: f.wo, in: c, src: f.tmp.Data, dst: f.y.Data}
	parallel.For(n*f.ho*f.wo, grainFor(c*len(f.Taps)), f.fwd)
	return f.y
}

func (f *UpFIRDn2d) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if f.y == nil || dy.Len() != f.y.Len() {
		panic(fmt.Sprintf("nn.UpFIRDn2d: gradient %v does not match the output", dy.Shape))
	}
	n, h, w, c := f.in[0], f.in[1], f.in[2], f.in[3]
	f.dtmp = tensor.Ensure(f.dtmp, n, f.ho, w, c)
	f.dx = tensor.Ensure(f.dx, f.in...)
	f.pass = firPass{f: f, outer: n * f.ho, l: w, lo: f.wo, in: c, src: dy.Data, dst: f.dtmp.Data}
	parallel.For(n*f.ho*w, grainFor(c*len(f.Taps)), f.bwd)
	f.pass = firPass{f: f, outer: n, l: h, lo: f.ho, in: w * c, src: f.dtmp.Data, dst: f.dx.Data}
	parallel.For(n*h, grainFor(w*c*len(f.Taps)), f.bwd)
	return f.dx
}
