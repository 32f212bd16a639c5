package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"forger/blas"
	"forger/parallel"
	"forger/tensor"
)

// Linear is a fully connected layer on the last axis: y = x·Wᵀ + b, with the
// weight laid out [out, in] as in PyTorch.
type Linear struct {
	In, Out int
	Weight  *Param // [Out, In]
	Bias    *Param // [Out], or nil

	x, y, dx *tensor.Tensor
	shape    []int
	bj       biasJob
	cs       colSum
}

// NewLinear returns a linear layer initialised as PyTorch does by default.
func NewLinear(in, out int, bias bool, rng *rand.Rand) *Linear {
	l := &Linear{In: in, Out: out, Weight: newParam("weight", out, in)}
	bound := 1 / math.Sqrt(float64(in))
	l.Weight.Value.FillUniform(rng, -bound, bound)
	if bias {
		l.Bias = newParam("bias", out)
		l.Bias.Value.FillUniform(rng, -bound, bound)
	}
	return l
}

func (l *Linear) Params() []*Param {
	if l.Bias == nil {
		return []*Param{l.Weight}
	}
	return []*Param{l.Weight, l.Bias}
}
func (l *Linear) Buffers() []*Param   { return nil }
func (l *Linear) SetTraining(bool)    {}
func (l *Linear) WeightParam() *Param { return l.Weight }

func (l *Linear) Forward(x *tensor.Tensor) *tensor.Tensor {
	if x.Dim(-1) != l.In {
		panic(fmt.Sprintf("nn.Linear: input %v, want last axis %d", x.Shape, l.In))
	}
	l.x = x
	rows := x.Rows()
	l.shape = append(l.shape[:0], x.Shape...)
	l.shape[len(l.shape)-1] = l.Out
	l.y = tensor.Ensure(l.y, l.shape...)
	blas.Sgemm(false, true, rows, l.Out, l.In, 1, x.Data, l.In, l.Weight.Value.Data, l.In, 0, l.y.Data, l.Out)
	if l.Bias != nil {
		l.bj = biasJob{y: l.y.Data, b: l.Bias.Value.Data}
		parallel.For(rows, rowGrain, &l.bj)
	}
	return l.y
}

func (l *Linear) Backward(dy *tensor.Tensor) *tensor.Tensor {
	rows := l.x.Rows()
	if dy.Len() != rows*l.Out {
		panic(fmt.Sprintf("nn.Linear: gradient %v does not match output", dy.Shape))
	}
	if !l.Weight.Frozen {
		blas.Sgemm(true, false, l.Out, l.In, rows, 1, dy.Data, l.Out, l.x.Data, l.In, 1, l.Weight.Grad.Data, l.In)
	}
	if l.Bias != nil && !l.Bias.Frozen {
		l.cs = colSum{m: dy.Data, sum: l.Bias.Grad.Data}
		parallel.For(l.Out, 8, &l.cs)
	}
	l.dx = tensor.Ensure(l.dx, l.x.Shape...)
	blas.Sgemm(false, false, rows, l.In, l.Out, 1, dy.Data, l.Out, l.Weight.Value.Data, l.In, 0, l.dx.Data, l.In)
	return l.dx
}
