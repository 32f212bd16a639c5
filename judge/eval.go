package judge

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"golang.org/x/image/draw"

	"forger/dataset"
	"forger/gan"
	"forger/picture"
	"forger/tensor"
)

// DefaultN is the number of images eval scores on each side. The Fréchet
// distance is biased upwards by a term that shrinks with the sample count,
// so numbers are only comparable at the same n: always report it.
const DefaultN = 10000

// Noise levels of the calibration points fd_noise_0.05 and fd_noise_0.1:
// the standard deviation of Gaussian noise added to real test images with
// pixels in [0, 1] (then clipped).
var NoiseLevels = []float64{0.05, 0.1}

// Fake is the set of images to score.
type Fake struct {
	Images []float32 // n images at the judge's size and channels, in [-1, 1]
	Labels []int32   // the class each image was asked for; nil if unknown
	// Skipped is the number of files of an image folder that could not be
	// decoded, and SkipExamples the first few, as "path: reason".
	Skipped      int
	SkipExamples []string
}

// Len is the number of images.
func (f Fake) Len(j *Judge) int { return len(f.Images) / j.ImageSize() }

// Report is what eval measures. Its JSON names are forger's contract with
// scripts: do not rename them.
type Report struct {
	FD                    float64            `json:"fd"`
	FDReal                float64            `json:"fd_real"`
	FDNoise005            float64            `json:"fd_noise_0.05"`
	FDNoise01             float64            `json:"fd_noise_0.1"`
	ClassAccuracy         *float64           `json:"class_accuracy"`           // null unless the images have classes
	ClassAccuracyPerClass map[string]float64 `json:"class_accuracy_per_class"` // class name → accuracy; null likewise
	Precision             float64            `json:"precision"`
	Recall                float64            `json:"recall"`
	JudgeTestAccuracy     float64            `json:"judge_test_accuracy"`
	N                     int                `json:"n"`
	// Sharpness is the generated images' Sharpness over the real test
	// images': below 1 they are softer than real ones, above 1 noisier or
	// harder-edged.
	Sharpness float64 `json:"sharpness"`

	// AttrGen and AttrReal are, for a face judge, the share of generated
	// and of real test images that the judge says show each attribute
	// (and dark_skin, from the predicted skin tone); AttrGap is the
	// largest absolute difference between them. Null for other judges.
	AttrGen  map[string]float64 `json:"attr_gen,omitempty"`
	AttrReal map[string]float64 `json:"attr_real,omitempty"`
	AttrGap  *float64           `json:"attr_gap,omitempty"`

	// Memorisation is set by eval --nearest (see Nearest and
	// AddMemorisation).
	*Memorisation

	classes []string  // for the table, in class order
	testFit *Gaussian // the test images' features, for Memorisation.FDTrain
}

// AddMemorisation sets r's memorisation to m, with m's FDTrain: the fd that
// the training images themselves score against r's test images.
func (r *Report) AddMemorisation(m *Memorisation) error {
	r.Memorisation = m
	if m.trainFit == nil || r.testFit == nil {
		return nil
	}
	fd, err := FrechetDistance(*m.trainFit, *r.testFit)
	if err != nil {
		return err
	}
	m.FDTrain = &fd
	return nil
}

