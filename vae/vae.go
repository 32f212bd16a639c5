// Package vae is forger's variational autoencoder (Kingma & Welling 2014),
// the baseline that shows what the GANs buy: a convolutional encoder that
// mirrors DCGAN's discriminator maps an image to the mean and log-variance
// of a Gaussian over z, z is drawn from it by reparameterisation, and
// DCGAN's generator decodes z. The decoder is an ordinary gan.Generator of
// architecture gan.VAE, so every command that samples a dcgan from
// z ~ N(0, I) samples a vae's decoder alike.
//
// The loss of an image x is its reconstruction error — the sum over its
// pixels (values in [-1, 1]) of the squared difference — plus KLWeight
// times KL(q(z|x) ‖ N(0, I)) in nats; a batch's loss is the mean over its
// images. With KLWeight 1 it is the negative evidence lower bound of a
// Gaussian decoder of variance ½, up to a constant.
package vae

import (
	"fmt"
	"math"
	"math/rand/v2"

	"forger/gan"
	"forger/nn"
	"forger/optim"
	"forger/tensor"
)

// Checkpoint tensor prefixes of the encoder and of its optimiser's moments.
const (
	EncoderPrefix = "enc"
	OptimPrefix   = "opt_e"
)

// Encoder maps images [N, Size, Size, Channels] to the mean and
// log-variance [N, NZ] of q(z|x). Its trunk is DCGAN's discriminator with
// batch norm (a 4×4 stride-2 convolution per halving, leaky ReLU 0.2), and
// its head a base×base convolution to 2·NZ values instead of one logit.
type Encoder struct {
	Cfg gan.Config
	Net *nn.Sequential

	first      *nn.Conv2d
	mu, logvar *tensor.Tensor
	dout       *tensor.Tensor
}

// NewEncoder builds the encoder of cfg (its Size, Channels, NZ and NDF),
// with PyTorch's default initialisation.
func NewEncoder(cfg gan.Config, rng *rand.Rand) (*Encoder, error) {
	base, ups, err := gan.Levels(cfg.Size)
	if err != nil {
		return nil, err
	}
	if cfg.NZ < 1 || cfg.NDF < 1 || (cfg.Channels != 1 && cfg.Channels != 3) {
		return nil, fmt.Errorf("vae: encoder of nz %d, ndf %d, %d channels", cfg.NZ, cfg.NDF, cfg.Channels)
	}
	e := &Encoder{Cfg: cfg}
	ch := cfg.NDF
	e.first = nn.NewConv2d(cfg.Channels, ch, 4, 2, 1, false, rng)
	e.first.SkipInputGrad = true // nothing upstream of the images
	layers := []nn.Layer{e.first, nn.NewLeakyReLU(0.2)}
	for i := 1; i < ups; i++ {
		layers = append(layers, nn.NewConv2d(ch, ch*2, 4, 2, 1, false, rng), nn.NewBatchNormAct(ch*2, nn.LeakyReLU, 0.2))
		ch *= 2
	}
	layers = append(layers, nn.NewConv2d(ch, 2*cfg.NZ, base, 1, 0, true, rng))
	e.Net = nn.NewSequential(layers...)
	nn.ShareWorkspace(new(nn.Workspace), e.Net)
	nn.Prefix("main", e.Net.Params())
	nn.Prefix("main", e.Net.Buffers())
	return e, nil
}

// Params returns the trainable parameters.
func (e *Encoder) Params() []*nn.Param { return e.Net.Params() }

// Buffers returns the batch-norm statistics.
func (e *Encoder) Buffers() []*nn.Param { return e.Net.Buffers() }

// SetTraining switches batch norm between batch and running statistics.
func (e *Encoder) SetTraining(t bool) { e.Net.SetTraining(t) }

// Tensors returns the parameters and buffers under prefix.
func (e *Encoder) Tensors(prefix string) []tensor.Named {
	return nn.AppendNamed(nn.AppendNamed(nil, prefix, e.Params()), prefix, e.Buffers())
}

