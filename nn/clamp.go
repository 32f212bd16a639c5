package nn

import (
	"fmt"

	"forger/tensor"
)

// Clamp limits values to [-Limit, Limit]: StyleGAN2's conv_clamp, which
// NVIDIA's networks apply after each synthesis layer's activation and to
// each toRGB output so that their FP16 layers cannot overflow. The gradient
// passes where the input lies inside the interval (ends included, as
// torch.clamp's) and is zero where it was clamped.
type Clamp struct {
	stateless
	Limit float32 // > 0

	x, y, dx *tensor.Tensor
	held     []int8 // HoldMask's state per value: 0 passed, ±1 clamped to ±Limit
	holding  bool
}

// NewClamp returns a clamp to [-limit, limit].
func NewClamp(limit float32) *Clamp { return &Clamp{Limit: limit} }

// HoldMask holds (on) or releases the pass mask at that of the last Forward,
// as EqualLinear.HoldMask does for leaky ReLUs: finite-difference second
// derivatives need the piecewise-linear layers frozen.
func (c *Clamp) HoldMask(on bool) {
	c.holding = on
	if on {
		c.held = c.held[:0]
		for _, v := range c.x.Data {
			var h int8
			if v > c.Limit {
				h = 1
			} else if v < -c.Limit {
				h = -1
			}
			c.held = append(c.held, h)
		}
	}
}

func (c *Clamp) pass(v float32) bool { return v >= -c.Limit && v <= c.Limit }

// Forward returns x clamped (x itself is not changed).
func (c *Clamp) Forward(x *tensor.Tensor) *tensor.Tensor {
	c.x = x
	c.y = tensor.Ensure(c.y, x.Shape...)
	for i, v := range x.Data {
		if c.holding {
			if h := c.held[i]; h != 0 {
				v = float32(h) * c.Limit
			}
		} else {
			v = min(max(v, -c.Limit), c.Limit)
		}
		c.y.Data[i] = v
	}
	return c.y
}

// Backward passes dy where the input was inside the interval.
func (c *Clamp) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if c.x == nil || dy.Len() != c.x.Len() {
		panic(fmt.Sprintf("nn.Clamp: gradient %v does not match the input", dy.Shape))
	}
	c.dx = tensor.Ensure(c.dx, dy.Shape...)
	for i, g := range dy.Data {
		p := c.pass(c.x.Data[i])
		if c.holding {
			p = c.held[i] == 0
		}
		if !p {
			g = 0
		}
		c.dx.Data[i] = g
	}
	return c.dx
}
