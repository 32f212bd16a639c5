package latent

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"forger/gan"
	"forger/nn"
	"forger/tensor"
)

// Projection losses.
const (
	LossPixel      = "pixel"      // mean squared error of the pixels in [-1, 1]
	LossPerceptual = "perceptual" // squared distance of a frozen network's features
	LossBoth       = "both"       // pixel + PerceptualWeight·perceptual
)

// CheckLoss returns an *OptionError for an unknown loss.
func CheckLoss(s string) error {
	switch s {
	case LossPixel, LossPerceptual, LossBoth:
		return nil
	}
	return &OptionError{Pkg: "latent", Option: "Loss", Value: s, Reason: "is unknown (use perceptual, pixel or both)"}
}

// Optimisers of a projection.
const (
	OptLBFGS = "lbfgs"
	OptAdam  = "adam"
)

// CheckOptimizer returns an *OptionError for an unknown optimiser.
func CheckOptimizer(s string) error {
	if s == OptLBFGS || s == OptAdam {
		return nil
	}
	return &OptionError{Pkg: "latent", Option: "Optimizer", Value: s, Reason: "is unknown (use lbfgs or adam)"}
}

// Defaults of ProjectOptions.
const (
	DefaultSteps = 300
	DefaultLR    = 0.1
	// DefaultEncoderLR is the learning rate from an encoder's prediction:
	// on the cartoon-faces model, 0.05 and 0.07 were slower on rendered
	// faces and photos, 0.2 much slower on generated faces
	// (docs/results/cartoon-faces.md).
	DefaultEncoderLR = 0.1
	DefaultPrior     = 0.001
	// DefaultNoise is the noise of projections from the mean: z = 0 can sit
	// where the generator's first ReLUs are all off, so its gradient is
	// exactly zero and a projection from it never moves (measured on the
	// 32×32 cartoon-faces model, latent/README.md).
	DefaultNoise = 0.05
	// noiseRamp is the fraction of the steps over which the noise decays to
	// zero, as (1 − t/noiseRamp)² (StyleGAN2's projector).
	noiseRamp = 0.75
)

// rowAdam is Adam (Kingma & Ba, β = 0.9, 0.999, with bias correction) on
// the rows of z, each row (one target's code) with its own learning-rate
// scale.
type rowAdam struct {
	nz    int
	m, v  []float64
	scale []float64
	t     int
}

func newRowAdam(n, nz int) *rowAdam {
	a := &rowAdam{nz: nz, m: make([]float64, n*nz), v: make([]float64, n*nz), scale: make([]float64, n)}
	for i := range a.scale {
		a.scale[i] = 1
	}
	return a
}

func (a *rowAdam) step(w, g []float32, lr float64) {
	const b1, b2, eps = 0.9, 0.999, 1e-8
	a.t++
	c1, c2 := 1-math.Pow(b1, float64(a.t)), 1-math.Pow(b2, float64(a.t))
	for i, gi := range g {
		x := float64(gi)
		a.m[i] = b1*a.m[i] + (1-b1)*x
		a.v[i] = b2*a.v[i] + (1-b2)*x*x
		w[i] -= float32(lr * a.scale[i/a.nz] * (a.m[i] / c1) / (math.Sqrt(a.v[i]/c2) + eps))
	}
}

