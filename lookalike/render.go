package lookalike

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"os"
	"sort"
	"time"

	"forger/dataset"
	"forger/face"
	"forger/gan"
	"forger/internal/opterr"
	"forger/internal/priority"
	"forger/latent"
	"forger/runfolder"
	"forger/studio"
	"forger/tensor"
)

// Smile settings: the "smile" result moves the visitor's projection along
// the model's smiling direction from 0 to SmileMax in SmileFrames frames.
const (
	SmileDirection = "smiling" // runfolder.Direction(run, SmileDirection)
	SmileMax       = 3.0
	SmileFrames    = 13
)

// renderer projects faces into one face GAN and draws from it. One job
// uses it at a time (sem).
type renderer struct {
	path          string // the checkpoint (gan.Resolve'd)
	name          string // its name as forger models list shows it
	steps, frames int
	log           *slog.Logger
	sem           chan struct{}

	// Fixed at start: what Align's targets are made for.
	size, channels int
	layout         face.Layout
	layoutName     string

	// Loaded, and reloaded when the checkpoint or the encoder file changes
	// (guarded by sem).
	stamp string
	g     gan.GeneratorNet
	cfg   gan.Config
	feats latent.Features // the discriminator's; nil: pixel loss only
	enc   *latent.Encoder // nil: start from the mean (w_avg for a stylegan)
	codes map[string]latent.Code
}

func newRenderer(model string, steps, frames int, log *slog.Logger) (*renderer, error) {
	path := runfolder.Resolve(model)
	f, cfg, err := gan.Open(path)
	if err != nil {
		return nil, fmt.Errorf("face model: %w", err)
	}
	r := &renderer{path: path, name: modelNameOf(path), steps: steps, frames: frames, log: log,
		sem: make(chan struct{}, 1), size: cfg.Size, channels: cfg.Channels, layout: face.DefaultLayout, layoutName: "forger face align's layout",
		codes: map[string]latent.Code{}}
	var st struct {
		Options struct {
			Data string `json:"data"`
		} `json:"options"`
	}
	json.Unmarshal([]byte(f.Metadata[gan.MetaTrain]), &st)
	if dataset.IsCartoon(st.Options.Data) {
		r.layout, r.layoutName = face.CartoonLayout, "cartoon-faces' layout"
	}
	if err := r.load(); err != nil {
		return nil, err
	}
	return r, nil
}

// modelNameOf is a checkpoint's name as gan.FindModels gives it.
func modelNameOf(path string) string {
	name, _ := runfolder.ModelName(path)
	return name
}

func fileStamp(path string) string {
	st, err := os.Stat(path)
	if err != nil {
		return "none"
	}
	return fmt.Sprint(st.ModTime().UnixNano(), " ", st.Size())
}

// load (re)loads the generator, its discriminator's features and the
// encoder when their files have changed.
func (r *renderer) load() error {
	enc := runfolder.EncoderOf(r.path)
	stamp := fileStamp(r.path) + "|" + fileStamp(enc)
	if stamp == r.stamp && r.g != nil {
		return nil
	}
	g, err := gan.LoadGeneratorNet(r.path)
	if err != nil {
		return fmt.Errorf("face model: %w", err)
	}
	cfg := g.ModelConfig()
	if cfg.Size != r.size || cfg.Channels != r.channels {
		return fmt.Errorf("face model %s now makes %d×%d×%d images, not %d×%d×%d: restart to use it", r.path,
			cfg.Size, cfg.Size, cfg.Channels, r.size, r.size, r.channels)
	}
	r.g, r.cfg, r.feats, r.enc = g, cfg, nil, nil
	if f, err := latent.LoadFeatures(latent.FeatDisc, cfg, latent.FeatureSource{Model: r.path}); err == nil {
		r.feats = f
	} else {
		r.log.Warn("look-alike: projecting with the pixel loss only (the checkpoint's discriminator cannot be loaded)", "model", r.path, "err", err)
	}
	// Projections are in the model's default space (W+ for a stylegan),
	// from the encoder's prediction when it predicts codes of that space.
	if enc != "" {
		if _, err := os.Stat(enc); err == nil {
			e, err := latent.LoadEncoder(enc)
			if err == nil {
				err = e.CheckModel(cfg)
			}
			if err == nil && e.Cfg.Space.String() != latent.DefaultSpace(cfg).String() {
				err = fmt.Errorf("it predicts %s codes, the look-alike projects in %s", e.Cfg.Space, latent.DefaultSpace(cfg))
			}
			if err != nil {
				r.log.Warn("look-alike: projecting from the mean (the run's encoder does not fit)", "encoder", enc, "err", err)
			} else {
				r.enc = e
			}
		}
	}
	r.stamp = stamp
	clear(r.codes)
	return nil
}

