// Package train runs a GAN training session: it feeds a data set through
// gan.Trainer, shows progress, writes sample grids, metrics, loss curves and
// checkpoints into a run folder, and resumes exactly where a run stopped.
//
// The run folder's layout (checkpoints, sample grids from fixed seeds,
// metrics.jsonl, losses.png, progress.gif) is package runfolder's.
package train

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"time"

	"forger/augment"
	"forger/dataset"
	"forger/gan"
	"forger/internal/atomicfile"
	"forger/internal/opterr"
	"forger/optim"
	"forger/picture"
	"forger/runfolder"
	"forger/stylegan"
	"forger/tensor"
	"forger/vae"
)

// Options are the settings of a run; their JSON form is saved in every
// checkpoint so that --resume continues with the same recipe.
type Options struct {
	// Data is a built-in data set's name or a folder or file of images;
	// a new run saves a path as an absolute one (dataset.Place).
	Data           string  `json:"data"`
	Out            string  `json:"-"`
	Model          string  `json:"model"`
	Size           int     `json:"size"`
	Channels       int     `json:"channels"`
	Epochs         int     `json:"epochs"` // 0 with Minutes > 0: train until the clock
	Batch          int     `json:"batch"`
	NZ             int     `json:"nz"`
	NGF            int     `json:"ngf"`
	NDF            int     `json:"ndf"`
	LRG            float64 `json:"lr_g"`
	LRD            float64 `json:"lr_d"`
	Beta1          float64 `json:"beta1"`
	Beta2          float64 `json:"beta2"`
	Loss           string  `json:"loss"`
	DSteps         int     `json:"d_steps"`
	LabelSmoothing float64 `json:"label_smoothing"`
	SpectralNorm   bool    `json:"spectral_norm"`
	MinibatchStd   bool    `json:"mbstd"`
	GCond          string  `json:"g_cond,omitempty"`    // how a conditional G sees the class (gan.GCond*)
	DCond          string  `json:"d_cond,omitempty"`    // how a conditional D sees the class (gan.DCond*)
	DArch          string  `json:"d_arch,omitempty"`    // the discriminator's shape (gan.DArch*)
	DNoNorm        bool    `json:"d_no_norm,omitempty"` // no batch norm in D (without spectral norm)
	// DBias gives a D without batch norm biases (gan.Config.DBias): every
	// new run's, while runs started before it resume without.
	DBias   bool    `json:"d_bias,omitempty"`
	R1      float64 `json:"r1,omitempty"`       // γ of the R1 penalty on real images; 0 = none
	R1Every int     `json:"r1_every,omitempty"` // D steps between R1 penalties (lazy; 0 = 16)
	// Augment is the augmentation policy (augment.None, DiffAugment or ADA);
	// "" chooses: ADA for data sets of fewer than AutoAugmentBelow images,
	// none otherwise. AugmentP is the probability of each operation
	// (DiffAugment's default 1) or ADA's starting value (default 0);
	// ADATarget is the r_t that ADA aims for (default 0.6).
	Augment string `json:"augment,omitempty"`
	// From is a checkpoint whose G, D and averaged G a new run starts from
	// (transfer learning); the networks' shape (ShapeOptions) is taken
	// from it, and a given option of the shape with another value than the
	// source's is an *OptionError wrapping ErrFromShape. FreezeD
	// freezes D's first FreezeD blocks (FreezeD, Mo et al. 2020).
	From          string  `json:"from,omitempty"`
	FreezeD       int     `json:"freeze_d,omitempty"`
	AugmentP      float64 `json:"augment_p,omitempty"`
	ADATarget     float64 `json:"ada_target,omitempty"`
	EMA           float64 `json:"ema"` // decay of the averaged generator; 0 = none
	Limit         int     `json:"limit"`
	Seed          uint64  `json:"seed"`
	Minutes       float64 `json:"-"`
	Resume        bool    `json:"-"`
	LogEvery      int     `json:"-"` // steps between metrics lines
	SampleMinutes float64 `json:"-"` // minutes between extra sample grids
	Keep          int     `json:"-"` // checkpoints kept (0 = all)

	// StyleGAN's settings (Model gan.StyleGAN; see StyleGANDefaults):
	// MappingLayers is the depth of the mapping network, StyleMixing the
	// probability of style mixing in a step, PLWeight the weight of the
	// path-length regulariser (0 = none), applied every PLEvery G steps.
	MappingLayers int     `json:"mapping_layers,omitempty"`
	StyleMixing   float64 `json:"style_mixing,omitempty"`
	PLWeight      float64 `json:"pl_weight,omitempty"`
	PLEvery       int     `json:"pl_every,omitempty"`

	// KLWeight is a vae's weight of the KL term beside the reconstruction
	// error (Model gan.VAE; see VAEDefaults).
	KLWeight float64 `json:"kl_weight,omitempty"`

	// Given lists the options (by field name) the caller chose rather than
	// left at their defaults; options not given take the defaults (for a
	// new run, Complete fills them with the recipe). A new run refuses a
	// given option its model does not use (an *OptionError wrapping
	// ErrNotUsed), whatever its value. A resumed run continues
	// its recipe: every option its checkpoints save except Epochs (the
	// shape, loss, optimiser, penalties, augmentation, EMA, data, seed, …).
	// Each given option of the recipe must have the run's value, or Run
	// returns an *OptionError naming it that wraps ErrResumeRecipe
	// (ErrNotUsed when the run's model does not use it). The options a
	// resume may change are the length and the output: Epochs, Minutes,
	// LogEvery, SampleMinutes and Keep; those not given are the
	// checkpoint's.
	Given []string `json:"-"`
}

// Defaults returns forger's recipe for an unconditional dcgan: the DCGAN
// networks and Adam settings of the DCGAN paper, with the hinge loss and a
// spectrally normalised discriminator (Miyato et al. 2018) instead of BCE
// and batch norm in D, and samples from an exponential moving average of G.
// A cdcgan trains with ConditionalDefaults instead.
func Defaults() Options {
	return Options{Model: gan.DCGAN, Size: 64, Channels: 3, Epochs: 25, Batch: 64, NZ: 100, NGF: 64, NDF: 64,
		LRG: 2e-4, LRD: 2e-4, Beta1: 0.5, Beta2: 0.999, Loss: gan.LossHinge, SpectralNorm: true,
		GCond: gan.GCondOneHot, DCond: gan.DCondProjection, EMA: 0.999, DSteps: 1, Seed: 1,
		LogEvery: 50, SampleMinutes: 1, Keep: 3}
}

// DefaultsFor returns forger's recipe for a model at an image size:
// Complete fills the options a new run was not given from it. An
// unconditional dcgan of 64×64 trains with FaceDefaults, of 128×128 and
// above with LargeFaceDefaults.
func DefaultsFor(model string, size int) Options {
	switch {
	case model == gan.StyleGAN:
		return StyleGANDefaults(size)
	case model == gan.VAE:
		return VAEDefaults(size)
	case model == gan.CDCGAN:
		return ConditionalDefaults()
	case size >= 128:
		return LargeFaceDefaults()
	case size >= 64:
		return FaceDefaults()
	}
	return Defaults()
}

// FaceDefaults is forger's recipe for a dcgan of 64×64: StyleGAN2's
// discriminator recipe on DCGAN's networks — BCE, no normalisation in D
// (with a bias per convolution, gan.Config.DBias, which Complete gives a
// new run), held in check by a lazy R1 penalty of γ 10 — with minibatch
// stddev in D, the EMA of G and batches of FaceBatch. Of the recipes
// compared on cartoon faces at 64×64 it scored best at equal minutes:
// pytorch/examples' batch norm in D (with minibatch stddev, the default
// before it) trained as fast but lost thin features such as smiles,
// Defaults' hinge loss with spectral norm drifted to grey, and at equal
// minutes smaller batches won on 2 cores, 32 over 64, 16 over 32 and 8
// over 16: more steps for fewer images (docs/results/faces-64.md).
func FaceDefaults() Options {
	o := Defaults()
	o.Loss, o.SpectralNorm, o.MinibatchStd, o.Batch = gan.LossBCE, false, true, FaceBatch
	o.DNoNorm, o.R1 = true, FaceR1
	return o
}

// FaceBatch is the batch of a dcgan of 64×64 (FaceDefaults).
const FaceBatch = 8

// FaceR1 is γ of the R1 penalty of a dcgan of 64×64 and above
// (FaceDefaults, LargeFaceDefaults).
const FaceR1 = 10

// LargeFaceDefaults is forger's recipe for a dcgan of 128×128 and above:
// FaceDefaults with batches of 64 (FaceBatch with γ 10 is not measured at
// 128×128 yet). A batch-normalised D wins outright there within the first
// thousand images and G never leaves noise, at either width
// (docs/results/faces-64.md).
func LargeFaceDefaults() Options {
	o := FaceDefaults()
	o.Batch = Defaults().Batch
	return o
}