// Load sets the parameters and buffers from f.
func (e *Encoder) Load(f *tensor.File, prefix string) error {
	if err := nn.LoadNamed(f, prefix, e.Params()); err != nil {
		return err
	}
	return nn.LoadNamed(f, prefix, e.Buffers())
}

// Forward returns the mean and log-variance [N, NZ] of q(z|x), owned by
// the encoder until its next Forward.
func (e *Encoder) Forward(x *tensor.Tensor) (mu, logvar *tensor.Tensor) {
	out := e.Net.Forward(x) // [N, 1, 1, 2·NZ]
	n, nz := out.Shape[0], e.Cfg.NZ
	e.mu = tensor.Ensure(e.mu, n, nz)
	e.logvar = tensor.Ensure(e.logvar, n, nz)
	for i := range n {
		row := out.Data[i*2*nz : (i+1)*2*nz]
		copy(e.mu.Data[i*nz:(i+1)*nz], row[:nz])
		copy(e.logvar.Data[i*nz:(i+1)*nz], row[nz:])
	}
	return e.mu, e.logvar
}

// Backward takes the gradients of the mean and log-variance of the last
// Forward and accumulates the parameters' gradients.
func (e *Encoder) Backward(dmu, dlogvar *tensor.Tensor) {
	n, nz := dmu.Shape[0], e.Cfg.NZ
	e.dout = tensor.Ensure(e.dout, n, 1, 1, 2*nz)
	for i := range n {
		row := e.dout.Data[i*2*nz : (i+1)*2*nz]
		copy(row[:nz], dmu.Data[i*nz:(i+1)*nz])
		copy(row[nz:], dlogvar.Data[i*nz:(i+1)*nz])
	}
	e.Net.Backward(e.dout)
}

// KL returns the mean over the n rows of mu and logvar (n×nz values each)
// of KL(N(μ, e^lv) ‖ N(0, I)) = ½ Σ (μ² + e^lv − 1 − lv), and writes the
// gradient of scale times that mean into dmu and dlogvar (overwriting).
func KL(mu, logvar []float32, n int, dmu, dlogvar []float32, scale float64) float64 {
	var s float64
	c := scale / float64(n)
	for i, m := range mu {
		lv := float64(logvar[i])
		ev := math.Exp(lv)
		s += 0.5 * (float64(m)*float64(m) + ev - 1 - lv)
		dmu[i] = float32(c * float64(m))
		dlogvar[i] = float32(c * 0.5 * (ev - 1))
	}
	return s / float64(n)
}

// Reparameterize writes z = μ + e^(lv/2)·ε: a draw of N(μ, e^lv) that is a
// differentiable function of μ and lv for a fixed ε ~ N(0, I).
func Reparameterize(z, mu, logvar, eps []float32) {
	for i := range z {
		z[i] = mu[i] + float32(math.Exp(0.5*float64(logvar[i])))*eps[i]
	}
}

// ReparameterizeBackward adds to dmu and dlogvar the gradient that dz, the
// gradient of z = Reparameterize(μ, lv, ε), carries back: dz and
// dz·ε·½e^(lv/2).
func ReparameterizeBackward(dz, logvar, eps, dmu, dlogvar []float32) {
	for i, g := range dz {
		dmu[i] += g
		dlogvar[i] += g * eps[i] * float32(0.5*math.Exp(0.5*float64(logvar[i])))
	}
}

// Stats are the numbers of one step: the mean over the batch of the
// reconstruction error (sum of squared pixel differences) and of the KL
// divergence (nats), and the loss Recon + KLWeight·KL.
type Stats struct {
	Recon, KL, Loss float64
}

// Trainer trains an encoder and a decoder together with Adam: OptE over
// the encoder's parameters, OptG over the decoder's.
type Trainer struct {
	Enc        *Encoder
	Dec        *gan.Generator
	OptE, OptG *optim.Adam
	KLWeight   float64

	eps, z, grad, dmu, dlv *tensor.Tensor
}