// ProjectOptions control Project.
type ProjectOptions struct {
	// Steps is the number of steps (default DefaultSteps): Adam updates,
	// or evaluations of the loss and its gradient for L-BFGS.
	Steps int
	// Optimizer is OptAdam (the default, as in StyleGAN2's projector) or
	// OptLBFGS, which reaches a far lower loss in the same number of
	// evaluations (latent/README.md). LR and Patience are Adam's.
	Optimizer string
	LR        float64 // Adam's peak learning rate (default DefaultLR)
	Loss      string  // LossPixel, LossPerceptual or LossBoth (default pixel)
	// Features defines the perceptual loss; required unless Loss is pixel.
	Features Features
	// PerceptualWeight weighs the perceptual term of LossBoth (default 1).
	PerceptualWeight float64
	// Prior weighs the regulariser λ·(‖z‖²/nz − 1)², which keeps z near the
	// sphere where a Gaussian latent lives (0: DefaultPrior; Off, or any
	// negative weight, turns it off).
	Prior float64
	// Space is the space optimised (Space.Dim): "" is DefaultSpace, z for
	// a DCGAN and W+ for a stylegan. In W and W+ there is no prior
	// (Prior is 0) and Noise is a fraction of WStd, as in StyleGAN2's
	// projector.
	Space Space
	// Noise, if > 0, is the standard deviation of Gaussian noise added to z
	// in the forward pass at step 0, decaying to zero over the first 75% of
	// the steps: it lets a projection leave a point of zero gradient (z = 0)
	// and explores early. Codes and losses are those of the noisy codes
	// actually rendered.
	Noise float64
	// NoiseSeed seeds that noise. Target i's noise depends only on
	// NoiseSeed and i, so targets added after it leave its projection as
	// it was.
	NoiseSeed uint64
	// Patience, if > 0, halves a target's learning rate (down to 1/64 of
	// the schedule's) each time its loss has not improved for that many
	// steps. Off by default: on the Fashion-MNIST model it made the final
	// losses worse.
	Patience int
	// FrameEvery, if > 0, keeps the reconstructions every FrameEvery steps
	// (and the last) in Projection.Frames.
	FrameEvery int
	// Progress, if not nil, is called after every step with the mean loss.
	Progress func(step int, loss float64)
}

// Off, as a weight whose zero value means its default
// (ProjectOptions.Prior, EncoderOptions.ImageLoss and ZLoss), turns its
// term off.
const Off = -1

// defaults fills in the defaults of o: afterwards o holds what a
// projection uses (a prior that is off has weight 0).
func (o *ProjectOptions) defaults() error {
	if o.Steps == 0 {
		o.Steps = DefaultSteps
	}
	if o.Optimizer == "" {
		o.Optimizer = OptAdam
	}
	if err := CheckOptimizer(o.Optimizer); err != nil {
		return err
	}
	if o.LR == 0 {
		o.LR = DefaultLR
	}
	if o.Loss == "" {
		o.Loss = LossPixel
	}
	if o.PerceptualWeight == 0 {
		o.PerceptualWeight = 1
	}
	if o.Prior == 0 {
		o.Prior = DefaultPrior
	}

	if o.Prior < 0 {
		o.Prior = 0
	}
	if o.Noise < 0 || math.IsNaN(o.Noise) {
		return &OptionError{Pkg: "latent", Option: "Noise", Value: o.Noise, Reason: "must be ≥ 0"}
	}
	if o.Steps < 0 {
		return &OptionError{Pkg: "latent", Option: "Steps", Value: o.Steps, Reason: "must be ≥ 0"}
	}
	if !(o.LR > 0) {
		return &OptionError{Pkg: "latent", Option: "LR", Value: o.LR, Reason: "must be positive"}
	}
	if err := CheckLoss(o.Loss); err != nil {
		return err
	}
	if o.Loss != LossPixel && o.Features == nil {
		return &OptionError{Pkg: "latent", Option: "Loss", Value: o.Loss, Reason: "needs a feature network"}
	}
	return nil
}

// Projection is the result of Project.
type Projection struct {
	// Options are what the projection ran with: its options with the
	// defaults filled in (Steps 0 is DefaultSteps, …) and a prior that was
	// Off at 0.
	Options ProjectOptions
	Codes   []Code // the best code found for each target
	// Loss[i][s] is the reconstruction loss (without the prior) of target i
	// before step s; Loss[i][Steps] is after the last step.
	Loss [][]float64
	// Best[i] is the loss of Codes[i] (the lowest of Loss[i]).
	Best []float64
	// Frames are the reconstructions [N, S, S, C] every FrameEvery steps.
	Frames     [][]float32
	FrameSteps []int
}