// target frames the face f of src for the model: turned, scaled and
// shifted so that its eyes land where the model's training faces have
// theirs, at the model's size, as the model's input values.
func (r *renderer) target(src image.Image, f *face.Face) []float32 {
	img := face.AlignLayout(src, f.LeftEye, f.RightEye, r.size, r.layout, face.EdgeReplicate)
	return latent.ImageFloats(img, r.size, r.channels)
}

// initName says where projections start.
func (r *renderer) initName() string {
	if r.enc != nil {
		return "the run's encoder"
	}
	if latent.DefaultSpace(r.cfg).IsW() {
		return "w_avg in " + latent.DefaultSpace(r.cfg).String()
	}
	return "the mean"
}

// smile returns the model's smiling direction as the step of an edit of
// strength 1 (latent.Direction.Scaled), or nil and why there is none. A
// stylegan's must be in W, where its projections are (W+).
func (r *renderer) smile() ([]float32, string) {
	run := runfolder.Of(r.path)
	if run == "" {
		return nil, "the model is not in a run folder, so it has no learned directions"
	}
	p := runfolder.Direction(run, SmileDirection)
	if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
		return nil, "the model has no learned smiling direction"
	}
	d, err := latent.ReadDirection(p)
	if err != nil {
		r.log.Warn("look-alike: the smiling direction cannot be read", "file", p, "err", err)
		return nil, "the model's smiling direction cannot be read"
	}
	if d.CheckFor(r.cfg) != nil {
		return nil, "the model's smiling direction was learned for another model"
	}
	if latent.DefaultSpace(r.cfg).IsW() && d.Space != latent.SpaceW {
		return nil, "the stylegan's smiling direction is in z, not W (learn it in w)"
	}
	if len(d.Layers) > 0 {
		// Projections are in W+, where the direction moves its layers only.
		v, err := latent.LayerVector(r.cfg, d.Scaled(), d.Layers)
		if err != nil {
			return nil, "the model's smiling direction names layers the model does not have"
		}
		return v, ""
	}
	return d.Scaled(), ""
}

func (r *renderer) describe() string {
	smile := "yes (" + runfolder.Direction(runfolder.Of(r.path), SmileDirection) + ")"
	if _, why := r.smile(); why != "" {
		smile = "no: " + why
	}
	return fmt.Sprintf("morph with %s (%d×%d×%d, nz %d; %d projection steps from %s; faces framed in %s); smile: %s",
		r.name, r.size, r.size, r.channels, r.cfg.NZ, r.steps, r.initName(), r.layoutName, smile)
}

