package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"forger/blas"
	"forger/parallel"
	"forger/tensor"
)

// geom is the geometry of a 2-D convolution from an input of h×w×c (per
// image) to an output of ho×wo, with kernel kh×kw, stride sh×sw, and padding
// pt/pl before (top/left); padding after is implied by ho and wo, so
// TensorFlow's asymmetric "same" padding is expressible.
type geom struct {
	n, h, w, c     int
	kh, kw, sh, sw int
	pt, pl         int
	ho, wo         int
}

func (g *geom) rows() int   { return g.n * g.ho * g.wo }
func (g *geom) colLen() int { return g.kh * g.kw * g.c }
func (g *geom) identity() bool {
	return g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.pt == 0 && g.pl == 0 && g.ho == g.h && g.wo == g.w
}

// im2col copies the receptive field of every output position into one row of
// cols ([rows, kh·kw·c]); out-of-image taps are zero.
type im2col struct {
	g       *geom
	x, cols []float32
}

func (j *im2col) Do(lo, hi int) {
	g := j.g
	c, cl := g.c, g.colLen()
	for r := lo; r < hi; r++ {
		n := r / (g.ho * g.wo)
		oy := r / g.wo % g.ho
		ox := r % g.wo
		row := j.cols[r*cl : (r+1)*cl]
		for ky := 0; ky < g.kh; ky++ {
			iy := oy*g.sh - g.pt + ky
			seg := row[ky*g.kw*c : (ky+1)*g.kw*c]
			if iy < 0 || iy >= g.h {
				clear(seg)
				continue
			}
			base := (n*g.h + iy) * g.w
			if ix0 := ox*g.sw - g.pl; ix0 >= 0 && ix0+g.kw <= g.w {
				// The whole kernel row is inside the image: in NHWC it is
				// one contiguous run.
				copy(seg, j.x[(base+ix0)*c:(base+ix0+g.kw)*c])
				continue
			}
			for kx := 0; kx < g.kw; kx++ {
				ix := ox*g.sw - g.pl + kx
				dst := seg[kx*c : (kx+1)*c]
				if ix < 0 || ix >= g.w {
					clear(dst)
					continue
				}
				copy(dst, j.x[(base+ix)*c:(base+ix+1)*c])
			}
		}
	}
}

// col2im is the adjoint of im2col: every input position gathers the sum of
// the column entries that read it. Gathering (rather than scattering) makes
// the input positions independent, so the loop splits across cores with a
// fixed summation order.
type col2im struct {
	g       *geom
	cols, x []float32
}

func (j *col2im) Do(lo, hi int) {
	g := j.g
	c, cl := g.c, g.colLen()
	for p := lo; p < hi; p++ {
		n := p / (g.h * g.w)
		iy := p / g.w % g.h
		ix := p % g.w
		dst := j.x[p*c : (p+1)*c]
		clear(dst)
		// Only the taps ky ≡ iy+pt (mod stride) reach this position: step
		// through those alone.
		for ky := (iy + g.pt) % g.sh; ky < g.kh; ky += g.sh {
			ty := iy + g.pt - ky
			if ty < 0 || ty/g.sh >= g.ho {
				continue
			}
			oy := ty / g.sh
			for kx := (ix + g.pl) % g.sw; kx < g.kw; kx += g.sw {
				tx := ix + g.pl - kx
				if tx < 0 || tx/g.sw >= g.wo {
					continue
				}
				ox := tx / g.sw
				r := (n*g.ho+oy)*g.wo + ox
				src := j.cols[r*cl+(ky*g.kw+kx)*c : r*cl+(ky*g.kw+kx+1)*c]
				if c >= 8 {
					addTo(dst, src)
					continue
				}
				for i, v := range src {
					dst[i] += v
				}
			}
		}
	}
}

const (
	rowGrain  = 64    // rows of im2col/col2im per chunk at least
	elemGrain = 16384 // elements of element-wise work per chunk at least
)

// bias adds b to every row of y, or accumulates the column sums of dy into db.
type biasJob struct {
	y, b []float32
}

func (j *biasJob) Do(lo, hi int) {
	c := len(j.b)
	for r := lo; r < hi; r++ {
		addTo(j.y[r*c:(r+1)*c], j.b)
	}
}