// StyleGANDefaults is forger's stylegan recipe: StyleGAN2-ADA's generator
// recipe scaled for a CPU beside the discriminator of the 64×64 dcgan
// (withDCGAND). G: the non-saturating logistic loss, Adam with lr 0.0025
// and betas (0, 0.99), lazy path length every 4 G steps (weight 2), style
// mixing 0.9 (without both a 30-minute run sees more images and halves its
// fd, but its W separates smiles and mustaches far worse, and W is what a
// stylegan is for here: docs/results/stylegan-64.md), 2 mapping layers of
// 256 at lr ×0.01 (StyleGAN2-ADA's depth below 512×512), feature maps min(2048/res, 256), G's EMA with
// StyleGAN2-ADA's half-life (ema_kimg = batch·10/32, so a decay of
// 0.5^(32/10000) per step whatever the batch) and batches of StyleGANBatch.
// D: DCGAN's, as FaceDefaults has it, with lazy R1 every 16 D steps. On 2
// cores StyleGAN2's residual discriminator (DArch residual: as wide as G,
// its lr 0.0025, γ = 0.0002·size²/batch) trained at half the images per
// second and kept G at one average face for 30 minutes, where this one lets
// it draw varied faces (docs/results/stylegan-64.md).
func StyleGANDefaults(size int) Options {
	o := Defaults()
	o.Model, o.Size, o.Batch, o.NZ, o.NGF = gan.StyleGAN, size, StyleGANBatch, 256, 256
	o.LRG, o.Beta1, o.Beta2 = 0.0025, 0, 0.99
	o.Loss, o.R1Every = gan.LossBCE, 16
	o.EMA = math.Pow(0.5, 32.0/10000)
	o.MappingLayers, o.StyleMixing, o.PLWeight, o.PLEvery = 2, 0.9, 2, 4
	return o.withStyleD(gan.DArchDCGAN)
}

// VAEDefaults is forger's recipe for a vae at an image size: DCGAN's
// networks (the generator as decoder, the discriminator's trunk with batch
// norm as encoder), KL weight 1, and Adam with lr 0.001 and betas (0.9,
// 0.999) for both, as VAEs are usually trained; no averaged decoder and no
// augmentation.
func VAEDefaults(size int) Options {
	o := Defaults()
	o.Model, o.Size = gan.VAE, size
	o.LRG, o.LRD, o.Beta1, o.Beta2 = 1e-3, 1e-3, 0.9, 0.999
	o.Loss, o.SpectralNorm, o.MinibatchStd, o.EMA = gan.LossBCE, false, false, 0
	o.KLWeight = 1
	return o
}

// StyleGANBatch is a stylegan's default batch: small enough for steps of a
// few seconds on 2 cores, a multiple of minibatch stddev's group of 4.
const StyleGANBatch = 16

// StyleGANR1 is StyleGAN2-ADA's heuristic R1 weight for an image size and
// batch: 0.0002·size²/batch.
func StyleGANR1(size, batch int) float64 {
	return 0.0002 * float64(size*size) / float64(max(batch, 1))
}

// Wide128 is the default ngf and ndf at 128×128: half of DCGAN's 64, so a
// step costs about what a 64×64 step of width 64 does.
const Wide128 = 32

// ConditionalDefaults returns forger's recipe for a cdcgan: the class as a
// one-hot vector beside z, a projection discriminator, BCE and batch norm in
// D, and the EMA of G. Measured against the judge on Fashion-MNIST at equal
// images (360k; docs/results/fashion-mnist.md): fd 25.0, recall 67%, where
// Defaults' hinge loss and spectral norm with a learned class embedding in
// G gave fd 183 and recall 0 (its generator learnt to ignore z: one image
// per class).
func ConditionalDefaults() Options {
	o := Defaults()
	o.Model, o.Loss, o.SpectralNorm = gan.CDCGAN, gan.LossBCE, false
	return o
}

// State is the trainer's position, saved in checkpoints as JSON.
type State struct {
	Options    Options                  `json:"options"`
	Epoch      int                      `json:"epoch"`       // completed epochs
	Step       int                      `json:"step"`        // batches done in the current epoch
	TotalSteps int                      `json:"total_steps"` // batches done in all
	Images     int64                    `json:"images"`      // real images shown to D
	RNG        []byte                   `json:"rng"`         // the noise generator's state
	Seconds    float64                  `json:"seconds"`     // training time so far
	DataLen    int                      `json:"data_len"`
	DStepsDone int                      `json:"d_steps_done,omitempty"` // D steps in all (R1's schedule)
	AugP       float64                  `json:"aug_p,omitempty"`        // the augmentation probability now
	ADA        *augment.ControllerState `json:"ada,omitempty"`
}

// Result says what a run did.
type Result struct {
	Checkpoint string   `json:"checkpoint"`
	Epochs     int      `json:"epochs"`
	Images     int64    `json:"images"`
	Seconds    float64  `json:"seconds"`
	Stopped    string   `json:"stopped"` // "done", "time", "interrupted"
	Samples    string   `json:"samples"`
	Losses     string   `json:"losses"`   // "" when no plot was written
	Progress   string   `json:"progress"` // "" when no animation was written (none after an interruption)
	Warnings   []string `json:"warnings,omitempty"`
	Augment    string   `json:"augment"` // the augmentation policy the run used
	AugmentP   float64  `json:"augment_p"`
}

// AutoAugmentBelow is the data-set size under which a run augments with
// ADA unless told otherwise: a discriminator memorises a few thousand
// images within a CPU run.
const AutoAugmentBelow = 5000

// Metrics is one line of metrics.jsonl.
type Metrics struct {
	Step         int     `json:"step"`
	Epoch        float64 `json:"epoch"`
	KImages      float64 `json:"kimg"`
	LossD        float64 `json:"loss_d"`
	LossG        float64 `json:"loss_g"`
	DReal        float64 `json:"d_real"`
	DFake        float64 `json:"d_fake"`
	ImagesPerSec float64 `json:"images_per_sec"`
	Seconds      float64 `json:"seconds"`
	// R1 is E‖∇ₓD(x)‖² on real images, last measured (runs with --r1).
	R1 float64 `json:"r1,omitempty"`
	// Contrast and Colour are the fixed-seed samples' contrast and colour
	// as shares of the real images' (see greyness), at the last grid.
	Contrast float64 `json:"contrast,omitempty"`
	Colour   float64 `json:"colour,omitempty"`
	// AugP is the augmentation probability (runs with augmentation), and
	// Rt the overfitting signal r_t = E[sign(D(real))] over the line's
	// steps (every run with a discriminator): near 1 when D is sure of every
	// real image, as when it has memorised them; ADA steers p by it.
	AugP float64 `json:"aug_p,omitempty"`
	Rt   float64 `json:"r_t,omitempty"`
	// PL is the path-length penalty, last measured (stylegan runs).
	PL float64 `json:"pl,omitempty"`
	// Recon and KL are a vae's mean reconstruction error (sum of squared
	// pixel differences per image) and KL divergence (nats per image); its
	// lines have no discriminator, and loss_g is Recon + KLWeight·KL.
	Recon float64 `json:"recon,omitempty"`
	KL    float64 `json:"kl,omitempty"`
}

// UI receives what a person watching the run should see.
type UI interface {
	Start(totalImages, doneImages int64)
	// Update reports the images done and the total the run is now expected
	// to reach: with --minutes, the clock's estimate when it comes first.
	Update(images, totalImages int64, desc string)
	Warn(w Warning)
	Finish()
}

// A Warning is something a run noticed that the person running it should
// act on. Message says what happened, in words that name no flag; Kind lets
// a command line add its advice in its own flag names.
type Warning struct {
	Kind    WarningKind
	Message string
	// Run is the run's recipe as it trains (a resumed run's is its
	// checkpoint's), so that advice fits it: what to try against grey
	// samples depends on the loss and the discriminator's normalisation.
	// Warnings before the run is set up (WarnSkipped) have the options
	// given.
	Run Options
}

func (w Warning) String() string { return w.Message }

// WarningKind names a kind of Warning; each kind is given at most once a run.
type WarningKind string

// The kinds of Warning.
const (
	// WarnDWins: the discriminator's loss stays near 0 (it wins outright);
	// label smoothing, spectral norm, hinge loss or a lower D learning rate
	// help.
	WarnDWins WarningKind = "dwins"
	// WarnCollapse: the samples look alike (mode collapse); spectral norm,
	// hinge loss, a lower G learning rate or an earlier checkpoint help.
	WarnCollapse WarningKind = "collapse"
	// WarnGrey: the samples lose contrast or colour (below GreyShare of the
	// real images'); BCE loss with batch-norm D and minibatch stddev, or an
	// earlier checkpoint, help.
	WarnGrey WarningKind = "grey"
	// WarnEpochsFirst: the epoch count ends the run before its time limit.
	WarnEpochsFirst WarningKind = "epochs-first"
	// WarnSkipped: files of the data set could not be decoded.
	WarnSkipped WarningKind = "skipped"
	// WarnLosses, WarnProgress: losses.png or progress.gif was not written.
	WarnLosses   WarningKind = "losses"
	WarnProgress WarningKind = "progress"
)

// An OptionError reports an option value train cannot use, by its Options
// field (LabelSmoothing); a command line turns it into its flag.
type OptionError = opterr.Error

