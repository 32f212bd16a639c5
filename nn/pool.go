package nn

import (
	"fmt"
	"math"

	"forger/parallel"
	"forger/tensor"
)

// SamePad returns TensorFlow's "same" padding along one axis of size in for a
// kernel k and a stride: the output has ceil(in/stride) positions and the
// padding is split with the smaller half before (so stride 2 on an even size
// with k = 3 pads 0 before and 1 after).
func SamePad(in, k, stride int) (before, after int) {
	out := (in + stride - 1) / stride
	total := max((out-1)*stride+k-in, 0)
	return total / 2, total - total/2
}

// Window is the geometry shared by the pooling and depthwise layers: a
// kernel KH×KW moved with one stride, with explicit zero padding on each
// side, or TensorFlow's "same" padding computed from each input when Same
// is set (the Pad fields are then ignored). Output size is floor((in + pads
// − k)/stride) + 1, TensorFlow's "valid" when there is no padding.
type Window struct {
	KH, KW, Stride         int
	PadT, PadL, PadB, PadR int
	Same                   bool
}

// pads returns the padding used for an input of h×w.
func (p *Window) pads(h, w int) (t, l, b, r int) {
	if p.Same {
		t, b = SamePad(h, p.KH, p.Stride)
		l, r = SamePad(w, p.KW, p.Stride)
		return
	}
	return p.PadT, p.PadL, p.PadB, p.PadR
}

// OutSize returns the output height and width for an input of h×w (0 when
// the kernel does not fit).
func (p *Window) OutSize(h, w int) (int, int) {
	t, l, b, r := p.pads(h, w)
	out := func(in, k int) int {
		if in < k {
			return 0
		}
		return (in-k)/p.Stride + 1
	}
	return out(h+t+b, p.KH), out(w+l+r, p.KW)
}

// geomFor checks x and returns the geometry of the window over it with c
// channels per position.
func (p *Window) geomFor(layer string, x *tensor.Tensor) geom {
	if len(x.Shape) != 4 {
		panic(fmt.Sprintf("nn.%s: input %v, want [N,H,W,C]", layer, x.Shape))
	}
	if p.KH < 1 || p.KW < 1 || p.Stride < 1 {
		panic(fmt.Sprintf("nn.%s: kernel %d×%d stride %d", layer, p.KH, p.KW, p.Stride))
	}
	n, h, w, c := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	t, l, _, _ := p.pads(h, w)
	ho, wo := p.OutSize(h, w)
	if ho < 1 || wo < 1 {
		panic(fmt.Sprintf("nn.%s: input %v too small for a %d×%d window", layer, x.Shape, p.KH, p.KW))
	}
	return geom{n: n, h: h, w: w, c: c, kh: p.KH, kw: p.KW, sh: p.Stride, sw: p.Stride, pt: t, pl: l, ho: ho, wo: wo}
}

// taps returns the kernel rows [ky0,ky1) and columns [kx0,kx1) of output
// (oy, ox) that fall inside the input.
func (g *geom) taps(oy, ox int) (ky0, ky1, kx0, kx1 int) {
	y0, x0 := oy*g.sh-g.pt, ox*g.sw-g.pl
	return max(0, -y0), min(g.kh, g.h-y0), max(0, -x0), min(g.kw, g.w-x0)
}

// outRange returns the outputs [lo,hi) along one axis whose window covers
// input position i: o·s - pad + k = i for some 0 ≤ k < kernel.
func outRange(i, pad, kernel, stride, outs int) (lo, hi int) {
	// o ≥ (i + pad - kernel + 1)/s rounded up, o ≤ (i + pad)/s rounded down.
	a := i + pad - kernel + 1
	if a <= 0 {
		lo = 0
	} else {
		lo = (a + stride - 1) / stride
	}
	hi = min((i+pad)/stride+1, outs)
	if i+pad < 0 {
		hi = 0
	}
	return lo, max(lo, hi)
}

