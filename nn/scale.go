package nn

import (
	"fmt"

	"forger/parallel"
	"forger/tensor"
)

// Scale is a per-channel affine map on the last axis: y = x·w + b. It is a
// batch norm folded into fixed statistics (Caffe's and dlib's "scale"
// layer), and with Weight only, a learned gain.
type Scale struct {
	C      int
	Weight *Param // [C]
	Bias   *Param // [C], or nil

	x, y, dx *tensor.Tensor
	dy       []float32
	fwd, bwd parallel.Func
	grad     parallel.Func
}

// NewScale returns the identity scale over c channels (w = 1, b = 0).
func NewScale(c int, bias bool) *Scale {
	s := &Scale{C: c, Weight: newParam("weight", c)}
	s.Weight.Value.Fill(1)
	if bias {
		s.Bias = newParam("bias", c)
	}
	s.init()
	return s
}

func (s *Scale) init() {
	s.fwd, s.bwd, s.grad = s.forwardRange, s.backwardRange, s.gradRange
}

func (s *Scale) Params() []*Param {
	if s.Bias == nil {
		return []*Param{s.Weight}
	}
	return []*Param{s.Weight, s.Bias}
}
func (s *Scale) Buffers() []*Param { return nil }
func (s *Scale) SetTraining(bool)  {}

func (s *Scale) Forward(x *tensor.Tensor) *tensor.Tensor {
	if x.Dim(-1) != s.C {
		panic(fmt.Sprintf("nn.Scale: input %v, want %d channels", x.Shape, s.C))
	}
	if s.fwd == nil {
		s.init()
	}
	s.x = x
	s.y = tensor.Ensure(s.y, x.Shape...)
	parallel.For(x.Rows(), grainFor(s.C), s.fwd)
	return s.y
}

func (s *Scale) forwardRange(lo, hi int) {
	c, w := s.C, s.Weight.Value.Data
	for r := lo; r < hi; r++ {
		x, y := s.x.Data[r*c:(r+1)*c], s.y.Data[r*c:(r+1)*c]
		if s.Bias == nil {
			for i, v := range x {
				y[i] = v * w[i]
			}
			continue
		}
		b := s.Bias.Value.Data
		for i, v := range x {
			y[i] = v*w[i] + b[i]
		}
	}
}

func (s *Scale) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if dy.Len() != s.x.Len() {
		panic(fmt.Sprintf("nn.Scale: gradient %v does not match input %v", dy.Shape, s.x.Shape))
	}
	s.dy = dy.Data
	if !s.Weight.Frozen || (s.Bias != nil && !s.Bias.Frozen) {
		parallel.For(s.C, 8, s.grad)
	}
	s.dx = tensor.Ensure(s.dx, s.x.Shape...)
	parallel.For(s.x.Rows(), grainFor(s.C), s.bwd)
	return s.dx
}

func (s *Scale) backwardRange(lo, hi int) {
	c, w := s.C, s.Weight.Value.Data
	for r := lo; r < hi; r++ {
		dy, dx := s.dy[r*c:(r+1)*c], s.dx.Data[r*c:(r+1)*c]
		for i, v := range dy {
			dx[i] = v * w[i]
		}
	}
}

// gradRange sums dy·x and dy over the rows for channels [lo,hi), in float64
// and one fixed order per channel.
func (s *Scale) gradRange(lo, hi int) {
	c := s.C
	rows := len(s.dy) / c
	var buf [2 * 256]float64
	acc := buf[:0]
	if 2*(hi-lo) <= len(buf) {
		acc = buf[:2*(hi-lo)]
	} else {
		acc = make([]float64, 2*(hi-lo))
	}
	sw, sb := acc[:hi-lo], acc[hi-lo:]
	for r := 0; r < rows; r++ {
		dy, x := s.dy[r*c+lo:r*c+hi], s.x.Data[r*c+lo:r*c+hi]
		for i, v := range dy {
			sw[i] += float64(v) * float64(x[i])
			sb[i] += float64(v)
		}
	}
	if !s.Weight.Frozen {
		for i, v := range sw {
			s.Weight.Grad.Data[lo+i] += float32(v)
		}
	}
	if s.Bias != nil && !s.Bias.Frozen {
		for i, v := range sb {
			s.Bias.Grad.Data[lo+i] += float32(v)
		}
	}
}