// Errors of Run, besides *OptionError.
var (
	// ErrNoLength: a run needs Epochs ≥ 1, or Minutes > 0 to train until the clock.
	ErrNoLength = errors.New("train: Epochs must be at least 1, or 0 with Minutes > 0 to train until the clock")
	// ErrResumeNoLength (an ErrNoLength): a run that trained until the clock
	// is resumed with neither Minutes nor Epochs.
	ErrResumeNoLength = fmt.Errorf("%w: the resumed run trained until the clock; give it Minutes or Epochs (in all)", ErrNoLength)
	// ErrR1BatchNorm: an R1 penalty needs a discriminator without batch
	// norm (SpectralNorm or DNoNorm).
	ErrR1BatchNorm = errors.New("train: an R1 penalty needs a discriminator without batch norm (SpectralNorm or DNoNorm)")
	// ErrNoCheckpoint: Resume found no checkpoint in the run folder.
	ErrNoCheckpoint = errors.New("nothing to resume: no checkpoint")
	// ErrHasCheckpoints: the run folder of a new run (Resume false) has
	// checkpoints already.
	ErrHasCheckpoints = errors.New("already has checkpoints")
	// ErrDataChanged: a resumed run's data set has a different number of
	// images than the run was trained on.
	ErrDataChanged = errors.New("the data set changed since the run began")
	// ErrNotUsed: a new run is given an option its model does not use (a
	// vae's discriminator settings, a stylegan's dcgan-only ones); the
	// *OptionError that wraps it names the option.
	ErrNotUsed = errors.New("train: the model does not use this option")
	// ErrFromShape: a new run From a checkpoint was given an option of the
	// network's shape (ShapeOptions) with a value other than the source's;
	// the *OptionError that wraps it names the option and the source's
	// value.
	ErrFromShape = errors.New("train: a run started from a model keeps its network")
	// ErrResumeRecipe: a resumed run was given an option of its recipe
	// (Options.Given) with a value other than the run's; the *OptionError
	// that wraps it (through a *ResumeRecipeError) names the option and the
	// run's value.
	ErrResumeRecipe = errors.New("train: a resumed run continues its recipe")
)

// unusedGroup is options a model does not use, with the reason.
type unusedGroup struct {
	options []string
	why     string
}

var (
	styleOnly = unusedGroup{[]string{"MappingLayers", "StyleMixing", "PLWeight", "PLEvery"}, "it is a stylegan setting"}
	vaeOnly   = unusedGroup{[]string{"KLWeight"}, "it is a vae setting"}
	condOnly  = unusedGroup{[]string{"GCond", "DCond"}, "it is a cdcgan setting"}
	// notUsed are the options each model's training does not read.
	notUsed = map[string][]unusedGroup{
		gan.DCGAN:    {styleOnly, vaeOnly, condOnly},
		gan.CDCGAN:   {styleOnly, vaeOnly},
		gan.StyleGAN: {condOnly, vaeOnly},
		gan.VAE: {
			{[]string{"LRD"}, "it has no discriminator, and both its networks learn at the generator's rate"},
			{[]string{"Loss", "DSteps", "LabelSmoothing", "SpectralNorm", "DNoNorm", "MinibatchStd", "DArch", "R1", "R1Every", "AugmentP", "ADATarget"}, "it has no discriminator"},
			condOnly, styleOnly,
		},
	}
)

// residualOnly are the options StyleGAN2's residual discriminator (a
// stylegan's default, gan.DArchResidual) does not read; DCGAN's beside a
// stylegan's generator (--d-arch dcgan or deep) reads them.
var residualOnly = []unusedGroup{
	{[]string{"NDF"}, "its residual discriminator is as wide as its generator"},
	{[]string{"SpectralNorm", "DNoNorm"}, "its residual discriminator has no normalisation"},
	{[]string{"MinibatchStd"}, "its residual discriminator always has minibatch stddev"},
}

// unusedGroups are the options o's model, with o's discriminator, does not
// read.
func (o Options) unusedGroups() []unusedGroup {
	if o.Model == gan.StyleGAN && !o.dcganD() {
		return append(slices.Clone(notUsed[o.Model]), residualOnly...)
	}
	return notUsed[o.Model]
}

// dcganD reports whether a stylegan's discriminator is DCGAN's (DArch dcgan
// or deep) rather than StyleGAN2's residual one.
func (o Options) dcganD() bool {
	return o.Model == gan.StyleGAN && gan.Config{Arch: o.Model, DArch: o.DArch}.DCGANDiscriminator()
}

// unused returns an *OptionError wrapping ErrNotUsed for the first option
// its caller gave (Given) that the new run's model does not use, whatever
// its value: a flag given to no effect is refused even at the recipe's
// value. A resumed run is not checked here: sameRecipe checks what it is
// given against the run's model.
func (o *Options) unused() error {
	if o.Resume {
		return nil
	}
	v := reflect.ValueOf(*o)
	for _, u := range o.unusedGroups() {
		for _, name := range u.options {
			if slices.Contains(o.Given, name) {
				return &OptionError{Pkg: "train", Option: name, Value: valueOf(v.FieldByName(name).Interface()), Reason: fmt.Sprintf("does not apply to a %s: %s", o.Model, u.why), Err: ErrNotUsed}
			}
		}
	}
	return nil
}

// changed returns the first option of o.Given that check accepts and
// whose value in o differs from its value in other, with both values.
// Defaults that mean a value (R1Every 0 is 16, ADATarget 0 is 0.6, a
// diffaugment's AugmentP 0 is 1, DArch "" is the model's discriminator)
// compare as it, Data compares as the place it names, and SpectralNorm and
// DNoNorm as the discriminator's normalisation they choose together (its
// dNorm name).
func (o *Options) changed(other Options, check func(reflect.StructField) bool) (name string, given, had any) {
	a, b := o.effective(), other.effective()
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	for _, name := range o.Given {
		sf, ok := va.Type().FieldByName(name)
		if !ok || !check(sf) {
			continue
		}
		var given, had any = va.FieldByName(name).Interface(), vb.FieldByName(name).Interface()
		switch name {
		case "Data":
			if dataset.Same(a.Data, b.Data) {
				continue
			}
		case "SpectralNorm", "DNoNorm":
			given, had = a.dNorm(), b.dNorm()
		}
		if given != had {
			return name, given, had
		}
	}
	return "", nil, nil
}

// unusedWhy says why the model of o, with its discriminator, does not use
// an option, or "" when it does.
func unusedWhy(o Options, name string) string {
	for _, u := range o.unusedGroups() {
		if slices.Contains(u.options, name) {
			return u.why
		}
	}
	return ""
}

// sameRecipe returns an *OptionError wrapping ErrResumeRecipe for the first
// option of o.Given that is part of the recipe of run, the resumed run's
// options, yet has another value in o (see changed): one that run's model
// does not use wraps ErrNotUsed instead.
func (o *Options) sameRecipe(run Options) error {
	name, given, had := o.changed(run, inRecipe)
	if name == "" {
		return nil
	}
	if why := unusedWhy(run, name); why != "" {
		return &OptionError{Pkg: "train", Option: name, Value: valueOf(given), Reason: fmt.Sprintf("does not apply to the resumed %s: %s", run.Model, why), Err: ErrNotUsed}
	}
	reason := "differs from the resumed run's "
	switch h := had.(type) {
	case bool:
		reason = "is off in the resumed run"
		if h {
			reason = "is on in the resumed run"
		}
	case string:
		if h == "" {
			reason = "differs from the resumed run, which has none"
		} else {
			reason += fmt.Sprintf("%q", h)
		}
	default:
		reason += fmt.Sprint(h)
	}
	fromWeights := run.Model != gan.VAE && name != "From" && !slices.Contains(ShapeOptions, name)
	return &OptionError{Pkg: "train", Option: name, Value: valueOf(given), Reason: reason, Err: &ResumeRecipeError{FromWeights: fromWeights}}
}

// A ResumeRecipeError is what the *OptionError of a resumed run given
// another value of its recipe wraps; it wraps ErrResumeRecipe. FromWeights
// says whether a new run From the run's weights could take the value: the
// run is a GAN (a vae is no source) and the option is neither of its
// network's shape (ShapeOptions) nor From itself.
type ResumeRecipeError struct {
	FromWeights bool
}

func (e *ResumeRecipeError) Error() string { return ErrResumeRecipe.Error() }

// Unwrap returns ErrResumeRecipe.
func (e *ResumeRecipeError) Unwrap() error { return ErrResumeRecipe }

// valueOf is an option's value as an *OptionError shows it: a bool's says
// nothing its name does not.
func valueOf(v any) any {
	if _, ok := v.(bool); ok {
		return nil
	}
	return v
}

// inRecipe reports whether an option is part of a run's recipe: saved in
// its checkpoints, and not Epochs (a resume may ask for more).
func inRecipe(f reflect.StructField) bool {
	return f.Tag.Get("json") != "-" && f.Name != "Epochs"
}

// effective returns o with the defaults that stand for a value replaced by
// it: Run reads the augmentation's settings through it.
func (o Options) effective() Options {
	if o.R1Every == 0 {
		o.R1Every = 16
	}
	if o.ADATarget == 0 {
		o.ADATarget = 0.6
	}
	o.DArch = cmp.Or(o.DArch, defaultDArch(o.Model))
	if o.Augment == augment.DiffAugment && o.AugmentP == 0 {
		o.AugmentP = 1
	}
	return o
}