// MaxPool2d takes the maximum over each window of each channel. Padded
// positions never win (TensorFlow's and PyTorch's convention), so "same"
// padding works as in TensorFlow. The gradient goes to the first maximum
// of each window in row-major order.
type MaxPool2d struct {
	stateless
	Window

	g               geom
	x, y, dx        *tensor.Tensor
	arg             []int32 // backward: flat input index of each output's maximum, -1 if none
	dy              []float32
	fwd, find, scat parallel.Func
}

// NewMaxPool2d returns a k×k max pool with the given stride and symmetric
// zero padding; set Same (or the Pad fields) for other paddings.
func NewMaxPool2d(k, stride, pad int) *MaxPool2d {
	p := &MaxPool2d{Window: Window{KH: k, KW: k, Stride: stride, PadT: pad, PadL: pad, PadB: pad, PadR: pad}}
	p.init()
	return p
}

func (p *MaxPool2d) init() {
	p.fwd, p.find, p.scat = p.forwardRange, p.findRange, p.scatterRange
}

func (p *MaxPool2d) Forward(x *tensor.Tensor) *tensor.Tensor {
	if p.fwd == nil {
		p.init()
	}
	p.g = p.geomFor("MaxPool2d", x)
	p.x = x
	p.y = tensor.Ensure(p.y, p.g.n, p.g.ho, p.g.wo, p.g.c)
	parallel.For(p.g.rows(), grainFor(p.g.kh*p.g.kw*p.g.c), p.fwd)
	return p.y
}

// grainFor returns a row grain so that each chunk has at least elemGrain
// element operations when a row costs perRow.
func grainFor(perRow int) int {
	return max(1, elemGrain/max(1, perRow))
}

func (p *MaxPool2d) forwardRange(lo, hi int) {
	g, c := &p.g, p.g.c
	x, y := p.x.Data, p.y.Data
	for r := lo; r < hi; r++ {
		n := r / (g.ho * g.wo)
		oy := r / g.wo % g.ho
		ox := r % g.wo
		out := y[r*c : (r+1)*c]
		ky0, ky1, kx0, kx1 := g.taps(oy, ox)
		if ky0 >= ky1 || kx0 >= kx1 {
			clear(out) // an all-padding window
			continue
		}
		first := true
		for ky := ky0; ky < ky1; ky++ {
			iy := oy*g.sh - g.pt + ky
			for kx := kx0; kx < kx1; kx++ {
				ix := ox*g.sw - g.pl + kx
				base := ((n*g.h+iy)*g.w + ix) * c
				in := x[base : base+c]
				if first {
					copy(out, in)
					first = false
					continue
				}
				for i, v := range in {
					out[i] = max(out[i], v)
				}
			}
		}
	}
}

func (p *MaxPool2d) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if dy.Len() != p.y.Len() {
		panic(fmt.Sprintf("nn.MaxPool2d: gradient %v does not match output %v", dy.Shape, p.y.Shape))
	}
	if p.x.Len() > math.MaxInt32 {
		panic("nn.MaxPool2d: input too large")
	}
	p.dy = dy.Data
	if cap(p.arg) < p.y.Len() {
		p.arg = make([]int32, p.y.Len())
	}
	p.arg = p.arg[:p.y.Len()]
	// Find each maximum again (Forward stays lean for inference).
	parallel.For(p.g.rows(), grainFor(p.g.kh*p.g.kw*p.g.c), p.find)
	p.dx = tensor.Ensure(p.dx, p.x.Shape...)
	p.dx.Zero()
	// Windows overlap, so outputs scatter into shared inputs: split the work
	// by channel, which keeps every sum in one goroutine and in one order.
	parallel.For(p.g.c, max(1, p.g.c/8), p.scat)
	return p.dx
}

