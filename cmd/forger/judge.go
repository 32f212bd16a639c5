package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"forger/dataset"
	"forger/gan"
	"forger/judge"
	"forger/metrics"
	"forger/ppl"
)

func judgeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "judge",
		Short: "Train the classifier that forger eval measures generated images with",
	}
	o := judge.DefaultTrainOptions()
	var data, out string
	var size, channels int
	var asJSON bool
	train := &cobra.Command{
		Use:   "train --data fashion-mnist|mnist|cartoon-faces|PATH --out JUDGE.safetensors",
		Short: "Train a judge: a small CNN classifier on the real training images",
		Long: `Train a judge: a small CNN classifier on the real training images of a
labelled data set, and report its accuracy on the real test images.

forger eval uses the judge's penultimate features (128 values) the way FID
uses Inception's: the Fréchet distance between real and generated images,
precision and recall; and its predictions for the class accuracy of
conditional models.

For fashion-mnist and mnist the last 10,000 training images are held out
(eval's fd_real compares them with the test images); the judge trains on the
other 50,000. A folder of images (one sub-folder per class) has no test
split: a fixed sixth of it is the test split, another sixth held out.

A labelled face set (cartoon-faces, or a folder with images/ and
attributes.csv) makes a face judge: its classes are the skin tones and it
also predicts each 0/1 attribute (male, mustache, beard, glasses, smiling,
hat), whose held-out accuracy is printed. A fixed quarter of the faces is
the test split and another quarter is held out; it trains on the other
half. eval then also reports each attribute's rate in generated and real
faces (attr_gen, attr_real) and the largest difference (attr_gap).

--blur SIGMA (a face judge only) also blurs half of its training images by
up to SIGMA pixels, so that its attributes read a soft face as they read a
sharp one; give such a judge to forger eval --attr-judge.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if data == "" {
				return usagef("--data is required (fashion-mnist, mnist or a folder with one sub-folder per class)")
			}
			if out == "" {
				return usagef("--out JUDGE.safetensors is required")
			}
			if o.Epochs < 1 || o.Batch < 2 || o.LR <= 0 || o.Limit < 0 {
				return usagef("--epochs must be ≥ 1, --batch ≥ 2, --lr positive and --limit ≥ 0")
			}
			if o.Blur < 0 || o.Blur > judge.MaxBlur {
				return usagef("--blur must be between 0 and %d pixels", judge.MaxBlur)
			}
			defSize, defChannels := dataset.DefaultShape(data)
			if size == 0 {
				size = defSize
			}
			if channels == 0 {
				channels = defChannels
			}
			splits, err := judge.LoadSplits(data, size, channels, os.Stderr)
			if err != nil {
				return err
			}
			ui := &judgeTrainUI{}
			j, err := judge.Train(cmd.Context(), splits, o, ui)
			if err != nil {
				return err
			}
			if err := j.Save(out); err != nil {
				return fmt.Errorf("saving judge: %w", err)
			}
			c := j.Cfg
			if asJSON {
				m := map[string]any{
					"judge": out, "data": c.Data, "test_accuracy": c.TestAccuracy, "test_images": c.TestImages,
					"train_images": c.TrainImages, "epochs": c.Epochs, "seconds": c.Seconds}
				if len(c.Attributes) > 0 {
					m["attr_accuracy"], m["attr_balanced"] = c.AttrAccuracy, c.AttrBalanced
				}
				return json.NewEncoder(cmd.OutOrStdout()).Encode(m)
			}
			w := cmd.OutOrStdout()
			what := "test accuracy"
			if len(c.Attributes) > 0 {
				what = "skin tone accuracy"
			}
			fmt.Fprintf(w, "%s %.2f%% on the %d real test images of %s\n", what, 100*c.TestAccuracy, c.TestImages, data)
			for _, a := range c.Attributes {
				fmt.Fprintf(w, "  %-9s accuracy %.2f%%, balanced %.2f%%\n", a, 100*c.AttrAccuracy[a], 100*c.AttrBalanced[a])
			}
			fmt.Fprintf(w, "trained on %d images, %d epochs, in %s\njudge: %s\n",
				c.TrainImages, c.Epochs, time.Duration(c.Seconds*float64(time.Second)).Round(time.Second), out)
			return nil
		},
	}
	f := train.Flags()
	f.StringVar(&data, "data", "", "fashion-mnist, mnist, cartoon-faces, an IDX folder, a folder with one sub-folder per class, or a labelled face set (images/ and attributes.csv)")
	f.StringVar(&out, "out", "", "judge file to write (.safetensors)")
	f.IntVar(&size, "size", 0, "image size: 28, 32, 64 or 128 (default 28 for fashion-mnist/mnist, else 64)")
	f.IntVar(&channels, "channels", 0, "1 (gray) or 3 (RGB) (default 1 for fashion-mnist/mnist, else 3)")
	f.IntVar(&o.Epochs, "epochs", o.Epochs, "passes over the training images")
	f.IntVar(&o.Batch, "batch", o.Batch, "batch size")
	f.Float64Var(&o.LR, "lr", o.LR, "Adam's peak learning rate (cosine decay to 0)")
	f.IntVar(&o.Limit, "limit", 0, "train on the first N training images only (for quick tests)")
	f.Uint64Var(&o.Seed, "seed", o.Seed, "random seed (initial weights, data order)")
	f.Float64Var(&o.Blur, "blur", 0, "a face judge: also blur half the training images by a Gaussian of σ up to this many pixels (for eval --attr-judge)")
	f.BoolVar(&asJSON, "json", false, "print the result as one JSON object")
	cmd.AddCommand(train)
	return cmd
}

// judgeTrainUI shows judge training as a progress bar in images.
type judgeTrainUI struct{ bar *progressbar.ProgressBar }

func (u *judgeTrainUI) Start(total int64) {
	u.bar = progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("img"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionSetWidth(20),
		progressbar.OptionClearOnFinish(),
	)
}

func (u *judgeTrainUI) Update(done int64, desc string) {
	u.bar.Describe(desc)
	u.bar.Set64(done)
}

func (u *judgeTrainUI) Finish() { u.bar.Finish() }

func evalCmd() *cobra.Command {
	var model, images, judgePath, attrJudgePath, data, nearest, nearestOut string
	var n, pplN int
	var asJSON, withPPL bool
	cmd := &cobra.Command{
		Use:   "eval (--model CKPT | --images DIR) --judge JUDGE [--data fashion-mnist] [-n 10000] [--ppl]",
		Short: "Score generated images against real ones with a judge: fd, precision, recall, class accuracy",
		Long: `Score n generated images against the first n real test images, with the
features and predictions of a judge (see forger judge train):

  fd              Fréchet distance between Gaussian fits of the judge's
                  features (FID's formula on the judge's features)
  fd_real         the same between held-out real images and the test images:
                  the floor
  fd_noise_0.05,  real test images with Gaussian pixel noise σ = 0.05 and 0.1
  fd_noise_0.1    (pixels in [0,1]): calibration points
  class_accuracy  how often the judge recognises the class the generator was
                  asked for (conditional models), overall and per class
  precision,      Kynkäänniemi et al. 2019 with k=3 in the judge's features:
  recall          quality and variety
  judge_test_accuracy  the judge on the real test images
  sharpness       the generated images' edges over the real ones' at equal
                  contrast (mean neighbour difference over the image's
                  standard deviation): below 1 softer than real images,
                  above 1 noisier or harder-edged; grey images are not soft
  attr_gen,       a face judge only: the share of generated and of real
  attr_real,      faces with each attribute (and dark_skin), and the largest
  attr_gap        difference between the two; with --attr-judge, read by
                  that face judge (one trained with --blur, which reads a
                  soft face's smile as a sharp one's: the default judge
                  loses smiles under a blur of σ 1) and attr_judge_blur
                  says its blur
  memorised       with --nearest DATA: the share of samples closer to their
                  nearest training image than it is to any other training
                  image (copies), beside memorised_real, the share of the
                  held-out real images (what new images score), and
                  fd_train, the fd of the training images themselves (what
                  a generator that copies them scores); the
                  picture --nearest-out shows each sample beside its nearest
                  training image
  d_sign_train,   with --nearest and a --model that kept its discriminator
  d_sign_heldout  (an unconditional one, at the judge's size): E[sign(D(x))]
                  over the training images and over as many held-out real
                  ones. A D that has memorised its training images calls
                  them real (near +1) and new ones fake: the gap is what
                  augmentation (train --augment) is for
  ppl             with --ppl and --model: perceptual path length (StyleGAN's
                  definition), how far the images move along small steps
                  between two latents, over --ppl-n pairs: slerp in z for a
                  dcgan, cdcgan or vae, lerp in w for a stylegan, step 1e-4,
                  the squared distance in the judge's features (the face
                  judge's for faces; StyleGAN uses VGG's) divided by the
                  step², trimmed of the 1% and 99% outliers; lower is
                  smoother. ppl_n is the pairs, ppl_space says where it was
                  walked and measured; compare numbers of one judge only

--model is any generator — dcgan, cdcgan, stylegan or a vae's decoder — and
generates image i from seed i (class i mod classes for cdcgan).
--images reads DIR/<class index>/*.png (or class names), or DIR/*.png
without classes, from any tool; images are resized to the judge's size.
fd depends on n: compare numbers at the same n (default 10000).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if (model == "") == (images == "") {
				return usagef("give one of --model CKPT or --images DIR")
			}
			if judgePath == "" {
				return usagef("--judge JUDGE is required (make one with: %s)", judgeTrainCommand(data, model, "JUDGE.safetensors"))
			}
			if n < 1 {
				return usagef("-n must be positive")
			}
			if withPPL && model == "" {
				return usagef("--ppl needs --model: the path length is measured along a generator's latent paths")
			}
			if pplN < 3 {
				return usagef("--ppl-n must be at least 3")
			}
			j, err := judge.Load(judgePath)
			if err != nil {
				return makeOne(err, judgeTrainCommand(data, model, judgePath))
			}
			var aj *judge.Judge
			if attrJudgePath != "" {
				if aj, err = judge.Load(attrJudgePath); err != nil {
					return makeOne(err, "forger judge train --data cartoon-faces --size 64 --blur 1.5 --out "+attrJudgePath)
				}
			}
			o := metrics.Options{Judge: j, AttrJudge: aj, Images: images, Data: data, N: n, NGiven: cmd.Flags().Changed("n"),
				PPL: withPPL, PPLPairs: pplN, Nearest: nearest, NearestOut: nearestOut, Log: os.Stderr}
			if model != "" {
				if o.Model, err = loadGeneratorNet("--model", &model); err != nil {
					return err
				}
				if nearest != "" { // the model's D too, when it kept one
					if o.D, err = gan.LoadDiscriminatorNet(model); errors.Is(err, gan.ErrNoDiscriminator) {
						o.D, err = nil, nil
					}
					if err != nil {
						return err
					}
				}
			}
			bar := &evalBar{}
			res, err := metrics.Run(cmd.Context(), o, bar)
			bar.finish()
			if err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(res)
			}
			if err := res.Report.WriteTable(cmd.OutOrStdout()); err != nil {
				return err
			}
			if res.DSignTrain != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "D: E[sign(D(x))] %+.2f on the training images, %+.2f on as many held-out real ones (a gap: D knows its training images)\n", *res.DSignTrain, *res.DSignHeldOut)
			}
			if pl := res.Result; pl != nil {
				fmt.Fprintf(cmd.OutOrStdout(), "ppl %.1f: perceptual path length over %d pairs, %s (lower is smoother)\n", pl.PPL, pl.Pairs, pl.Space)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "checkpoint (.safetensors), run folder or model name to generate from")
	f.StringVar(&images, "images", "", "folder of generated images: DIR/<class index>/*.png, or DIR/*.png")
	f.StringVar(&judgePath, "judge", "", "judge file (forger judge train)")
	f.StringVar(&attrJudgePath, "attr-judge", "", "a face judge to read the attributes with (forger judge train --blur)")
	f.StringVar(&data, "data", "", "the real data set (default: the judge's)")
	f.IntVarP(&n, "n", "n", judge.DefaultN, "images on each side")
	f.StringVar(&nearest, "nearest", "", "the training images (folder or data set): also measure memorisation and draw each sample beside its nearest training image")
	f.StringVar(&nearestOut, "nearest-out", "nearest.png", "with --nearest: the picture of samples and their nearest training images")
	f.BoolVar(&withPPL, "ppl", false, "also measure the perceptual path length of --model in the judge's features (ppl, ppl_n, ppl_space)")
	f.IntVar(&pplN, "ppl-n", ppl.DefaultPairs, "with --ppl: latent pairs to measure")
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

// evalBar shows metrics.Run as one progress bar over its stages.
type evalBar struct{ bar *progressbar.ProgressBar }

func (b *evalBar) Start(total int)   { b.bar = newBar(total, "eval", true) }
func (b *evalBar) Stage(name string) { b.bar.Describe(name) }
func (b *evalBar) Add(delta int)     { b.bar.Add(delta) }

func (b *evalBar) finish() {
	if b.bar != nil {
		b.bar.Finish()
	}
}

// judgeTrainCommand is the command that makes a judge for eval's --data,
// or, when it is not given, for the data the --model was trained on as
// its shape says: a 28×28 grey model is Fashion-MNIST's, others are faces.
func judgeTrainCommand(data, model, out string) string {
	if data == "" {
		data = "fashion-mnist"
		if model != "" {
			if g, err := loadGeneratorNet("--model", &model); err == nil {
				if c := g.ModelConfig(); c.Channels != 1 || c.Size != 28 {
					data = fmt.Sprintf("cartoon-faces --size %d", c.Size)
				}
			}
		}
	}
	return "forger judge train --data " + data + " --out " + out
}
