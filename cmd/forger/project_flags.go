package main

// The projection flags shared by project, morph, blend and direction learn
// (whose photos are projected first), and the projector they set up.

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"forger/gan"
	"forger/latent"
	"forger/tensor"
)

// latProjectFlags are the settings of a projection, shared by project, morph,
// blend and direction learn (whose photos are projected first).
type latProjectFlags struct {
	steps            int
	lr, prior, pw    float64
	init, encoder    string
	loss, features   string
	judgePath, faces string
	encLR            float64
	noise, encNoise  float64
	optimizer        string
	prefix           string // of the flags' names: "" or "project-"
	// space is where photos are projected ("" is the model's default);
	// the command sets it from its own --space.
	space latent.Space
}

// encoderLR is the peak learning rate of projections from the encoder.
func (p *latProjectFlags) encoderLR() float64 {
	if p.encLR > 0 {
		return p.encLR
	}
	return p.lr
}

func (p *latProjectFlags) register(cmd *cobra.Command, prefix string) {
	p.prefix = prefix
	f := cmd.Flags()
	f.IntVar(&p.steps, prefix+"steps", latent.DefaultSteps, "steps of the projection (Adam updates, or L-BFGS evaluations of the loss and its gradient)")
	f.StringVar(&p.optimizer, prefix+"optimizer", latent.OptAdam, "optimiser of the projection: adam (--lr; from the mean with --noise) or lbfgs (L-BFGS with a line search: a far lower loss in as many steps)")
	f.StringVar(&p.init, prefix+"init", "mean", "starting point: mean (z = 0 with --noise; w_avg in a stylegan's w and w+) or encoder (needs --encoder, of the projection's space)")
	f.StringVar(&p.encoder, "encoder", "", "encoder file (forger encoder train) for --init encoder")
	f.StringVar(&p.loss, prefix+"loss", latDefaultProjectLoss, "projection loss: perceptual, pixel or both")
	f.StringVar(&p.features, prefix+"features", latDefaultProjectFeatures, "network of the perceptual loss: judge (--features-judge), disc (the model's discriminator), face (face-api's descriptor), or auto: judge when --features-judge is given, else disc")
	f.StringVar(&p.judgePath, "features-judge", "", "judge or attribute classifier whose features --features judge uses")
	f.StringVar(&p.faces, "face-models", "", "folder of the face models for --features face (default $FORGER_HOME/models/face)")
	f.Float64Var(&p.lr, prefix+"lr", latent.DefaultLR, "Adam's peak learning rate of the projection")
	f.Float64Var(&p.encLR, prefix+"encoder-lr", latent.DefaultEncoderLR, "peak learning rate of projections from --init encoder")
	f.Float64Var(&p.noise, prefix+"noise", latent.DefaultNoise, "standard deviation of the noise added to z at the start of a projection from --init mean, decaying to 0 over 75% of the steps (in w and w+: a fraction of the spread of w)")
	f.Float64Var(&p.encNoise, prefix+"encoder-noise", 0, "the same noise for projections from --init encoder")
	f.Float64Var(&p.prior, prefix+"prior", latent.DefaultPrior, "weight of the prior (‖z‖²/nz − 1)² (0 = off; none in w and w+)")
	f.Float64Var(&p.pw, prefix+"perceptual-weight", 1, "weight of the perceptual term in --loss both")
}

// latProjector is a generator with everything a projection needs loaded.
type latProjector struct {
	g     gan.GeneratorNet
	opts  latent.ProjectOptions
	enc   *latent.Encoder
	feats latent.Features
	init  string
}

func (p *latProjectFlags) check() error {
	flag := func(name string) string { return "--" + p.prefix + name }
	if p.steps < 1 || p.steps > 100000 {
		return usagef("%s must be between 1 and 100000", flag("steps"))
	}
	if !(p.prior >= 0) {
		return usagef("%s must be ≥ 0 (0: off)", flag("prior"))
	}
	if !(p.pw > 0) {
		return usagef("%s must be positive (for no perceptual term use %s pixel)", flag("perceptual-weight"), flag("loss"))
	}
	if !(p.lr > 0) {
		return usagef("%s must be positive", flag("lr"))
	}
	if !(p.noise >= 0) || !(p.encNoise >= 0) {
		return usagef("%s and %s must be ≥ 0", flag("noise"), flag("encoder-noise"))
	}
	if err := latent.CheckLoss(p.loss); err != nil {
		return usageError{err}
	}
	if err := latent.CheckOptimizer(p.optimizer); err != nil {
		return usageError{err}
	}
	switch p.init {
	case "mean":
	case "encoder":
		if p.encoder == "" {
			return usagef("--init encoder needs --encoder ENC (make one with: forger encoder train --model CKPT --out ENC.safetensors)")
		}
	default:
		return usagef("--init %q: use mean or encoder", p.init)
	}
	return nil
}

