package nn

import (
	"fmt"

	"forger/parallel"
	"forger/tensor"
)

// Residual is y = Body(x) + Shortcut(x), with the identity as shortcut when
// Shortcut is nil. Both branches must give the same shape (see ZeroPad for
// ResNet's zero-padded shortcuts).
type Residual struct {
	Body, Shortcut Layer

	y, dx *tensor.Tensor
	add   addJob
}

// NewResidual returns body + shortcut (nil: the identity).
func NewResidual(body, shortcut Layer) *Residual {
	Prefix("body", body.Params())
	Prefix("body", body.Buffers())
	if shortcut != nil {
		Prefix("shortcut", shortcut.Params())
		Prefix("shortcut", shortcut.Buffers())
	}
	return &Residual{Body: body, Shortcut: shortcut}
}

func (r *Residual) Params() []*Param {
	ps := r.Body.Params()
	if r.Shortcut != nil {
		ps = append(ps, r.Shortcut.Params()...)
	}
	return ps
}

func (r *Residual) Buffers() []*Param {
	ps := r.Body.Buffers()
	if r.Shortcut != nil {
		ps = append(ps, r.Shortcut.Buffers()...)
	}
	return ps
}

func (r *Residual) SetTraining(t bool) {
	r.Body.SetTraining(t)
	if r.Shortcut != nil {
		r.Shortcut.SetTraining(t)
	}
}

func (r *Residual) Forward(x *tensor.Tensor) *tensor.Tensor {
	b := r.Body.Forward(x)
	s := x
	if r.Shortcut != nil {
		s = r.Shortcut.Forward(x)
	}
	if !tensor.SameShape(b.Shape, s.Shape) {
		panic(fmt.Sprintf("nn.Residual: body gives %v, shortcut %v", b.Shape, s.Shape))
	}
	r.y = tensor.Ensure(r.y, b.Shape...)
	r.add = addJob{dst: r.y.Data, a: b.Data, b: s.Data}
	parallel.For(r.y.Len(), elemGrain, &r.add)
	return r.y
}

func (r *Residual) Backward(dy *tensor.Tensor) *tensor.Tensor {
	db := r.Body.Backward(dy)
	ds := dy
	if r.Shortcut != nil {
		ds = r.Shortcut.Backward(dy)
	}
	r.dx = tensor.Ensure(r.dx, db.Shape...)
	r.add = addJob{dst: r.dx.Data, a: db.Data, b: ds.Data}
	parallel.For(r.dx.Len(), elemGrain, &r.add)
	return r.dx
}

// addJob is dst = a + b element-wise.
type addJob struct{ dst, a, b []float32 }

func (j *addJob) Do(lo, hi int) {
	dst, a, b := j.dst[lo:hi], j.a[lo:hi], j.b[lo:hi]
	for i := range dst {
		dst[i] = a[i] + b[i]
	}
}

// Add sums tensors of one shape element-wise (skip connections of any fan-in).
// Like Concat it takes several inputs, so it is not a Layer; the gradient of
// every input is dy itself.
type Add struct {
	y   *tensor.Tensor
	add addJob
}

// Forward returns x0 + x1 + …, summed left to right.
func (a *Add) Forward(xs ...*tensor.Tensor) *tensor.Tensor {
	if len(xs) == 0 {
		panic("nn.Add: no inputs")
	}
	for _, x := range xs[1:] {
		if !tensor.SameShape(x.Shape, xs[0].Shape) {
			panic(fmt.Sprintf("nn.Add: shapes %v and %v differ", xs[0].Shape, x.Shape))
		}
	}
	a.y = tensor.Ensure(a.y, xs[0].Shape...)
	if len(xs) == 1 {
		a.y.CopyFrom(xs[0])
		return a.y
	}
	a.add = addJob{dst: a.y.Data, a: xs[0].Data, b: xs[1].Data}
	parallel.For(a.y.Len(), elemGrain, &a.add)
	for _, x := range xs[2:] {
		a.add = addJob{dst: a.y.Data, a: a.y.Data, b: x.Data}
		parallel.For(a.y.Len(), elemGrain, &a.add)
	}
	return a.y
}

// Backward returns the gradient of each input: dy.
func (a *Add) Backward(dy *tensor.Tensor) *tensor.Tensor { return dy }