// Evaluate scores fake (n images) against the first n test images of s,
// with the judge j. progress, if not nil, is called with the number of
// images passed through the judge since its last call (5n in all). Too few
// or too many images for s is an *OptionError for "N". It stops with ctx's
// error within a batch of EvalBatch images once ctx is done.
func Evaluate(ctx context.Context, j *Judge, s *Splits, fake Fake, progress func(delta int)) (*Report, error) {
	sz := j.ImageSize()
	n := len(fake.Images) / sz
	if n*sz != len(fake.Images) || n == 0 {
		return nil, errors.New("judge: no images to evaluate")
	}
	if n <= NeighbourK {
		return nil, &OptionError{Pkg: "judge", Option: "N", Value: n, Reason: fmt.Sprintf("is too few images: precision and recall need more than %d", NeighbourK)}
	}
	if s.Test.Len() < n || s.HeldOut.Len() < n {
		return nil, &OptionError{Pkg: "judge", Option: "N", Value: n, Reason: fmt.Sprintf("is too many images: %s has %d test and %d held-out images (use %d or less)", s.Name, s.Test.Len(), s.HeldOut.Len(), min(s.Test.Len(), s.HeldOut.Len()))}
	}
	if s.Test.Size != j.Cfg.Size || s.Test.Channels != j.Cfg.Channels {
		return nil, fmt.Errorf("the real images are %d×%d×%d, the judge reads %d×%d×%d", s.Test.Size, s.Test.Size, s.Test.Channels, j.Cfg.Size, j.Cfg.Size, j.Cfg.Channels)
	}
	if fake.Labels != nil && len(fake.Labels) != n {
		return nil, fmt.Errorf("judge: %d labels for %d images", len(fake.Labels), n)
	}
	test, held := First(s.Test, n), First(s.HeldOut, n)
	predict := func(images []float32) (Prediction, error) {
		last := 0
		return j.Predict(ctx, images, func(done int) {
			if progress != nil {
				progress(done - last)
			}
			last = done
		})
	}
	r := &Report{N: n, classes: j.Cfg.Classes}
	testPred, err := predict(test.Images)
	if err != nil {
		return nil, err
	}
	testFeats := testPred.Feats
	r.JudgeTestAccuracy = Accuracy(testPred.Class, test.Labels)
	testFit, err := Fit(testFeats, FeatureDim)
	if err != nil {
		return nil, err
	}
	r.testFit = &testFit
	fdTo := func(images []float32) (float64, error) {
		p, err := predict(images)
		if err != nil {
			return 0, err
		}
		g, err := Fit(p.Feats, FeatureDim)
		if err != nil {
			return 0, err
		}
		return FrechetDistance(g, testFit)
	}
	if r.FDReal, err = fdTo(held.Images); err != nil {
		return nil, err
	}
	for i, sigma := range NoiseLevels {
		fd, err := fdTo(AddNoise(test.Images, sigma, uint64(i)+1))
		if err != nil {
			return nil, err
		}
		if i == 0 {
			r.FDNoise005 = fd
		} else {
			r.FDNoise01 = fd
		}
	}
	fakePred, err := predict(fake.Images)
	if err != nil {
		return nil, err
	}
	fakeFeats, fakePreds := fakePred.Feats, fakePred.Class
	g, err := Fit(fakeFeats, FeatureDim)
	if err != nil {
		return nil, err
	}
	if r.FD, err = FrechetDistance(g, testFit); err != nil {
		return nil, err
	}
	if rs := Sharpness(test.Images, j.Cfg.Size, j.Cfg.Channels); rs > 0 {
		r.Sharpness = Sharpness(fake.Images, j.Cfg.Size, j.Cfg.Channels) / rs
	}
	if len(j.Cfg.Attributes) > 0 {
		r.AttrGen, r.AttrReal = j.attrRates(fakePred), j.attrRates(testPred)
		gap := attrGap(r.AttrGen, r.AttrReal)
		r.AttrGap = &gap
	}
	if fake.Labels != nil {
		acc := Accuracy(fakePreds, fake.Labels)
		r.ClassAccuracy = &acc
		r.ClassAccuracyPerClass = map[string]float64{}
		k := len(j.Cfg.Classes)
		hit, count := make([]int, k), make([]int, k)
		for i, l := range fake.Labels {
			count[l]++
			if fakePreds[i] == l {
				hit[l]++
			}
		}
		for c := range k {
			if count[c] > 0 {
				r.ClassAccuracyPerClass[j.Cfg.Classes[c]] = float64(hit[c]) / float64(count[c])
			}
		}
	}
	if r.Precision, r.Recall, err = PrecisionRecall(testFeats, fakeFeats, FeatureDim, NeighbourK); err != nil {
		return nil, err
	}
	return r, nil
}

