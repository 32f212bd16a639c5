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
	Classes int
	Weight  *Param // [Classes, sample size]

	labels []int32
	y      *tensor.Tensor
}

// NewClassBias returns a class bias for samples of size values, initialised
// from N(0, std).
func NewClassBias(classes, size int, std float64, rng *rand.Rand) *ClassBias {
	b := &ClassBias{Classes: classes, Weight: newParam("weight", classes, size)}
	b.Weight.Value.FillNormal(rng, 0, std)
	return b
}

// SetLabels sets the classes of the next Forward's samples.
func (b *ClassBias) SetLabels(labels []int32) { b.labels = labels }

func (b *ClassBias) Params() []*Param  { return []*Param{b.Weight} }
func (b *ClassBias) Buffers() []*Param { return nil }
func (b *ClassBias) SetTraining(bool)  {}

func (b *ClassBias) Forward(x *tensor.Tensor) *tensor.Tensor {
	n := x.Shape[0]
	size := b.Weight.Value.Shape[1]
	if len(b.labels) != n || x.Len() != n*size {
		panic(fmt.Sprintf("nn.ClassBias: input %v with %d labels, want samples of %d values", x.Shape, len(b.labels), size))
	}
	b.y = tensor.Ensure(b.y, x.Shape...)
	w := b.Weight.Value.Data
	for i, l := range b.labels {
		if l < 0 || int(l) >= b.Classes {
			panic(fmt.Sprintf("nn.ClassBias: label %d out of range [0,%d)", l, b.Classes))
		}
		row := w[int(l)*size : (int(l)+1)*size]
		xs, ys := x.Data[i*size:(i+1)*size], b.y.Data[i*size:(i+1)*size]
		for j, v := range xs {
			ys[j] = v + row[j]
		}
	}
	return b.y
}

// Backward accumulates dy into the rows of the labels and returns dy.
func (b *ClassBias) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if !b.Weight.Frozen {
		size := b.Weight.Value.Shape[1]
		g := b.Weight.Grad.Data
		for i, l := range b.labels {
			row := g[int(l)*size : (int(l)+1)*size]
			for j, v := range dy.Data[i*size : (i+1)*size] {
				row[j] += v
			}
		}
	}
	return dy
}
