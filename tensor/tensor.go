// Package tensor holds forger's n-dimensional arrays: dense float32 data in
// row-major order with a shape.
//
// Layout: images and feature maps are NHWC (batch, height, width, channels).
// forger chose NHWC over PyTorch's NCHW because every convolution becomes one
// matrix multiplication over the whole batch whose result is already NHWC
// (im2col rows are contiguous runs of channels, no transpose after the GEMM),
// because batch norm and per-channel bias are a loop over the last axis, and
// because images on disk and the TensorFlow face models forger loads are
// height×width×channels too. Weights are stored in the layout their GEMM
// reads (see package nn).
//
// A Tensor is a plain value: layers own the tensors they return and reuse
// their storage from step to step (see Ensure), so that training allocates
// nothing once warmed up.
package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Tensor is a dense float32 array. Len(Data) == product of Shape.
type Tensor struct {
	Shape []int
	Data  []float32
}

// New returns a zeroed tensor of the given shape.
func New(shape ...int) *Tensor {
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, Numel(shape))}
}

// FromData wraps data (not copied) with a shape; it panics when the sizes differ.
func FromData(data []float32, shape ...int) *Tensor {
	if Numel(shape) != len(data) {
		panic(fmt.Sprintf("tensor: %d values do not fill shape %v", len(data), shape))
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: data}
}

// Numel is the number of elements of a shape.
func Numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Len is the number of elements.
func (t *Tensor) Len() int { return len(t.Data) }

// Dim returns the size of axis i; negative i counts from the end.
func (t *Tensor) Dim(i int) int {
	if i < 0 {
		i += len(t.Shape)
	}
	return t.Shape[i]
}

// Rows is the product of all axes but the last: the number of rows when the
// tensor is seen as a matrix whose row is its last axis.
func (t *Tensor) Rows() int {
	if len(t.Shape) == 0 {
		return 1
	}
	return len(t.Data) / t.Shape[len(t.Shape)-1]
}

// Ensure returns t reshaped to shape, reusing its storage when large enough,
// or a new tensor when t is nil or too small. The contents are unspecified:
// callers overwrite them. This is how layers keep their buffers across steps.
func Ensure(t *Tensor, shape ...int) *Tensor {
	n := Numel(shape)
	if t == nil {
		t = &Tensor{}
	}
	if cap(t.Data) < n {
		t.Data = make([]float32, n)
	}
	t.Data = t.Data[:n]
	t.Shape = append(t.Shape[:0], shape...)
	return t
}

// View returns a tensor sharing t's data with another shape of the same size,
// reusing dst's header when dst is not nil.
func View(dst, t *Tensor, shape ...int) *Tensor {
	if Numel(shape) != len(t.Data) {
		// Copying shape keeps it from escaping, so callers' variadic
		// arguments stay on the stack.
		panic(fmt.Sprintf("tensor: cannot view %v as %v", t.Shape, append([]int(nil), shape...)))
	}
	if dst == nil {
		dst = &Tensor{}
	}
	dst.Data = t.Data
	dst.Shape = append(dst.Shape[:0], shape...)
	return dst
}

// Samples returns samples lo to hi−1 of the first axis as a tensor that
// shares t's data: writes through it change t.
func (t *Tensor) Samples(lo, hi int) *Tensor {
	w := len(t.Data) / t.Shape[0]
	return &Tensor{Data: t.Data[lo*w : hi*w], Shape: append([]int{hi - lo}, t.Shape[1:]...)}
}

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
}

// CopyFrom copies src's data into t; the sizes must match.
func (t *Tensor) CopyFrom(src *Tensor) {
	if len(src.Data) != len(t.Data) {
		panic(fmt.Sprintf("tensor: copy of %v into %v", src.Shape, t.Shape))
	}
	copy(t.Data, src.Data)
}

// Zero sets every element to 0.
func (t *Tensor) Zero() { clear(t.Data) }

// Fill sets every element to v.
func (t *Tensor) Fill(v float32) {
	for i := range t.Data {
		t.Data[i] = v
	}
}

// FillNormal draws every element from N(mean, std²).
func (t *Tensor) FillNormal(rng *rand.Rand, mean, std float64) {
	for i := range t.Data {
		t.Data[i] = float32(mean + std*rng.NormFloat64())
	}
}

// FillUniform draws every element from U[lo, hi).
func (t *Tensor) FillUniform(rng *rand.Rand, lo, hi float64) {
	for i := range t.Data {
		t.Data[i] = float32(lo + (hi-lo)*rng.Float64())
	}
}

// SameShape reports whether a and b have equal shapes.
func SameShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// Sum returns the sum of the elements in float64.
func (t *Tensor) Sum() float64 {
	var s float64
	for _, v := range t.Data {
		s += float64(v)
	}
	return s
}

// MaxAbsDiff returns max |a-b| over the elements; shapes must match in size.
func MaxAbsDiff(a, b *Tensor) float64 {
	if len(a.Data) != len(b.Data) {
		panic("tensor: MaxAbsDiff of different sizes")
	}
	var m float64
	for i := range a.Data {
		if d := math.Abs(float64(a.Data[i]) - float64(b.Data[i])); d > m {
			m = d
		}
	}
	return m
}

// String summarises the tensor for debugging.
func (t *Tensor) String() string {
	return fmt.Sprintf("Tensor%v", t.Shape)
}
