package gan

import (
	"math"
	"math/rand/v2"

	"forger/augment"
	"forger/nn"
	"forger/optim"
	"forger/tensor"
)

// Adversarial losses.
const (
	LossBCE   = "bce"   // non-saturating GAN loss of Goodfellow et al., as in DCGAN
	LossHinge = "hinge" // hinge loss (Lim & Ye; used with spectral norm by SN-GAN, BigGAN)
	LossLSGAN = "lsgan" // least squares (Mao et al.)
)

// CheckLoss returns an *OptionError for an unknown loss name.
func CheckLoss(name string) error {
	switch name {
	case LossBCE, LossHinge, LossLSGAN:
		return nil
	}
	return &OptionError{Pkg: "gan", Option: "Loss", Value: name, Reason: "is unknown (use bce, hinge or lsgan)"}
}

// Trainer runs the standard adversarial step: the discriminator on a real
// batch (target 1) and a generated one (target 0), then the generator
// through a discriminator whose weights do not change in that phase. As in
// pytorch/examples, the generator's forward pass of the D step is reused by
// the G step.
type Trainer struct {
	G              GeneratorNet
	D              DiscriminatorNet
	OptG, OptD     *optim.Adam
	EMA            *optim.EMA // optional: averaged generator weights
	Loss           string
	LabelSmoothing float64 // real target 1-LabelSmoothing (bce only)

	// R1 is the weight γ of the R1 gradient penalty (γ/2)·E‖∇ₓD(x)‖² on
	// real images (Mescheder et al. 2018), taken at the real images as D
	// saw them in that step, after augmentation: D is regularised where it
	// is trained (with DiffAugment, D never sees an image as it is). 0 turns
	// it off. It is applied
	// lazily, as StyleGAN2 does: on every R1Every-th D step (default 16),
	// multiplied by R1Every.
	R1      float64
	R1Every int
	// DStepsDone counts StepD calls, for R1's schedule; a resumed run sets
	// it from its checkpoint.
	DStepsDone int
	// GRegEvery is the period, in G steps, of the generator's own
	// regulariser when G is a GRegularizer (StyleGAN2's path length: 4);
	// 0 turns it off. GStepsDone counts StepG calls for it; a resumed run
	// sets it.
	GRegEvery  int
	GStepsDone int

	r1x, r1g, r1ones *tensor.Tensor
	r1real           *tensor.Tensor // the augmented real batch, kept for R1

	// Augment, if not nil, transforms every image D sees, real and
	// generated, in both steps; G's gradient flows back through it. ADA, if
	// not nil, adjusts Augment.P from D's logits on the real images.
	Augment *augment.Augmenter
	ADA     *augment.Controller
	rng     *rand.Rand // StepD's, for StepG's augmentations

	z          *tensor.Tensor
	dParams    []*nn.Param
	dFrozen    []bool
	restoreD   func()
	fakeLabels []int32
	grad       *tensor.Tensor
	fake       *tensor.Tensor
}

// Stats are the numbers of one step, as the progress bar shows them.
type Stats struct {
	LossD, LossG float64
	DReal, DFake float64 // mean D(x) and D(G(z)) as probabilities
	// R1 is E‖∇ₓD(x)‖² on the last real batch it was measured on (the
	// penalty without γ/2); 0 until then.
	R1 float64
	// GReg is the generator regulariser's penalty (path length), last
	// measured; 0 until then.
	GReg float64
	// AugP is the augmentation probability after the step, and Rt ADA's
	// last r_t (0 without ADA).
	AugP, Rt float64
	// Signs is E[sign(D(real))] on this step's real batch, as D saw it:
	// ADA's overfitting signal, measured in every run so that a run
	// without augmentation shows whether D is memorising.
	Signs float64
}

// SampleZ fills z [n, nz] from N(0,1).
func SampleZ(z *tensor.Tensor, rng *rand.Rand) {
	for i := range z.Data {
		z.Data[i] = float32(rng.NormFloat64())
	}
}

func meanSigmoid(x *tensor.Tensor) float64 {
	var s float64
	for _, v := range x.Data {
		s += 1 / (1 + math.Exp(-float64(v)))
	}
	return s / float64(x.Len())
}

// MeanSign returns E[sign(x)] over D's logits x: ADA's r_t on real images
// (augment.MeanSign).
func MeanSign(x *tensor.Tensor) float64 { return augment.MeanSign(x.Data) }

