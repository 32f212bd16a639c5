package main

// forger morph, blend, project, encoder, direction, attribute, edit: the
// latent space of a model (package latent).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"forger/dataset"
	"forger/face"
	"forger/gan"
	"forger/judge"
	"forger/latent"
	"forger/picture"
	"forger/tensor"
)

// latentCmds are the commands of the latent space, added to the root.
func latentCmds() []*cobra.Command {
	return []*cobra.Command{morphCmd(), blendCmd(), projectCmd(), encoderCmd(), directionCmd(), attributeCmd(), editCmd()}
}

// Defaults of the projection, chosen by measurement (latent/README.md).
const (
	latDefaultProjectLoss     = latent.LossBoth
	latDefaultProjectFeatures = "auto" // judge with --features-judge, else disc
)

// latMinSide is the side small images are upscaled to (at least) in strips
// and animations.
const latMinSide = 128

// latLoadModel loads the generator of --model (a checkpoint, a run folder
// or a model name) and sets *model to its checkpoint's path.
func latLoadModel(model *string) (*gan.Generator, error) {
	return loadGenerator("--model", model)
}

// latClassFlag turns --class into an index: -1 when not given.
func latClassFlag(cfg gan.Config, class string) (int, error) {
	if class == "" {
		return -1, nil
	}
	if !cfg.Conditional() {
		return 0, usagef("--class: this model (%s) has no classes", cfg.Arch)
	}
	c, err := classIndex(cfg.Classes, class)
	if err != nil {
		return 0, usageError{err}
	}
	return int(c), nil
}

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
}

// encoderLR is the peak learning rate of projections from the encoder.
func (p *latProjectFlags) encoderLR() float64 {
	if p.encLR > 0 {
		return p.encLR
	}
	return p.lr
}

func (p *latProjectFlags) register(cmd *cobra.Command, prefix string) {
	f := cmd.Flags()
	f.IntVar(&p.steps, prefix+"steps", latent.DefaultSteps, "steps of the projection (Adam updates, or L-BFGS evaluations of the loss and its gradient)")
	f.StringVar(&p.optimizer, prefix+"optimizer", latent.OptAdam, "optimiser of the projection: adam (--lr; from the mean with --noise) or lbfgs (L-BFGS with a line search: a far lower loss in as many steps)")
	f.StringVar(&p.init, prefix+"init", "mean", "starting point: mean (z = 0, with --noise) or encoder (needs --encoder)")
	f.StringVar(&p.encoder, "encoder", "", "encoder file (forger encoder train) for --init encoder")
	f.StringVar(&p.loss, prefix+"loss", latDefaultProjectLoss, "projection loss: perceptual, pixel or both")
	f.StringVar(&p.features, prefix+"features", latDefaultProjectFeatures, "network of the perceptual loss: judge (--features-judge), disc (the model's discriminator), face (face-api's descriptor), or auto: judge when --features-judge is given, else disc")
	f.StringVar(&p.judgePath, "features-judge", "", "judge or attribute classifier whose features --features judge uses")
	f.StringVar(&p.faces, "face-models", "", "folder of the face models for --features face (default $FORGER_HOME/models/face)")
	f.Float64Var(&p.lr, prefix+"lr", latent.DefaultLR, "Adam's peak learning rate of the projection")
	f.Float64Var(&p.encLR, prefix+"encoder-lr", latent.DefaultEncoderLR, "peak learning rate of projections from --init encoder")
	f.Float64Var(&p.noise, prefix+"noise", latent.DefaultNoise, "standard deviation of the noise added to z at the start of a projection from --init mean, decaying to 0 over 75% of the steps")
	f.Float64Var(&p.encNoise, prefix+"encoder-noise", 0, "the same noise for projections from --init encoder")
	f.Float64Var(&p.prior, prefix+"prior", latent.DefaultPrior, "weight of the prior (‖z‖²/nz − 1)² (0 = off)")
	f.Float64Var(&p.pw, prefix+"perceptual-weight", 1, "weight of the perceptual term in --loss both")
}

// latProjector is a generator with everything a projection needs loaded.
type latProjector struct {
	g     *gan.Generator
	opts  latent.ProjectOptions
	enc   *latent.Encoder
	feats latent.Features
	init  string
}