// dNorm names the discriminator's normalisation that SpectralNorm and
// DNoNorm choose: spectral, none or batch.
func (o Options) dNorm() string {
	switch {
	case o.SpectralNorm:
		return "spectral"
	case o.DNoNorm:
		return "none"
	}
	return "batch"
}

func (o *Options) validate() error {
	if o.Out == "" {
		return &OptionError{Pkg: "train", Option: "Out", Value: nil, Reason: "is required (the run folder)"}
	}
	if o.Data == "" {
		return &OptionError{Pkg: "train", Option: "Data", Value: nil, Reason: "is required (a folder of images, fashion-mnist or mnist)"}
	}
	if o.Batch < 2 {
		return &OptionError{Pkg: "train", Option: "Batch", Value: o.Batch, Reason: "is too small (batch norm needs at least 2)"}
	}
	if o.Epochs < 0 || (o.Epochs == 0 && o.Minutes <= 0) {
		return ErrNoLength
	}
	if o.DSteps < 1 {
		return &OptionError{Pkg: "train", Option: "DSteps", Value: o.DSteps, Reason: "must be at least 1"}
	}
	if !(o.LRG > 0) {
		return &OptionError{Pkg: "train", Option: "LRG", Value: o.LRG, Reason: "must be positive"}
	}
	if !(o.LRD > 0) {
		return &OptionError{Pkg: "train", Option: "LRD", Value: o.LRD, Reason: "must be positive"}
	}
	if !(o.Beta1 >= 0 && o.Beta1 < 1) {
		return &OptionError{Pkg: "train", Option: "Beta1", Value: o.Beta1, Reason: "must be in [0, 1)"}
	}
	if o.LabelSmoothing < 0 || o.LabelSmoothing >= 0.5 {
		return &OptionError{Pkg: "train", Option: "LabelSmoothing", Value: o.LabelSmoothing, Reason: "must be in [0, 0.5)"}
	}
	if o.R1 < 0 || math.IsNaN(o.R1) || math.IsInf(o.R1, 0) {
		return &OptionError{Pkg: "train", Option: "R1", Value: o.R1, Reason: "must be ≥ 0"}
	}
	if o.R1Every < 0 {
		return &OptionError{Pkg: "train", Option: "R1Every", Value: o.R1Every, Reason: "must be ≥ 0"}
	}
	if o.Augment != "" {
		if err := augment.Check(o.Augment); err != nil {
			return &OptionError{Pkg: "train", Option: "Augment", Value: o.Augment, Reason: "is unknown (use none, diffaugment or ada)", Err: err}
		}
	}
	if o.AugmentP < 0 || o.AugmentP > 1 || math.IsNaN(o.AugmentP) {
		return &OptionError{Pkg: "train", Option: "AugmentP", Value: o.AugmentP, Reason: "must be in [0, 1]"}
	}
	if o.ADATarget < 0 || o.ADATarget >= 1 || math.IsNaN(o.ADATarget) {
		return &OptionError{Pkg: "train", Option: "ADATarget", Value: o.ADATarget, Reason: "must be in [0, 1)"}
	}
	if o.Model == gan.StyleGAN && (o.StyleMixing < 0 || o.StyleMixing > 1 || math.IsNaN(o.StyleMixing)) {
		return &OptionError{Pkg: "train", Option: "StyleMixing", Value: o.StyleMixing, Reason: "must be in [0, 1]"}
	}
	if o.PLWeight < 0 || math.IsNaN(o.PLWeight) || o.PLEvery < 0 {
		return &OptionError{Pkg: "train", Option: "PLWeight", Value: o.PLWeight, Reason: "must be ≥ 0"}
	}
	if o.Model == gan.VAE {
		if o.KLWeight < 0 || math.IsNaN(o.KLWeight) || math.IsInf(o.KLWeight, 0) {
			return &OptionError{Pkg: "train", Option: "KLWeight", Value: o.KLWeight, Reason: "must be ≥ 0"}
		}
		if o.Augment != "" && o.Augment != augment.None {
			return &OptionError{Pkg: "train", Option: "Augment", Value: o.Augment, Reason: "is for a discriminator, and a vae has none"}
		}
		if o.From != "" {
			return &OptionError{Pkg: "train", Option: "From", Value: o.From, Reason: "is for GANs: a vae starts from scratch"}
		}
		if o.FreezeD > 0 {
			return &OptionError{Pkg: "train", Option: "FreezeD", Value: o.FreezeD, Reason: "is for GANs: a vae has no discriminator"}
		}
		return o.unused()
	}
	if err := o.unused(); err != nil {
		return err
	}
	if err := gan.CheckDArch(o.Model, o.DArch); err != nil {
		return err
	}
	if o.R1 > 0 && !o.SpectralNorm && !o.DNoNorm && (o.Model != gan.StyleGAN || o.dcganD()) {
		return ErrR1BatchNorm
	}
	return gan.CheckLoss(o.Loss)
}

// readState loads a run's latest checkpoint for --resume.
func readState(out string) (*tensor.File, *State, error) {
	path := runfolder.Latest(out)
	if _, err := os.Stat(path); err != nil {
		return nil, nil, fmt.Errorf("%w in %s", ErrNoCheckpoint, runfolder.Checkpoints(out))
	}
	f, _, err := gan.Open(path)
	if err != nil {
		return nil, nil, err
	}
	var st State
	if err := json.Unmarshal([]byte(f.Metadata[gan.MetaTrain]), &st); err != nil {
		return nil, nil, fmt.Errorf("%s: training state unreadable: %w", path, err)
	}
	return f, &st, nil
}

