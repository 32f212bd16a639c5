package gan

import (
	"math/rand/v2"

	"forger/nn"
	"forger/tensor"
)

// GeneratorNet is a generator as Trainer, checkpoints, the EMA and sample
// grids see it: DCGAN's Generator and StyleGAN2's StyleGenerator.
type GeneratorNet interface {
	// ModelConfig is the configuration the network was built from.
	ModelConfig() Config
	Params() []*nn.Param
	Buffers() []*nn.Param
	// SetTraining switches between training (batch statistics, random
	// noise, style mixing) and inference.
	SetTraining(bool)
	// Forward maps z [N, NZ] (and labels, for conditional models) to
	// images [N, Size, Size, Channels] in about [-1, 1].
	Forward(z *tensor.Tensor, labels []int32) *tensor.Tensor
	// Backward takes the gradient of the images, accumulates the
	// parameters' gradients and returns the gradient of z.
	Backward(dimg *tensor.Tensor) *tensor.Tensor
	Tensors(prefix string) []tensor.Named
	Load(f *tensor.File, prefix string) error
}

// DiscriminatorNet is a discriminator as Trainer and checkpoints see it.
type DiscriminatorNet interface {
	ModelConfig() Config
	Params() []*nn.Param
	Buffers() []*nn.Param
	SetTraining(bool)
	// Forward returns the logits [N, 1] of images (labels for conditional
	// models).
	Forward(img *tensor.Tensor, labels []int32) *tensor.Tensor
	// Backward takes the gradient of the logits and returns that of the
	// images (nil after SetInputGrad(false)).
	Backward(dlogits *tensor.Tensor) *tensor.Tensor
	// SetInputGrad says whether Backward needs the images' gradient.
	SetInputGrad(on bool)
	// HoldMasks holds (on) the masks of the leaky ReLUs at those of the
	// last Forward, or releases them: R1's finite difference needs D
	// linear along its step (see Trainer.addR1Grad).
	HoldMasks(on bool)
	Tensors(prefix string) []tensor.Named
	Load(f *tensor.File, prefix string) error
}

// A StepDrawer draws what a training step of the generator needs besides
// z (StyleGAN2's mixing latents and crossover, its noise) from the
// trainer's random source, before the step's Forward: a run's randomness
// then all comes from one source, whose state a checkpoint saves.
type StepDrawer interface {
	DrawStep(rng *rand.Rand, n int)
}

// A GRegularizer adds a regulariser's gradient to the generator's
// parameters (StyleGAN2's path length). Trainer calls it on every
// GRegEvery-th generator step after G's adversarial gradient, with gain
// GRegEvery (lazy regularisation), and reports the penalty in Stats.GReg.
type GRegularizer interface {
	RegularizeG(rng *rand.Rand, gain float64) (penalty float64)
}

var (
	_ GeneratorNet     = (*Generator)(nil)
	_ DiscriminatorNet = (*Discriminator)(nil)
)

// ModelConfig returns g.Cfg.
func (g *Generator) ModelConfig() Config { return g.Cfg }

// ModelConfig returns d.Cfg.
func (d *Discriminator) ModelConfig() Config { return d.Cfg }

// HoldMasks holds or releases the masks of D's leaky ReLUs.
func (d *Discriminator) HoldMasks(on bool) { d.holdMasks(on) }