// Mean returns the mean over targets of Loss[·][s].
func (p *Projection) Mean(s int) float64 {
	var m float64
	for _, l := range p.Loss {
		m += l[s]
	}
	return m / float64(len(p.Loss))
}

// Objective is a reconstruction loss against fixed target images.
type Objective struct {
	kind   string
	feats  Features
	pw     float64
	target *tensor.Tensor
	tfeat  []*tensor.Tensor
	tw     [][]float64 // [tap][image]: 1 / mean square of the target's features
	per    int         // values per image

	dimg  *tensor.Tensor
	dtaps []*tensor.Tensor
	Last  []float64 // per-image losses of the last Eval
}

// NewObjective returns the loss kind (LossPixel, LossPerceptual, LossBoth)
// against targets [N, S, S, C]. Each tap of the perceptual term is weighed
// by the inverse mean square of the target's features there, so every tap
// counts alike and an unrelated image scores about 2 per tap.
func NewObjective(kind string, feats Features, pw float64, targets *tensor.Tensor) *Objective {
	o := &Objective{kind: kind, feats: feats, pw: pw, target: targets.Clone(), per: targets.Len() / targets.Shape[0]}
	n := targets.Shape[0]
	if kind != LossPixel {
		for _, t := range feats.Forward(o.target) {
			c := t.Clone()
			o.tfeat = append(o.tfeat, c)
			e := c.Len() / n
			w := make([]float64, n)
			for i := range w {
				var s float64
				for _, v := range c.Data[i*e : (i+1)*e] {
					s += float64(v) * float64(v)
				}
				w[i] = 1 / (s/float64(e) + 1e-8)
			}
			o.tw = append(o.tw, w)
		}
	}
	return o
}

// Eval returns the mean loss of images [N, S, S, C] (each image against its
// target) and, with grad, leaves the gradient of the sum of the per-image
// losses in Grad. Per-image losses are in Last.
func (o *Objective) Eval(img *tensor.Tensor, grad bool) float64 {
	n := img.Shape[0]
	if cap(o.Last) < n {
		o.Last = make([]float64, n)
	}
	o.Last = o.Last[:n]
	clear(o.Last)
	if grad {
		o.dimg = tensor.Ensure(o.dimg, img.Shape...)
		o.dimg.Zero()
	}
	if o.kind != LossPerceptual {
		per := float64(o.per)
		for i := 0; i < n; i++ {
			var s float64
			x, y := img.Data[i*o.per:(i+1)*o.per], o.target.Data[i*o.per:(i+1)*o.per]
			for j, v := range x {
				d := float64(v) - float64(y[j])
				s += d * d
				if grad {
					o.dimg.Data[i*o.per+j] = float32(2 * d / per)
				}
			}
			o.Last[i] += s / per
		}
	}
	if o.kind != LossPixel {
		w := 1.0
		if o.kind == LossBoth {
			w = o.pw
		}
		taps := o.feats.Forward(img)
		if grad && len(o.dtaps) != len(taps) {
			o.dtaps = make([]*tensor.Tensor, len(taps))
		}
		for t, f := range taps {
			e := f.Len() / n
			if grad {
				o.dtaps[t] = tensor.Ensure(o.dtaps[t], f.Shape...)
			}
			for i := 0; i < n; i++ {
				var s float64
				x, y := f.Data[i*e:(i+1)*e], o.tfeat[t].Data[i*e:(i+1)*e]
				k := w * o.tw[t][i] / float64(e)
				for j, v := range x {
					d := float64(v) - float64(y[j])
					s += d * d
					if grad {
						o.dtaps[t].Data[i*e+j] = float32(2 * k * d)
					}
				}
				o.Last[i] += k * s
			}
		}
		if grad {
			d := o.feats.Backward(o.dtaps)
			for j, v := range d.Data {
				o.dimg.Data[j] += v
			}
		}
	}
	var m float64
	for _, v := range o.Last {
		m += v
	}
	return m / float64(n)
}