// findRange records for outputs [lo,hi) the first input of the window equal
// to the maximum.
func (p *MaxPool2d) findRange(lo, hi int) {
	g, c := &p.g, p.g.c
	x, y := p.x.Data, p.y.Data
	for r := lo; r < hi; r++ {
		n := r / (g.ho * g.wo)
		oy := r / g.wo % g.ho
		ox := r % g.wo
		out := y[r*c : (r+1)*c]
		arg := p.arg[r*c : (r+1)*c]
		for i := range arg {
			arg[i] = -1
		}
		ky0, ky1, kx0, kx1 := g.taps(oy, ox)
		for ky := ky0; ky < ky1; ky++ {
			iy := oy*g.sh - g.pt + ky
			for kx := kx0; kx < kx1; kx++ {
				ix := ox*g.sw - g.pl + kx
				base := ((n*g.h+iy)*g.w + ix) * c
				for i, v := range x[base : base+c] {
					if arg[i] < 0 && v == out[i] {
						arg[i] = int32(base + i)
					}
				}
			}
		}
	}
}

func (p *MaxPool2d) scatterRange(lo, hi int) {
	c, dx := p.g.c, p.dx.Data
	for r := 0; r < p.g.rows(); r++ {
		arg := p.arg[r*c+lo : r*c+hi]
		dy := p.dy[r*c+lo : r*c+hi]
		for i, a := range arg {
			if a >= 0 {
				dx[a] += dy[i]
			}
		}
	}
}

// AvgPool2d averages each window of each channel. Padded positions are left
// out of the average (TensorFlow's convention) unless CountPad is set
// (PyTorch's default count_include_pad).
type AvgPool2d struct {
	stateless
	Window
	CountPad bool

	g        geom
	x, y, dx *tensor.Tensor
	dy       []float32
	fwd, bwd parallel.Func
}

// NewAvgPool2d returns a k×k average pool with the given stride and
// symmetric padding (not counted in the averages).
func NewAvgPool2d(k, stride, pad int) *AvgPool2d {
	p := &AvgPool2d{Window: Window{KH: k, KW: k, Stride: stride, PadT: pad, PadL: pad, PadB: pad, PadR: pad}}
	p.fwd, p.bwd = p.forwardRange, p.backwardRange
	return p
}

func (p *AvgPool2d) Forward(x *tensor.Tensor) *tensor.Tensor {
	p.g = p.geomFor("AvgPool2d", x)
	p.x = x
	p.y = tensor.Ensure(p.y, p.g.n, p.g.ho, p.g.wo, p.g.c)
	parallel.For(p.g.rows(), grainFor(p.g.kh*p.g.kw*p.g.c), p.fwd)
	return p.y
}

// count is the divisor of output (oy, ox).
func (p *AvgPool2d) count(oy, ox int) float32 {
	if p.CountPad {
		return float32(p.g.kh * p.g.kw)
	}
	ky0, ky1, kx0, kx1 := p.g.taps(oy, ox)
	return float32(max(0, ky1-ky0) * max(0, kx1-kx0))
}

func (p *AvgPool2d) forwardRange(lo, hi int) {
	g, c := &p.g, p.g.c
	x, y := p.x.Data, p.y.Data
	for r := lo; r < hi; r++ {
		n := r / (g.ho * g.wo)
		oy := r / g.wo % g.ho
		ox := r % g.wo
		out := y[r*c : (r+1)*c]
		clear(out)
		ky0, ky1, kx0, kx1 := g.taps(oy, ox)
		for ky := ky0; ky < ky1; ky++ {
			iy := oy*g.sh - g.pt + ky
			for kx := kx0; kx < kx1; kx++ {
				ix := ox*g.sw - g.pl + kx
				base := ((n*g.h+iy)*g.w + ix) * c
				for i, v := range x[base : base+c] {
					out[i] += v
				}
			}
		}
		if cnt := p.count(oy, ox); cnt > 0 {
			for i := range out {
				out[i] /= cnt
			}
		}
	}
}

