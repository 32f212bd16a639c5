package main

// forger encoder train and forger attribute train: the networks that
// start projections and label latents.

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"forger/dataset"
	"forger/judge"
	"forger/latent"
)

func encoderCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "encoder", Short: "Networks from image to latent, to start projections near their answer"}
	var (
		model, out, features string
		realData, space      string
		realLimit            int
		asJSON               bool
		o                    latent.EncoderOptions
		pf                   latProjectFlags
	)
	train := &cobra.Command{
		Use:   "train --model CKPT --out ENC.safetensors",
		Short: "Train an encoder on (G(z), z) pairs generated on the fly",
		Long: `Train an encoder for a model: a small CNN (4×4 stride-2 convolutions and a
linear layer) from image to z, on pairs (G(z), z) generated on the fly,
with the loss ‖E(G(z)) − z‖² + w·‖G(E(G(z))) − G(z)‖² (w = --image-loss,
through the frozen generator; --features adds the perceptual term of
forger project's loss to the image loss). With --iterations N > 1 the
encoder is iterative (ReStyle): it reads the image beside G(its guess so
far), starting from z = 0, and adds a correction, N times; every pass is
trained on its own error. forger project --init encoder starts from
its prediction; forger project --compare-init measures the gain.

For a stylegan the encoder predicts codes of --space (default w+, where
forger project works): offsets from w_avg, trained on pairs (G(w), w)
with w = mapping(z) in every layer; --data's real images, trained with
the image loss alone, let the layers of its W+ codes differ (pSp).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usagef("--out ENC.safetensors is required")
			}
			if o.Samples < 1 || o.Batch < 2 || !(o.LR > 0) || o.Width < 1 || o.Iterations < 1 {
				return usagef("--samples and --iterations must be ≥ 1, --batch ≥ 2, --lr and --width positive")
			}
			if !(o.ImageLoss >= 0) || !(o.ZLoss >= 0) {
				return usagef("--image-loss and --z-loss must be ≥ 0 (0: off)")
			}
			if !(o.PerceptualWeight > 0) {
				return usagef("--perceptual-weight must be positive (for no perceptual term leave out --features)")
			}
			if o.PhotoLike && realData == "" {
				return usagef("--photo-like makes its images from real ones: give them with --data DIR")
			}
			g, err := latLoadAny(&model)
			if err != nil {
				return err
			}
			cfg := g.ModelConfig()
			if o.Space, err = latSpaceFlag(g, space); err != nil {
				return err
			}
			bar := newBar(o.Samples, "encoder", true)
			o.Progress = func(done, total int, zl, il float64) {
				bar.Describe(fmt.Sprintf("%s loss %.4f image loss %.4f", o.Space, zl, il))
				bar.Set(done)
			}
			// The flags' 0 is off; EncoderOptions' 0 is the default.
			if o.ImageLoss == 0 {
				o.ImageLoss = latent.Off
			}
			if o.ZLoss == 0 {
				o.ZLoss = latent.Off
			}
			if features != "" && features != "none" {
				f, err := pf.featuresFor(features, model, cfg)
				if err != nil {
					return err
				}
				o.Features = f
			}
			if realData != "" {
				set, err := dataset.Open(realData, dataset.Options{Size: cfg.Size, Channels: cfg.Channels, Limit: realLimit, Progress: cmd.ErrOrStderr()})
				if err != nil {
					return err
				}
				o.Real, o.RealData = set, realData
			}
			e, err := latent.TrainEncoder(cmd.Context(), g, model, o)
			bar.Finish()
			if err != nil {
				return err
			}
			if err := e.Save(out); err != nil {
				return fmt.Errorf("saving encoder: %w", err)
			}
			c := e.Cfg
			if asJSON {
				return latPrintJSON(cmd, map[string]any{"encoder": out, "space": c.Space.String(), "samples": c.Samples, "held_out_z_mse": c.HeldOutZMSE,
					"held_out_pixel_mse": c.HeldOutPixelMSE, "seconds": c.Seconds})
			}
			if c.Space.IsW() {
				fmt.Fprintf(cmd.OutOrStdout(), "held-out %s MSE %.4f, pixel MSE of G(E(x)) %.4f\n", c.Space, c.HeldOutZMSE, c.HeldOutPixelMSE)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "held-out z MSE %.4f (predicting 0 gives 1), pixel MSE of G(E(x)) %.4f\n", c.HeldOutZMSE, c.HeldOutPixelMSE)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "trained on %d pairs in %s\nencoder: %s\n",
				c.Samples, time.Duration(c.Seconds*float64(time.Second)).Round(time.Second), out)
			return nil
		},
	}
	f := train.Flags()
	f.StringVar(&model, "model", "", "checkpoint (.safetensors), run folder, or a name from forger models list")
	f.StringVar(&out, "out", "", "encoder file to write (.safetensors)")
	f.IntVar(&o.Samples, "samples", 50000, "(G(z), z) pairs to train on")
	f.IntVar(&o.Batch, "batch", 64, "pairs per step")
	f.Float64Var(&o.LR, "lr", 1e-3, "Adam's peak learning rate (cosine decay)")
	f.IntVar(&o.Width, "width", 32, "channels of the first convolution")
	f.Float64Var(&o.ImageLoss, "image-loss", 1, "weight of the image loss through the generator (0 = off)")
	f.Float64Var(&o.ZLoss, "z-loss", 1, "weight of the latent loss ‖E(G(c)) − c‖², c the code of --space (0 = off)")
	f.StringVar(&features, "features", "none", "add a perceptual term to the image loss: none, auto, judge (--features-judge), disc or face")
	f.StringVar(&pf.judgePath, "features-judge", "", "judge or attribute classifier whose features --features judge uses")
	f.StringVar(&pf.faces, "face-models", "", "folder of the face models for --features face")
	f.Float64Var(&o.PerceptualWeight, "perceptual-weight", 1, "weight of the perceptual term")
	f.StringVar(&realData, "data", "", "also train on these real images (a data set or folder, as forger train --data), as half of every batch, with the image loss alone")
	f.BoolVar(&o.PhotoLike, "photo-like", false, "make half of the --data images rough stand-ins for photographs (new background, colour cast, blur, noise), so the encoder also learns images the generator cannot draw")
	f.IntVar(&realLimit, "data-limit", 0, "use only the first N images of --data (0: all), to keep the rest held out")
	f.StringVar(&space, "space", "", "space of the codes it predicts: z, or for a stylegan w or w+ (default w+ for a stylegan, z otherwise)")
	f.IntVar(&o.Iterations, "iterations", 1, "passes of an iterative encoder, each reading the target beside G(its guess so far) and correcting the guess (1: one pass from the image)")
	f.Uint64Var(&o.Seed, "seed", 1, "random seed")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	cmd.AddCommand(train)
	return cmd
}

func attributeCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "attribute", Short: "Classifiers of face attributes (mustache, smiling, …) that label latents"}
	o := latent.AttributeTrainOptions()
	var (
		data, attr, out string
		size, channels  int
		asJSON          bool
	)
	train := &cobra.Command{
		Use:   "train --data cartoon-faces --attribute NAME --out CLF.safetensors",
		Short: "Train a binary classifier of one attribute of a labelled face set",
		Long: `Train a binary classifier ("mustache-ness") of one 0/1 column of a face
set's attributes.csv (cartoon-faces: male, mustache, beard, glasses,
smiling, hat): the judge's CNN (forger judge train) with the classes
no-NAME and NAME, tested on a fixed tenth of the set (at most 2000 images).
forger direction learn --judge and forger direction check use it.