// Grad is the gradient of the last Eval with grad, [N, S, S, C].
func (o *Objective) Grad() *tensor.Tensor { return o.dimg }

// rampUpSteps is the length of the learning rate's ramp-up: 5% of the
// steps, but at least 15 (or a quarter of them, if fewer). Adam's first
// steps are full-size whatever the gradient, so it is the number of
// steps, not their share, that keeps a start near its answer (an
// encoder's) from being thrown away: on the cartoon-faces model a 60-step
// projection from the encoder ended at 0.0137 with 15 steps of ramp-up,
// 0.0172 with 3 (latent/README.md).
func rampUpSteps(steps int) float64 {
	n := float64(steps)
	return max(0.05*n, min(15, 0.25*n))
}

// lrAt is the learning-rate schedule of the projection: a short cosine
// ramp-up (rampUpSteps) and a cosine ramp-down over the last 25% of the
// steps (the schedule of StyleGAN2's projector, whose ramp-up is 5%).
func lrAt(base float64, step, steps int) float64 {
	if steps <= 1 {
		return base
	}
	t := float64(step) / float64(steps)
	down := min(1, (1-t)/0.25)
	up := min(1, float64(step)/rampUpSteps(steps))
	return base * (0.5 - 0.5*math.Cos(math.Pi*down)) * (0.5 - 0.5*math.Cos(math.Pi*min(1, up+0.2)))
}

