package main

// forger project: a photo's latent (GAN inversion); --compare-* in
// project_compare.go.

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"forger/gan"
	"forger/latent"
	"forger/tensor"
)

func projectCmd() *cobra.Command {
	var (
		model, out, class     string
		space                 string
		every, n              int
		heldOutSeed           int64
		asJSON                bool
		compareInit, compLoss bool
		variants              string
		pf                    latProjectFlags
	)
	cmd := &cobra.Command{
		Use:   "project --model CKPT PHOTO --out DIR",
		Short: "Find the latent whose image is closest to a photo (GAN inversion)",
		Long: `Find the latent code whose generated image is closest to PHOTO: Adam on z
(or, for a stylegan, on w or w+: --space, default w+, from w_avg)
through the frozen generator, from z = 0 (--init mean; with a little
noise on z that fades out over 75% of the steps, since the gradient can be
exactly zero at z = 0) or an encoder's prediction (--init encoder
--encoder ENC), with a learning rate that ramps down over the last 25% of
the steps and a small prior that keeps ‖z‖² near nz. --optimizer lbfgs
uses gonum's L-BFGS with a line search instead (one step is one
evaluation of the loss and its gradient; the noise is added once, at the
start): on the cartoon-faces model it ends far lower in as many steps.

The photo's centre square is resized to the model's size (gray for
1-channel models). Conditional models use --class, or the class whose
image at z = 0 is closest.

The loss is the pixels' mean squared error (pixel), the squared distance of
a frozen network's activations (perceptual; --features disc uses the
model's own discriminator, a stylegan's included; judge a judge's, face
face-api's descriptor), or
their sum (both, the default; latent/README.md has the measurements).

DIR gets latent.json, reconstruction.png, compare.png (photo |
reconstruction) and projection.gif (the reconstruction every --every
steps). --json prints initial_loss, final_loss, steps and more.

--compare-init measures --init mean against --init encoder on -n held-out
generated images and the photos given (any number); --compare-loss
measures the losses on them. Both write their curves and numbers to DIR.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("--out DIR is required")
			}
			if compareInit && compLoss {
				return usagef("use one of --compare-init and --compare-loss")
			}
			if !compareInit && !compLoss && len(args) != 1 {
				return usagef("project takes one PHOTO, got %d", len(args))
			}
			if every < 0 {
				return usagef("--every must be ≥ 0 (0: about 30 frames)")
			}
			if every == 0 {
				every = max(1, pf.steps/30)
			}
			g, k, err := latModelClass(&model, class)
			if err != nil {
				return err
			}
			if pf.space, err = latSpaceFlag(g, space); err != nil {
				return err
			}
			if compareInit || compLoss {
				if n < 0 || n+len(args) == 0 {
					return usagef("-n must be ≥ 0, and there must be images to compare on")
				}
				if compareInit {
					return latCompareInits(cmd, g, model, k, out, n, heldOutSeed, args, pf, asJSON)
				}
				dg, ok := g.(*gan.Generator)
				if !ok {
					return usagef("--compare-loss measures z projections of dcgan models; this model is a %s", g.ModelConfig().Arch)
				}
				return latCompareLosses(cmd, dg, model, k, out, n, heldOutSeed, args, pf, variants, asJSON)
			}
			pr, err := pf.setup(g, model)
			if err != nil {
				return err
			}
			t, err := latPhotoTensor(g.ModelConfig(), args)
			if err != nil {
				return err
			}
			start := time.Now()
			res, err := pr.run(cmd.Context(), t, latSame(k, 1), every, "projecting")
			if err != nil {
				return err
			}
			return latWriteProjection(cmd, g, model, args[0], t, res, pr, out, asJSON, time.Since(start))
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "checkpoint (.safetensors), run folder, or a name from forger models list")
	f.StringVar(&class, "class", "", "class name or index (conditional models; default: guessed)")
	f.StringVar(&space, "space", "", "latent space to optimise: z, or for a stylegan w (one w for every layer) or w+ (one w per layer); default w+ for a stylegan, z otherwise")
	f.StringVar(&out, "out", "", "output folder")
	f.IntVar(&every, "every", 0, "steps between the frames of projection.gif (0: steps/30)")
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	f.BoolVar(&compareInit, "compare-init", false, "measure --init mean against --init encoder (needs --encoder)")
	f.BoolVar(&compLoss, "compare-loss", false, "measure the losses and feature networks against each other")
	f.StringVar(&variants, "variants", "pixel,perceptual:disc,both:disc", "--compare-loss: LOSS:FEATURES pairs to measure (features disc, judge, face)")
	f.IntVarP(&n, "n", "n", 8, "--compare-*: held-out generated images to project")
	f.Int64Var(&heldOutSeed, "held-out-seed", 1_000_000, "--compare-*: seed of the first held-out generated image")
	pf.register(cmd, "")
	return cmd
}

// latWriteProjection writes the files of a projection of one photo
// (latent.SaveProjection) and prints what it did.
func latWriteProjection(cmd *cobra.Command, g gan.GeneratorNet, model, photo string, target *tensor.Tensor, res *latent.Projection, pr *latProjector, out string, asJSON bool, took time.Duration) error {
	run := latent.ProjectionReport{Init: pr.init, Seconds: took.Seconds()}
	if pr.feats != nil {
		run.Features = pr.feats.Name()
	}
	rep, err := latent.SaveProjection(g, model, photo, target, res, out, run)
	if err != nil {
		return err
	}
	if asJSON {
		return latPrintJSON(cmd, rep)
	}
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "loss %.4g → %.4g in %d steps (pixel MSE %.4g)\n", rep.InitialLoss, rep.FinalLoss, rep.Steps, rep.PixelMSE)
	for _, f := range [][2]string{{"latent", rep.Latent}, {"reconstruction", rep.Reconstruction}, {"compare", rep.Compare}, {"gif", rep.GIF}} {
		fmt.Fprintf(w, "%-15s %s\n", f[0]+":", f[1])
	}
	return nil
}
