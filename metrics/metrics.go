// Package metrics is forger eval: a generator's images, or a folder of
// images made by any tool, scored by a judge against the real images the
// judge was trained on (judge.Evaluate), with the perceptual path length
// (ppl) and the memorisation check (judge.Nearest) when asked for.
//
// It only orders the steps and checks that the judge, the data and the
// generator belong together; the measurements are judge's and ppl's.
package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"forger/dataset"
	"forger/gan"
	"forger/internal/opterr"
	"forger/judge"
	"forger/picture"
	"forger/ppl"
	"forger/tensor"
)

// OptionError is an Options field with a value that does not fit the judge,
// the data or the generator.
type OptionError = opterr.Error

// ErrNotJudgesData is wrapped by the error of a Data that is not the data
// set the judge was trained on, and of a data set whose classes are not
// the judge's.
var ErrNotJudgesData = errors.New("not the judge's data")

// Options says what Run scores, with what. The zero value of each optional
// field means its default.
type Options struct {
	Judge *judge.Judge
	// AttrJudge, a face judge of the same data and size, reads the
	// attributes (attr_gen, attr_real, attr_gap) instead of Judge: one
	// trained with judge.TrainOptions.Blur reads a soft face's smile as it
	// reads a sharp one's, while Judge's features keep telling them apart.
	AttrJudge *judge.Judge
	// Model is the generator to score (image i from seed i, class i mod
	// the classes), or nil to score the images in Images.
	Model  gan.GeneratorNet
	Images string
	// Data is the real data set ("" for the judge's; another spelling of
	// the judge's folder is the same data, dataset.Same).
	Data string
	// N is the number of images on each side (default judge.DefaultN).
	// Without NGiven, a larger N than the data holds out is lowered to what
	// it does, and Log says so; with it, that is an error.
	N      int
	NGiven bool
	// PPL also measures Model's perceptual path length over PPLPairs latent
	// pairs (default ppl.DefaultPairs) in the judge's features.
	PPL      bool
	PPLPairs int
	// Nearest, a folder or data set of training images, also measures
	// memorisation and writes the sheet of each sample beside its nearest
	// training image to NearestOut (default "nearest.png").
	Nearest    string
	NearestOut string
	// D, the model's discriminator (optional), is also asked with Nearest
	// how sure it is of the training images and of held-out real ones
	// (Result.DSignTrain, DSignHeldOut): a D that has memorised its
	// training images calls them real and new ones of the same kind fake,
	// which is what augmentation is for.
	D gan.DiscriminatorNet
	// Log receives notices (the n chosen, the sheet written, skipped
	// files); nil discards them.
	Log io.Writer
}

// Result is what forger eval prints: the judge's report, and the path
// length when measured (nil otherwise).
type Result struct {
	*judge.Report
	*ppl.Result
	// AttrJudgeBlur is the training blur of the judge that read the
	// attributes, when it was Options.AttrJudge (nil otherwise).
	AttrJudgeBlur *float64 `json:"attr_judge_blur,omitempty"`
	// DSignTrain and DSignHeldOut are E[sign(D(x))] over the training
	// images and over as many held-out real images (Options.D with
	// Nearest; nil otherwise): r_t, and the same for images D never saw.
	DSignTrain   *float64 `json:"d_sign_train,omitempty"`
	DSignHeldOut *float64 `json:"d_sign_heldout,omitempty"`
}

// Progress follows Run: Start with the total steps (images generated,
// judged and pairs measured), then Stage at each stage and Add as steps
// are done.
type Progress interface {
	Start(total int)
	Stage(name string)
	Add(delta int)
}