func (p *latProjectFlags) check() error {
	if p.steps < 0 || p.steps > 100000 {
		return usagef("--steps must be between 0 and 100000")
	}
	if !(p.lr > 0) {
		return usagef("--lr must be positive")
	}
	if !(p.noise >= 0) || !(p.encNoise >= 0) {
		return usagef("--noise and --encoder-noise must be ≥ 0")
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

// featuresFor loads the feature network named name for the model.
func (p *latProjectFlags) featuresFor(name, model string, cfg gan.Config) (latent.Features, error) {
	if name == "auto" {
		name = latent.FeatDisc
		if p.judgePath != "" {
			name = latent.FeatJudge
		}
	}
	switch name {
	case latent.FeatDisc:
		d, err := latent.LoadDisc(model)
		if err != nil {
			return nil, err
		}
		return latent.DiscFeatures(d), nil
	case latent.FeatJudge:
		if p.judgePath == "" {
			return nil, usagef("--features judge needs --features-judge JUDGE (a judge or attribute classifier of the model's images)")
		}
		j, err := judge.Load(p.judgePath)
		if err != nil {
			return nil, err
		}
		if j.Cfg.Size != cfg.Size || j.Cfg.Channels != cfg.Channels {
			return nil, fmt.Errorf("the judge %s reads %d×%d×%d images, the model makes %d×%d×%d", p.judgePath, j.Cfg.Size, j.Cfg.Size, j.Cfg.Channels, cfg.Size, cfg.Size, cfg.Channels)
		}
		return latent.JudgeFeatures(j), nil
	case latent.FeatFace:
		dir := p.faces
		if dir == "" {
			dir = face.DefaultDir()
		}
		d, err := face.LoadDescriptorNet(dir)
		if err != nil {
			return nil, err
		}
		return latent.FaceFeatures(d, cfg.Channels), nil
	}
	return nil, usagef("--features %q: use auto, judge, disc or face", name)
}

// setup loads what the projection flags ask for.
func (p *latProjectFlags) setup(g *gan.Generator, model string) (*latProjector, error) {
	if err := p.check(); err != nil {
		return nil, err
	}
	pr := &latProjector{g: g, init: p.init}
	prior := p.prior
	if prior == 0 {
		prior = -1
	}
	lr, noise := p.lr, p.noise
	if p.init == "encoder" {
		lr, noise = p.encoderLR(), p.encNoise
	}
	pr.opts = latent.ProjectOptions{Steps: p.steps, Optimizer: p.optimizer, LR: lr, Loss: p.loss, PerceptualWeight: p.pw, Prior: prior, Noise: noise}
	if p.loss != latent.LossPixel {
		f, err := p.featuresFor(p.features, model, g.Cfg)
		if err != nil {
			return nil, err
		}
		pr.feats, pr.opts.Features = f, f
	}
	if p.init == "encoder" {
		e, err := latent.LoadEncoder(p.encoder)
		if err != nil {
			return nil, err
		}
		if err := e.CheckModel(g.Cfg); err != nil {
			return nil, fmt.Errorf("%s: %w", p.encoder, err)
		}
		pr.enc = e
	}
	return pr, nil
}

// latSame returns n copies of class.
func latSame(class, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = class
	}
	return out
}

// run projects targets with a progress bar.
func (pr *latProjector) run(targets *tensor.Tensor, classes []int, frameEvery int, desc string) (*latent.Projection, error) {
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
	return latent.Project(pr.g, targets, init, o)
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

// latCodeSpec is what a seed, latent file or photo argument names.
type latCodeSpec struct {
	arg   string
	seed  *int64
	file  *latent.File
	photo string
}

// latParseSpec sorts an argument into seed, latent file or photo.
func latParseSpec(arg string) (latCodeSpec, error) {
	s := latCodeSpec{arg: arg}
	if v, err := strconv.ParseInt(strings.TrimPrefix(arg, "seed:"), 10, 64); err == nil {
		s.seed = &v
		return s, nil
	}
	st, err := os.Stat(arg)
	if err != nil {
		return s, usagef("%q is not a seed, a latent file or a photo: %v", arg, errors.Unwrap(err))
	}
	if st.IsDir() {
		return s, usagef("%q is a folder, not a seed, a latent file or a photo", arg)
	}
	if strings.EqualFold(filepath.Ext(arg), ".json") {
		f, err := latent.ReadFile(arg)
		if err != nil {
			return s, err
		}
		s.file = f
		return s, nil
	}
	s.photo = arg
	return s, nil
}

// latResolveCodes turns arguments into codes: seeds and latent files at once,
// photos projected first (all in one batch) with pf.
func latResolveCodes(g *gan.Generator, model string, args []string, class int, pf *latProjectFlags) ([]latent.Code, error) {
	cfg := g.Cfg
	specs := make([]latCodeSpec, len(args))
	var photos []string
	for i, a := range args {
		s, err := latParseSpec(a)
		if err != nil {
			return nil, err
		}
		specs[i] = s
		if s.photo != "" {
			photos = append(photos, s.photo)
		}
	}
	var projected []latent.Code
	if len(photos) > 0 {
		t, err := latPhotoTensor(cfg, photos)
		if err != nil {
			return nil, err
		}
		pr, err := pf.setup(g, model)
		if err != nil {
			return nil, err
		}
		res, err := pr.run(t, latSame(class, len(photos)), 0, "projecting")
		if err != nil {
			return nil, err
		}
		projected = res.Codes
	}
	out := make([]latent.Code, len(args))
	for i, s := range specs {
		switch {
		case s.seed != nil:
			out[i] = latent.FromSeed(cfg, *s.seed, max(class, 0))
		case s.file != nil:
			c, err := s.file.CodeOf(cfg, class)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", s.arg, err)
			}
			out[i] = c
		default:
			out[i], projected = projected[0], projected[1:]
		}
	}
	return out, nil
}

// latWriteAnimation writes frames as path's format; an .mp4 without ffmpeg
// becomes a .gif beside it, with a warning. It returns the file written.
func latWriteAnimation(path string, frames []image.Image, fps int) (string, error) {
	err := picture.WriteAnimation(path, frames, fps)
	if errors.Is(err, picture.ErrNoFFmpeg) {
		gif := strings.TrimSuffix(path, filepath.Ext(path)) + ".gif"
		fmt.Fprintf(os.Stderr, "warning: ffmpeg is not installed (apt-get install ffmpeg): writing %s instead\n", gif)
		return gif, picture.WriteAnimation(gif, frames, fps)
	}
	return path, err
}

func latCheckAnimationPath(out string) error {
	if out == "" {
		return usagef("--out FILE.gif|FILE.mp4 is required")
	}
	switch strings.ToLower(filepath.Ext(out)) {
	case ".gif", ".mp4":
		return nil
	}
	return usagef("--out %s: want a .gif or .mp4 file", out)
}

// latPictures converts a batch of images to latPictures upscaled to latMinSide.
func latPictures(cfg gan.Config, imgs []float32, side int) []image.Image {
	per := cfg.Size * cfg.Size * cfg.Channels
	out := make([]image.Image, len(imgs)/per)
	for i := range out {
		out[i] = latent.Picture(imgs, i, cfg.Size, cfg.Channels, side)
	}
	return out
}

// latRenderAll generates codes in batches and returns all the images.
func latRenderAll(g *gan.Generator, codes []latent.Code) []float32 {
	var out []float32
	for lo := 0; lo < len(codes); lo += 100 {
		out = append(out, latent.Render(g, codes[lo:min(len(codes), lo+100)]).Data...)
	}
	return out
}

func latPrintJSON(cmd *cobra.Command, v any) error {
	return json.NewEncoder(cmd.OutOrStdout()).Encode(v)
}

func morphCmd() *cobra.Command {
	var (
		model, from, to, out, class string
		via                         []string
		frames, fps                 int
		spherical, asJSON           bool
		pf                          latProjectFlags
	)
	cmd := &cobra.Command{
		Use:   "morph --model CKPT --from A --to B [--via C…] --out FILE.gif|FILE.mp4",
		Short: "Animate a walk through the latent space between seeds, latent files or photos",
		Long: `Animate a walk through the latent space from A to B (through the --via
points in order). A, B and C are seeds (42 or seed:42), latent files
(latent.json) or photos, which are projected first (see forger project; the
--project-* flags set how).

--spherical interpolates along great circles (slerp), which keeps the path
where Gaussian latents live; the default is a straight line (lerp). The
frames are spread evenly over the legs, the first is A and the last B.
.mp4 needs ffmpeg; without it a .gif is written beside.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" || to == "" {
				return usagef("--from A and --to B are required (seeds, latent files or photos)")
			}
			if err := latCheckAnimationPath(out); err != nil {
				return err
			}
			if frames < 2 || frames > 10000 {
				return usagef("--frames must be between 2 and 10000")
			}
			if fps < 1 || fps > 100 {
				return usagef("--fps must be between 1 and 100")
			}
			g, k, err := latModelClass(&model, class)
			if err != nil {
				return err
			}
			args := append(append([]string{from}, via...), to)
			codes, err := latResolveCodes(g, model, args, k, &pf)
			if err != nil {
				return err
			}
			path, err := latent.Path(codes, frames, spherical)
			if err != nil {
				return usageError{err}
			}
			imgs := latPictures(g.Cfg, latRenderAll(g, path), latMinSide)
			written, err := latWriteAnimation(out, imgs, fps)
			if err != nil {
				return err
			}
			if asJSON {
				return latPrintJSON(cmd, map[string]any{"out": written, "frames": len(imgs), "spherical": spherical})
			}
			fmt.Fprintln(cmd.OutOrStdout(), written)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "checkpoint (.safetensors), run folder, or a name from forger models list")
	f.StringVar(&from, "from", "", "start: a seed, a latent file or a photo")
	f.StringVar(&to, "to", "", "end: a seed, a latent file or a photo")
	f.StringArrayVar(&via, "via", nil, "a waypoint (repeatable, in order)")
	f.IntVar(&frames, "frames", 60, "frames in all")
	f.IntVar(&fps, "fps", 20, "frames per second")
	f.BoolVar(&spherical, "spherical", false, "interpolate spherically (slerp) instead of linearly")
	f.StringVar(&class, "class", "", "class name or index (conditional models; default: each latent file's, else 0)")
	f.StringVar(&out, "out", "", "animation to write: FILE.gif or FILE.mp4")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	pf.register(cmd, "project-")
	return cmd
}

func blendCmd() *cobra.Command {
	var (
		model, out, class, latentOut, family string
		weight                               float64
		spherical, asJSON                    bool
		pf                                   latProjectFlags
	)
	cmd := &cobra.Command{
		Use:   "blend --model CKPT A B [--weight 0.5] --out FILE.png",
		Short: "The child of two faces: the image of a point between two latents",
		Long: `Write the image of the latent a fraction --weight of the way from A to B
(0 gives A, 1 gives B): the "child" of the two. A and B are seeds, latent
files or photos (projected first). --latent-out also saves the child's
latent.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usagef("blend takes two parents A and B (seeds, latent files or photos), got %d", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("--out FILE.png is required")
			}
			if !(weight >= 0 && weight <= 1) {
				return usagef("--weight must be between 0 and 1")
			}
			g, k, err := latModelClass(&model, class)
			if err != nil {
				return err
			}
			codes, err := latResolveCodes(g, model, args, k, &pf)
			if err != nil {
				return err
			}
			child := latent.Mix(codes[0], codes[1], weight, spherical)
			// With --family the parents are drawn in the same batch, the child
			// in the middle.
			batch, at := []latent.Code{child}, 0
			if family != "" {
				batch, at = []latent.Code{codes[0], child, codes[1]}, 1
			}
			imgs := latent.Render(g, batch).Data
			n := g.Cfg.Size * g.Cfg.Size * g.Cfg.Channels
			if err := picture.WritePNG(out, picture.FromTensor(imgs[at*n:(at+1)*n], g.Cfg.Size, g.Cfg.Channels)); err != nil {
				return err
			}
			res := map[string]any{"out": out, "weight": weight}
			if family != "" {
				tiles := make([]image.Image, 3)
				for i := range tiles {
					tiles[i] = latent.Picture(imgs, i, g.Cfg.Size, g.Cfg.Channels, latMinSide)
				}
				if err := picture.WritePNG(family, picture.Grid(tiles, 3, 2, color.White)); err != nil {
					return err
				}
				res["family"] = family
			}
			if latentOut != "" {
				if err := latent.FileOf(model, child).Write(latentOut); err != nil {
					return err
				}
				res["latent"] = latentOut
			}
			if asJSON {
				return latPrintJSON(cmd, res)
			}
			fmt.Fprintln(cmd.OutOrStdout(), out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "checkpoint (.safetensors), run folder, or a name from forger models list")
	f.Float64Var(&weight, "weight", 0.5, "how far from A towards B (0…1)")
	f.BoolVar(&spherical, "spherical", false, "interpolate spherically (slerp)")
	f.StringVar(&class, "class", "", "class name or index (conditional models)")
	f.StringVar(&out, "out", "", "image to write (.png)")
	f.StringVar(&latentOut, "latent-out", "", "also write the child's latent file")
	f.StringVar(&family, "family", "", "also write A | child | B side by side (.png)")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	pf.register(cmd, "project-")
	return cmd
}

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

func encoderCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "encoder", Short: "Networks from image to latent, to start projections near their answer"}
	var (
		model, out, features string
		realData             string
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
its prediction; forger project --compare-init measures the gain.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usagef("--out ENC.safetensors is required")
			}
			if o.Samples < 1 || o.Batch < 2 || !(o.LR > 0) || o.Width < 1 || o.Iterations < 1 {
				return usagef("--samples and --iterations must be ≥ 1, --batch ≥ 2, --lr and --width positive")
			}
			if o.PhotoLike && realData == "" {
				return usagef("--photo-like makes its images from real ones: give them with --data DIR")
			}
			g, err := latLoadModel(&model)
			if err != nil {
				return err
			}
			bar := newBar(o.Samples, "encoder", true)
			o.Progress = func(done, total int, zl, il float64) {
				bar.Describe(fmt.Sprintf("z loss %.4f image loss %.4f", zl, il))
				bar.Set(done)
			}
			if o.ImageLoss == 0 {
				o.ImageLoss = -1
			}
			if o.ZLoss == 0 {
				o.ZLoss = -1
			}
			if features != "" && features != "none" {
				f, err := pf.featuresFor(features, model, g.Cfg)
				if err != nil {
					return err
				}
				o.Features = f
			}
			if realData != "" {
				set, err := dataset.Open(realData, dataset.Options{Size: g.Cfg.Size, Channels: g.Cfg.Channels, Limit: realLimit, Progress: cmd.ErrOrStderr()})
				if err != nil {
					return err
				}
				o.Real, o.RealData = set, realData
			}
			e, err := latent.TrainEncoder(cmd.Context(), g, model, o)
			bar.Finish()
			if errors.Is(err, context.Canceled) {
				return errors.New("interrupted: no encoder written")
			}
			if err != nil {
				return err
			}
			if err := e.Save(out); err != nil {
				return fmt.Errorf("saving encoder: %w", err)
			}
			c := e.Cfg
			if asJSON {
				return latPrintJSON(cmd, map[string]any{"encoder": out, "samples": c.Samples, "held_out_z_mse": c.HeldOutZMSE,
					"held_out_pixel_mse": c.HeldOutPixelMSE, "seconds": c.Seconds})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "held-out z MSE %.4f (predicting 0 gives 1), pixel MSE of G(E(x)) %.4f\ntrained on %d pairs in %s\nencoder: %s\n",
				c.HeldOutZMSE, c.HeldOutPixelMSE, c.Samples, time.Duration(c.Seconds*float64(time.Second)).Round(time.Second), out)
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
	f.Float64Var(&o.ZLoss, "z-loss", 1, "weight of the latent loss ‖E(G(z)) − z‖² (0 = off)")
	f.StringVar(&features, "features", "none", "add a perceptual term to the image loss: none, auto, judge (--features-judge), disc or face")
	f.StringVar(&pf.judgePath, "features-judge", "", "judge or attribute classifier whose features --features judge uses")
	f.StringVar(&pf.faces, "face-models", "", "folder of the face models for --features face")
	f.Float64Var(&o.PerceptualWeight, "perceptual-weight", 1, "weight of the perceptual term")
	f.StringVar(&realData, "data", "", "also train on these real images (a data set or folder, as forger train --data), as half of every batch, with the image loss alone")
	f.BoolVar(&o.PhotoLike, "photo-like", false, "make half of the --data images rough stand-ins for photographs (new background, colour cast, blur, noise), so the encoder also learns images the generator cannot draw")
	f.IntVar(&realLimit, "data-limit", 0, "use only the first N images of --data (0: all), to keep the rest held out")
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
				return usagef("--attribute NAME is required (one of %s)", strings.Join(latFlagColumns(), ", "))
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

func latFlagColumns() []string {
	return []string{"male", "mustache", "beard", "glasses", "smiling", "hat"}
}

func directionCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "direction", Short: "Attribute directions in the latent space: learn them, measure edits along them"}
	cmd.AddCommand(directionLearnCmd(), directionCheckCmd())
	return cmd
}