// ZeroPad pads NHWC input with zeros: Top/Bottom rows, Left/Right columns,
// and ChanBefore/ChanAfter channels (ResNet's shortcut to a wider block, or
// TensorFlow's explicit spatial padding). Its backward crops.
type ZeroPad struct {
	stateless
	Top, Bottom, Left, Right int
	ChanBefore, ChanAfter    int

	in         []int
	ho, wo, co int
	x, y, dx   *tensor.Tensor
	dy         []float32
	fwd, bwd   parallel.Func
}

// NewZeroPad returns spatial zero padding (top, bottom, left, right).
func NewZeroPad(top, bottom, left, right int) *ZeroPad {
	return &ZeroPad{Top: top, Bottom: bottom, Left: left, Right: right}
}

// NewChannelPad returns zero padding of the channel axis.
func NewChannelPad(before, after int) *ZeroPad {
	return &ZeroPad{ChanBefore: before, ChanAfter: after}
}

func (p *ZeroPad) Forward(x *tensor.Tensor) *tensor.Tensor {
	if len(x.Shape) != 4 {
		panic(fmt.Sprintf("nn.ZeroPad: input %v, want [N,H,W,C]", x.Shape))
	}
	if p.Top < 0 || p.Bottom < 0 || p.Left < 0 || p.Right < 0 || p.ChanBefore < 0 || p.ChanAfter < 0 {
		panic("nn.ZeroPad: negative padding")
	}
	if p.fwd == nil {
		p.fwd, p.bwd = p.forwardRange, p.backwardRange
	}
	p.x = x
	p.in = append(p.in[:0], x.Shape...)
	n, h, w, c := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	p.ho, p.wo, p.co = h+p.Top+p.Bottom, w+p.Left+p.Right, c+p.ChanBefore+p.ChanAfter
	p.y = tensor.Ensure(p.y, n, p.ho, p.wo, p.co)
	parallel.For(n*p.ho, grainFor(p.wo*p.co), p.fwd)
	return p.y
}

// forwardRange fills output rows (n, oy) in [lo,hi).
func (p *ZeroPad) forwardRange(lo, hi int) {
	h, w, c := p.in[1], p.in[2], p.in[3]
	for row := lo; row < hi; row++ {
		n, oy := row/p.ho, row%p.ho
		out := p.y.Data[row*p.wo*p.co : (row+1)*p.wo*p.co]
		iy := oy - p.Top
		if iy < 0 || iy >= h {
			clear(out)
			continue
		}
		clear(out[:p.Left*p.co])
		clear(out[(p.Left+w)*p.co:])
		src := p.x.Data[(n*h+iy)*w*c : (n*h+iy+1)*w*c]
		if p.ChanBefore == 0 && p.ChanAfter == 0 {
			copy(out[p.Left*p.co:], src)
			continue
		}
		for ix := 0; ix < w; ix++ {
			dst := out[(p.Left+ix)*p.co : (p.Left+ix+1)*p.co]
			clear(dst[:p.ChanBefore])
			copy(dst[p.ChanBefore:], src[ix*c:(ix+1)*c])
			clear(dst[p.ChanBefore+c:])
		}
	}
}

func (p *ZeroPad) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if dy.Len() != p.y.Len() {
		panic(fmt.Sprintf("nn.ZeroPad: gradient %v does not match output %v", dy.Shape, p.y.Shape))
	}
	p.dy = dy.Data
	p.dx = tensor.Ensure(p.dx, p.in...)
	parallel.For(p.in[0]*p.in[1], grainFor(p.in[2]*p.in[3]), p.bwd)
	return p.dx
}

// backwardRange crops input rows (n, iy) in [lo,hi) out of dy.
func (p *ZeroPad) backwardRange(lo, hi int) {
	h, w, c := p.in[1], p.in[2], p.in[3]
	for row := lo; row < hi; row++ {
		n, iy := row/h, row%h
		src := p.dy[((n*p.ho+iy+p.Top)*p.wo+p.Left)*p.co:][:w*p.co]
		dst := p.dx.Data[row*w*c : (row+1)*w*c]
		for ix := 0; ix < w; ix++ {
			copy(dst[ix*c:(ix+1)*c], src[ix*p.co+p.ChanBefore:])
		}
	}
}