// Run trains until the epochs are done, --minutes have passed or ctx is
// cancelled (Ctrl-C); in each case it writes a checkpoint first.
func Run(ctx context.Context, o Options, ui UI, log io.Writer) (*Result, error) {
	var resumeFile *tensor.File
	var st State
	if o.Resume {
		f, saved, err := readState(o.Out)
		if err != nil {
			return nil, err
		}
		resumeFile, st = f, *saved
		if err := o.sameRecipe(saved.Options); err != nil {
			return nil, err
		}
		// The recipe is the run's; only the length may change. Epochs 0
		// with a time limit trains until the clock; without one, the
		// run's own epoch count stands.
		epochs := o.Epochs
		o2 := saved.Options
		o2.Out, o2.Minutes, o2.Resume, o2.LogEvery, o2.SampleMinutes, o2.Keep = o.Out, o.Minutes, true, o.LogEvery, o.SampleMinutes, o.Keep
		if epochs > 0 || o.Minutes > 0 {
			o2.Epochs = epochs
		}
		if o2.Epochs == 0 && !(o2.Minutes > 0) {
			return nil, ErrResumeNoLength
		}
		o = o2
	} else if _, err := os.Stat(runfolder.Latest(o.Out)); err == nil {
		return nil, fmt.Errorf("%s %w", o.Out, ErrHasCheckpoints)
	}
	// The source's network first, so that validate checks its model's.
	var from *tensor.File
	if o.From != "" && !o.Resume {
		f, src, err := gan.Open(o.From)
		if err != nil {
			return nil, err
		}
		if err := o.takeShape(src); err != nil {
			return nil, err
		}
		from = f
	}
	if err := o.validate(); err != nil {
		return nil, err
	}
	if !o.Resume {
		o.Data = dataset.Place(o.Data)
	}
	if o.Resume && o.Epochs > 0 && st.Epoch >= o.Epochs {
		return nil, &OptionError{Pkg: "train", Option: "Epochs", Value: o.Epochs, Reason: fmt.Sprintf("is reached: the run already did %d epochs (ask for more to continue it)", st.Epoch)}
	}
	set, err := dataset.Open(o.Data, dataset.Options{Size: o.Size, Channels: o.Channels, Limit: o.Limit, Progress: log})
	if err != nil {
		return nil, err
	}
	if set.Skipped > 0 {
		ui.Warn(Warning{Kind: WarnSkipped, Run: o, Message: fmt.Sprintf("skipped %d files that could not be decoded (first: %s)", set.Skipped, strings.Join(set.SkipExamples, "; "))})
	}
	if set.Len() < o.Batch {
		return nil, &OptionError{Pkg: "train", Option: "Batch", Value: o.Batch, Reason: fmt.Sprintf("is more than the data set's %d images (one batch must fit)", set.Len())}
	}
	if o.Resume && st.DataLen != set.Len() {
		return nil, fmt.Errorf("%w: it now has %d images but the run was trained on %d", ErrDataChanged, set.Len(), st.DataLen)
	}
	if o.Augment == "" && o.Model == gan.VAE {
		o.Augment = augment.None // nothing to augment for
	}
	if o.Augment == "" {
		o.Augment = augment.None
		why := fmt.Sprintf("the data set has %d images, at least %d", set.Len(), AutoAugmentBelow)
		if set.Len() < AutoAugmentBelow {
			o.Augment = augment.ADA
			why = fmt.Sprintf("the data set has %d images, fewer than %d: augmentation keeps D from memorising them", set.Len(), AutoAugmentBelow)
		}
		if log != nil {
			fmt.Fprintf(log, "augment: %s (%s)\n", o.Augment, why)
		}
	}
	cfg := gan.Config{Arch: o.Model, Size: o.Size, Channels: o.Channels, NZ: o.NZ, NGF: o.NGF, NDF: o.NDF,
		Classes: set.Classes, SpectralNorm: o.SpectralNorm, MinibatchStd: o.MinibatchStd, GCond: o.GCond, DCond: o.DCond, DArch: o.DArch, DNoNorm: o.DNoNorm, DBias: o.DBias}
	if cfg.Arch == gan.StyleGAN {
		d := cfg
		cfg = gan.StyleConfig(styleShape(o))
		if o.dcganD() {
			cfg.DArch, cfg.NDF, cfg.SpectralNorm, cfg.MinibatchStd, cfg.DNoNorm, cfg.DBias = d.DArch, d.NDF, d.SpectralNorm, d.MinibatchStd, d.DNoNorm, d.DBias
		}
	} else if cfg.Arch == gan.DCGAN || cfg.Arch == gan.VAE {
		cfg.Classes = nil
	} else if len(set.Classes) == 0 {
		return nil, fmt.Errorf("%w: put the images of each class in their own sub-folder of %s", gan.ErrFewClasses, o.Data)
	}
	initRNG := rand.New(rand.NewPCG(o.Seed, 1))
	if cfg.Arch == gan.VAE {
		return runVAE(ctx, o, cfg, set, initRNG, resumeFile, st, ui)
	}
	g, d, err := gan.NewNets(cfg, initRNG)
	if err != nil {
		return nil, err
	}
	cfg = g.ModelConfig()
	tr := &gan.Trainer{G: g, D: d, Loss: o.Loss, LabelSmoothing: o.LabelSmoothing, R1: o.R1, R1Every: o.R1Every,
		OptG: optim.NewAdam(g.Params(), o.LRG, o.Beta1, o.Beta2),
		OptD: optim.NewAdam(d.Params(), o.LRD, o.Beta1, o.Beta2)}
	if from != nil {
		if err := startFrom(from, g, d, o.From); err != nil {
			return nil, err
		}
	}
	if sg, ok := g.(*gan.StyleGenerator); ok {
		sg.MixProb, sg.PL.Weight = o.StyleMixing, o.PLWeight
		if o.PLWeight > 0 {
			tr.GRegEvery = max(o.PLEvery, 1)
		}
	}
	if o.FreezeD > 0 {
		dd, ok := d.(*gan.Discriminator)
		if !ok {
			return nil, &OptionError{Pkg: "train", Option: "FreezeD", Value: o.FreezeD, Reason: "is for dcgan and cdcgan discriminators"}
		}
		if err := dd.FreezeBlocks(o.FreezeD); err != nil {
			return nil, &OptionError{Pkg: "train", Option: "FreezeD", Value: o.FreezeD, Reason: "is more blocks than the discriminator has", Err: err}
		}
	}
	if o.EMA > 0 {
		tr.EMA = optim.NewEMA(g.Params(), o.EMA)
		if from != nil {
			// The source's average, where it has one, is where this one
			// starts; the warm-up then makes it follow this run's G within
			// a few steps and lengthens it as the run goes on, as
			// StyleGAN2-ADA's ema_rampup does for a run started from a
			// trained network, so the average tracks the fine-tuning
			// rather than lagging behind it at the source.
			for i, p := range tr.EMA.Params {
				if src, err := from.Lookup("g_ema."+p.Name, p.Value.Shape...); err == nil {
					tr.EMA.Shadow[i].CopyFrom(src)
				}
			}
		}
	}
	eo := o.effective()
	tr.Augment = augment.For(o.Augment, eo.AugmentP) // nil for none
	if o.Augment == augment.ADA {
		tr.ADA = augment.NewController(eo.ADATarget)
	}
	pcg := rand.NewPCG(o.Seed, 2)
	if resumeFile != nil {
		if err := loadTraining(resumeFile, &st, tr, pcg); err != nil {
			return nil, fmt.Errorf("resuming: %w", err)
		}
	}
	st.Options, st.DataLen = o, set.Len()
	rng := rand.New(pcg)

	r := &run{o: o, cfg: cfg, set: set, tr: tr, st: &st, pcg: pcg, ui: ui}
	return r.loop(ctx, rng)
}

// runVAE trains a vae: its decoder stands in the Trainer's G (for sample
// grids and checkpoints), and the run's steps are the vae's.
func runVAE(ctx context.Context, o Options, cfg gan.Config, set *dataset.Set, initRNG *rand.Rand, resumeFile *tensor.File, st State, ui UI) (*Result, error) {
	dec, err := gan.NewGenerator(cfg, initRNG)
	if err != nil {
		return nil, err
	}
	enc, err := vae.NewEncoder(cfg, initRNG)
	if err != nil {
		return nil, err
	}
	vt := &vae.Trainer{Enc: enc, Dec: dec, KLWeight: o.KLWeight,
		OptE: optim.NewAdam(enc.Params(), o.LRG, o.Beta1, o.Beta2),
		OptG: optim.NewAdam(dec.Params(), o.LRG, o.Beta1, o.Beta2)}
	tr := &gan.Trainer{G: dec, OptG: vt.OptG}
	if o.EMA > 0 {
		tr.EMA = optim.NewEMA(dec.Params(), o.EMA)
	}
	pcg := rand.NewPCG(o.Seed, 2)
	if resumeFile != nil {
		if err := loadTraining(resumeFile, &st, tr, pcg); err != nil {
			return nil, fmt.Errorf("resuming: %w", err)
		}
		if err := vt.Load(resumeFile, st.TotalSteps); err != nil {
			return nil, fmt.Errorf("resuming: %w", err)
		}
	}
	st.Options, st.DataLen = o, set.Len()
	r := &run{o: o, cfg: cfg, set: set, tr: tr, vae: vt, st: &st, pcg: pcg, ui: ui}
	return r.loop(ctx, rand.New(pcg))
}

// ShapeOptions are the options that choose a run's networks: a run started
// From a checkpoint takes them from it (they are its weights' shape).
var ShapeOptions = []string{"Model", "Size", "Channels", "NZ", "NGF", "NDF", "SpectralNorm", "DNoNorm", "DBias", "MinibatchStd", "DArch", "GCond", "DCond", "MappingLayers"}

// shapeOf returns the ShapeOptions of a network's configuration, its
// defaults ("") spelt as Options spell them.
func shapeOf(c gan.Config) Options {
	o := Options{Model: c.Arch, Size: c.Size, Channels: c.Channels, NZ: c.NZ, NGF: c.NGF, NDF: c.NDF,
		SpectralNorm: c.SpectralNorm, DNoNorm: c.DNoNorm, DBias: c.DBias, MinibatchStd: c.MinibatchStd,
		DArch: cmp.Or(c.DArch, defaultDArch(c.Arch)), GCond: cmp.Or(c.GCond, gan.GCondEmbed), DCond: cmp.Or(c.DCond, gan.DCondProjection)}
	if c.StyleGAN != nil {
		o.MappingLayers = c.StyleGAN.MappingLayers
	}
	return o
}

// defaultDArch is the discriminator a model's configuration without DArch
// has: StyleGAN2's residual one for a stylegan, DCGAN's for the others.
func defaultDArch(arch string) string {
	if arch == gan.StyleGAN {
		return gan.DArchResidual
	}
	return gan.DArchDCGAN
}

// TakeShape gives o the network of the checkpoint o.From (its
// ShapeOptions), as Run does for a new run From it: Complete calls it
// before it chooses the rest of the recipe by model and size. An option of
// the shape in o.Given with another value than the source's is an
// *OptionError wrapping ErrFromShape; one the source's model does not use
// is left to Run to refuse (ErrNotUsed).
func (o *Options) TakeShape() error {
	src, err := gan.ReadConfig(o.From)
	if err != nil {
		return err
	}
	return o.takeShape(src)
}

func (o *Options) takeShape(c gan.Config) error {
	src := shapeOf(c)
	used := func(name string) bool { return unusedWhy(src, name) == "" }
	name, given, had := o.changed(src, func(f reflect.StructField) bool { return slices.Contains(ShapeOptions, f.Name) && used(f.Name) })
	if name != "" {
		return &OptionError{Pkg: "train", Option: name, Value: valueOf(given), Reason: "the network of " + o.From + " " + hasShape(name, had), Colon: true, Err: ErrFromShape}
	}
	v, sv := reflect.ValueOf(o).Elem(), reflect.ValueOf(src)
	for _, name := range ShapeOptions {
		if used(name) || !slices.Contains(o.Given, name) { // a given one unused stays, for validate to refuse
			v.FieldByName(name).Set(sv.FieldByName(name))
		}
	}
	return nil
}

// hasShape says what a source network has for an option of its shape,
// from its value there (SpectralNorm and DNoNorm: the dNorm name).
func hasShape(name string, had any) string {
	switch name {
	case "Model":
		return fmt.Sprintf("is a %s", had)
	case "Size":
		return fmt.Sprintf("makes %d×%d images", had, had)
	case "Channels":
		if had == 1 {
			return "makes gray images (1 channel)"
		}
		return fmt.Sprintf("makes images of %d channels", had)
	case "NZ":
		return fmt.Sprintf("has a latent vector of %d", had)
	case "NGF":
		return fmt.Sprintf("has a generator width of %d", had)
	case "NDF":
		return fmt.Sprintf("has a discriminator width of %d", had)
	case "SpectralNorm", "DNoNorm":
		return map[any]string{"spectral": "has spectral norm in D", "none": "has no normalisation in D", "batch": "has batch norm in D"}[had]
	case "MinibatchStd":
		if had == true {
			return "has minibatch stddev in D"
		}
		return "has no minibatch stddev in D"
	case "DArch":
		return fmt.Sprintf("has the %s discriminator", had)
	case "GCond":
		return fmt.Sprintf("conditions G on the class by %s", had)
	case "DCond":
		return fmt.Sprintf("conditions D on the class by %s", had)
	case "MappingLayers":
		return fmt.Sprintf("has %d mapping layers", had)
	}
	return fmt.Sprintf("has %v", had)
}