// colSum accumulates the column sums of a rows×c matrix into sum, split over
// columns so that each sum has one fixed order.
type colSum struct {
	m   []float32
	sum []float32
}

func (j *colSum) Do(lo, hi int) {
	c := len(j.sum)
	rows := len(j.m) / c
	var buf [256]float64 // stack scratch for the common case
	acc := buf[:0]
	if hi-lo <= len(buf) {
		acc = buf[:hi-lo]
	} else {
		acc = make([]float64, hi-lo)
	}
	for r := 0; r < rows; r++ {
		row := j.m[r*c+lo : r*c+hi]
		for i, v := range row {
			acc[i] += float64(v)
		}
	}
	for i := range acc {
		j.sum[lo+i] += float32(acc[i])
	}
}

// Conv2d is a 2-D convolution over NHWC input. Its weight is laid out
// [out, kh, kw, in] so that the im2col rows multiply it directly.
type Conv2d struct {
	In, Out, KH, KW, Stride int
	// PadT, PadL, PadB, PadR: zero padding on each side.
	PadT, PadL, PadB, PadR int
	Weight                 *Param // [Out, KH, KW, In]
	Bias                   *Param // [Out], or nil
	// WS, when set, holds the im2col matrix instead of a buffer of the
	// layer's own; Backward then recomputes it (see Workspace).
	WS *Workspace
	// SkipInputGrad makes Backward compute parameter gradients only and
	// return nil: for a network's first layer when its input is data.
	SkipInputGrad bool

	x, cols, y, dx *tensor.Tensor
	g              geom
	im             im2col
	ci             col2im
	bj             biasJob
	cs             colSum
}

// NewConv2d returns a k×k convolution with symmetric padding, its weight
// drawn as PyTorch does by default (Kaiming-uniform, a=√5).
func NewConv2d(in, out, k, stride, pad int, bias bool, rng *rand.Rand) *Conv2d {
	c := &Conv2d{In: in, Out: out, KH: k, KW: k, Stride: stride, PadT: pad, PadL: pad, PadB: pad, PadR: pad}
	c.Weight = newParam("weight", out, k, k, in)
	bound := 1 / math.Sqrt(float64(in*k*k))
	c.Weight.Value.FillUniform(rng, -bound, bound)
	if bias {
		c.Bias = newParam("bias", out)
		c.Bias.Value.FillUniform(rng, -bound, bound)
	}
	return c
}

// OutSize returns the output height and width for an input of h×w; 0 when
// the kernel does not fit.
func (c *Conv2d) OutSize(h, w int) (int, int) {
	out := func(in, k int) int {
		if in < k {
			return 0
		}
		return (in-k)/c.Stride + 1
	}
	return out(h+c.PadT+c.PadB, c.KH), out(w+c.PadL+c.PadR, c.KW)
}

func (c *Conv2d) Params() []*Param {
	if c.Bias == nil {
		return []*Param{c.Weight}
	}
	return []*Param{c.Weight, c.Bias}
}
func (c *Conv2d) Buffers() []*Param   { return nil }
func (c *Conv2d) SetTraining(bool)    {}
func (c *Conv2d) WeightParam() *Param { return c.Weight }

func (c *Conv2d) Forward(x *tensor.Tensor) *tensor.Tensor {
	if len(x.Shape) != 4 || x.Shape[3] != c.In {
		panic(fmt.Sprintf("nn.Conv2d: input %v, want [N,H,W,%d]", x.Shape, c.In))
	}
	n, h, w := x.Shape[0], x.Shape[1], x.Shape[2]
	ho, wo := c.OutSize(h, w)
	if ho < 1 || wo < 1 {
		panic(fmt.Sprintf("nn.Conv2d: input %v too small for a %d×%d kernel", x.Shape, c.KH, c.KW))
	}
	c.g = geom{n: n, h: h, w: w, c: c.In, kh: c.KH, kw: c.KW, sh: c.Stride, sw: c.Stride, pt: c.PadT, pl: c.PadL, ho: ho, wo: wo}
	c.x = x
	cols := x.Data
	kc := c.g.colLen()
	if !c.g.identity() {
		cols = c.im2col()
	}
	c.y = tensor.Ensure(c.y, n, ho, wo, c.Out)
	blas.Sgemm(false, true, c.g.rows(), c.Out, kc, 1, cols, kc, c.Weight.Value.Data, kc, 0, c.y.Data, c.Out)
	if c.Bias != nil {
		c.bj = biasJob{y: c.y.Data, b: c.Bias.Value.Data}
		parallel.For(c.g.rows(), rowGrain, &c.bj)
	}
	return c.y
}

