// Package nn is forger's neural-network layers: each has a forward pass, a
// backward pass that returns the gradient with respect to its input (so that
// a photo can be optimised through a frozen generator) and accumulates the
// gradients of its parameters.
//
// Conventions:
//   - Activations are NHWC (see package tensor); a layer reads the last axis as
//     channels or features and every other axis as rows.
//   - A layer owns the tensor its Forward returns and the one its Backward
//     returns, and reuses them from call to call: a returned tensor is valid
//     until that layer's next Forward (or Backward). Copy it to keep it.
//   - Backward must follow the Forward it differentiates, before the next
//     Forward of the same layer. Backward accumulates into Param.Grad (call
//     ZeroGrad between steps); frozen parameters get no gradient, which also
//     saves the matrix multiplication that would compute it.
//   - Work is spread over the cores with package parallel; a warmed-up
//     training step allocates nothing.
package nn

import (
	"forger/tensor"
)

// Param is a named tensor owned by a layer. Trainable parameters have a Grad
// of the same shape; buffers (running statistics, power-iteration vectors)
// have none.
type Param struct {
	Name   string
	Value  *tensor.Tensor
	Grad   *tensor.Tensor
	Frozen bool
}

func newParam(name string, shape ...int) *Param {
	return &Param{Name: name, Value: tensor.New(shape...), Grad: tensor.New(shape...)}
}

func newBuffer(name string, shape ...int) *Param {
	return &Param{Name: name, Value: tensor.New(shape...)}
}

// Layer is one differentiable step of a network.
type Layer interface {
	// Forward computes the output for input x.
	Forward(x *tensor.Tensor) *tensor.Tensor
	// Backward takes the gradient of the loss with respect to the last
	// output and returns the gradient with respect to the last input.
	Backward(dy *tensor.Tensor) *tensor.Tensor
	// Params returns the trainable parameters, including those of sub-layers.
	Params() []*Param
	// Buffers returns the state that is saved but not trained.
	Buffers() []*Param
	// SetTraining switches between training and inference behaviour (batch
	// norm statistics, spectral-norm power iteration).
	SetTraining(training bool)
}

// stateless provides the Layer methods of layers without parameters.
type stateless struct{}

func (stateless) Params() []*Param  { return nil }
func (stateless) Buffers() []*Param { return nil }
func (stateless) SetTraining(bool)  {}

// Prefix prepends prefix and a dot to the names of ps; containers call it so
// that every parameter of a network has a unique path ("main.3.weight").
func Prefix(prefix string, ps []*Param) {
	for _, p := range ps {
		p.Name = prefix + "." + p.Name
	}
}

// ZeroGrad clears the gradients of ps.
func ZeroGrad(ps []*Param) {
	for _, p := range ps {
		if p.Grad != nil {
			p.Grad.Zero()
		}
	}
}

// Freeze sets whether ps are frozen: a frozen parameter keeps its value and
// gets no gradient (Backward still returns input gradients through it).
func Freeze(ps []*Param, frozen bool) {
	for _, p := range ps {
		p.Frozen = frozen
	}
}

// NumParams counts the elements of ps.
func NumParams(ps []*Param) int {
	n := 0
	for _, p := range ps {
		n += p.Value.Len()
	}
	return n
}

// Sequential runs layers one after another.
type Sequential struct {
	Layers []Layer
}

// NewSequential returns the layers as one, naming their parameters by index.
func NewSequential(layers ...Layer) *Sequential {
	for i, l := range layers {
		name := itoa(i)
		Prefix(name, l.Params())
		Prefix(name, l.Buffers())
	}
	return &Sequential{Layers: layers}
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + string(rune('0'+i%10))
}

// Forward runs every layer in order.
func (s *Sequential) Forward(x *tensor.Tensor) *tensor.Tensor {
	for _, l := range s.Layers {
		x = l.Forward(x)
	}
	return x
}

// Backward runs every layer's Backward in reverse order.
func (s *Sequential) Backward(dy *tensor.Tensor) *tensor.Tensor {
	for i := len(s.Layers) - 1; i >= 0; i-- {
		dy = s.Layers[i].Backward(dy)
	}
	return dy
}

// Params returns the parameters of all layers.
func (s *Sequential) Params() []*Param {
	var ps []*Param
	for _, l := range s.Layers {
		ps = append(ps, l.Params()...)
	}
	return ps
}

// Buffers returns the buffers of all layers.
func (s *Sequential) Buffers() []*Param {
	var ps []*Param
	for _, l := range s.Layers {
		ps = append(ps, l.Buffers()...)
	}
	return ps
}

// SetTraining sets the mode of all layers.
func (s *Sequential) SetTraining(t bool) {
	for _, l := range s.Layers {
		l.SetTraining(t)
	}
}

// AppendNamed appends the values of ps to out as checkpoint tensors named
// prefix + "." + the parameter's name.
func AppendNamed(out []tensor.Named, prefix string, ps []*Param) []tensor.Named {
	for _, p := range ps {
		out = append(out, tensor.Named{Name: prefix + "." + p.Name, Tensor: p.Value})
	}
	return out
}

// LoadNamed copies into ps the tensors of f that AppendNamed names, checking
// each shape.
func LoadNamed(f *tensor.File, prefix string, ps []*Param) error {
	for _, p := range ps {
		src, err := f.Lookup(prefix+"."+p.Name, p.Value.Shape...)
		if err != nil {
			return err
		}
		p.Value.CopyFrom(src)
	}
	return nil
}