// startFrom loads the live G and D of a checkpoint into a new run's
// networks.
func startFrom(f *tensor.File, g gan.GeneratorNet, d gan.DiscriminatorNet, path string) error {
	if err := g.Load(f, "g"); err != nil {
		return fmt.Errorf("starting from %s: %w", path, err)
	}
	if err := d.Load(f, "d"); err != nil {
		return fmt.Errorf("%s has no discriminator to start from (a generator alone cannot be fine-tuned): %w", path, err)
	}
	return nil
}

// loadTraining restores a run's trainer from its checkpoint f; a trainer
// without D (a vae's) restores G alone.
func loadTraining(f *tensor.File, st *State, tr *gan.Trainer, pcg *rand.PCG) error {
	if err := tr.G.Load(f, "g"); err != nil {
		return err
	}
	if err := tr.OptG.LoadState("opt_g", f, st.TotalSteps); err != nil {
		return err
	}
	if tr.D != nil {
		if err := tr.D.Load(f, "d"); err != nil {
			return err
		}
		// D's Adam stepped once per D step: DStepsDone, which
		// TotalSteps·DSteps is only without forced G steps at epoch ends
		// (checkpoints before d_steps_done have it alone).
		dSteps := st.DStepsDone
		if dSteps == 0 {
			dSteps = st.TotalSteps * st.Options.DSteps
		}
		if err := tr.OptD.LoadState("opt_d", f, dSteps); err != nil {
			return err
		}
	}
	if tr.EMA != nil {
		for i, p := range tr.EMA.Params {
			src, err := f.Lookup("g_ema."+p.Name, p.Value.Shape...)
			if err != nil {
				return fmt.Errorf("averaged generator: %w", err)
			}
			tr.EMA.Shadow[i].CopyFrom(src)
		}
		tr.EMA.Updates = st.TotalSteps
	}
	tr.DStepsDone = st.DStepsDone
	tr.GStepsDone = st.TotalSteps
	if tr.Augment != nil {
		tr.Augment.P = st.AugP
	}
	if tr.ADA != nil && st.ADA != nil {
		tr.ADA.SetState(*st.ADA)
	}
	return pcg.UnmarshalBinary(st.RNG)
}

type run struct {
	o   Options
	cfg gan.Config
	set *dataset.Set
	tr  *gan.Trainer
	vae *vae.Trainer // a vae's steps, instead of tr's; nil for GANs
	st  *State
	pcg *rand.PCG
	ui  UI

	realDiversity float64
	realTone      tone       // the real images' contrast and colour
	lastTone      [2]float64 // the last grid's, as shares of realTone
	warned        map[WarningKind]bool
	warnings      []string
	lastCkpt      string
	dLossAvg      float64 // D's loss, smoothed over this session's steps
	balanceSteps  int     // the steps in dLossAvg
}

func (r *run) warn(kind WarningKind, msg string) {
	if r.warned == nil {
		r.warned = map[WarningKind]bool{}
	}
	if r.warned[kind] {
		return
	}
	r.warned[kind] = true
	r.warnings = append(r.warnings, msg)
	r.ui.Warn(Warning{Kind: kind, Message: msg, Run: r.o})
}

func (r *run) loop(ctx context.Context, rng *rand.Rand) (*Result, error) {
	o, st, set := r.o, r.st, r.set
	if err := os.MkdirAll(runfolder.Samples(o.Out), 0o755); err != nil {
		return nil, fmt.Errorf("creating run folder: %w", err)
	}
	if err := trimMetrics(runfolder.Metrics(o.Out), st.TotalSteps); err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	metricsFile, err := os.OpenFile(runfolder.Metrics(o.Out), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("opening metrics: %w", err)
	}
	defer metricsFile.Close()
	metricsEnc := json.NewEncoder(metricsFile)

	r.realDiversity = diversity(set.Images[:min(64, set.Len())*set.ImageSize()], set.ImageSize())
	r.realTone = toneOf(set.Images[:min(256, set.Len())*set.ImageSize()], set.ImageSize(), set.Channels)
	steps := set.Len() / o.Batch
	ui := r.ui
	untilClock := o.Epochs == 0 // validate made sure there is a clock
	fullImages := int64(o.Epochs * steps * o.Batch)
	if untilClock {
		// Unknown until the pace is: one more epoch than done, for now.
		fullImages = int64((st.Epoch + 1) * steps * o.Batch)
	}
	ui.Start(fullImages, int64(st.Epoch*steps*o.Batch+st.Step*o.Batch))
	defer ui.Finish()

	real := tensor.New(o.Batch, o.Size, o.Size, o.Channels)
	labels := make([]int32, o.Batch)
	var stats gan.Stats
	var vstats vae.Stats
	var win winStats
	start := time.Now()
	startSeconds, startImages := st.Seconds, st.Images
	deadline := time.Time{}
	if o.Minutes > 0 {
		deadline = start.Add(time.Duration(o.Minutes * float64(time.Minute)))
	}
	lastSample, lastSnapshot := start, start
	winStart, winImages := start, st.Images
	stopped := "done"
	// logMetrics writes the mean of the steps since the last line.
	logMetrics := func() error {
		if win.n == 0 {
			return nil
		}
		now := time.Now()
		m := win.mean()
		m.Step, m.KImages = st.TotalSteps, float64(st.Images)/1000
		m.Epoch = float64(st.Epoch) + float64(st.Step)/float64(steps)
		m.ImagesPerSec = float64(st.Images-winImages) / max(now.Sub(winStart).Seconds(), 1e-9)
		m.Seconds = startSeconds + now.Sub(start).Seconds()
		m.Contrast, m.Colour = r.lastTone[0], r.lastTone[1]
		if err := metricsEnc.Encode(m); err != nil {
			return fmt.Errorf("writing metrics: %w", err)
		}
		win = winStats{}
		winStart, winImages = now, st.Images
		return nil
	}
	// With both an epoch count and a clock, say which will stop the run
	// once the pace is known: at once when resuming (the saved pace), else
	// after a few seconds of training.
	planned := deadline.IsZero() || untilClock
	plan := func(pace float64) {
		planned = true
		left := float64(int64((o.Epochs-st.Epoch)*steps*o.Batch-st.Step*o.Batch)) / pace
		if untilDeadline := time.Until(deadline).Seconds(); left < untilDeadline {
			r.warn(WarnEpochsFirst, fmt.Sprintf("at %.0f images/s the %d epochs end in about %s, before the %s time limit: the epoch count stops this run (give no epoch count to train until the clock)",
				pace, o.Epochs, (time.Duration(left)*time.Second).Round(time.Second), (time.Duration(o.Minutes*float64(time.Minute))).Round(time.Second)))
		}
	}
	if !planned && st.Seconds > 0 && st.Images > 0 {
		plan(float64(st.Images) / st.Seconds)
	}

	if st.Epoch == 0 && st.Step == 0 && st.TotalSteps == 0 {
		// A grid of the untrained generator: the first frame of progress.gif.
		if err := r.sampleGrid(runfolder.EpochGrid(o.Out, 0)); err != nil {
			return nil, err
		}
	} else if _, err := r.drawGrid(); err != nil {
		// A resumed run measures where it starts (the session before saved
		// its grid), so that its first metrics have their tones.
		return nil, err
	}
loop:
	for untilClock || st.Epoch < o.Epochs {
		perm := rand.New(rand.NewPCG(o.Seed, uint64(st.Epoch)+100)).Perm(set.Len())
		for st.Step < steps {
			select {
			case <-ctx.Done():
				stopped = "interrupted"
				break loop
			default:
			}
			if !deadline.IsZero() && time.Now().After(deadline) {
				stopped = "time"
				break loop
			}
			set.Batch(perm[st.Step*o.Batch:(st.Step+1)*o.Batch], real.Data, labels)
			if r.vae != nil {
				r.vae.Step(real, rng, &vstats)
				st.Step++
				st.Images += int64(o.Batch)
				if r.tr.EMA != nil {
					r.tr.EMA.Update()
				}
				stats = gan.Stats{LossG: vstats.Loss}
			} else {
				r.tr.StepD(real, labels, rng, &stats)
				st.Step++
				st.Images += int64(o.Batch)
				if st.Step%o.DSteps != 0 && st.Step < steps {
					continue
				}
				r.tr.StepG(&stats)
			}
			st.TotalSteps++
			win.add(stats)
			if r.vae != nil {
				win.addVAE(vstats)
			} else {
				r.checkBalance(stats)
			}
			if st.TotalSteps%o.LogEvery == 0 {
				if err := logMetrics(); err != nil {
					return nil, err
				}
			}
			epochs := fmt.Sprint(o.Epochs)
			if untilClock {
				epochs = "∞"
			}
			desc := fmt.Sprintf("epoch %d/%s step %d/%d D %.3f G %.3f D(x) %.2f D(G(z)) %.2f",
				st.Epoch+1, epochs, st.Step, steps, stats.LossD, stats.LossG, stats.DReal, stats.DFake)
			if r.vae != nil {
				desc = fmt.Sprintf("epoch %d/%s step %d/%d recon %.1f kl %.1f", st.Epoch+1, epochs, st.Step, steps, vstats.Recon, vstats.KL)
			}
			if r.tr.Augment != nil {
				desc += fmt.Sprintf(" p %.2f", stats.AugP)
				if r.tr.ADA != nil {
					desc += fmt.Sprintf(" r_t %.2f", stats.Rt)
				}
			}
			done, total := int64(st.Epoch*steps*o.Batch+st.Step*o.Batch), fullImages
			if untilClock {
				total = max(total, done+int64(steps*o.Batch))
			}
			if !deadline.IsZero() {
				// With a time limit the clock may stop the run first: the
				// total is then what this session's pace reaches by then.
				desc += fmt.Sprintf(" | stops in %s", time.Until(deadline).Round(time.Second))
				if el := time.Since(start).Seconds(); el > 2 && st.Images > startImages {
					pace := float64(st.Images-startImages) / el
					reach := done + int64(pace*max(0, time.Until(deadline).Seconds()))
					if untilClock {
						total = reach
					} else {
						total = min(total, reach)
					}
					if !planned && el > 5 {
						plan(pace)
					}
				}
			}
			ui.Update(done, total, desc)
			if o.SampleMinutes > 0 && time.Since(lastSample).Minutes() >= o.SampleMinutes && st.Step < steps {
				lastSample = time.Now()
				if err := r.sampleGrid(runfolder.StepGrid(o.Out, st.Epoch, st.Images)); err != nil {
					return nil, err
				}
				r.plotLosses()
			}
		}
		st.Epoch++
		st.Step = 0
		st.Seconds = startSeconds + time.Since(start).Seconds()
		// An epoch shorter than the sample clock (a few hundred images last
		// seconds) leaves its grid, its checkpoint and the plot to the clock
		// (or the last epoch): written every few seconds, they would take a
		// good part of the run's time.
		if o.SampleMinutes > 0 && time.Since(lastSnapshot).Minutes() < o.SampleMinutes && (untilClock || st.Epoch < o.Epochs) {
			continue
		}
		if err := r.sampleGrid(runfolder.EpochGrid(o.Out, st.Epoch)); err != nil {
			return nil, err
		}
		lastSample, lastSnapshot = time.Now(), time.Now()
		if err := r.checkpoint(); err != nil {
			return nil, err
		}
		r.plotLosses()
	}
	st.Seconds = startSeconds + time.Since(start).Seconds()
	// The steps since the last metrics line get one, so that every run that
	// trained ends with its last step in metrics.jsonl and the plot.
	if err := logMetrics(); err != nil {
		return nil, err
	}
	if stopped != "done" {
		// A grid of the state being saved, so the last picture matches the
		// last checkpoint.
		if err := r.sampleGrid(runfolder.StepGrid(o.Out, st.Epoch, st.Images)); err != nil {
			return nil, err
		}
		if err := r.checkpoint(); err != nil {
			return nil, err
		}
	}
	ui.Finish()
	res := &Result{Checkpoint: r.lastCkpt, Epochs: st.Epoch, Images: st.Images, Seconds: st.Seconds, Stopped: stopped,
		Samples: runfolder.Samples(o.Out), Augment: o.Augment}
	if r.tr.Augment != nil {
		res.AugmentP = r.tr.Augment.P
	}
	// The checkpoint is saved: a plot or animation that cannot be written
	// is a warning, and the result names only files that exist.
	if r.plotLosses() {
		res.Losses = runfolder.Losses(o.Out)
	}
	// Ctrl-C should stop the run within a second: the animation, which
	// reads back every grid, is left to the run that resumes it.
	if stopped != "interrupted" {
		if ok, err := r.writeProgressGIF(); err != nil {
			r.warn(WarnProgress, fmt.Sprintf("progress.gif not written: %v", err))
		} else if ok {
			res.Progress = runfolder.Progress(o.Out)
		}
	}
	res.Warnings = r.warnings
	return res, nil
}