func (p *AvgPool2d) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if dy.Len() != p.y.Len() {
		panic(fmt.Sprintf("nn.AvgPool2d: gradient %v does not match output %v", dy.Shape, p.y.Shape))
	}
	p.dy = dy.Data
	p.dx = tensor.Ensure(p.dx, p.x.Shape...)
	// Every input position gathers from the windows that cover it.
	parallel.For(p.g.n*p.g.h*p.g.w, grainFor(p.g.c), p.bwd)
	return p.dx
}

func (p *AvgPool2d) backwardRange(lo, hi int) {
	g, c := &p.g, p.g.c
	for q := lo; q < hi; q++ {
		n := q / (g.h * g.w)
		iy := q / g.w % g.h
		ix := q % g.w
		dst := p.dx.Data[q*c : (q+1)*c]
		clear(dst)
		oy0, oy1 := outRange(iy, g.pt, g.kh, g.sh, g.ho)
		ox0, ox1 := outRange(ix, g.pl, g.kw, g.sw, g.wo)
		for oy := oy0; oy < oy1; oy++ {
			for ox := ox0; ox < ox1; ox++ {
				cnt := p.count(oy, ox)
				r := (n*g.ho+oy)*g.wo + ox
				for i, v := range p.dy[r*c : (r+1)*c] {
					dst[i] += v / cnt
				}
			}
		}
	}
}

// GlobalAvgPool averages each channel over all positions: [N,H,W,C] (or any
// [N,...,C]) to [N,C].
type GlobalAvgPool struct {
	stateless

	in       []int
	x, y, dx *tensor.Tensor
	dy       []float32
	bwd      parallel.Func
}

// NewGlobalAvgPool returns the layer.
func NewGlobalAvgPool() *GlobalAvgPool {
	p := &GlobalAvgPool{}
	p.bwd = p.backwardRange
	return p
}

func (p *GlobalAvgPool) Forward(x *tensor.Tensor) *tensor.Tensor {
	if len(x.Shape) < 2 {
		panic(fmt.Sprintf("nn.GlobalAvgPool: input %v, want [N,...,C]", x.Shape))
	}
	p.x = x
	p.in = append(p.in[:0], x.Shape...)
	n, c := x.Shape[0], x.Dim(-1)
	per := x.Len() / max(1, n*c) // positions per image
	p.y = tensor.Ensure(p.y, n, c)
	var buf [512]float64
	acc := buf[:0]
	if c <= len(buf) {
		acc = buf[:c]
	} else {
		acc = make([]float64, c)
	}
	for b := 0; b < n; b++ {
		clear(acc)
		img := x.Data[b*per*c : (b+1)*per*c]
		for q := 0; q < per; q++ {
			for i, v := range img[q*c : (q+1)*c] {
				acc[i] += float64(v)
			}
		}
		for i := range acc {
			p.y.Data[b*c+i] = float32(acc[i] / float64(per))
		}
	}
	return p.y
}

func (p *GlobalAvgPool) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if dy.Len() != p.y.Len() {
		panic(fmt.Sprintf("nn.GlobalAvgPool: gradient %v does not match output %v", dy.Shape, p.y.Shape))
	}
	p.dy = dy.Data
	p.dx = tensor.Ensure(p.dx, p.in...)
	parallel.For(p.dx.Rows(), grainFor(p.y.Dim(1)), p.bwd)
	return p.dx
}

func (p *GlobalAvgPool) backwardRange(lo, hi int) {
	n, c := p.in[0], p.y.Dim(1)
	per := p.dx.Rows() / n
	inv := 1 / float32(per)
	for q := lo; q < hi; q++ {
		b := q / per
		src := p.dy[b*c : (b+1)*c]
		dst := p.dx.Data[q*c : (q+1)*c]
		for i, v := range src {
			dst[i] = v * inv
		}
	}
}
