package main

// forger project: a photo's latent (GAN inversion); --compare-* in
// project_compare.go.

import (
	"fmt"
	"image"
	"image/color"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"forger/gan"
	"forger/latent"
	"forger/picture"
	"forger/tensor"
)

func projectCmd() *cobra.Command {
	var (
		model, out, class     string
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
model's own discriminator, judge a judge's, face face-api's descriptor), or
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
			if compareInit || compLoss {
				if n < 0 || n+len(args) == 0 {
					return usagef("-n must be ≥ 0, and there must be images to compare on")
				}
				if compareInit {
					return latCompareInits(cmd, g, model, k, out, n, heldOutSeed, args, pf, asJSON)
				}
				return latCompareLosses(cmd, g, model, k, out, n, heldOutSeed, args, pf, variants, asJSON)
			}
			pr, err := pf.setup(g, model)
			if err != nil {
				return err
			}
			t, err := latPhotoTensor(g.Cfg, args)
			if err != nil {
				return err
			}
			start := time.Now()
			res, err := pr.run(t, latSame(k, 1), every, "projecting")
			if err != nil {
				return err
			}
			return latWriteProjection(cmd, g, model, args[0], t, res, pr, out, asJSON, time.Since(start))
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "checkpoint (.safetensors), run folder, or a name from forger models list")
	f.StringVar(&class, "class", "", "class name or index (conditional models; default: guessed)")
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

// latWriteProjection writes the files of a projection of one photo.
func latWriteProjection(cmd *cobra.Command, g *gan.Generator, model, photo string, target *tensor.Tensor, res *latent.Projection, pr *latProjector, out string, asJSON bool, took time.Duration) error {
	cfg := g.Cfg
	code := res.Codes[0]
	lf := latent.FileOf(model, code)
	lf.Loss, lf.Source = &res.Best[0], photo
	files := map[string]string{
		"latent":         filepath.Join(out, "latent.json"),
		"reconstruction": filepath.Join(out, "reconstruction.png"),
		"compare":        filepath.Join(out, "compare.png"),
		"gif":            filepath.Join(out, "projection.gif"),
	}
	if err := lf.Write(files["latent"]); err != nil {
		return err
	}
	recon := latent.Render(g, []latent.Code{code}).Clone()
	if err := picture.WritePNG(files["reconstruction"], picture.FromTensor(recon.Data, cfg.Size, cfg.Channels)); err != nil {
		return err
	}
	pair := []image.Image{latent.Picture(target.Data, 0, cfg.Size, cfg.Channels, latMinSide), latent.Picture(recon.Data, 0, cfg.Size, cfg.Channels, latMinSide)}
	if err := picture.WritePNG(files["compare"], picture.Grid(pair, 2, 2, color.White)); err != nil {
		return err
	}
	var frames []image.Image
	for _, fr := range res.Frames {
		frames = append(frames, picture.Grid([]image.Image{pair[0], latent.Picture(fr, 0, cfg.Size, cfg.Channels, latMinSide)}, 2, 2, color.White))
	}
	frames = append(frames, frames[len(frames)-1], frames[len(frames)-1]) // linger on the result
	if err := picture.WriteAnimation(files["gif"], frames, 10); err != nil {
		return err
	}
	pix := latent.NewObjective(latent.LossPixel, nil, 0, target)
	pixel := pix.Eval(recon, false)
	result := map[string]any{
		"initial_loss": res.Loss[0][0], "final_loss": res.Best[0], "steps": pr.opts.Steps,
		"loss": pr.opts.Loss, "init": pr.init, "pixel_mse": pixel, "seconds": took.Seconds(),
		"latent": files["latent"], "reconstruction": files["reconstruction"], "compare": files["compare"], "gif": files["gif"],
	}
	if pr.feats != nil {
		result["features"] = pr.feats.Name()
	}
	if cfg.Conditional() {
		result["class"] = cfg.Classes[code.HardClass()]
	}
	if asJSON {
		return latPrintJSON(cmd, result)
	}
	fmt.Fprintf(cmd.OutOrStdout(), "loss %.4g → %.4g in %d steps (pixel MSE %.4g)\n", res.Loss[0][0], res.Best[0], pr.opts.Steps, pixel)
	for _, k := range []string{"latent", "reconstruction", "compare", "gif"} {
		fmt.Fprintf(cmd.OutOrStdout(), "%-15s %s\n", k+":", files[k])
	}
	return nil
}