A classifier whose balanced accuracy on the test images is at chance (one
that answers "no" for every face) is not written, and the command fails.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if data == "" {
				return usagef("--data is required (cartoon-faces, or a folder with images/ and attributes.csv)")
			}
			if attr == "" {
				return usagef("--attribute NAME is required (one of %s)", strings.Join(dataset.CartoonFlagColumns, ", "))
			}
			if out == "" {
				return usagef("--out CLF.safetensors is required")
			}
			if o.Epochs < 1 || o.Batch < 2 || !(o.LR > 0) || o.Limit < 0 {
				return usagef("--epochs must be ≥ 1, --batch ≥ 2, --lr positive and --limit ≥ 0")
			}
			splits, err := latent.AttributeSplits(data, attr, size, channels, o.Limit, os.Stderr)
			if err != nil {
				return err
			}
			lim := o
			lim.Limit = 0
			j, err := judge.Train(cmd.Context(), splits, lim, &judgeTrainUI{})
			if errors.Is(err, context.Canceled) {
				return errors.New("interrupted: no classifier written")
			}
			if err != nil {
				return err
			}
			_, preds := j.Run(splits.Test.Images, nil)
			bal, err := latent.CheckNotChance(preds, splits.Test.Labels)
			var chance *latent.ChanceError
			if errors.As(err, &chance) {
				return fmt.Errorf("%s: %v; no classifier written (try more images, more --epochs or another --lr)", attr, err)
			}
			if err := j.Save(out); err != nil {
				return fmt.Errorf("saving classifier: %w", err)
			}
			pos := 0
			for _, l := range splits.Test.Labels {
				pos += int(l)
			}
			rate := float64(pos) / float64(splits.Test.Len())
			c := j.Cfg
			if asJSON {
				return latPrintJSON(cmd, map[string]any{"classifier": out, "attribute": attr, "test_accuracy": c.TestAccuracy,
					"balanced_accuracy": bal, "test_images": c.TestImages, "test_positive_rate": rate,
					"train_images": c.TrainImages, "epochs": c.Epochs, "seconds": c.Seconds})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: test accuracy %.2f%%, balanced %.2f%% on %d held-out images (%.1f%% have it)\ntrained on %d images, %d epochs, in %s\nclassifier: %s\n",
				attr, 100*c.TestAccuracy, 100*bal, c.TestImages, 100*rate, c.TrainImages, c.Epochs,
				time.Duration(c.Seconds*float64(time.Second)).Round(time.Second), out)
			return nil
		},
	}
	f := train.Flags()
	f.StringVar(&data, "data", "", "cartoon-faces, or a folder with images/ and attributes.csv")
	f.StringVar(&attr, "attribute", "", "the 0/1 column of attributes.csv to classify")
	f.StringVar(&out, "out", "", "classifier file to write (.safetensors)")
	f.IntVar(&size, "size", 64, "image size: 28, 32, 64 or 128 (the model's)")
	f.IntVar(&channels, "channels", 3, "1 (gray) or 3 (RGB)")
	f.IntVar(&o.Epochs, "epochs", o.Epochs, "passes over the training images")
	f.IntVar(&o.Batch, "batch", o.Batch, "batch size")
	f.Float64Var(&o.LR, "lr", o.LR, "Adam's peak learning rate (cosine decay to 0)")
	f.IntVar(&o.Limit, "limit", 0, "use the first N images only (for quick tests)")
	f.Uint64Var(&o.Seed, "seed", o.Seed, "random seed")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	cmd.AddCommand(train)
	return cmd
}