// latReadLabels reads a labels CSV: rows of (seed, latent file or photo; 0/1
// or false/true), an optional header; paths relative to the CSV's folder.
func latReadLabels(path string) (specs []string, labels []bool, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading labels: %w", err)
	}
	dir := filepath.Dir(path)
	header := false
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		a, l, ok := strings.Cut(line, ",")
		a, l = strings.Trim(strings.TrimSpace(a), `"`), strings.TrimSpace(l)
		var v bool
		switch strings.ToLower(l) {
		case "1", "true", "yes":
			v = true
		case "0", "false", "no":
		default:
			if len(specs) == 0 && !header {
				header = true // the first row names the columns
				continue
			}
			if !ok {
				return nil, nil, fmt.Errorf("%s line %d: want SEED|LATENT|PHOTO,LABEL", path, i+1)
			}
			return nil, nil, fmt.Errorf("%s line %d: the label is %q, want 0 or 1", path, i+1, l)
		}
		if _, err := strconv.ParseInt(strings.TrimPrefix(a, "seed:"), 10, 64); err != nil && !filepath.IsAbs(a) {
			a = filepath.Join(dir, a)
		}
		specs = append(specs, a)
		labels = append(labels, v)
	}
	if len(specs) == 0 {
		return nil, nil, fmt.Errorf("%s: no labelled rows (want lines of: seed, latent file or photo, then 0 or 1)", path)
	}
	return specs, labels, nil
}

