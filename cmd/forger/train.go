package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"forger/augment"
	"forger/gan"
	"forger/train"
)

func trainCmd() *cobra.Command {
	o := train.Defaults()
	o.Size, o.Channels, o.Epochs = 0, 0, 0
	var asJSON bool
	var dNorm string
	cmd := &cobra.Command{
		Use:   "train --data PATH|fashion-mnist|mnist --out RUN_DIR",
		Short: "Train a GAN (or the VAE baseline) on a folder of images or a built-in data set",
		Long: `Train a DCGAN (or a class-conditional DCGAN) on images.

--data is a folder of images (png, jpeg, gif, webp; searched recursively;
for cdcgan each class in its own sub-folder), an IDX file, fashion-mnist or
mnist. Images are centre-cropped and resized to --size.

The run folder gets checkpoints/, samples/ (a grid per epoch), metrics.jsonl,
losses.png and progress.gif. Ctrl-C or --minutes stop at a step boundary
with a checkpoint; --resume continues exactly where the run stopped, with
the run's recipe: it takes --epochs, --minutes, --log-every,
--sample-minutes, --keep and --json anew, and refuses any other flag (--lr-g,
--batch, --data, …) given a value other than the run's. --from RUN starts a
new run (in another --out) from a run's weights: its network (--model,
--size, --channels, --nz, --ngf, --ndf, --d-norm, --mbstd, --d-arch,
--g-cond, --d-cond, --mapping-layers) is the source's, so such a flag given
another value is refused, and the recipe is its model's at its size.
With --minutes and no --epochs the run trains until the clock; with both,
whichever comes first stops it (forger warns when the epochs will).

The recipe (loss, normalisation, penalties) depends on the model and size:
a dcgan below 64×64 trains with the hinge loss and spectral norm in D; at
64×64 with BCE, no normalisation in D, --r1 10, --mbstd and batches of 8
(the recipe that scored best on faces, docs/results/faces-64.md); at 128×128
the same with batches of 64 and --ngf = --ndf = 32; a cdcgan with BCE and
batch norm in D. Flags given always win.

--model stylegan trains StyleGAN2's generator (--size 32, 64 or 128) with
StyleGAN2-ADA's recipe scaled for a CPU: the non-saturating logistic loss,
Adam 0.0025 with betas (0, 0.99), path length every 4 G steps, style mixing
0.9, the mapping network at lr ×0.01, G's EMA (half-life 5k images), batch
16, 2 mapping layers of 256 and feature maps min(2048/res, 256); beside it
the 64×64 dcgan's discriminator (--d-arch dcgan: width 64, no normalisation,
biases, minibatch stddev, lazy R1 γ 10 every 16 D steps, lr 0.0002), which
let it draw varied faces where StyleGAN2's residual one (--d-arch residual,
γ = 0.0002·size²/batch) kept one average face for 30 minutes
(docs/results/stylegan-64.md). forger generate --truncation works in W for
it, and forger mix draws its style-mixing grid.

--model vae trains a variational autoencoder, the baseline to compare GANs
with: an encoder that mirrors DCGAN's discriminator (batch norm, no
minibatch stddev) gives the mean and log-variance of z, z is drawn by
reparameterisation, and DCGAN's generator decodes it. The loss is the
reconstruction error (the sum of squared pixel differences per image, pixels
in [-1, 1]) plus --kl-weight times the KL divergence from N(0, I), with Adam
0.001 and betas (0.9, 0.999) (--lr-g sets both networks' rate). Checkpoints
hold the decoder as the generator, so generate, eval, morph and serve sample
it from z ~ N(0, I) like a dcgan; metrics.jsonl has recon and kl.

A flag the model does not use is an error rather than ignored: a
discriminator's with --model vae, --ndf, --d-norm, --spectral-norm, --mbstd
or --d-arch with --model stylegan, another model's own settings.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Data == "" && !o.Resume {
				return usagef("--data is required (a folder of images, fashion-mnist or mnist)")
			}
			if o.Out == "" {
				return usagef("--out RUN_DIR is required")
			}
			switch dNorm {
			case "":
			case "none":
				o.SpectralNorm, o.DNoNorm = false, true
			case "batch":
				o.SpectralNorm = false
			case "spectral":
				o.SpectralNorm = true
			default:
				return usagef("--d-norm %q: use batch, spectral or none", dNorm)
			}
			if o.From != "" {
				p, err := modelArg("--from", o.From)
				if err != nil {
					return err
				}
				o.From = p
			}
			o.Given = givenOptions(cmd)
			if err := o.Complete(); err != nil {
				return recipeAdvice(err, o.Out)
			}
			ui := newTrainUI() // on stderr, so --json's stdout stays one object
			res, err := train.Run(cmd.Context(), o, ui, os.Stderr)
			if err != nil {
				return recipeAdvice(err, o.Out)
			}
			if len(ui.warnings) > 0 {
				res.Warnings = ui.warnings // worded with their advice
			}
			// Ctrl-C: the run saved where it stopped; say so, then exit as
			// every interrupted command does (130).
			stopped := error(nil)
			if res.Stopped == "interrupted" {
				stopped = context.Canceled
			}
			if asJSON {
				if err := json.NewEncoder(cmd.OutOrStdout()).Encode(res); err != nil {
					return err
				}
				return stopped
			}
			out := cmd.OutOrStdout()
			switch res.Stopped {
			case "time":
				fmt.Fprintf(out, "stopped after --minutes at epoch %d (%d images)\n", res.Epochs, res.Images)
			case "interrupted":
				fmt.Fprintf(out, "interrupted at epoch %d (%d images); continue with --resume\n", res.Epochs, res.Images)
			default:
				fmt.Fprintf(out, "done: %d epochs, %d images in %.0f s\n", res.Epochs, res.Images, res.Seconds)
			}
			// Only the files the run wrote.
			for _, l := range [][2]string{{"checkpoint:", res.Checkpoint}, {"samples:", res.Samples}, {"losses:", res.Losses}, {"progress:", res.Progress}} {
				if l[1] != "" {
					fmt.Fprintf(out, "%-11s %s\n", l[0], l[1])
				}
			}
			return stopped
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Data, "data", "", "folder of images, IDX file, fashion-mnist or mnist")
	f.StringVar(&o.Out, "out", "", "run folder (checkpoints, samples, metrics)")
	f.StringVar(&o.Model, "model", o.Model, "architecture: dcgan, cdcgan (class-conditional), stylegan (StyleGAN2: mapping network, modulated convolutions, style mixing, path length, lazy R1) or vae (a variational autoencoder with DCGAN's generator as decoder)")
	f.IntVar(&o.Size, "size", 0, "image size: 28, 32, 64 or 128 (default 28 for fashion-mnist/mnist, else 64)")
	f.IntVar(&o.Channels, "channels", 0, "1 (gray) or 3 (RGB) (default 1 for fashion-mnist/mnist, else 3)")
	f.IntVar(&o.Epochs, "epochs", 0, fmt.Sprintf("passes over the data (default %d, or no limit with --minutes; with --resume, the new total)", train.Defaults().Epochs))
	f.IntVar(&o.Batch, "batch", o.Batch, "batch size")
	f.IntVar(&o.NZ, "nz", o.NZ, "latent vector size")
	f.IntVar(&o.NGF, "ngf", o.NGF, "generator width")
	f.IntVar(&o.NDF, "ndf", o.NDF, "discriminator width")
	f.Float64Var(&o.LRG, "lr-g", o.LRG, "generator learning rate")
	f.Float64Var(&o.LRD, "lr-d", o.LRD, "discriminator learning rate")
	f.Float64Var(&o.Beta1, "beta1", o.Beta1, "Adam β1")
	f.Float64Var(&o.Beta2, "beta2", o.Beta2, "Adam β2")
	f.StringVar(&o.Loss, "loss", o.Loss, "adversarial loss: bce, hinge or lsgan (default: hinge below 64×64; bce at 64×64 and above and for cdcgan)")
	f.IntVar(&o.DSteps, "d-steps", o.DSteps, "discriminator steps per generator step")
	f.Float64Var(&o.LabelSmoothing, "label-smoothing", o.LabelSmoothing, "one-sided label smoothing: real target 1-s (bce)")
	f.BoolVar(&o.SpectralNorm, "spectral-norm", o.SpectralNorm, "spectral normalisation in the discriminator (replaces its batch norm; default on below 64×64, off (batch norm) at 64×64 and above and for cdcgan)")
	f.StringVar(&o.GCond, "g-cond", o.GCond, "how the cdcgan generator sees the class: onehot (beside z) or embed (a learned embedding beside z)")
	f.StringVar(&o.DCond, "d-cond", o.DCond, "how the cdcgan discriminator sees the class: projection (on its last features) or input (one-hot maps beside the image)")
	f.StringVar(&dNorm, "d-norm", "", "normalisation in the discriminator: batch, spectral or none (none: keep it in check with --r1); overrides --spectral-norm")
	f.StringVar(&o.DArch, "d-arch", gan.DArchDCGAN, "discriminator shape: dcgan (a 4×4 stride-2 convolution per halving) or deep (plus a 3×3 convolution after each, as SN-GAN); a stylegan's: dcgan/deep (DCGAN's, as the 64×64 dcgan has it: width 64, no normalisation, minibatch stddev, R1 10, D learning rate 0.0002; its default) or residual (StyleGAN2's: as wide as G, its learning rate, R1 0.0002·size²/batch)")
	f.Float64Var(&o.R1, "r1", o.R1, "γ of the R1 gradient penalty on real images, applied every --r1-every D steps (0 = none; needs --d-norm spectral or none)")
	f.IntVar(&o.R1Every, "r1-every", 16, "D steps between R1 penalties (lazy regularisation)")
	f.StringVar(&o.From, "from", "", "start G and D from this checkpoint, run folder or model name (fine-tuning; the network is the checkpoint's: shape flags must match it)")
	f.IntVar(&o.FreezeD, "freeze-d", 0, "freeze the discriminator's first N blocks (with --from: FreezeD)")
	f.StringVar(&o.Augment, "augment", "", "augment what D sees: none, diffaugment or ada (default: ada below 5,000 images, else none; the run says which)")
	f.Float64Var(&o.AugmentP, "augment-p", 0, "probability of each augmentation: diffaugment's (default 1) or ada's start (default 0)")
	f.Float64Var(&o.ADATarget, "ada-target", 0.6, "the r_t = E[sign(D(real))] that ada keeps D at")
	f.BoolVar(&o.MinibatchStd, "mbstd", o.MinibatchStd, "minibatch standard deviation in the discriminator, against generators that lack variety (default on at 64×64 and above)")
	f.Float64Var(&o.EMA, "ema", o.EMA, "decay of the averaged generator used for samples and checkpoints (0 = none)")
	f.IntVar(&o.Limit, "limit", 0, "use only the first N images")
	f.Float64Var(&o.Minutes, "minutes", 0, "stop after this many minutes, with a checkpoint (without --epochs: train until then)")
	f.Uint64Var(&o.Seed, "seed", o.Seed, "random seed (initial weights, data order, noise)")
	f.BoolVar(&o.Resume, "resume", false, "continue the run in --out from its latest checkpoint, with its recipe (flags other than --epochs, --minutes, --log-every, --sample-minutes and --keep must have the run's values)")
	f.IntVar(&o.LogEvery, "log-every", o.LogEvery, "generator steps between lines of metrics.jsonl")
	f.Float64Var(&o.SampleMinutes, "sample-minutes", o.SampleMinutes, "minutes between extra sample grids within an epoch; epochs shorter than this get their grid and checkpoint only once it has passed (0 = every epoch, and no extra grids)")
	f.IntVar(&o.Keep, "keep", o.Keep, "checkpoints to keep (0 = all)")
	sg := train.StyleGANDefaults(64)
	f.IntVar(&o.MappingLayers, "mapping-layers", sg.MappingLayers, "stylegan: fully connected layers of the mapping network z → w (StyleGAN2-ADA's depth below 512×512; StyleGAN2's is 8; --nz sets the size of z and w, default 256 for stylegan)")
	f.Float64Var(&o.StyleMixing, "style-mixing", sg.StyleMixing, "stylegan: probability of style mixing in a training step")
	f.Float64Var(&o.PLWeight, "pl-weight", sg.PLWeight, fmt.Sprintf("stylegan: weight of the path-length regulariser, applied every %d G steps (0 = none)", sg.PLEvery))
	f.Float64Var(&o.KLWeight, "kl-weight", train.VAEDefaults(64).KLWeight, "vae: weight of the KL divergence beside the reconstruction error")
	f.BoolVar(&asJSON, "json", false, "print the result as one JSON object")
	cmd.Flags().Lookup("ngf").Usage = "generator width (stylegan: the widest feature maps, at 4×4 and 8×8, halving at each larger size; default 256; with --d-arch residual its discriminator is as wide and it takes no --ndf)"
	cmd.Flags().Lookup("batch").Usage = fmt.Sprintf("batch size (default %d for dcgan and cdcgan, %d for a dcgan of 64×64, %d for stylegan)", train.Defaults().Batch, train.FaceBatch, train.StyleGANBatch)
	return cmd
}

// givenOptions returns the train.Options fields whose flags the user gave
// (train.Options.Given): a field's flag is spelt as flagFor spells it, and
// SpectralNorm and DNoNorm are given by --d-norm or --spectral-norm.
func givenOptions(cmd *cobra.Command) []string {
	var given []string
	t := reflect.TypeFor[train.Options]()
	for i := range t.NumField() {
		name := t.Field(i).Name
		flags := setBy[name]
		if flags == nil {
			f := kebab(name)
			if n, ok := flagNames[name]; ok {
				f = n
			}
			flags = []string{f}
		}
		for _, f := range flags {
			if fl := cmd.Flags().Lookup(f); fl != nil && fl.Changed {
				given = append(given, name)
				break
			}
		}
	}
	return given
}

// recipeAdvice adds to a refusal of a flag what to do instead: for a
// --from run's of a shape flag (train.ErrFromShape), leaving it out; for a
// resumed run's of a recipe flag (train.ResumeRecipeError), a new run in
// another folder, from the run's weights (--from) where train says one
// could take the flag (FromWeights).
func recipeAdvice(err error, out string) error {
	if errors.Is(err, train.ErrFromShape) {
		return fmt.Errorf("%w; --from keeps the source's network, so leave the flag out", err)
	}
	var oe *train.OptionError
	var re *train.ResumeRecipeError
	if !errors.As(err, &re) || !errors.As(err, &oe) {
		return err
	}
	advice := "start a new run with another --out"
	if oe.Option == "From" {
		advice = "leave out --resume and give another --out to start a new run from it"
	} else if re.FromWeights {
		advice = fmt.Sprintf("start a new run from its weights with --from %s and another --out", out)
	}
	return fmt.Errorf("%w: --resume continues the run's recipe (to change it, %s)", err, advice)
}

// trainUI shows a progress bar in images with the losses as description.
// The bar counts this session's images: a resumed run's bar starts at 0,
// as the progress bar library takes every image it is given as done in this
// session and would show the images done before as a rate of billions per
// second.
type trainUI struct {
	w        io.Writer
	bar      *progressbar.ProgressBar
	base     int64    // images done before this session
	warnings []string // as shown, advice included
}

func newTrainUI() *trainUI {
	return &trainUI{w: os.Stderr}
}

func (u *trainUI) Start(total, done int64) {
	u.base = done
	u.bar = progressbar.NewOptions64(max(total-done, 1),
		progressbar.OptionSetWriter(u.w),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("img"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(200_000_000),
		progressbar.OptionSetWidth(20),
		progressbar.OptionFullWidth(),
	)
}

func (u *trainUI) Update(images, total int64, desc string) {
	if m := max(total-u.base, 1); m != u.bar.GetMax64() {
		u.bar.ChangeMax64(m)
	}
	u.bar.Describe(desc)
	u.bar.Set64(images - u.base)
}

func (u *trainUI) Warn(w train.Warning) {
	if u.bar != nil {
		u.bar.Clear()
	}
	msg := trainWarning(w)
	u.warnings = append(u.warnings, msg)
	fmt.Fprintln(u.w, "\nwarning:", msg)
}

// trainWarning words a training warning with what to try about it, in
// forger train's flags, fitted to the run's recipe: it names only flags
// that would change the run (the face recipe is not told to use the face
// recipe). Warnings of other kinds keep their message alone.
func trainWarning(w train.Warning) string {
	o := w.Run
	batchNorm := !o.SpectralNorm && !o.DNoNorm
	noAugment := o.Augment == "" || o.Augment == augment.None
	var try []string
	add := func(ok bool, flag string) {
		if ok {
			try = append(try, flag)
		}
	}
	why := ""
	switch w.Kind {
	case train.WarnDWins:
		add(o.Loss == gan.LossBCE && o.LabelSmoothing == 0, "--label-smoothing 0.1")
		add(noAugment, "--augment ada (a discriminator that wins outright may be memorising the images)")
		add(o.R1 == 0 && batchNorm, fmt.Sprintf("--d-norm none --r1 %d", train.FaceR1))
		add(o.R1 == 0 && !batchNorm, fmt.Sprintf("--r1 %d", train.FaceR1))
		try = append(try, fmt.Sprintf("a lower --lr-d than %g", o.LRD))
	case train.WarnCollapse:
		add(!o.MinibatchStd, "--mbstd")
		add(noAugment, "--augment ada")
		try = append(try, fmt.Sprintf("a lower --lr-g than %g", o.LRG))
		try = append(try, "resume from an earlier checkpoint")
	case train.WarnGrey:
		switch {
		case o.Loss != gan.LossBCE || o.SpectralNorm:
			why = "Hinge loss or spectral norm drifts this way at 64×64 and above. "
			try = append(try, fmt.Sprintf("the face recipe (--loss bce --d-norm none --r1 %d --mbstd)", train.FaceR1))
		case o.DNoNorm && !o.SpectralNorm && !o.DBias:
			why = "Its discriminator has no biases (the run began before forger gave them to a discriminator without normalisation), so it cannot tell a faded face from a face. "
			try = append(try, "a new run, whose discriminator gets them")
		case o.R1 > 0:
			why = "Its R1 penalty may hold the discriminator too hard. "
			try = append(try, fmt.Sprintf("a weaker --r1 than %g", o.R1))
		case noAugment:
			why = "The discriminator may be memorising the images. "
			try = append(try, "--augment ada")
		case o.Augment == augment.ADA:
			why = "The discriminator may be memorising the images. "
			try = append(try, "a lower --ada-target (more augmentation)")
		}
		try = append(try, "resume from an earlier checkpoint")
	default:
		return w.Message
	}
	a := try[0]
	if n := len(try); n > 1 {
		a = strings.Join(try[:n-1], ", ") + " or " + try[n-1]
	}
	return w.Message + ". " + why + "Try " + a
}

// Finish leaves the bar where the run stopped (a run stopped early must not
// show 100%).
func (u *trainUI) Finish() {
	if u.bar != nil {
		u.bar.Exit()
		fmt.Fprintln(u.w)
		u.bar = nil
	}
}