// project finds the codes of targets (each a framed face) with
// latent.Project in the model's default space (z, W+ for a stylegan): from
// the encoder's guess (or the mean, or w_avg), the loss of forger project
// (pixels plus the discriminator's features).
func (r *renderer) project(ctx context.Context, targets [][]float32) ([]latent.Code, error) {
	cfg := r.cfg
	per := cfg.Size * cfg.Size * cfg.Channels
	t := tensor.New(len(targets), cfg.Size, cfg.Size, cfg.Channels)
	for i, x := range targets {
		if len(x) != per {
			return nil, fmt.Errorf("lookalike: a target of %d values, the model makes %d", len(x), per)
		}
		copy(t.Data[i*per:], x)
	}
	o := latent.ProjectOptions{Steps: r.steps, LR: latent.DefaultLR, Loss: latent.LossPixel, Noise: latent.DefaultNoise}
	if r.feats != nil {
		o.Loss, o.Features = latent.LossBoth, r.feats
	}
	if r.enc != nil {
		o.LR, o.Noise = latent.DefaultEncoderLR, 0
	}
	// Each step yields to the visitors' pictures (a cancelled wait ends
	// the projection at its next step, which checks ctx).
	o.Progress = func(int, float64) { priority.Checkpoint(ctx) }
	init, err := latent.Starts(r.g, t, r.enc, nil, o)
	if err != nil {
		return nil, err
	}
	res, err := latent.Project(ctx, r.g, t, init, o)
	if err != nil {
		return nil, err
	}
	return res.Codes, nil
}

// pictureBatch is how many frames pictures renders between checkpoints.
const pictureBatch = 4

// pictures renders codes as images at least 128 pixels wide, a few at a
// time with a checkpoint between (priority.Checkpoint).
func (r *renderer) pictures(ctx context.Context, codes []latent.Code) ([]image.Image, error) {
	out := make([]image.Image, len(codes))
	for lo := 0; lo < len(codes); lo += pictureBatch {
		if err := priority.Checkpoint(ctx); err != nil {
			return nil, err
		}
		hi := min(lo+pictureBatch, len(codes))
		imgs := latent.Render(r.g, codes[lo:hi])
		for i := lo; i < hi; i++ {
			out[i] = latent.Picture(imgs.Data, i-lo, r.size, r.channels, 128)
		}
	}
	return out, nil
}

// render writes "projection", "morph" and "smile" for the visitor v and
// their best match.
func (r *renderer) render(ctx context.Context, v *visitor, best *galleryFace, bestName string, out *studio.Results) error {
	select {
	case r.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-r.sem }()
	if err := r.load(); err != nil {
		return err
	}
	if v.target == nil || best.target == nil {
		return errors.New("lookalike: no framed face to project")
	}
	t0 := time.Now()
	key := best.key + "|" + r.stamp + "|" + fmt.Sprint(r.steps)
	mcode, cached := r.codes[key]
	targets := [][]float32{v.target}
	if !cached {
		targets = append(targets, best.target) // projected alongside: one pass
	}
	codes, err := r.project(ctx, targets)
	if err != nil {
		return fmt.Errorf("projecting: %w", err)
	}
	vcode := codes[0]
	if !cached {
		if mcode = codes[1]; len(r.codes) >= 256 {
			clear(r.codes)
		}
		r.codes[key] = mcode
	}
	projected := time.Since(t0)

	projs, err := r.pictures(ctx, []latent.Code{vcode})
	if err != nil {
		return err
	}
	if err := out.PutPNG("projection", projs[0], fmt.Sprintf("%s, %d steps from %s", r.name, r.steps, r.initName()), nil); err != nil {
		return err
	}
	// Spherical in z, where codes are Gaussian; W+ is walked linearly.
	path, err := latent.Path([]latent.Code{vcode, mcode}, r.frames, !vcode.Space.IsW())
	if err != nil {
		return err
	}
	label := "you → " + bestName
	dir, why := r.smile()
	if dir == nil {
		label += " (no smile: " + why + ")"
	}
	frames, err := r.pictures(ctx, path)
	if err != nil {
		return err
	}
	if err := priority.Checkpoint(ctx); err != nil { // before the GIF's encoding
		return err
	}
	if err := out.PutGIF("morph", frames, 12, label); err != nil {
		return err
	}
	if dir != nil {
		strengths := make([]float64, SmileFrames)
		for i := range strengths {
			strengths[i] = SmileMax * float64(i) / float64(SmileFrames-1)
		}
		edits, err := r.pictures(ctx, latent.Edit(vcode, dir, strengths))
		if err != nil {
			return err
		}
		if err := priority.Checkpoint(ctx); err != nil {
			return err
		}
		if err := out.PutGIF("smile", edits, 6, fmt.Sprintf("0 → +%g along the model's smiling direction", SmileMax)); err != nil {
			return err
		}
	}
	r.log.Info("look-alike: rendered", "model", r.name, "projected", len(targets), "steps", r.steps,
		"projection_ms", projected.Milliseconds(), "total_ms", time.Since(t0).Milliseconds(), "match_cached", cached, "smile", dir != nil)
	return nil
}