// dLoss returns the discriminator loss for logits with the given realness,
// writing its gradient into t.grad.
func (t *Trainer) dLoss(logits *tensor.Tensor, real bool) float64 {
	t.grad = tensor.Ensure(t.grad, logits.Shape...)
	switch t.Loss {
	case LossHinge:
		if real {
			return nn.HingeReal(logits, t.grad)
		}
		return nn.HingeFake(logits, t.grad)
	case LossLSGAN:
		if real {
			return nn.MSEConst(logits, 1, t.grad)
		}
		return nn.MSEConst(logits, 0, t.grad)
	default:
		if real {
			return nn.BCEWithLogits(logits, float32(1-t.LabelSmoothing), t.grad)
		}
		return nn.BCEWithLogits(logits, 0, t.grad)
	}
}

func (t *Trainer) gLoss(logits *tensor.Tensor) float64 {
	t.grad = tensor.Ensure(t.grad, logits.Shape...)
	switch t.Loss {
	case LossHinge:
		return nn.NegMean(logits, t.grad)
	case LossLSGAN:
		return nn.MSEConst(logits, 1, t.grad)
	default:
		return nn.BCEWithLogits(logits, 1, t.grad)
	}
}

// StepD trains the discriminator on one real batch (labels are used by
// conditional models) and one generated batch of the same size.
func (t *Trainer) StepD(real *tensor.Tensor, labels []int32, rng *rand.Rand, st *Stats) {
	n := real.Shape[0]
	cfg := t.G.ModelConfig()
	t.z = tensor.Ensure(t.z, n, cfg.NZ)
	SampleZ(t.z, rng)
	if sd, ok := t.G.(StepDrawer); ok {
		sd.DrawStep(rng, n)
	}
	if cfg.Conditional() {
		if cap(t.fakeLabels) < n {
			t.fakeLabels = make([]int32, n)
		}
		t.fakeLabels = t.fakeLabels[:n]
		k := len(cfg.Classes)
		for i := range t.fakeLabels {
			t.fakeLabels[i] = int32(rng.IntN(k))
		}
	}
	t.rng = rng
	t.D.SetInputGrad(false)
	defer t.D.SetInputGrad(true)
	r1Due := t.R1 > 0 && (t.DStepsDone+1)%t.r1Every() == 0
	seen := t.augmented(real)
	if r1Due && seen != real {
		// The augmenter owns seen until its next call, the fake batch's.
		t.r1real = tensor.Ensure(t.r1real, seen.Shape...)
		t.r1real.CopyFrom(seen)
		seen = t.r1real
	}
	logits := t.D.Forward(seen, labels)
	st.DReal = meanSigmoid(logits)
	st.Signs = MeanSign(logits)
	if t.ADA != nil {
		t.ADA.Observe(t.Augment, st.Signs, logits.Len())
		st.Rt = t.ADA.Rt
	}
	st.LossD = t.dLoss(logits, true)
	t.D.Backward(t.grad)

	t.fake = t.G.Forward(t.z, t.fakeLabels)
	logits = t.D.Forward(t.augmented(t.fake), t.fakeLabels)
	st.DFake = meanSigmoid(logits)
	st.LossD += t.dLoss(logits, false)
	t.D.Backward(t.grad)
	t.DStepsDone++
	if r1Due {
		st.R1 = t.addR1Grad(seen, labels, t.R1*float64(t.r1Every()))
	}
	t.OptD.Step()
	if t.Augment != nil {
		st.AugP = t.Augment.P
	}
}

// freezeD freezes D's parameters for a pass that needs only its input
// gradient, and returns the function that puts back what each was before
// (blocks frozen for fine-tuning stay frozen).
func (t *Trainer) freezeD() (restore func()) {
	if t.dParams == nil {
		t.dParams = t.D.Params()
		t.dFrozen = make([]bool, len(t.dParams))
		t.restoreD = func() {
			for i, p := range t.dParams {
				p.Frozen = t.dFrozen[i]
			}
		}
	}
	for i, p := range t.dParams {
		t.dFrozen[i] = p.Frozen
		p.Frozen = true
	}
	return t.restoreD
}

// augmented returns x as D should see it: through Augment when there is
// one (owned by the augmenter until its next call).
func (t *Trainer) augmented(x *tensor.Tensor) *tensor.Tensor {
	if t.Augment == nil {
		return x
	}
	return t.Augment.Forward(x, t.rng)
}