// Run scores o.Model (or o.Images) with o.Judge. The judge, data and
// generator must belong together: an *OptionError names the option that
// does not (Data, Model, N, PPL or Nearest).
func Run(ctx context.Context, o Options, p Progress) (Result, error) {
	j := o.Judge
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.N == 0 {
		o.N = judge.DefaultN
	}
	if o.NearestOut == "" {
		o.NearestOut = "nearest.png"
	}
	if o.PPLPairs == 0 {
		o.PPLPairs = ppl.DefaultPairs
	}
	if o.Data == "" {
		o.Data = j.Cfg.Data
	} else if !dataset.Same(o.Data, j.Cfg.Data) {
		return Result{}, &OptionError{Pkg: "metrics", Option: "Data", Value: o.Data, Reason: fmt.Sprintf("is not the data the judge was trained on (%s): use a judge of %s", j.Cfg.Data, o.Data), Err: ErrNotJudgesData}
	}
	if o.Model != nil {
		cfg := o.Model.ModelConfig()
		if cfg.Conditional() && !slices.Equal(cfg.Classes, j.Cfg.Classes) {
			return Result{}, &OptionError{Pkg: "metrics", Option: "Model", Reason: fmt.Sprintf("its classes (%s) are not the judge's (%s)", strings.Join(cfg.Classes, ", "), strings.Join(j.Cfg.Classes, ", ")), Colon: true}
		}
		if o.PPL && cfg.Size != j.Cfg.Size {
			return Result{}, &OptionError{Pkg: "metrics", Option: "PPL", Reason: fmt.Sprintf("the model makes %d×%d images and the judge reads %d×%d: the path length needs a judge of the model's size", cfg.Size, cfg.Size, j.Cfg.Size, j.Cfg.Size), Colon: true}
		}
	} else if o.PPL {
		return Result{}, &OptionError{Pkg: "metrics", Option: "PPL", Reason: "needs a generator: the path length is measured along its latent paths", Colon: true}
	}
	if a := o.AttrJudge; a != nil {
		switch {
		case len(a.Cfg.Attributes) == 0:
			return Result{}, &OptionError{Pkg: "metrics", Option: "AttrJudge", Reason: "is not a face judge: it reads no attributes", Colon: true}
		case !dataset.Same(a.Cfg.Data, j.Cfg.Data):
			return Result{}, &OptionError{Pkg: "metrics", Option: "AttrJudge", Reason: fmt.Sprintf("was trained on %s, the judge on %s", a.Cfg.Data, j.Cfg.Data), Colon: true, Err: ErrNotJudgesData}
		case a.Cfg.Size != j.Cfg.Size || a.Cfg.Channels != j.Cfg.Channels:
			return Result{}, &OptionError{Pkg: "metrics", Option: "AttrJudge", Reason: fmt.Sprintf("reads %d×%d×%d images, the judge %d×%d×%d", a.Cfg.Size, a.Cfg.Size, a.Cfg.Channels, j.Cfg.Size, j.Cfg.Size, j.Cfg.Channels), Colon: true}
		}
	}
	splits, err := judge.LoadSplits(o.Data, j.Cfg.Size, j.Cfg.Channels, o.Log)
	if err != nil {
		return Result{}, err
	}
	if !slices.Equal(splits.Classes, j.Cfg.Classes) {
		return Result{}, &OptionError{Pkg: "metrics", Option: "Data", Value: o.Data, Reason: "has other classes than the judge's: was it trained on another version of the data?", Err: ErrNotJudgesData}
	}
	if m := min(splits.Test.Len(), splits.HeldOut.Len()); o.N > m {
		if o.NGiven {
			return Result{}, &OptionError{Pkg: "metrics", Option: "N", Value: o.N, Reason: fmt.Sprintf("is more than %s holds out: %d test and %d held-out images, so %d or less", o.Data, splits.Test.Len(), splits.HeldOut.Len(), m)}
		}
		// The default is what the data has (a face judge of 20,000 faces
		// holds 5,000 out): say so, as fd depends on n.
		o.N = m
		fmt.Fprintf(o.Log, "eval: n = %d, the real images %s holds out (fd depends on n: compare at equal n)\n", o.N, o.Data)
	}
	var fake judge.Fake
	if o.Model == nil {
		if fake, err = judge.LoadFolder(o.Images, j, o.N, o.Log); err != nil {
			return Result{}, err
		}
		if fake.Skipped > 0 {
			fmt.Fprintf(o.Log, "warning: skipped %d files that could not be decoded (first: %s)\n", fake.Skipped, fake.SkipExamples[0])
		}
	}
	total := 5 * o.N // judge.Evaluate's images
	if o.Model != nil {
		total += o.N
	}
	if o.PPL {
		total += o.PPLPairs
	}
	if o.AttrJudge != nil {
		total += 2 * o.N
	}
	p.Start(total)
	if o.Model != nil {
		p.Stage("generating")
		if fake, err = judge.Generate(ctx, o.Model, j, o.N, p.Add); err != nil {
			return Result{}, err
		}
	}
	p.Stage("judging")
	var res Result
	if res.Report, err = judge.Evaluate(ctx, j, splits, fake, p.Add); err != nil {
		return Result{}, err
	}
	if o.AttrJudge != nil {
		p.Stage("attributes")
		if err := o.AttrJudge.Attributes(ctx, splits, fake, res.Report, p.Add); err != nil {
			return Result{}, err
		}
		blur := o.AttrJudge.Cfg.Blur
		res.AttrJudgeBlur = &blur
	}
	if o.PPL {
		p.Stage("path length")
		space := "the judge's features"
		if len(j.Cfg.Attributes) > 0 {
			space = "the face judge's features"
		}
		r, err := ppl.Measure(ctx, o.Model, ppl.NewJudgeSpace(j, space), ppl.Options{Pairs: o.PPLPairs}, p.Add)
		if err != nil {
			return Result{}, err
		}
		res.Result = &r
	}
	if o.Nearest != "" {
		if err := nearest(ctx, o, splits, fake, &res); err != nil {
			return Result{}, err
		}
	}
	return res, nil
}