// Attributes reads the attributes of fake (n images of j's size) and of
// the first n test images of s with the face judge j, for a report whose
// features came from another judge (metrics.Options.AttrJudge): it sets
// r's AttrGen, AttrReal and AttrGap. progress is as Evaluate's (2n images).
func (j *Judge) Attributes(ctx context.Context, s *Splits, fake Fake, r *Report, progress func(delta int)) error {
	if len(j.Cfg.Attributes) == 0 {
		return errors.New("judge: not a face judge: it reads no attributes")
	}
	sz := j.ImageSize()
	n := len(fake.Images) / sz
	if n == 0 || n*sz != len(fake.Images) {
		return fmt.Errorf("judge: %d values are not images of %d×%d×%d", len(fake.Images), j.Cfg.Size, j.Cfg.Size, j.Cfg.Channels)
	}
	if s.Test.Len() < n {
		return &OptionError{Pkg: "judge", Option: "N", Value: n, Reason: fmt.Sprintf("is too many images: %s has %d test images", s.Name, s.Test.Len())}
	}
	if s.Test.Size != j.Cfg.Size || s.Test.Channels != j.Cfg.Channels {
		return fmt.Errorf("the real images are %d×%d×%d, the judge reads %d×%d×%d", s.Test.Size, s.Test.Size, s.Test.Channels, j.Cfg.Size, j.Cfg.Size, j.Cfg.Channels)
	}
	var preds [2]Prediction
	for i, images := range [][]float32{First(s.Test, n).Images, fake.Images} {
		last := 0
		p, err := j.Predict(ctx, images, func(done int) {
			if progress != nil {
				progress(done - last)
			}
			last = done
		})
		if err != nil {
			return err
		}
		preds[i] = p
	}
	r.AttrReal, r.AttrGen = j.attrRates(preds[0]), j.attrRates(preds[1])
	gap := attrGap(r.AttrGen, r.AttrReal)
	r.AttrGap = &gap
	return nil
}

// attrGap is the largest difference between an attribute's rates.
func attrGap(gen, real map[string]float64) float64 {
	gap := 0.0
	for name, v := range gen {
		gap = max(gap, math.Abs(v-real[name]))
	}
	return gap
}

// attrRates returns the share of images with each attribute (probability
// above one half), and DarkSkin's share when the classes are skin tones.
func (j *Judge) attrRates(p Prediction) map[string]float64 {
	a := len(j.Cfg.Attributes)
	n := len(p.Class)
	rates := map[string]float64{}
	for k, name := range j.Cfg.Attributes {
		c := 0
		for i := range n {
			if p.Attr[i*a+k] > 0.5 {
				c++
			}
		}
		rates[name] = float64(c) / float64(n)
	}
	if !slices.Equal(j.Cfg.Classes, dataset.SkinBuckets) {
		return rates // classes that are not skin tones
	}
	dark := make([]bool, len(j.Cfg.Classes))
	for c, b := range j.Cfg.Classes {
		dark[c] = b != "light" // luma below 150: dataset.DarkSkin
	}
	c := 0
	for _, cl := range p.Class {
		if dark[cl] {
			c++
		}
	}
	rates[dataset.DarkSkin] = float64(c) / float64(n)
	return rates
}

// AddNoise returns a copy of images (values in [-1, 1]) with Gaussian noise
// of standard deviation sigma in [0, 1] pixel units added, clipped to the
// range. The noise is drawn from a PCG seeded with seed.
func AddNoise(images []float32, sigma float64, seed uint64) []float32 {
	rng := rand.New(rand.NewPCG(seed, 0x9015e))
	out := make([]float32, len(images))
	for i, v := range images {
		p := (float64(v)+1)/2 + sigma*rng.NormFloat64()
		p = math.Min(math.Max(p, 0), 1)
		out[i] = float32(2*p - 1)
	}
	return out
}

// Convert turns n images of size×size×channels in [-1, 1] (a generator's
// output) into the judge's form: 8-bit pixels, as if saved as PNG and read
// back (so a model scores the same whether eval generates its images or
// reads them from files), resized with Catmull-Rom to the judge's size as
// the folder loader does, and reduced to luma or replicated to RGB for the
// judge's channels.
func (j *Judge) Convert(src []float32, size, channels int) []float32 {
	per := size * size * channels
	n := len(src) / per
	jsz := j.ImageSize()
	out := make([]float32, n*jsz)
	var dst *image.RGBA
	if size != j.Cfg.Size {
		dst = image.NewRGBA(image.Rect(0, 0, j.Cfg.Size, j.Cfg.Size))
	}
	for i := 0; i < n; i++ {
		var img image.Image = picture.FromTensor(src[i*per:(i+1)*per], size, channels)
		if dst != nil {
			draw.CatmullRom.Scale(dst, dst.Bounds(), img, img.Bounds(), draw.Src, nil)
			img = dst
		}
		picture.ToFloats(img, j.Cfg.Channels, out[i*jsz:(i+1)*jsz])
	}
	return out
}

