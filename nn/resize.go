package nn

import (
	"fmt"
	"math"

	"forger/parallel"
	"forger/tensor"
)

// ResizeBilinear resizes NHWC images to OutH×OutW by bilinear interpolation,
// with TensorFlow's resize_bilinear conventions: by default the legacy
// sampling (source = destination·in/out, no half-pixel centres), which
// TensorFlow 1, TF.js and face-api use; HalfPixel gives the modern sampling
// (PyTorch's align_corners=False), AlignCorners maps corner to corner. The
// weights are computed in float64 as TF.js's CPU kernel does; the backward
// pass is the exact adjoint.
type ResizeBilinear struct {
	stateless
	OutH, OutW   int
	AlignCorners bool
	HalfPixel    bool

	in       []int
	x, y, dx *tensor.Tensor
	dy       []float32
	ys, xs   []tap
	fwd, bwd parallel.Func
}

// tap is one destination coordinate's two source positions and the weight
// of the second.
type tap struct {
	i0, i1 int
	f      float64
}

// NewResizeBilinear returns a legacy (TensorFlow 1) bilinear resize to h×w.
func NewResizeBilinear(h, w int) *ResizeBilinear {
	return &ResizeBilinear{OutH: h, OutW: w}
}

func (r *ResizeBilinear) taps(dst []tap, in, out int) []tap {
	dst = dst[:0]
	ein, eout := float64(in), float64(out)
	if r.AlignCorners && out > 1 {
		ein, eout = float64(in-1), float64(out-1)
	}
	ratio := ein / eout
	for o := 0; o < out; o++ {
		src := ratio * float64(o)
		if r.HalfPixel {
			src = ratio*(float64(o)+0.5) - 0.5
		}
		lo := max(0, math.Floor(src))
		i0 := min(int(lo), in-1)
		i1 := min(in-1, int(math.Ceil(src)))
		f := src - lo
		if i1 < 0 {
			i1 = 0
		}
		dst = append(dst, tap{i0: i0, i1: i1, f: f})
	}
	return dst
}

func (r *ResizeBilinear) Forward(x *tensor.Tensor) *tensor.Tensor {
	if len(x.Shape) != 4 || r.OutH < 1 || r.OutW < 1 {
		panic(fmt.Sprintf("nn.ResizeBilinear: input %v to %d×%d, want [N,H,W,C] and a positive size", x.Shape, r.OutH, r.OutW))
	}
	if r.fwd == nil {
		r.fwd, r.bwd = r.forwardRange, r.backwardRange
	}
	r.x = x
	if !tensor.SameShape(r.in, x.Shape) || len(r.ys) != r.OutH || len(r.xs) != r.OutW {
		r.in = append(r.in[:0], x.Shape...)
		r.ys = r.taps(r.ys, x.Shape[1], r.OutH)
		r.xs = r.taps(r.xs, x.Shape[2], r.OutW)
	}
	n, c := x.Shape[0], x.Shape[3]
	r.y = tensor.Ensure(r.y, n, r.OutH, r.OutW, c)
	parallel.For(n*r.OutH, grainFor(r.OutW*c*4), r.fwd)
	return r.y
}

// forwardRange computes output rows (n, oy) in [lo,hi), in TF.js's order of
// operations: top, bottom, then between them.
func (r *ResizeBilinear) forwardRange(lo, hi int) {
	h, w, c := r.in[1], r.in[2], r.in[3]
	x := r.x.Data
	for row := lo; row < hi; row++ {
		n, oy := row/r.OutH, row%r.OutH
		ty := r.ys[oy]
		top := x[(n*h+ty.i0)*w*c:][:w*c]
		bot := x[(n*h+ty.i1)*w*c:][:w*c]
		out := r.y.Data[row*r.OutW*c:][:r.OutW*c]
		for ox, tx := range r.xs {
			o := out[ox*c : (ox+1)*c]
			tl, tr := top[tx.i0*c:][:c], top[tx.i1*c:][:c]
			bl, br := bot[tx.i0*c:][:c], bot[tx.i1*c:][:c]
			for i := range o {
				t := float64(tl[i]) + (float64(tr[i])-float64(tl[i]))*tx.f
				b := float64(bl[i]) + (float64(br[i])-float64(bl[i]))*tx.f
				o[i] = float32(t + (b-t)*ty.f)
			}
		}
	}
}

func (r *ResizeBilinear) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if dy.Len() != r.y.Len() {
		panic(fmt.Sprintf("nn.ResizeBilinear: gradient %v does not match output %v", dy.Shape, r.y.Shape))
	}
	r.dy = dy.Data
	r.dx = tensor.Ensure(r.dx, r.in...)
	r.dx.Zero()
	// Outputs scatter into shared inputs: split by image and channel so
	// that every sum is made by one goroutine in one order.
	parallel.For(r.in[0]*r.in[3], 1, r.bwd)
	return r.dx
}

func (r *ResizeBilinear) backwardRange(lo, hi int) {
	h, w, c := r.in[1], r.in[2], r.in[3]
	for q := lo; q < hi; {
		n, c0 := q/c, q%c
		c1 := min(c, c0+hi-q) // channels [c0,c1) of image n
		q += c1 - c0
		dx := r.dx.Data[n*h*w*c:][:h*w*c]
		for oy, ty := range r.ys {
			fy := float32(ty.f)
			top, bot := dx[ty.i0*w*c:][:w*c], dx[ty.i1*w*c:][:w*c]
			src := r.dy[(n*r.OutH+oy)*r.OutW*c:][:r.OutW*c]
			for ox, tx := range r.xs {
				fx := float32(tx.f)
				g := src[ox*c : (ox+1)*c]
				for i := c0; i < c1; i++ {
					v := g[i]
					vb := v * fy
					vt := v - vb
					top[tx.i0*c+i] += vt - vt*fx
					top[tx.i1*c+i] += vt * fx
					bot[tx.i0*c+i] += vb - vb*fx
					bot[tx.i1*c+i] += vb * fx
				}
			}
		}
	}
}