// checkBalance warns when the discriminator wins outright: its loss near 0
// while the generator's climbs is the failure users of pytorch/examples
// report without any warning.
func (r *run) checkBalance(s gan.Stats) {
	const a = 0.02
	// The average starts at this session's first step: a resumed run
	// starts with no average, not with an average of 0.
	if r.balanceSteps == 0 {
		r.dLossAvg = s.LossD
	}
	r.balanceSteps++
	r.dLossAvg = (1-a)*r.dLossAvg + a*s.LossD
	if r.st.TotalSteps > 300 && r.balanceSteps > 100 && r.dLossAvg < 0.05 {
		r.warn(WarnDWins, fmt.Sprintf("the discriminator is winning (D loss %.3f, G loss %.2f): the generator learns nothing from it", r.dLossAvg, s.LossG))
	}
}

// sampleGrid writes a grid of images from fixed seeds: one row per class for
// conditional models, 8×8 otherwise. Column j is seed j, the image that
// `forger generate --seed j` makes from the same checkpoint.
func (r *run) sampleGrid(path string) error {
	img, err := r.drawGrid()
	if err != nil {
		return err
	}
	return picture.WritePNG(path, img)
}

// drawGrid renders sampleGrid's grid and checks its tones and diversity
// (the warnings, and the contrast and colour that metrics.jsonl logs).
func (r *run) drawGrid() (image.Image, error) {
	g := r.tr.G
	var img image.Image
	var flat *tensor.Tensor
	grid := func() (err error) {
		img, flat, err = Grid(g, 10)
		return err
	}
	var err error
	if r.tr.EMA != nil {
		err = gan.WithAverage(g, r.tr.EMA, grid)
	} else {
		g.SetTraining(false)
		err = grid()
		g.SetTraining(true)
	}
	if err != nil {
		return nil, err
	}
	if r.vae == nil { // the grey and collapse warnings' advice is a GAN's
		r.checkTone(toneOf(flat.Data, flat.Len()/flat.Shape[0], r.cfg.Channels))
		r.checkDiversity(diversity(flat.Data, flat.Len()/flat.Shape[0]))
	}
	return img, nil
}

// checkDiversity warns of mode collapse when the samples' diversity d falls
// under a quarter of the real images' once training is under way.
func (r *run) checkDiversity(d float64) {
	if r.realDiversity > 0 && d < 0.25*r.realDiversity && r.st.TotalSteps > 500 {
		r.warn(WarnCollapse, fmt.Sprintf("the samples look alike (diversity %.2f of the real images'): the generator may have collapsed to a few modes", d/r.realDiversity))
	}
}

// Grid renders a sample grid from g: rows are classes for a conditional
// generator (cols seeds each), otherwise an 8×8 grid of seeds 0–63. It also
// returns the raw images.
func Grid(g gan.GeneratorNet, cols int) (image.Image, *tensor.Tensor, error) {
	cfg := g.ModelConfig()
	var n int
	var labels []int32
	if cfg.Conditional() {
		n = len(cfg.Classes) * cols
		labels = make([]int32, n)
		for i := range labels {
			labels[i] = int32(i / cols)
		}
	} else {
		cols, n = 8, 64
	}
	z := tensor.New(n, cfg.NZ)
	for i := 0; i < n; i++ {
		gan.LatentForSeed(int64(i%cols), 1, z.Data[i*cfg.NZ:(i+1)*cfg.NZ])
		if !cfg.Conditional() {
			gan.LatentForSeed(int64(i), 1, z.Data[i*cfg.NZ:(i+1)*cfg.NZ])
		}
	}
	out := g.Forward(z, labels)
	tiles := make([]image.Image, n)
	per := out.Len() / n
	scale := max(1, 64/cfg.Size)
	for i := range tiles {
		tiles[i] = picture.Upscale(picture.FromTensor(out.Data[i*per:(i+1)*per], cfg.Size, cfg.Channels), scale)
	}
	return picture.Grid(tiles, cols, 2, color.White), out.Clone(), nil
}

// diversity is the mean L2 distance between consecutive images of a batch:
// a cheap measure that falls towards 0 when samples collapse.
func diversity(data []float32, per int) float64 {
	n := len(data) / per
	if n < 2 {
		return 0
	}
	var s float64
	for i := 0; i+1 < n; i++ {
		a, b := data[i*per:(i+1)*per], data[(i+1)*per:(i+2)*per]
		var d float64
		for j := range a {
			x := float64(a[j] - b[j])
			d += x * x
		}
		s += math.Sqrt(d)
	}
	return s / float64(n-1)
}

// tone is what the grey drift takes away from images: contrast, the mean
// over images of the standard deviation of their pixel values, and colour,
// the mean over pixels of the standard deviation of their three channels
// (0 for gray images).
type tone struct{ contrast, colour float64 }

