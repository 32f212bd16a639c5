package stylegan

import (
	"fmt"
	"math"
	"math/rand/v2"

	"forger/nn"
	"forger/tensor"
)

// Discriminator is StyleGAN2's residual discriminator: fromRGB (1×1), then
// per resolution a residual block, two 3×3 convolutions (the second blurs
// and halves) beside a blurred, halved 1×1 shortcut, both scaled by √½;
// then at 4×4 minibatch stddev, a 3×3 convolution, a fully connected layer
// and the logit. Every layer has equalized learning rate and leaky ReLU with
// gain √2. It is an nn.Layer: Forward takes images [N, Size, Size,
// Channels] and returns logits [N, 1].
//
// The fully connected layer reads its input in NHWC order (forger's
// activations), where StyleGAN2 reads NCHW: its weight's columns are
// permuted relative to a PyTorch checkpoint's.
type Discriminator struct {
	Config Config
	Net    *nn.Sequential
	ws     nn.Workspace
}

// NewDiscriminator returns the discriminator of cfg, weights N(0,1), biases 0.
func NewDiscriminator(cfg Config, rng *rand.Rand) (*Discriminator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d := &Discriminator{Config: cfg, Net: &nn.Sequential{}}
	half := float32(math.Sqrt(0.5))
	conv := func(name string, in, out, k, stride, pad int, bias, act bool, gain float32) *nn.EqualConv2d {
		c := nn.NewEqualConv2d(in, out, k, stride, pad, bias, act, gain, rng)
		for _, p := range c.Params() {
			p.Name = name + "." + p.Name
		}
		c.SetWorkspace(&d.ws)
		return c
	}
	add := func(l nn.Layer) { d.Net.Layers = append(d.Net.Layers, l) }
	add(conv(fmt.Sprintf("b%d.fromrgb", cfg.Size), cfg.Channels, cfg.Width(cfg.Size), 1, 1, 0, true, true, 1))
	for res := cfg.Size; res > 4; res /= 2 {
		name := fmt.Sprintf("b%d", res)
		tmp, out := cfg.Width(res), cfg.Width(res/2)
		body := &nn.Sequential{Layers: []nn.Layer{
			conv(name+".conv0", tmp, tmp, 3, 1, 1, true, true, 1),
			nn.NewBlur(2, 1),
			conv(name+".conv1", tmp, out, 3, 2, 0, true, true, half),
		}}
		skip := &nn.Sequential{Layers: []nn.Layer{
			nn.NewDownsample2x(),
			conv(name+".skip", tmp, out, 1, 1, 0, false, false, half),
		}}
		add(&nn.Residual{Body: body, Shortcut: skip})
	}
	c4 := cfg.Width(4)
	add(nn.NewMinibatchStd(cfg.MbstdGroup))
	add(conv("b4.conv", c4+1, c4, 3, 1, 1, true, true, 1))
	add(nn.NewReshape(16 * c4))
	fc := nn.NewEqualLinear(16*c4, c4, true, 0, 1, true, rng)
	nn.Prefix("b4.fc", fc.Params())
	add(fc)
	out := nn.NewEqualLinear(c4, 1, true, 0, 1, false, rng)
	nn.Prefix("b4.out", out.Params())
	add(out)
	return d, nil
}

func (d *Discriminator) Forward(x *tensor.Tensor) *tensor.Tensor {
	cfg := d.Config
	if len(x.Shape) != 4 || x.Shape[1] != cfg.Size || x.Shape[2] != cfg.Size || x.Shape[3] != cfg.Channels {
		panic(fmt.Sprintf("stylegan.Discriminator: images %v, want [N,%d,%d,%d]", x.Shape, cfg.Size, cfg.Size, cfg.Channels))
	}
	return d.Net.Forward(x)
}

func (d *Discriminator) Backward(dy *tensor.Tensor) *tensor.Tensor { return d.Net.Backward(dy) }
func (d *Discriminator) Params() []*nn.Param                       { return d.Net.Params() }
func (d *Discriminator) Buffers() []*nn.Param                      { return d.Net.Buffers() }
func (d *Discriminator) SetTraining(t bool)                        { d.Net.SetTraining(t) }

// HoldMasks holds (on) or releases the masks of every leaky ReLU of D at
// those of the last Forward, for an R1 penalty's finite-difference second
// derivatives (see nn.EqualConv2d.HoldMask and gan's lazy R1).
func (d *Discriminator) HoldMasks(on bool) { holdMasks(d.Net, on) }

func holdMasks(l nn.Layer, on bool) {
	switch l := l.(type) {
	case *nn.Sequential:
		for _, s := range l.Layers {
			holdMasks(s, on)
		}
	case *nn.Residual:
		holdMasks(l.Body, on)
		if l.Shortcut != nil {
			holdMasks(l.Shortcut, on)
		}
	case interface{ HoldMask(bool) }:
		l.HoldMask(on)
	}
}