func (c *Conv2d) Backward(dy *tensor.Tensor) *tensor.Tensor {
	rows, kc := c.g.rows(), c.g.colLen()
	if dy.Len() != rows*c.Out {
		panic(fmt.Sprintf("nn.Conv2d: gradient %v does not match output [%d,%d,%d,%d]", dy.Shape, c.g.n, c.g.ho, c.g.wo, c.Out))
	}
	cols := c.x.Data
	if !c.g.identity() {
		switch {
		case c.WS == nil:
			cols = c.cols.Data
		case c.Weight.Frozen:
			cols = c.WS.get(rows * kc) // only the input gradient: scratch space suffices
		default:
			cols = c.im2col() // the shared buffer has been used since Forward
		}
	}
	if !c.Weight.Frozen {
		blas.Sgemm(true, false, c.Out, kc, rows, 1, dy.Data, c.Out, cols, kc, 1, c.Weight.Grad.Data, kc)
	}
	if c.Bias != nil && !c.Bias.Frozen {
		c.cs = colSum{m: dy.Data, sum: c.Bias.Grad.Data}
		parallel.For(c.Out, 8, &c.cs)
	}
	if c.SkipInputGrad {
		return nil
	}
	c.dx = tensor.Ensure(c.dx, c.x.Shape...)
	if c.g.identity() {
		blas.Sgemm(false, false, rows, kc, c.Out, 1, dy.Data, c.Out, c.Weight.Value.Data, kc, 0, c.dx.Data, kc)
		return c.dx
	}
	// The columns are no longer needed: their buffer takes their gradient.
	blas.Sgemm(false, false, rows, kc, c.Out, 1, dy.Data, c.Out, c.Weight.Value.Data, kc, 0, cols, kc)
	c.ci = col2im{g: &c.g, cols: cols, x: c.dx.Data}
	parallel.For(c.g.n*c.g.h*c.g.w, rowGrain, &c.ci)
	return c.dx
}

// im2col fills the column matrix of the current input and returns it.
func (c *Conv2d) im2col() []float32 {
	n := c.g.rows() * c.g.colLen()
	var cols []float32
	if c.WS != nil {
		cols = c.WS.get(n)
	} else {
		c.cols = tensor.Ensure(c.cols, c.g.rows(), c.g.colLen())
		cols = c.cols.Data
	}
	c.im = im2col{g: &c.g, x: c.x.Data, cols: cols}
	parallel.For(c.g.rows(), rowGrain, &c.im)
	return cols
}

// ConvTranspose2d is the transposed convolution (the adjoint of Conv2d) that
// generators use to upsample. Its weight is laid out [in, kh, kw, out].
type ConvTranspose2d struct {
	In, Out, K, Stride, Pad int
	Weight                  *Param     // [In, K, K, Out]
	Bias                    *Param     // [Out], or nil
	WS                      *Workspace // shared scratch for the column matrix, if set

	x, cols, y, dx *tensor.Tensor
	g              geom // the convolution from the output back to the input
	im             im2col
	ci             col2im
	bj             biasJob
	cs             colSum
}

// NewConvTranspose2d returns a k×k transposed convolution; output size is
// (h-1)·stride - 2·pad + k. The weight is drawn as PyTorch does by default.
func NewConvTranspose2d(in, out, k, stride, pad int, bias bool, rng *rand.Rand) *ConvTranspose2d {
	c := &ConvTranspose2d{In: in, Out: out, K: k, Stride: stride, Pad: pad}
	c.Weight = newParam("weight", in, k, k, out)
	bound := 1 / math.Sqrt(float64(out*k*k))
	c.Weight.Value.FillUniform(rng, -bound, bound)
	if bias {
		c.Bias = newParam("bias", out)
		c.Bias.Value.FillUniform(rng, -bound, bound)
	}
	return c
}