// toneOf measures images of per values each (NHWC, so a pixel's channels
// are adjacent).
func toneOf(data []float32, per, channels int) tone {
	var t tone
	n := len(data) / per
	if n == 0 {
		return t
	}
	var cs float64
	for i := range n {
		cs += stddev(data[i*per : (i+1)*per])
	}
	t.contrast = cs / float64(n)
	if channels == 3 {
		var s float64
		n := len(data) / 3
		for i := 0; i < n; i++ {
			s += stddev(data[3*i : 3*i+3])
		}
		t.colour = s / float64(n)
	}
	return t
}

func stddev(v []float32) float64 {
	var m float64
	for _, x := range v {
		m += float64(x)
	}
	m /= float64(len(v))
	var s float64
	for _, x := range v {
		d := float64(x) - m
		s += d * d
	}
	return math.Sqrt(s / float64(len(v)))
}

// GreyShare is the share of the real images' contrast or colour below which
// training warns that the samples are drifting to grey: between the grey
// and the toned runs of docs/results/faces-64.md.
const GreyShare = 0.4

// checkTone records the samples' contrast and colour as shares of the real
// images' and warns, with advice, when either falls below GreyShare: the
// washed-out, grey faces that a 64×64 recipe can drift to.
func (r *run) checkTone(t tone) {
	share := func(a, b float64) float64 {
		if b <= 0 {
			return 0
		}
		return a / b
	}
	c, k := share(t.contrast, r.realTone.contrast), share(t.colour, r.realTone.colour)
	r.lastTone = [2]float64{c, k}
	if r.st.TotalSteps <= 500 {
		return
	}
	if c < GreyShare || (r.realTone.colour > 0 && k < GreyShare) {
		r.warn(WarnGrey, fmt.Sprintf("the samples are turning grey (contrast %.2f, colour %.2f of the real images'): the generator is losing its tones", c, k))
	}
}

type winStats struct {
	n         int
	s         gan.Stats
	recon, kl float64
}

func (w *winStats) addVAE(s vae.Stats) {
	w.recon += s.Recon
	w.kl += s.KL
}

func (w *winStats) add(s gan.Stats) {
	w.n++
	w.s.LossD += s.LossD
	w.s.LossG += s.LossG
	w.s.DReal += s.DReal
	w.s.DFake += s.DFake
	w.s.R1 = s.R1
	w.s.GReg = s.GReg
	w.s.AugP = s.AugP
	w.s.Signs += s.Signs
}

func (w *winStats) mean() Metrics {
	n := float64(max(w.n, 1))
	return Metrics{LossD: w.s.LossD / n, LossG: w.s.LossG / n, DReal: w.s.DReal / n, DFake: w.s.DFake / n, R1: w.s.R1, AugP: w.s.AugP, Rt: w.s.Signs / n, PL: w.s.GReg,
		Recon: w.recon / n, KL: w.kl / n}
}

// checkpoint saves the run atomically and points latest.safetensors at it.
func (r *run) checkpoint() error {
	st := r.st
	st.DStepsDone = r.tr.DStepsDone
	if r.tr.Augment != nil {
		st.AugP = r.tr.Augment.P
	}
	if r.tr.ADA != nil {
		a := r.tr.ADA.State()
		st.ADA = &a
	}
	rngState, err := r.pcg.MarshalBinary()
	if err != nil {
		return err
	}
	st.RNG = rngState
	js, err := json.Marshal(st)
	if err != nil {
		return err
	}
	dir := runfolder.Checkpoints(r.o.Out)
	name := runfolder.CheckpointName(st.Epoch, st.Images, r.o.Size)
	c := &gan.Checkpoint{Config: r.cfg, G: r.tr.G, D: r.tr.D, OptG: r.tr.OptG, OptD: r.tr.OptD, EMA: r.tr.EMA, TrainState: string(js)}
	if r.vae != nil {
		c.Extra = r.vae.Tensors()
	}
	if err := c.Save(filepath.Join(dir, name)); err != nil {
		return fmt.Errorf("saving checkpoint: %w", err)
	}
	if err := linkLatest(dir, name); err != nil {
		return err
	}
	r.lastCkpt = filepath.Join(dir, name)
	return pruneCheckpoints(dir, r.o.Keep, name)
}

// linkLatest atomically points latest.safetensors at name.
func linkLatest(dir, name string) error {
	tmp := filepath.Join(dir, ".latest.tmp")
	os.Remove(tmp)
	if err := os.Symlink(name, tmp); err != nil {
		return fmt.Errorf("linking latest checkpoint: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, runfolder.LatestName)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("linking latest checkpoint: %w", err)
	}
	return nil
}

// pruneCheckpoints keeps the newest keep checkpoints (by modification time).
func pruneCheckpoints(dir string, keep int, current string) error {
	if keep <= 0 {
		return nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	type ck struct {
		name string
		t    time.Time
	}
	var cks []ck
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".safetensors") {
			if info, err := e.Info(); err == nil {
				cks = append(cks, ck{e.Name(), info.ModTime()})
			}
		}
	}
	sort.Slice(cks, func(i, j int) bool { return cks[i].t.After(cks[j].t) })
	for i, c := range cks {
		if i >= keep && c.name != current {
			os.Remove(filepath.Join(dir, c.name))
		}
	}
	return nil
}

// ReadMetrics reads a run's metrics.jsonl.
func ReadMetrics(path string) ([]Metrics, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var ms []Metrics
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		var m Metrics
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		ms = append(ms, m)
	}
	return ms, nil
}

// trimMetrics drops from the metrics file at path the lines a resumed run
// will write again: those after step, logged by a session that ended
// without saving them in a checkpoint (killed, or out of memory), and a
// line it left half-written. It rewrites the file only when it drops one.
func trimMetrics(path string, step int) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	lines := strings.SplitAfter(string(data), "\n")
	var kept strings.Builder
	dropped := false
	for _, line := range lines {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var m Metrics
		if !strings.HasSuffix(line, "\n") || json.Unmarshal([]byte(line), &m) != nil || m.Step > step {
			dropped = true
			continue
		}
		kept.WriteString(line)
	}
	if !dropped {
		return nil
	}
	return atomicfile.WriteBytes(path, []byte(kept.String()))
}

// plotLosses writes losses.png and reports whether it did; a failure is
// warned about once (the run goes on).
func (r *run) plotLosses() bool {
	written, err := r.writeLosses()
	if err != nil {
		r.warn(WarnLosses, fmt.Sprintf("losses.png not written: %v", err))
	}
	return written
}

// writeLosses plots metrics.jsonl; with no metrics yet it writes nothing.
func (r *run) writeLosses() (bool, error) {
	ms, err := ReadMetrics(runfolder.Metrics(r.o.Out))
	if err != nil || len(ms) == 0 {
		return false, err
	}
	x := make([]float64, len(ms))
	var ld, lg, dr, df []float64
	for i, m := range ms {
		x[i] = m.KImages
		ld, lg, dr, df = append(ld, m.LossD), append(lg, m.LossG), append(dr, m.DReal), append(df, m.DFake)
	}
	series := []picture.Series{{Name: "D loss", X: x, Y: ld}, {Name: "G loss", X: x, Y: lg}, {Name: "D(x)", X: x, Y: dr}, {Name: "D(G(z))", X: x, Y: df}}
	if r.vae != nil {
		var rec, kl []float64
		for _, m := range ms {
			rec, kl = append(rec, m.Recon), append(kl, m.KL)
		}
		series = []picture.Series{{Name: "reconstruction error", X: x, Y: rec}, {Name: "KL (nats)", X: x, Y: kl}}
	}
	err = picture.PlotLines(runfolder.Losses(r.o.Out), "forger training: "+filepath.Base(r.o.Out), "thousands of real images seen", "", series)
	return err == nil, err
}

// maxGIFFrames bounds progress.gif: long runs keep an even selection of
// their grids, always the first and the last.
const maxGIFFrames = 100

func evenly(names []string, n int) []string {
	if len(names) <= n {
		return names
	}
	out := make([]string, n)
	for i := range out {
		out[i] = names[i*(len(names)-1)/(n-1)]
	}
	return out
}

// writeProgressGIF animates the sample grids and reports whether it wrote
// progress.gif.
func (r *run) writeProgressGIF() (bool, error) {
	dir := runfolder.Samples(r.o.Out)
	names, err := filepath.Glob(filepath.Join(dir, "epoch_*.png"))
	if err != nil || len(names) == 0 {
		return false, err
	}
	sort.Strings(names)
	names = evenly(names, maxGIFFrames)
	frames := make([]image.Image, 0, len(names))
	for _, n := range names {
		img, err := picture.Load(n, picture.Limits{})
		if err != nil {
			return false, fmt.Errorf("reading a sample grid: %w", err)
		}
		frames = append(frames, img)
	}
	err = picture.WriteGIF(runfolder.Progress(r.o.Out), frames, 400*time.Millisecond, true)
	return err == nil, err
}

// styleShape is the stylegan shape of a run's options: z and w of NZ,
// MappingLayers mapping layers, feature maps min(8·NGF/res, NGF) (NGF 256
// gives stylegan.DefaultConfig's widths).
func styleShape(o Options) stylegan.Config {
	sc := stylegan.DefaultConfig(o.Size, o.Channels)
	sc.ZDim, sc.WDim = o.NZ, o.NZ
	sc.ChannelMax, sc.ChannelBase = o.NGF, 8*o.NGF
	if o.MappingLayers > 0 {
		sc.MappingLayers = o.MappingLayers
	}
	return sc
}