// GenerateBatch is the number of images generated at once.
const GenerateBatch = 100

// Generate makes n images with g for the judge: image i from seed i (as
// `forger generate --seed i` makes it) and, for a conditional generator,
// class i mod classes, so every class gets n/classes images. g's classes
// must be the judge's. g is any generator (dcgan, cdcgan, stylegan, a
// vae's decoder), put in inference mode. progress, if not nil, is called
// with the number of images made since its last call. It stops with ctx's
// error between batches of GenerateBatch once ctx is done.
func Generate(ctx context.Context, g gan.GeneratorNet, j *Judge, n int, progress func(delta int)) (Fake, error) {
	cfg := g.ModelConfig()
	var f Fake
	if cfg.Conditional() {
		if !slices.Equal(cfg.Classes, j.Cfg.Classes) {
			return f, fmt.Errorf("the model's classes (%s) are not the judge's (%s)", strings.Join(cfg.Classes, ", "), strings.Join(j.Cfg.Classes, ", "))
		}
		f.Labels = make([]int32, n)
		for i := range f.Labels {
			f.Labels[i] = int32(i % len(cfg.Classes))
		}
	}
	g.SetTraining(false)
	jsz := j.ImageSize()
	f.Images = make([]float32, n*jsz)
	z := tensor.New(GenerateBatch, cfg.NZ)
	for lo := 0; lo < n; lo += GenerateBatch {
		if err := ctx.Err(); err != nil {
			return Fake{}, err
		}
		hi := min(n, lo+GenerateBatch)
		zb := tensor.Ensure(z, hi-lo, cfg.NZ)
		for i := lo; i < hi; i++ {
			LatentForSeed(int64(i), zb.Data[(i-lo)*cfg.NZ:(i-lo+1)*cfg.NZ])
		}
		var labels []int32
		if f.Labels != nil {
			labels = f.Labels[lo:hi]
		}
		imgs := g.Forward(zb, labels)
		copy(f.Images[lo*jsz:hi*jsz], j.Convert(imgs.Data, cfg.Size, cfg.Channels))
		if progress != nil {
			progress(hi - lo)
		}
	}
	return f, nil
}

// LatentForSeed is gan.LatentForSeed without truncation.
func LatentForSeed(seed int64, z []float32) { gan.LatentForSeed(seed, 1, z) }

// LoadFolder reads the images to score from dir: dir/<class>/… where
// <class> is a class index of the judge (0, 1, …) or a class name, or
// images directly in dir (no classes: no class accuracy). Images are
// centre-cropped and resized to the judge's size as training data is.
// When dir holds more than n images, n of them are chosen at random with a
// fixed seed; fewer is an error (an *OptionError for "N"), because fd
// depends on the count.
func LoadFolder(dir string, j *Judge, n int, progress io.Writer) (Fake, error) {
	var f Fake
	fi, err := os.Stat(dir)
	if err != nil {
		return f, fmt.Errorf("images to score: %w", err)
	}
	if !fi.IsDir() {
		return f, fmt.Errorf("images to score: %s is not a folder (want DIR/<class index>/*.png)", dir)
	}
	set, err := dataset.Open(dir, dataset.Options{Size: j.Cfg.Size, Channels: j.Cfg.Channels, Progress: progress})
	if err != nil {
		return f, err
	}
	f.Skipped, f.SkipExamples = set.Skipped, set.SkipExamples
	if set.Len() < n {
		return f, &OptionError{Pkg: "judge", Option: "N", Value: n, Reason: fmt.Sprintf("is more than the %d images in %s (fd depends on the count: write more images, or score %d in every eval you compare)", set.Len(), dir, set.Len())}
	}
	var classOf []int32 // folder class → judge class
	if len(set.Classes) > 0 {
		classOf = make([]int32, len(set.Classes))
		for i, name := range set.Classes {
			c, ok := judgeClass(j.Cfg.Classes, name)
			if !ok {
				return f, fmt.Errorf("%s: folder %q is not a class of the judge (use class indexes 0-%d or the names %s)", dir, name, len(j.Cfg.Classes)-1, strings.Join(j.Cfg.Classes, ", "))
			}
			classOf[i] = c
		}
	}
	idx := make([]int, set.Len())
	for i := range idx {
		idx[i] = i
	}
	if set.Len() > n {
		idx = rand.New(rand.NewPCG(0xf01de5, 1)).Perm(set.Len())[:n]
		slices.Sort(idx)
	}
	f.Images = make([]float32, n*set.ImageSize())
	labels := make([]int32, n)
	set.Batch(idx, f.Images, labels)
	if classOf != nil {
		for i, l := range labels {
			labels[i] = classOf[l]
		}
		f.Labels = labels
	}
	return f, nil
}

