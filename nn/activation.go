package nn

import (
	"fmt"
	"math"

	"forger/parallel"
	"forger/tensor"
)

// ActKind names an element-wise activation.
type ActKind int

const (
	ReLU ActKind = iota
	LeakyReLU
	Tanh
	Sigmoid
)

// Activation is an element-wise non-linearity. One type serves them all so
// that each shares the same buffers and parallel loop.
type Activation struct {
	stateless
	Kind  ActKind
	Slope float32 // negative slope of LeakyReLU

	x, y, dx *tensor.Tensor
	dy       []float32
	fwd, bwd parallel.Func

	// held is the input whose signs a held ReLU or LeakyReLU uses in place
	// of its input's while holding (see HoldMask).
	held    []float32
	holding bool
}

// HoldMask fixes, when on, which units of a ReLU or LeakyReLU pass: those
// of the input of the last Forward. Later passes are then the linear map
// of that region of the input space, and Backward uses the same mask. It
// is what the finite-difference second derivatives of an R1 penalty need
// (gan.Trainer): the gradient of D's input gradient with respect to the
// weights is taken with the mask held, as double backward takes it. Off
// returns to the ordinary activation. Other kinds ignore it.
func (a *Activation) HoldMask(on bool) {
	a.holding = on && (a.Kind == ReLU || a.Kind == LeakyReLU)
	if a.holding {
		a.held = append(a.held[:0], a.x.Data...)
	}
}

// heldScale is the factor a held mask applies where the base input was v.
func (a *Activation) heldScale(v float32) float32 {
	if v > 0 {
		return 1
	}
	if a.Kind == ReLU {
		return 0
	}
	return a.Slope
}

// NewReLU returns max(x, 0).
func NewReLU() *Activation { return newActivation(ReLU, 0) }

// NewLeakyReLU returns x for x > 0 and slope·x otherwise.
func NewLeakyReLU(slope float32) *Activation { return newActivation(LeakyReLU, slope) }

// NewTanh returns tanh(x).
func NewTanh() *Activation { return newActivation(Tanh, 0) }

// NewSigmoid returns 1/(1+e^-x).
func NewSigmoid() *Activation { return newActivation(Sigmoid, 0) }

func newActivation(k ActKind, slope float32) *Activation {
	a := &Activation{Kind: k, Slope: slope}
	a.fwd = a.forwardRange
	a.bwd = a.backwardRange
	return a
}

func (a *Activation) Forward(x *tensor.Tensor) *tensor.Tensor {
	a.x = x
	a.y = tensor.Ensure(a.y, x.Shape...)
	parallel.For(x.Len(), elemGrain, a.fwd)
	return a.y
}

func (a *Activation) forwardRange(lo, hi int) {
	x, y := a.x.Data[lo:hi], a.y.Data[lo:hi]
	if a.holding {
		for i, v := range a.held[lo:hi] {
			y[i] = a.heldScale(v) * x[i]
		}
		return
	}
	switch a.Kind {
	case ReLU:
		leaky(y, x, 0)
	case LeakyReLU:
		leaky(y, x, a.Slope)
	case Tanh:
		for i, v := range x {
			y[i] = float32(math.Tanh(float64(v)))
		}
	case Sigmoid:
		for i, v := range x {
			y[i] = float32(1 / (1 + math.Exp(-float64(v))))
		}
	}
}

func (a *Activation) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if dy.Len() != a.x.Len() {
		panic(fmt.Sprintf("nn.Activation: gradient %v does not match input %v", dy.Shape, a.x.Shape))
	}
	a.dy = dy.Data
	a.dx = tensor.Ensure(a.dx, a.x.Shape...)
	parallel.For(dy.Len(), elemGrain, a.bwd)
	return a.dx
}

func (a *Activation) backwardRange(lo, hi int) {
	x, y, dy, dx := a.x.Data[lo:hi], a.y.Data[lo:hi], a.dy[lo:hi], a.dx.Data[lo:hi]
	if a.holding {
		for i, v := range a.held[lo:hi] {
			dx[i] = a.heldScale(v) * dy[i]
		}
		return
	}
	switch a.Kind {
	case ReLU:
		leakyGrad(dx, dy, x, 0)
	case LeakyReLU:
		leakyGrad(dx, dy, x, a.Slope)
	case Tanh:
		for i, v := range y {
			dx[i] = dy[i] * (1 - v*v)
		}
	case Sigmoid:
		for i, v := range y {
			dx[i] = dy[i] * v * (1 - v)
		}
	}
}

// Reshape gives its input another shape with the same number of elements;
// the batch axis is kept and Shape gives the rest. It copies nothing.
type Reshape struct {
	stateless
	Shape []int
	in    []int
	y, dx *tensor.Tensor
	full  []int
}

// NewReshape returns a layer viewing [N, ...] input as [N, shape...].
func NewReshape(shape ...int) *Reshape { return &Reshape{Shape: shape} }

func (r *Reshape) Forward(x *tensor.Tensor) *tensor.Tensor {
	r.in = append(r.in[:0], x.Shape...)
	r.full = append(append(r.full[:0], x.Shape[0]), r.Shape...)
	r.y = tensor.View(r.y, x, r.full...)
	return r.y
}

func (r *Reshape) Backward(dy *tensor.Tensor) *tensor.Tensor {
	r.dx = tensor.View(r.dx, dy, r.in...)
	return r.dx
}