func (c *ConvTranspose2d) Params() []*Param {
	if c.Bias == nil {
		return []*Param{c.Weight}
	}
	return []*Param{c.Weight, c.Bias}
}
func (c *ConvTranspose2d) Buffers() []*Param   { return nil }
func (c *ConvTranspose2d) SetTraining(bool)    {}
func (c *ConvTranspose2d) WeightParam() *Param { return c.Weight }

func (c *ConvTranspose2d) Forward(x *tensor.Tensor) *tensor.Tensor {
	if len(x.Shape) != 4 || x.Shape[3] != c.In {
		panic(fmt.Sprintf("nn.ConvTranspose2d: input %v, want [N,H,W,%d]", x.Shape, c.In))
	}
	n, h, w := x.Shape[0], x.Shape[1], x.Shape[2]
	ho, wo := (h-1)*c.Stride-2*c.Pad+c.K, (w-1)*c.Stride-2*c.Pad+c.K
	if ho < 1 || wo < 1 {
		panic(fmt.Sprintf("nn.ConvTranspose2d: input %v gives an empty output", x.Shape))
	}
	c.g = geom{n: n, h: ho, w: wo, c: c.Out, kh: c.K, kw: c.K, sh: c.Stride, sw: c.Stride, pt: c.Pad, pl: c.Pad, ho: h, wo: w}
	c.x = x
	rows, kc := n*h*w, c.g.colLen()
	c.y = tensor.Ensure(c.y, n, ho, wo, c.Out)
	if c.g.identity() {
		blas.Sgemm(false, false, rows, kc, c.In, 1, x.Data, c.In, c.Weight.Value.Data, kc, 0, c.y.Data, kc)
	} else {
		cols := c.scratch(rows * kc)
		blas.Sgemm(false, false, rows, kc, c.In, 1, x.Data, c.In, c.Weight.Value.Data, kc, 0, cols, kc)
		c.ci = col2im{g: &c.g, cols: cols, x: c.y.Data}
		parallel.For(n*ho*wo, rowGrain, &c.ci)
	}
	if c.Bias != nil {
		c.bj = biasJob{y: c.y.Data, b: c.Bias.Value.Data}
		parallel.For(n*ho*wo, rowGrain, &c.bj)
	}
	return c.y
}

// scratch returns n floats of column buffer: the shared workspace's or the
// layer's own. Its contents are not needed across calls.
func (c *ConvTranspose2d) scratch(n int) []float32 {
	if c.WS != nil {
		return c.WS.get(n)
	}
	c.cols = tensor.Ensure(c.cols, n)
	return c.cols.Data
}

func (c *ConvTranspose2d) Backward(dy *tensor.Tensor) *tensor.Tensor {
	g := &c.g
	if dy.Len() != g.n*g.h*g.w*c.Out {
		panic(fmt.Sprintf("nn.ConvTranspose2d: gradient %v does not match output [%d,%d,%d,%d]", dy.Shape, g.n, g.h, g.w, c.Out))
	}
	rows, kc := g.rows(), g.colLen()
	if c.Bias != nil && !c.Bias.Frozen {
		c.cs = colSum{m: dy.Data, sum: c.Bias.Grad.Data}
		parallel.For(c.Out, 8, &c.cs)
	}
	dcols := dy.Data
	if !g.identity() {
		dcols = c.scratch(rows * kc)
		c.im = im2col{g: g, x: dy.Data, cols: dcols}
		parallel.For(rows, rowGrain, &c.im)
	}
	if !c.Weight.Frozen {
		blas.Sgemm(true, false, c.In, kc, rows, 1, c.x.Data, c.In, dcols, kc, 1, c.Weight.Grad.Data, kc)
	}
	c.dx = tensor.Ensure(c.dx, c.x.Shape...)
	blas.Sgemm(false, true, rows, c.In, kc, 1, dcols, kc, c.Weight.Value.Data, kc, 0, c.dx.Data, c.In)
	return c.dx
}