// An OptionError reports an argument lookalike cannot use, by its Go name
// (ChooseModel's want is "FaceModel"); a command line turns it into its flag.
type OptionError = opterr.Error

// WhyNamed is ChooseModel's why when want named the model.
const WhyNamed = "named"

// ChooseModel picks the face GAN of the studio's look-alike jobs among the
// checkpoints under modelsDir. want, when not empty, is a model name (as
// forger models list shows it) or a checkpoint file or run folder. Else
// the choice is automatic: a 3-channel model, preferring one whose run
// has a smiling direction, then one with any directions/, then an
// unconditional one, then the most trained. It returns "" (and why) when
// there is no 3-channel model.
func ChooseModel(modelsDir, want string) (path, why string, err error) {
	var infos []gan.ModelInfo
	if modelsDir != "" {
		infos, _ = gan.FindModels(modelsDir)
	}
	if want != "" {
		for _, mi := range append(gan.Newest(infos), infos...) { // a run's name, or a checkpoint's
			if mi.Name == want {
				return mi.Path, WhyNamed, nil
			}
		}
		if _, err := os.Stat(want); err == nil {
			if _, _, err := gan.Open(want); err != nil {
				return "", "", &OptionError{Pkg: "lookalike", Option: "FaceModel", Value: want, Reason: err.Error(), Colon: true, Err: err}
			}
			return runfolder.Resolve(want), WhyNamed, nil
		}
		return "", "", &OptionError{Pkg: "lookalike", Option: "FaceModel", Value: want, Reason: fmt.Sprintf("no model of that name in %s, and no such file (forger models list %s)", modelsDir, modelsDir), Colon: true}
	}
	type scored struct {
		mi    gan.ModelInfo
		score int
	}
	var cands []scored
	for _, mi := range infos {
		if mi.Channels != 3 {
			continue
		}
		s := 0
		if run := runfolder.Of(mi.Path); run != "" {
			if _, err := os.Stat(runfolder.Direction(run, SmileDirection)); err == nil {
				s = 4
			} else if st, err := os.Stat(runfolder.Directions(run)); err == nil && st.IsDir() {
				s = 2
			}
		}
		if mi.Arch != gan.CDCGAN {
			s++
		}
		cands = append(cands, scored{mi, s})
	}
	if len(cands) == 0 {
		return "", "no 3-channel model in " + modelsDir, nil
	}
	sort.Slice(cands, func(i, j int) bool {
		a, b := cands[i], cands[j]
		if a.score != b.score {
			return a.score > b.score
		}
		if a.mi.Images != b.mi.Images {
			return a.mi.Images > b.mi.Images
		}
		return a.mi.Name < b.mi.Name
	})
	c := cands[0]
	why = "chosen automatically: 3-channel"
	if c.score&1 == 1 {
		why += ", unconditional"
	}
	switch {
	case c.score >= 4:
		why += ", its run has " + runfolder.Direction("", SmileDirection)
	case c.score >= 2:
		why += ", its run has " + runfolder.DirectionsDir + "/"
	}
	why += fmt.Sprintf(", the most trained such (%d images)", c.mi.Images)
	return c.mi.Path, why, nil
}