func (t *Trainer) r1Every() int {
	if t.R1Every < 1 {
		return 16
	}
	return t.R1Every
}

// R1Step is the relative size of the finite-difference step of addR1Grad:
// the root-mean-square change of a pixel (pixels span [-1, 1]).
const R1Step = 1e-3

// addR1Grad adds to D's parameter gradients the gradient of
// (gamma/2)·(1/N)·Σᵢ‖∇ₓᵢD(x)‖² on the images x (labels for conditional
// models), and returns (1/N)·Σᵢ‖∇ₓᵢD(x)‖².
//
// The penalty's gradient needs the derivative of D's input gradient with
// respect to its weights (PyTorch's double backward). forger computes it as
// a central finite difference, a Hessian-vector product: with g = ∇ₓS(x)
// for S the sum of the logits, held fixed,
//
//	∇θ (½ Σᵢ‖gᵢ‖²) = ∇θ (g · ∇ₓS(x)) = d/dε ∇θ S(x + εg) |ε=0
//	              ≈ (∇θ S(x + εg) − ∇θ S(x − εg)) / 2ε,
//
// so it costs three passes of D: one for g and one on each side. ε is
// R1Step divided by the root mean square of g, so the images move by
// R1Step per pixel. The two sides are run with the leaky ReLUs' masks held
// at those of x (nn.Activation.HoldMask), as double backward treats them:
// D is then linear along the step, apart from minibatch stddev's smooth
// square root, and the difference is exact up to rounding and O(ε²).
// Without held masks, each unit whose sign the step flips would add an
// error of order 1/ε. Spectral norm's power iteration is held still during
// the three passes so that they see the same weights. D must have no batch
// norm (Discriminator.HasBatchNorm).
func (t *Trainer) addR1Grad(x *tensor.Tensor, labels []int32, gamma float64) float64 {
	d := t.D
	var sn []*nn.SpectralNorm
	if dd, ok := d.(*Discriminator); ok {
		sn = dd.spectralNorms()
	}
	for _, l := range sn {
		l.SetTraining(false)
	}
	defer func() {
		for _, l := range sn {
			l.SetTraining(true)
		}
	}()
	n := x.Shape[0]
	t.r1ones = tensor.Ensure(t.r1ones, n, 1)
	t.r1ones.Fill(1)

	// g = ∇ₓ S(x), with the weights frozen so that nothing accumulates.
	restore := t.freezeD()
	d.SetInputGrad(true)
	d.Forward(x, labels)
	g := d.Backward(t.r1ones)
	restore()
	t.r1g = tensor.Ensure(t.r1g, g.Shape...)
	t.r1g.CopyFrom(g)
	var ss float64
	for _, v := range t.r1g.Data {
		ss += float64(v) * float64(v)
	}
	penalty := ss / float64(n)
	if ss == 0 {
		return 0
	}
	eps := R1Step / math.Sqrt(ss/float64(t.r1g.Len()))

	d.SetInputGrad(false)
	defer d.SetInputGrad(true)
	d.HoldMasks(true)
	defer d.HoldMasks(false)
	t.r1x = tensor.Ensure(t.r1x, x.Shape...)
	for _, side := range []float64{1, -1} {
		for i, v := range x.Data {
			t.r1x.Data[i] = v + float32(side*eps)*t.r1g.Data[i]
		}
		d.Forward(t.r1x, labels)
		t.r1ones.Fill(float32(side * gamma / (2 * float64(n) * eps)))
		d.Backward(t.r1ones)
	}
	return penalty
}

// StepG trains the generator once on the batch generated by the last StepD.
func (t *Trainer) StepG(st *Stats) {
	if t.fake == nil {
		panic("gan: StepG before StepD")
	}
	restore := t.freezeD()
	logits := t.D.Forward(t.augmented(t.fake), t.fakeLabels)
	st.LossG = t.gLoss(logits)
	dimg := t.D.Backward(t.grad)
	if t.Augment != nil {
		dimg = t.Augment.Backward(dimg)
	}
	restore()
	t.G.Backward(dimg)
	t.GStepsDone++
	if reg, ok := t.G.(GRegularizer); ok && t.GRegEvery > 0 && t.GStepsDone%t.GRegEvery == 0 {
		st.GReg = reg.RegularizeG(t.rng, float64(t.GRegEvery))
	}
	t.OptG.Step()
	if t.EMA != nil {
		t.EMA.Update()
	}
}