// Project finds, for each target image (targets [N, S, S, C] in [-1, 1]),
// the code whose generated image is closest to it: L-BFGS or Adam on the
// code of o.Space (z, or a stylegan's w or w+) through the frozen
// generator, starting from init (one code per target, of that space, as
// Starts makes them; their class is kept). The generator is frozen (see
// Freeze) and stays so. ctx is checked before every step: once it is done
// Project stops and returns its error.
func Project(ctx context.Context, g gan.GeneratorNet, targets *tensor.Tensor, init []Code, o ProjectOptions) (*Projection, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	cfg := g.ModelConfig()
	if err := o.setSpace(g); err != nil {
		return nil, err
	}
	n := targets.Shape[0]
	if len(init) != n {
		return nil, fmt.Errorf("latent: %d targets and %d initial codes", n, len(init))
	}
	if want := []int{n, cfg.Size, cfg.Size, cfg.Channels}; !tensor.SameShape(targets.Shape, want) {
		return nil, fmt.Errorf("latent: targets %v, the model makes %v", targets.Shape, want)
	}
	for _, c := range init {
		if c.Space.norm() != o.Space {
			return nil, &SpaceError{Space: c.Space.String(), Reason: fmt.Sprintf("is not the projection's space %s", o.Space)}
		}
		if err := CheckCode(cfg, c); err != nil {
			return nil, err
		}
	}
	Freeze(g)
	nz, _ := o.Space.Dim(cfg)
	z := &nn.Param{Name: "z", Value: tensor.New(n, nz), Grad: tensor.New(n, nz)}
	var labels []int32
	if cfg.Conditional() {
		labels = make([]int32, n)
	}
	for i, c := range init {
		copy(z.Value.Data[i*nz:(i+1)*nz], c.Z)
		if labels != nil {
			labels[i] = int32(c.HardClass())
		}
	}
	obj := NewObjective(o.Loss, o.Features, o.PerceptualWeight, targets)
	res := &Projection{Options: o, Loss: make([][]float64, n), Best: make([]float64, n), Codes: make([]Code, n)}
	for i := range res.Best {
		res.Best[i] = math.Inf(1)
		res.Codes[i] = init[i].Clone()
	}
	net, err := newCodeNet(g, o.Space, labels)
	if err != nil {
		return nil, err
	}
	noise := o.Noise // in z's units; in W's, a fraction of WStd
	if sg, ok := g.(*gan.StyleGenerator); ok && o.Space.IsW() && noise > 0 {
		noise *= WStd(sg, 1000)
	}
	if o.Optimizer == OptLBFGS {
		lo := o
		lo.Noise = noise
		if err := projectLBFGS(ctx, net, obj, z.Value, lo, res); err != nil {
			return nil, err
		}
		return res, nil
	}
	opt := newRowAdam(n, nz)
	stall := make([]int, n)  // steps since each target's loss last improved
	var noisy *tensor.Tensor // z + noise, the codes rendered while the noise lasts
	var rngs []*rand.Rand    // one per target: its noise does not depend on the targets after it
	if o.Noise > 0 {
		noisy = tensor.New(n, nz)
		for i := range n {
			rngs = append(rngs, rowRNG(o.NoiseSeed, i))
		}
	}
	for step := 0; step <= o.Steps; step++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		rendered := z.Value
		if sd := noiseAt(noise, step, o.Steps); sd > 0 {
			for i, v := range z.Value.Data {
				noisy.Data[i] = v + float32(sd*rngs[i/nz].NormFloat64())
			}
			rendered = noisy
		}
		img := net.forward(rendered)
		last := step == o.Steps
		mean := obj.Eval(img, !last)
		for i, l := range obj.Last {
			res.Loss[i] = append(res.Loss[i], l)
			if l < res.Best[i] {
				res.Best[i] = l
				copy(res.Codes[i].Z, rendered.Data[i*nz:(i+1)*nz])
				stall[i] = 0
			} else if stall[i]++; o.Patience > 0 && stall[i] >= o.Patience {
				// A plateau: halve this target's learning rate.
				opt.scale[i] = max(opt.scale[i]/2, 1.0/64)
				stall[i] = 0
			}
		}
		if o.FrameEvery > 0 && (step%o.FrameEvery == 0 || last) {
			res.Frames = append(res.Frames, append([]float32(nil), img.Data...))
			res.FrameSteps = append(res.FrameSteps, step)
		}
		if last {
			break
		}
		dz := net.backward(obj.Grad())
		copy(z.Grad.Data, dz.Data)
		if o.Prior > 0 {
			for i := 0; i < n; i++ {
				zi, gi := z.Value.Data[i*nz:(i+1)*nz], z.Grad.Data[i*nz:(i+1)*nz]
				_, c := prior(o.Prior, zi)
				for j, v := range zi {
					gi[j] += float32(c * float64(v))
				}
			}
		}
		opt.step(z.Value.Data, z.Grad.Data, lrAt(o.LR, step, o.Steps))
		if o.Progress != nil {
			o.Progress(step+1, mean)
		}
	}
	return res, nil
}

// setSpace fills in o.Space for g (DefaultSpace when "") and checks that g
// has it. Outside z it turns the prior off and scales the noise by WStd.
func (o *ProjectOptions) setSpace(g gan.GeneratorNet) error {
	cfg := g.ModelConfig()
	if o.Space == "" {
		o.Space = DefaultSpace(cfg)
	}
	if _, err := ParseSpace(string(o.Space)); err != nil {
		return err
	}
	if _, err := o.Space.Dim(cfg); err != nil {
		return err
	}
	if o.Space.IsW() {
		o.Prior = 0
	}
	return nil
}

// prior returns the prior λ·(‖z‖²/nz − 1)² of a code and the factor c of
// its gradient, c·z.
func prior(lambda float64, z []float32) (value, c float64) {
	var s float64
	for _, v := range z {
		s += float64(v) * float64(v)
	}
	d := s/float64(len(z)) - 1
	return lambda * d * d, lambda * 4 * d / float64(len(z))
}

// noiseAt is the noise's standard deviation at step of steps.
func noiseAt(noise float64, step, steps int) float64 {
	if noise <= 0 || steps == 0 {
		return 0
	}
	r := 1 - float64(step)/(noiseRamp*float64(steps))
	if r <= 0 {
		return 0
	}
	return noise * r * r
}