func directionLearnCmd() *cobra.Command {
	var (
		model, attr, labelsCSV, clfPath, positive, out, class string
		orth                                                  []string
		samples                                               int
		seed                                                  int64
		lambda                                                float64
		asJSON                                                bool
		pf                                                    latProjectFlags
	)
	cmd := &cobra.Command{
		Use:   "learn --model CKPT --attribute NAME (--labels CSV | --judge CLASSIFIER) --out DIR.json",
		Short: "Learn the latent direction of an attribute by logistic regression on labelled latents",
		Long: `Learn the direction of an attribute in z: label latents, fit a logistic
regression (float64, Newton's method, L2 penalty --lambda) and save its unit
normal with its accuracy on a held-out fifth of the latents.

With --judge, --samples latents (seeds --seed, --seed+1, …) are generated
and labelled by the classifier (forger attribute train, or any judge with
--positive naming the class): probability above 0.5. When fewer than 5 of
them fall on one side (a young model that rarely draws the attribute), the
classifier's scores decide instead, as in InterFaceGAN: the latents with the
top 20% of the scores against those with the bottom 20%. With --labels, a
CSV of (seed, latent file or photo, label 0/1) rows; photos are projected
first.

--orthogonal-to removes other attributes' directions from the result, so
that editing along it keeps them (InterFaceGAN's conditional edit).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if attr == "" {
				return usagef("--attribute NAME is required")
			}
			if (labelsCSV == "") == (clfPath == "") {
				return usagef("give one of --labels CSV or --judge CLASSIFIER")
			}
			if out == "" {
				return usagef("--out DIR.json is required")
			}
			if samples < 10 || samples > 1_000_000 {
				return usagef("--samples must be between 10 and 1000000")
			}
			var others []*latent.Direction
			for _, p := range orth {
				d, err := latent.ReadDirection(p)
				if err != nil {
					return err
				}
				others = append(others, d)
			}
			g, err := latLoadModel(&model)
			if err != nil {
				return err
			}
			cfg := g.Cfg
			k, err := latClassFlag(cfg, class)
			if err != nil {
				return err
			}
			var z []float32
			var y []bool
			var probs []float64
			labeller := clfPath
			if clfPath != "" {
				if _, err := os.Stat(clfPath); err != nil {
					return usagef("--judge %s: no such classifier (make one with: forger attribute train --data cartoon-faces --attribute %s --size %d --out %s)", clfPath, attr, cfg.Size, clfPath)
				}
				clf, err := latent.LoadClassifier(clfPath, positive)
				if err != nil {
					return err
				}
				bar := newBar(samples, "labelling", true)
				z, _, probs = latent.SampleLabelled(g, clf, samples, seed, k, func(done int) { bar.Set(done) })
				bar.Finish()
			} else {
				labeller = labelsCSV
				specs, labels, err := latReadLabels(labelsCSV)
				if err != nil {
					return err
				}
				codes, err := latResolveCodes(g, model, specs, k, &pf)
				if err != nil {
					return err
				}
				for i, c := range codes {
					z = append(z, c.Z...)
					y = append(y, labels[i])
				}
			}
			var d *latent.Direction
			if probs != nil {
				// Too few of one label: the classifier's scores decide.
				d, err = latent.FitDirectionScores(z, probs, lambda)
				if errors.Is(err, latent.ErrScoresFlat) {
					return fmt.Errorf("%s gives all %d samples the same score for %s: check --judge and --positive, or train the model longer", clfPath, samples, attr)
				}
			} else {
				d, err = latent.FitDirection(z, y, lambda)
				if d != nil {
					d.Method = latent.MethodLabels
				}
			}
			if err != nil {
				return err
			}
			d.Attribute, d.Model, d.Labeller = attr, model, labeller
			if len(others) > 0 {
				if err := d.Orthogonalize(others...); err != nil {
					return err
				}
			}
			if len(d.Direction) != cfg.NZ {
				return fmt.Errorf("the direction has %d values, the model's z %d", len(d.Direction), cfg.NZ)
			}
			if err := d.Write(out); err != nil {
				return err
			}
			if asJSON {
				return latPrintJSON(cmd, map[string]any{"direction": out, "attribute": attr, "accuracy": d.Accuracy,
					"train_accuracy": d.TrainAccuracy, "samples": d.Samples, "positives": d.Positives, "bias": d.Bias,
					"method": d.Method, "score_fraction": d.ScoreFraction})
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: held-out accuracy %.1f%% (train %.1f%%), %d of %d samples have it\n",
				attr, 100*d.Accuracy, 100*d.TrainAccuracy, d.Positives, d.Samples)
			if d.Method == latent.MethodScores {
				fmt.Fprintf(cmd.OutOrStdout(), "too few samples on one side of 0.5: learnt from the classifier's scores, the top %.0f%% against the bottom %.0f%% (accuracy is of telling those apart)\n",
					100*d.ScoreFraction, 100*d.ScoreFraction)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "direction: %s\n", out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "checkpoint (.safetensors), run folder, or a name from forger models list")
	f.StringVar(&attr, "attribute", "", "name of the attribute")
	f.StringVar(&labelsCSV, "labels", "", "CSV of (seed, latent file or photo, 0/1) rows")
	f.StringVar(&clfPath, "judge", "", "classifier that labels generated images (forger attribute train, or a judge)")
	f.StringVar(&positive, "positive", "", "--judge: the class that means the attribute (default: the attribute classifier's, or the last class)")
	f.IntVar(&samples, "samples", 2000, "--judge: latents to sample and label")
	f.Int64Var(&seed, "seed", 0, "--judge: first seed")
	f.StringVar(&class, "class", "", "class of conditional models (default: cycle through them)")
	f.StringSliceVar(&orth, "orthogonal-to", nil, "direction files to project out of the result")
	f.Float64Var(&lambda, "lambda", 1, "L2 penalty of the logistic regression")
	f.StringVar(&out, "out", "", "direction file to write (.json)")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	pf.register(cmd, "project-")
	return cmd
}

// latParseWhere parses "male=1,hat=0".
func latParseWhere(spec string) (map[string]bool, error) {
	if spec == "" {
		return nil, nil
	}
	out := map[string]bool{}
	for _, part := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || (v != "0" && v != "1") || k == "" {
			return nil, usagef("--where %q: want NAME=0|1[,NAME=0|1…]", spec)
		}
		out[k] = v == "1"
	}
	return out, nil
}

func directionCheckCmd() *cobra.Command {
	var (
		model, dirPath, clfDir, clfPath, where, out, class string
		preserve                                           []string
		n, maxTries                                        int
		strength                                           float64
		seed                                               int64
		asJSON                                             bool
	)
	cmd := &cobra.Command{
		Use:   "check --model CKPT --direction DIR.json --classifier-dir DIR [--strength 3] [-n 200]",
		Short: "Measure an edit: how often it adds the attribute, how often it keeps the others",
		Long: `Measure an edit along a direction: find -n generated faces (seeds from
--seed on) that the attribute's classifier says lack it (and match --where),
move each by --strength along the direction, and report the success rate
(the classifier now says they have it) and, for every other classifier, how
many keep their label. passed is success ≥ 80% and every other attribute
kept for ≥ 90%.

--classifier-dir holds NAME.safetensors for each attribute (forger attribute
train); the direction's attribute is the target, --preserve picks the others
(default: all the others there).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if dirPath == "" {
				return usagef("--direction DIR.json is required")
			}
			if clfDir == "" && clfPath == "" {
				return usagef("give --classifier-dir DIR (NAME.safetensors per attribute) or --classifier CLF")
			}
			if n < 1 || n > 100000 {
				return usagef("-n must be between 1 and 100000")
			}
			wh, err := latParseWhere(where)
			if err != nil {
				return err
			}
			d, err := latent.ReadDirection(dirPath)
			if err != nil {
				return err
			}
			g, err := latLoadModel(&model)
			if err != nil {
				return err
			}
			if len(d.Direction) != g.Cfg.NZ {
				return usagef("the direction has %d values, the model's z has %d: was it learned for another model?", len(d.Direction), g.Cfg.NZ)
			}
			k, err := latClassFlag(g.Cfg, class)
			if err != nil {
				return err
			}
			clfs, err := latent.FindClassifiers(clfDir, clfPath, d.Attribute, preserve, wh)
			if errors.Is(err, latent.ErrNoClassifierDir) {
				return usagef("--preserve and --where need --classifier-dir")
			}
			if err != nil {
				return err
			}
			target, others, names := clfs.Target, clfs.Others, clfs.Names
			bar := newBar(n, "finding faces", true)
			res, err := latent.Check(g, d.Unit(), target, others, latent.CheckOptions{N: n, Strength: strength, Seed: seed, Class: k,
				Where: wh, MaxTries: maxTries, Progress: func(found, tried int) { bar.Set(found) }})
			bar.Finish()
			if err != nil {
				return err
			}
			if out != "" {
				cfg := g.Cfg
				m := min(res.N, 16)
				per := cfg.Size * cfg.Size * cfg.Channels
				tiles := append(latPictures(cfg, res.Before[:m*per], 64), latPictures(cfg, res.After[:m*per], 64)...)
				if err := picture.WritePNG(out, picture.Grid(tiles, m, 2, color.White)); err != nil {
					return err
				}
			}
			if asJSON {
				return latPrintJSON(cmd, res)
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "%s at strength %g on %d faces without it (%d tried): success %.1f%% (bar %.0f%%)\n",
				res.Attribute, res.Strength, res.N, res.Tried, 100*res.SuccessRate, 100*latent.SuccessBar)
			for _, name := range names {
				fmt.Fprintf(w, "  %-10s kept %.1f%% (bar %.0f%%)\n", name, 100*res.Preserved[name], 100*latent.PreserveBar)
			}
			fmt.Fprintln(w, map[bool]string{true: "passed", false: "not passed"}[res.Passed])
			if out != "" {
				fmt.Fprintln(w, "before/after:", out)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "checkpoint (.safetensors), run folder, or a name from forger models list")
	f.StringVar(&dirPath, "direction", "", "direction file (forger direction learn)")
	f.StringVar(&clfDir, "classifier-dir", "", "folder of NAME.safetensors attribute classifiers")
	f.StringVar(&clfPath, "classifier", "", "the target attribute's classifier (default: --classifier-dir/ATTRIBUTE.safetensors)")
	f.StringSliceVar(&preserve, "preserve", nil, "attributes that must keep their labels (default: every other classifier in --classifier-dir)")
	f.StringVar(&where, "where", "", "only faces with these labels, e.g. male=1")
	f.Float64Var(&strength, "strength", 3, "edit strength s in z + s·d")
	f.IntVarP(&n, "n", "n", 200, "faces to edit")
	f.IntVar(&maxTries, "max-tries", 0, "latents to try at most (default 50·n)")
	f.Int64Var(&seed, "seed", 1_000_000, "first seed (the default is apart from direction learn's)")
	f.StringVar(&class, "class", "", "class of conditional models (default: cycle through them)")
	f.StringVar(&out, "out", "", "also write a before/after grid of the first 16 faces (.png)")
	f.BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

func editCmd() *cobra.Command {
	var (
		model, latentPath, dirPath, strengths, out, class string
		seed                                              int64
		fps                                               int
		asJSON                                            bool
	)
	cmd := &cobra.Command{
		Use:   "edit --model CKPT (--latent FILE | --seed S) --direction DIR.json [--strengths -3:3:7] --out FILE.png|FILE.gif",
		Short: "Move a face along an attribute direction: a strip of images, or an animation",
		Long: `Move a latent along a direction (forger direction learn): z + s·d for each
strength s of START:END:COUNT (default -3:3:7). --out FILE.png writes the
images side by side; FILE.gif (or .mp4) animates them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			haveSeed := cmd.Flags().Changed("seed")
			if (latentPath == "") == !haveSeed {
				return usagef("give one of --latent FILE or --seed S")
			}
			if dirPath == "" {
				return usagef("--direction DIR.json is required")
			}
			if out == "" {
				return usagef("--out FILE.png|FILE.gif is required")
			}
			ext := strings.ToLower(filepath.Ext(out))
			if ext != ".png" && ext != ".gif" && ext != ".mp4" {
				return usagef("--out %s: want a .png strip or a .gif/.mp4 animation", out)
			}
			if fps < 1 || fps > 100 {
				return usagef("--fps must be between 1 and 100")
			}
			ss, err := latent.ParseStrengths(strengths)
			if err != nil {
				return usageError{err}
			}
			d, err := latent.ReadDirection(dirPath)
			if err != nil {
				return err
			}
			g, err := latLoadModel(&model)
			if err != nil {
				return err
			}
			cfg := g.Cfg
			k, err := latClassFlag(cfg, class)
			if err != nil {
				return err
			}
			var code latent.Code
			if haveSeed {
				code = latent.FromSeed(cfg, seed, max(k, 0))
			} else {
				lf, err := latent.ReadFile(latentPath)
				if err != nil {
					return err
				}
				if code, err = lf.CodeOf(cfg, k); err != nil {
					return usagef("%s: %v", latentPath, err)
				}
			}
			if len(d.Direction) != cfg.NZ {
				return usagef("the direction has %d values, the model's z has %d: was it learned for another model?", len(d.Direction), cfg.NZ)
			}
			edits := latent.Edit(code, d.Unit(), ss)
			tiles := latPictures(cfg, latRenderAll(g, edits), 64)
			written := out
			if ext == ".png" {
				err = picture.WritePNG(out, picture.Grid(tiles, len(tiles), 2, color.White))
			} else {
				written, err = latWriteAnimation(out, tiles, fps)
			}
			if err != nil {
				return err
			}
			if asJSON {
				return latPrintJSON(cmd, map[string]any{"out": written, "strengths": ss, "attribute": d.Attribute})
			}
			fmt.Fprintln(cmd.OutOrStdout(), written)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "checkpoint (.safetensors), run folder, or a name from forger models list")
	f.StringVar(&latentPath, "latent", "", "latent file to edit")
	f.Int64Var(&seed, "seed", 0, "seed to edit")
	f.StringVar(&class, "class", "", "class name or index (conditional models)")
	f.StringVar(&dirPath, "direction", "", "direction file (forger direction learn)")
	f.StringVar(&strengths, "strengths", "-3:3:7", "strengths START:END:COUNT, or one number")
	f.IntVar(&fps, "fps", 4, "frames per second of an animation")
	f.StringVar(&out, "out", "", "FILE.png (a strip) or FILE.gif/.mp4 (an animation)")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

// latModelClass loads the generator of a checkpoint and resolves --class for
// it (-1 when the flag is empty), the first step of most latent commands.
func latModelClass(model *string, class string) (*gan.Generator, int, error) {
	g, err := latLoadModel(model)
	if err != nil {
		return nil, 0, err
	}
	k, err := latClassFlag(g.Cfg, class)
	if err != nil {
		return nil, 0, err
	}
	return g, k, nil
}