// nearest adds memorisation to rep and writes the sheet of samples beside
// their nearest training images.
func nearest(ctx context.Context, o Options, splits *judge.Splits, fake judge.Fake, res *Result) error {
	rep := res.Report
	j := o.Judge
	train, err := dataset.Open(o.Nearest, dataset.Options{Size: j.Cfg.Size, Channels: j.Cfg.Channels, Progress: o.Log})
	if err != nil {
		return &OptionError{Pkg: "metrics", Option: "Nearest", Value: o.Nearest, Reason: err.Error(), Colon: true, Err: err}
	}
	held := judge.First(splits.HeldOut, o.N).Images
	m, err := judge.Nearest(ctx, j, fake.Images, train.Images, held)
	if err != nil {
		return err
	}
	if err := rep.AddMemorisation(m); err != nil {
		return err
	}
	if err := picture.WritePNG(o.NearestOut, judge.NearestSheet(j, rep.Memorisation, fake.Images, train.Images, 32)); err != nil {
		return err
	}
	fmt.Fprintf(o.Log, "nearest training images: %s (each sample, then its nearest image of %s)\n", o.NearestOut, o.Nearest)
	if o.D == nil {
		return nil
	}
	return dSigns(ctx, o, train, splits, res)
}

// dSigns sets res.DSignTrain and DSignHeldOut: o.D's mean sign over the
// training images and over as many held-out real images. A discriminator
// of another size than the judge's, or a conditional one (held-out images
// would need their classes), is left out, and Log says so.
func dSigns(ctx context.Context, o Options, train *dataset.Set, splits *judge.Splits, res *Result) error {
	cfg, held := o.D.ModelConfig(), splits.HeldOut
	if cfg.Conditional() || cfg.Size != held.Size || cfg.Channels != held.Channels {
		fmt.Fprintf(o.Log, "eval: no d_sign: the discriminator (%d×%d×%d, %d classes) does not read the judge's %d×%d×%d images without classes\n",
			cfg.Size, cfg.Size, cfg.Channels, len(cfg.Classes), held.Size, held.Size, held.Channels)
		return nil
	}
	if held.Len() == 0 {
		fmt.Fprintf(o.Log, "eval: no d_sign: the judge's data has no held-out images\n")
		return nil
	}
	st, err := meanSign(ctx, o.D, train.Images, train.Len())
	if err != nil {
		return err
	}
	sh, err := meanSign(ctx, o.D, held.Images, min(train.Len(), held.Len()))
	if err != nil {
		return err
	}
	res.DSignTrain, res.DSignHeldOut = &st, &sh
	return nil
}

// dBatch is the batch meanSign feeds D: a minibatch-stddev layer sees
// batches of the size it was trained on (8, 64×64's default).
const dBatch = 8

// meanSign returns E[sign(D(x))] over the first n images of imgs, in
// batches of dBatch (the remainder, fewer than dBatch, is left out when n
// allows a whole batch); 0 for no images.
func meanSign(ctx context.Context, d gan.DiscriminatorNet, imgs []float32, n int) (float64, error) {
	if n < 1 {
		return 0, nil
	}
	cfg := d.ModelConfig()
	sz := cfg.Size * cfg.Size * cfg.Channels
	b := min(dBatch, n)
	var sum float64
	used := 0
	for i := 0; i+b <= n; i += b {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		x := tensor.FromData(imgs[i*sz:(i+b)*sz], b, cfg.Size, cfg.Size, cfg.Channels)
		sum += gan.MeanSign(d.Forward(x, nil)) * float64(b)
		used += b
	}
	return sum / float64(max(used, 1)), nil
}
