package nn

import (
	"fmt"
	"math/rand/v2"

	"forger/tensor"
)

// Embedding maps class labels to learned vectors: row y of Weight for label y.
// Conditional generators and discriminators use it to see the class.
type Embedding struct {
	Classes, Dim int
	Weight       *Param // [Classes, Dim]

	labels []int32
	y      *tensor.Tensor
}

// NewEmbedding returns an embedding initialised from N(0,1), as PyTorch does.
func NewEmbedding(classes, dim int, rng *rand.Rand) *Embedding {
	e := &Embedding{Classes: classes, Dim: dim, Weight: newParam("weight", classes, dim)}
	e.Weight.Value.FillNormal(rng, 0, 1)
	return e
}

func (e *Embedding) Params() []*Param  { return []*Param{e.Weight} }
func (e *Embedding) Buffers() []*Param { return nil }

// Lookup returns the [len(labels), Dim] vectors of labels. labels must stay
// unchanged until Backward.
func (e *Embedding) Lookup(labels []int32) *tensor.Tensor {
	e.labels = labels
	e.y = tensor.Ensure(e.y, len(labels), e.Dim)
	w := e.Weight.Value.Data
	for i, l := range labels {
		if l < 0 || int(l) >= e.Classes {
			panic(fmt.Sprintf("nn.Embedding: label %d out of range [0,%d)", l, e.Classes))
		}
		copy(e.y.Data[i*e.Dim:(i+1)*e.Dim], w[int(l)*e.Dim:(int(l)+1)*e.Dim])
	}
	return e.y
}

// Backward accumulates dy ([len(labels), Dim]) into the rows of the labels.
func (e *Embedding) Backward(dy *tensor.Tensor) {
	if e.Weight.Frozen {
		return
	}
	g := e.Weight.Grad.Data
	for i, l := range e.labels {
		row := g[int(l)*e.Dim : (int(l)+1)*e.Dim]
		for j, v := range dy.Data[i*e.Dim : (i+1)*e.Dim] {
			row[j] += v
		}
	}
}

// Concat joins tensors along the last axis (channels in NHWC); all other axes
// must agree. It keeps its output and gradient buffers between calls.
type Concat struct {
	widths []int
	shape  []int
	y      *tensor.Tensor
	grads  []*tensor.Tensor
}

// Forward returns the concatenation of xs along the last axis.
func (c *Concat) Forward(xs ...*tensor.Tensor) *tensor.Tensor {
	rows := xs[0].Rows()
	c.widths = c.widths[:0]
	total := 0
	for _, x := range xs {
		if x.Rows() != rows || len(x.Shape) != len(xs[0].Shape) {
			panic(fmt.Sprintf("nn.Concat: shapes %v and %v do not agree", xs[0].Shape, x.Shape))
		}
		c.widths = append(c.widths, x.Dim(-1))
		total += x.Dim(-1)
	}
	c.shape = append(c.shape[:0], xs[0].Shape...)
	c.shape[len(c.shape)-1] = total
	c.y = tensor.Ensure(c.y, c.shape...)
	off := 0
	for k, x := range xs {
		w := c.widths[k]
		for r := 0; r < rows; r++ {
			copy(c.y.Data[r*total+off:r*total+off+w], x.Data[r*w:(r+1)*w])
		}
		off += w
	}
	return c.y
}

// Backward splits dy into the gradients of the inputs, in order. The
// returned tensors have the inputs' widths as last axis and dy's other axes.
func (c *Concat) Backward(dy *tensor.Tensor) []*tensor.Tensor {
	total := dy.Dim(-1)
	rows := dy.Rows()
	for len(c.grads) < len(c.widths) {
		c.grads = append(c.grads, nil)
	}
	off := 0
	for k, w := range c.widths {
		c.shape = append(c.shape[:0], dy.Shape...)
		c.shape[len(c.shape)-1] = w
		g := tensor.Ensure(c.grads[k], c.shape...)
		c.grads[k] = g
		for r := 0; r < rows; r++ {
			copy(g.Data[r*w:(r+1)*w], dy.Data[r*total+off:r*total+off+w])
		}
		off += w
	}
	return c.grads[:len(c.widths)]
}