// Starts returns the initial codes of a projection of targets [N, S, S, C]
// with options o (defaults as in Project): in z, z = 0, or enc's
// prediction when enc is not nil (the best of its passes under o's loss,
// features and perceptual weight); in W and W+, w_avg or enc's prediction
// (enc must predict codes of the projection's space). For conditional models the class is
// classes[i] when classes is not nil and classes[i] ≥ 0, else the one
// GuessClass finds under o's loss.
func Starts(g gan.GeneratorNet, targets *tensor.Tensor, enc *Encoder, classes []int, o ProjectOptions) ([]Code, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	if err := o.setSpace(g); err != nil {
		return nil, err
	}
	n := targets.Shape[0]
	kind, feats := o.Loss, o.Features
	cfg := g.ModelConfig()
	if enc != nil {
		if err := enc.CheckModel(cfg); err != nil {
			return nil, err
		}
		if es := enc.Cfg.Space.norm(); es != o.Space {
			return nil, &SpaceError{Space: o.Space.String(), Reason: fmt.Sprintf("is not the encoder's: it predicts %s codes", es)}
		}
	}
	if sg, ok := g.(*gan.StyleGenerator); ok && o.Space.IsW() {
		if enc != nil {
			dim, _ := o.Space.Dim(cfg)
			cs := enc.EncodeBest(g, NewObjective(kind, feats, o.PerceptualWeight, targets), nil)
			out := make([]Code, n)
			for i := range out {
				out[i] = Code{Z: append([]float32(nil), cs.Data[i*dim:(i+1)*dim]...), Space: o.Space}
			}
			return out, nil
		}
		avg, err := AverageCode(sg, o.Space)
		if err != nil {
			return nil, err
		}
		out := make([]Code, n)
		for i := range out {
			out[i] = avg.Clone()
		}
		return out, nil
	}
	dg, _ := g.(*gan.Generator)
	per := targets.Len() / n
	out := make([]Code, n)
	var labels []int32
	if cfg.Conditional() {
		labels = make([]int32, n)
	}
	for i := range out {
		out[i] = Code{Z: make([]float32, cfg.NZ)}
		if cfg.Conditional() {
			k := -1
			if classes != nil {
				k = classes[i]
			}
			if k < 0 {
				k = GuessClass(dg, targets.Data[i*per:(i+1)*per], kind, feats)
			}
			out[i].Class = ClassCode(k, len(cfg.Classes))
			labels[i] = int32(k)
		}
	}
	if enc != nil {
		zs := enc.EncodeBest(g, NewObjective(kind, feats, o.PerceptualWeight, targets), labels)
		for i := range out {
			copy(out[i].Z, zs.Data[i*cfg.NZ:(i+1)*cfg.NZ])
		}
	}
	return out, nil
}

// GuessClass returns, for a conditional generator, the class whose image at
// z = 0 is closest to the target under the loss kind; -1 for an
// unconditional one.
func GuessClass(g *gan.Generator, target []float32, kind string, feats Features) int {
	if g.Embed == nil {
		return -1
	}
	k := len(g.Cfg.Classes)
	s := g.Cfg.Size
	t := tensor.New(k, s, s, g.Cfg.Channels)
	codes := make([]Code, k)
	for c := range codes {
		copy(t.Data[c*len(target):(c+1)*len(target)], target)
		codes[c] = Code{Z: make([]float32, g.Cfg.NZ), Class: ClassCode(c, k)}
	}
	obj := NewObjective(kind, feats, 1, t)
	obj.Eval(Render(g, codes), false)
	best := 0
	for c, l := range obj.Last {
		if l < obj.Last[best] {
			best = c
		}
	}
	return best
}

func newRNG(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x1a7e)) }

// rowRNG is the noise source of a projection's target i: its own stream,
// from the seed and i alone, so the targets after it do not change it.
func rowRNG(seed uint64, i int) *rand.Rand { return newRNG(seed + uint64(i)*0x9e3779b97f4a7c15) }