// Step trains on one batch of images x [N, Size, Size, Channels] in
// [-1, 1], drawing ε from rng, and reports the batch's numbers in st.
func (t *Trainer) Step(x *tensor.Tensor, rng *rand.Rand, st *Stats) {
	n := x.Shape[0]
	t.eps = tensor.Ensure(t.eps, n, t.Enc.Cfg.NZ)
	gan.SampleZ(t.eps, rng)
	*st = t.gradients(x, t.eps)
	t.OptE.Step()
	t.OptG.Step()
}

// gradients accumulates the gradient of the loss of batch x with noise
// eps into the parameters of both networks and returns its numbers.
func (t *Trainer) gradients(x, eps *tensor.Tensor) Stats {
	n, nz := x.Shape[0], t.Enc.Cfg.NZ
	mu, lv := t.Enc.Forward(x)
	t.z = tensor.Ensure(t.z, n, nz)
	Reparameterize(t.z.Data, mu.Data, lv.Data, eps.Data)
	xr := t.Dec.Forward(t.z, nil)
	t.grad = tensor.Ensure(t.grad, xr.Shape...)
	var sse float64
	c := 2 / float32(n)
	for i, v := range xr.Data {
		d := v - x.Data[i]
		sse += float64(d) * float64(d)
		t.grad.Data[i] = c * d
	}
	dz := t.Dec.Backward(t.grad)
	t.dmu = tensor.Ensure(t.dmu, n, nz)
	t.dlv = tensor.Ensure(t.dlv, n, nz)
	kl := KL(mu.Data, lv.Data, n, t.dmu.Data, t.dlv.Data, t.KLWeight)
	ReparameterizeBackward(dz.Data, lv.Data, eps.Data, t.dmu.Data, t.dlv.Data)
	t.Enc.Backward(t.dmu, t.dlv)
	recon := sse / float64(n)
	return Stats{Recon: recon, KL: kl, Loss: recon + t.KLWeight*kl}
}

// Tensors returns what a checkpoint saves besides the decoder and its
// optimiser: the encoder (EncoderPrefix) and its Adam moments (OptimPrefix).
func (t *Trainer) Tensors() []tensor.Named {
	return append(t.Enc.Tensors(EncoderPrefix), t.OptE.State(OptimPrefix)...)
}

// Load restores the encoder and its optimiser, after steps steps, from a
// checkpoint that Tensors was saved into.
func (t *Trainer) Load(f *tensor.File, steps int) error {
	if err := t.Enc.Load(f, EncoderPrefix); err != nil {
		return fmt.Errorf("encoder: %w", err)
	}
	return t.OptE.LoadState(OptimPrefix, f, steps)
}

// BenchTrain times the vae's training step (KL weight 1, Adam 0.001 with
// betas (0.9, 0.999)) on random images, for forger bench train --model vae.
func BenchTrain(o gan.BenchOptions) (gan.BenchResult, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	cfg := gan.Config{Arch: gan.VAE, Size: o.Size, Channels: o.Channels, NZ: o.NZ, NGF: o.NGF, NDF: o.NDF}
	dec, err := gan.NewGenerator(cfg, rng)
	if err != nil {
		return gan.BenchResult{}, err
	}
	enc, err := NewEncoder(cfg, rng)
	if err != nil {
		return gan.BenchResult{}, err
	}
	t := &Trainer{Enc: enc, Dec: dec, KLWeight: 1,
		OptE: optim.NewAdam(enc.Params(), 1e-3, 0.9, 0.999), OptG: optim.NewAdam(dec.Params(), 1e-3, 0.9, 0.999)}
	x := tensor.New(o.Batch, o.Size, o.Size, o.Channels)
	x.FillUniform(rng, -1, 1)
	var st Stats
	return gan.Measure("train", o, func() { t.Step(x, rng, &st) })
}
