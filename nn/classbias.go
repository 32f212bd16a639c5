package nn

import (
	"fmt"
	"math/rand/v2"

	"forger/tensor"
)

// ClassBias adds a learned tensor per class to its input: y_i = x_i + B[y_i]
// for the label y_i of sample i, B[y] of the shape of one sample. After the
// first convolution of a discriminator it is exactly what feeding the class
// as constant one-hot maps beside the image does (Mirza & Osindero's
// conditioning, as the standard conditional DCGAN does): a convolution of
// constant maps is a per-class bias map. It costs one add per activation
// instead of widening the convolution's input.
//
// Set the labels with SetLabels before Forward; they must stay unchanged
// until Backward.
type ClassBias struct {
	Table  *Embedding // row y is B[y], of the size of one sample
	Weight *Param     // Table's weights [Classes, sample size]

	y *tensor.Tensor
}

// NewClassBias returns a class bias for samples of size values, initialised
// from N(0, std).
func NewClassBias(classes, size int, std float64, rng *rand.Rand) *ClassBias {
	e := NewEmbedding(classes, size, rng)
	e.Weight.Value.FillNormal(rng, 0, std)
	return &ClassBias{Table: e, Weight: e.Weight}
}

// SetLabels sets the classes of the next Forward's samples.
func (b *ClassBias) SetLabels(labels []int32) { b.Table.labels = labels }

func (b *ClassBias) Params() []*Param  { return []*Param{b.Weight} }
func (b *ClassBias) Buffers() []*Param { return nil }
func (b *ClassBias) SetTraining(bool)  {}

func (b *ClassBias) Forward(x *tensor.Tensor) *tensor.Tensor {
	n, size := x.Shape[0], b.Table.Dim
	if len(b.Table.labels) != n || x.Len() != n*size {
		panic(fmt.Sprintf("nn.ClassBias: input %v with %d labels, want samples of %d values", x.Shape, len(b.Table.labels), size))
	}
	rows := b.Table.Lookup(b.Table.labels)
	b.y = tensor.Ensure(b.y, x.Shape...)
	for i, v := range x.Data {
		b.y.Data[i] = v + rows.Data[i]
	}
	return b.y
}

// Backward accumulates dy into the rows of the labels (Embedding.Backward
// reads dy as [N, Dim] whatever its shape) and returns dy.
func (b *ClassBias) Backward(dy *tensor.Tensor) *tensor.Tensor {
	b.Table.Backward(dy)
	return dy
}