// judgeClass maps a folder name to a class: an index, or a name (case
// folded; "/" may be written "-" or "_", as in file names).
func judgeClass(classes []string, name string) (int32, bool) {
	if i, err := strconv.Atoi(name); err == nil {
		if i >= 0 && i < len(classes) {
			return int32(i), true
		}
		return 0, false
	}
	norm := func(s string) string {
		return strings.NewReplacer("/", "-", "_", "-", " ", "-").Replace(strings.ToLower(s))
	}
	for i, c := range classes {
		if norm(c) == norm(name) {
			return int32(i), true
		}
	}
	return 0, false
}

// WriteTable writes the report as a table: metric, value, and what it
// means.
func (r *Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	pct := func(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) }
	row := func(metric, value, what string) { fmt.Fprintf(tw, "%s\t%s\t%s\n", metric, value, what) }
	row("METRIC", "VALUE", "MEANING")
	row("fd", fmt.Sprintf("%.2f", r.FD), "Fréchet distance of the judge's features, generated vs real test images (lower is better)")
	row("fd_real", fmt.Sprintf("%.2f", r.FDReal), "the same for held-out real images: the floor")
	row("fd_noise_0.05", fmt.Sprintf("%.2f", r.FDNoise005), "real test images with pixel noise σ=0.05: a calibration point")
	row("fd_noise_0.1", fmt.Sprintf("%.2f", r.FDNoise01), "real test images with pixel noise σ=0.1: a calibration point")
	if r.ClassAccuracy != nil {
		row("class_accuracy", pct(*r.ClassAccuracy), "the judge recognises the class the generator was asked for")
		for _, c := range r.classes {
			if v, ok := r.ClassAccuracyPerClass[c]; ok {
				row("  "+c, pct(v), "")
			}
		}
	} else {
		row("class_accuracy", "-", "no classes asked for (unconditional model or unlabelled images)")
	}
	if r.AttrGap != nil {
		names := make([]string, 0, len(r.AttrGen))
		for name := range r.AttrGen {
			names = append(names, name)
		}
		slices.Sort(names)
		row("attr_gap", fmt.Sprintf("%.3f", *r.AttrGap), "largest difference in an attribute's rate, generated vs real (lower is better)")
		for _, name := range names {
			row("  "+name, fmt.Sprintf("%s vs %s", pct(r.AttrGen[name]), pct(r.AttrReal[name])), "generated vs real")
		}
	}
	row("sharpness", fmt.Sprintf("%.2f", r.Sharpness), "generated images' edges over real ones' at equal contrast: below 1 softer, above 1 noisier")
	row("precision", pct(r.Precision), fmt.Sprintf("generated images inside the real manifold (k=%d): quality", NeighbourK))
	row("recall", pct(r.Recall), fmt.Sprintf("real images inside the generated manifold (k=%d): variety", NeighbourK))
	if m := r.Memorisation; m != nil {
		row("memorised", pct(m.Share), fmt.Sprintf("samples closer to a training image (of %d) than it is to any other: copies (lower is better)", m.Train))
		if m.SharePeer >= 0 {
			row("memorised_real", pct(m.SharePeer), "the same for held-out real images: what new images score")
		}
		if m.FDTrain != nil {
			row("fd_train", fmt.Sprintf("%.2f", *m.FDTrain), "fd of the training images themselves: what a generator that copies them scores")
		}
	}
	row("judge_test_accuracy", pct(r.JudgeTestAccuracy), "the judge's accuracy on the real test images, for reference")
	row("n", strconv.Itoa(r.N), "images on each side (fd depends on n: compare at equal n)")
	return tw.Flush()
}