// featuresFor loads the feature network named name for the model
// (latent.LoadFeatures), its errors in terms of the flags.
func (p *latProjectFlags) featuresFor(name, model string, cfg gan.Config) (latent.Features, error) {
	f, err := latent.LoadFeatures(name, cfg, latent.FeatureSource{Model: model, Judge: p.judgePath, FaceModels: p.faces})
	var unknown *latent.UnknownFeaturesError
	switch {
	case errors.Is(err, latent.ErrNoJudge):
		return nil, usagef("--features judge needs --features-judge JUDGE (a judge or attribute classifier of the model's images)")
	case errors.As(err, &unknown):
		return nil, usagef("--features %q: use auto, judge, disc or face", unknown.Name)
	}
	return f, err
}

// setup loads what the projection flags ask for.
func (p *latProjectFlags) setup(g gan.GeneratorNet, model string) (*latProjector, error) {
	cfg := g.ModelConfig()
	if err := p.check(); err != nil {
		return nil, err
	}
	pr := &latProjector{g: g, init: p.init}
	prior := p.prior // --prior 0 is off; ProjectOptions' 0 is the default
	if prior == 0 {
		prior = latent.Off
	}
	lr, noise := p.lr, p.noise
	if p.init == "encoder" {
		lr, noise = p.encoderLR(), p.encNoise
	}
	pr.opts = latent.ProjectOptions{Steps: p.steps, Optimizer: p.optimizer, LR: lr, Loss: p.loss, PerceptualWeight: p.pw, Prior: prior, Noise: noise, Space: p.space}
	if p.loss != latent.LossPixel {
		f, err := p.featuresFor(p.features, model, cfg)
		if err != nil {
			return nil, err
		}
		pr.feats, pr.opts.Features = f, f
	}
	if p.init == "encoder" {
		e, err := latent.LoadEncoder(p.encoder)
		if err != nil {
			return nil, makeOne(err, "forger encoder train --model CKPT --out "+p.encoder)
		}
		if err := e.CheckModel(cfg); err != nil {
			return nil, fmt.Errorf("%s: %w", p.encoder, err)
		}
		space := p.space
		if space == "" {
			space = latent.DefaultSpace(cfg)
		}
		if es := e.Cfg.Space; es.String() != space.String() {
			return nil, usagef("--encoder %s predicts %s codes, the projection is in %s: give --space %s, or train an encoder with --space %s", p.encoder, es, space, es, space)
		}
		pr.enc = e
	}
	return pr, nil
}

// run projects targets with a progress bar.
func (pr *latProjector) run(ctx context.Context, targets *tensor.Tensor, classes []int, frameEvery int, desc string) (*latent.Projection, error) {
	o := pr.opts
	o.FrameEvery = frameEvery
	bar := newBar(o.Steps, desc, o.Steps >= 20)
	o.Progress = func(step int, loss float64) {
		bar.Describe(fmt.Sprintf("%s loss %.4g", desc, loss))
		bar.Set(step)
	}
	defer bar.Finish()
	// The start: z = 0 or the encoder's prediction; for conditional
	// models classes[i] when it is ≥ 0, else the class guessed from the image.
	init, err := latent.Starts(pr.g, targets, pr.enc, classes, o)
	if err != nil {
		return nil, err
	}
	return latent.Project(ctx, pr.g, targets, init, o)
}

// latPhotoTensor loads photos as a batch [N, S, S, C] for cfg.
func latPhotoTensor(cfg gan.Config, paths []string) (*tensor.Tensor, error) {
	per := cfg.Size * cfg.Size * cfg.Channels
	t := tensor.New(len(paths), cfg.Size, cfg.Size, cfg.Channels)
	for i, p := range paths {
		x, err := latent.LoadPhoto(p, cfg.Size, cfg.Channels)
		if err != nil {
			return nil, err
		}
		copy(t.Data[i*per:], x)
	}
	return t, nil
}
