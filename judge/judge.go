// Package judge is forger's own yardstick for generated images: a small CNN
// classifier trained on the real training images of a data set, whose
// penultimate features and predictions measure what a generator makes.
//
// FID measures generators with the features of an Inception network trained
// on ImageNet; that network knows nothing of 28×28 gray clothes, and loading
// it would take forger far from "one binary, on the CPU". The judge is the
// same idea on the data set itself: it is trained to tell the classes apart,
// so its features describe what distinguishes one real image from another,
// and the Fréchet distance between Gaussian fits of those features for real
// and generated images (fd) is the data set's own FID. Because the judge is
// also a classifier, it says whether a conditional generator draws the
// class it was asked for (class_accuracy). Precision and recall
// (Kynkäänniemi et al. 2019) in the same feature space separate quality
// from variety.
//
// A judge is one safetensors file: the network's tensors under "net." and
// metadata "format" = "forger-judge-1" and "forger.judge" = Config as JSON.
package judge

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"

	"forger/gan"
	"forger/internal/atomicfile"
	"forger/internal/opterr"
	"forger/nn"
	"forger/tensor"
)

// File format markers.
const (
	MetaFormat = "format"
	MetaConfig = "forger.judge"
	Format     = "forger-judge-1"
)

// Config describes a judge: the images it reads and how it was made. It is
// stored in the judge file, so its JSON names are part of the format.
type Config struct {
	Data     string   `json:"data"` // a built-in data set's name or an absolute path (dataset.Place)
	Size     int      `json:"size"`
	Channels int      `json:"channels"`
	Classes  []string `json:"classes"`
	// Attributes are yes/no properties the judge also predicts, each with
	// its own sigmoid output after the class logits (a face judge: male,
	// mustache, …). Empty for a plain classifier.
	Attributes []string `json:"attributes,omitempty"`
	Features   int      `json:"features"` // size of the penultimate layer

	TestAccuracy float64 `json:"test_accuracy"` // on the real test split
	// AttrAccuracy is the held-out accuracy of each attribute (on the test
	// split), and AttrBalanced the mean of its two per-label recalls.
	AttrAccuracy map[string]float64 `json:"attr_accuracy,omitempty"`
	AttrBalanced map[string]float64 `json:"attr_balanced,omitempty"`
	TestImages   int                `json:"test_images"`
	TrainImages  int                `json:"train_images"`
	Epochs       int                `json:"epochs"`
	Seed         uint64             `json:"seed"`
	// Blur is the largest σ, in pixels, of the blur its training images
	// were jittered with (TrainOptions.Blur; 0 = none).
	Blur    float64 `json:"blur,omitempty"`
	Seconds float64 `json:"seconds"` // training time
}

// FeatureDim is the size of the judge's feature vector.
const FeatureDim = 128

func (c Config) validate() error {
	switch c.Size {
	case 28, 32, 64, 128:
	default:
		return fmt.Errorf("image size %d is not supported (use 28, 32, 64 or 128)", c.Size)
	}
	if c.Channels != 1 && c.Channels != 3 {
		return fmt.Errorf("%d channels is not supported (use 1 or 3)", c.Channels)
	}
	if len(c.Classes) < 2 {
		return fmt.Errorf("a judge needs at least 2 classes, got %d", len(c.Classes))
	}
	seen := map[string]bool{}
	for _, a := range c.Attributes {
		if a == "" || seen[a] {
			return fmt.Errorf("attribute names must be distinct and not empty (%q)", a)
		}
		seen[a] = true
	}
	if c.Features != FeatureDim {
		return fmt.Errorf("feature size %d, want %d", c.Features, FeatureDim)
	}
	return nil
}

// Judge is the classifier: Body maps images [N, Size, Size, Channels] in
// [-1, 1] (the range of dataset.Set and of generators) to features
// [N, Features], Head maps features to class logits followed by one logit
// per attribute.
//
// The body is conv3×3 blocks (batch norm, ReLU) that bring the image down to
// 7×7 or 8×8 — at 28×28: 32 channels stride 2 (14×14), 64 stride 1, 64
// stride 2 (7×7); larger images get more stride-2 blocks of 128 — then a
// linear layer to 128 features and a ReLU. Those 128 values are the
// features fd, precision and recall use; the head is one linear layer to
// the classes. Striding from the first layer keeps the judge cheap: four
// epochs over 50,000 images reach 92% on Fashion-MNIST in about three
// minutes of CPU time, where a stride-1 first layer costs twice as much for
// the same accuracy after one epoch.
type Judge struct {
	Cfg  Config
	Body *nn.Sequential
	Head *nn.Linear

	batch *tensor.Tensor // header over the caller's images
}

// stages returns the (channels, stride) of the convolutions for a size.
func stages(size int) [][2]int {
	s := [][2]int{{32, 2}, {64, 1}, {64, 2}}
	for side := size / 4; side > 8; side /= 2 {
		s = append(s, [2]int{128, 2})
	}
	return s
}

// New returns an untrained judge for cfg (Features is set to FeatureDim).
func New(cfg Config, seed uint64) (*Judge, error) {
	cfg.Features = FeatureDim
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 0x10d9e))
	var layers []nn.Layer
	in, side := cfg.Channels, cfg.Size
	for _, st := range stages(cfg.Size) {
		ch, stride := st[0], st[1]
		layers = append(layers, nn.NewConv2d(in, ch, 3, stride, 1, false, rng), nn.NewBatchNorm(ch), nn.NewReLU())
		in = ch
		if stride == 2 {
			side = (side + 1) / 2
		}
	}
	layers = append(layers, nn.NewReshape(side*side*in), nn.NewLinear(side*side*in, FeatureDim, true, rng), nn.NewReLU())
	j := &Judge{Cfg: cfg, Body: nn.NewSequential(layers...), Head: nn.NewLinear(FeatureDim, cfg.outputs(), true, rng)}
	nn.Prefix("body", j.Body.Params())
	nn.Prefix("body", j.Body.Buffers())
	nn.Prefix("head", j.Head.Params())
	return j, nil
}

// outputs is the width of the head: the classes, then the attributes.
func (c Config) outputs() int { return len(c.Classes) + len(c.Attributes) }

// Params returns the trainable parameters.
func (j *Judge) Params() []*nn.Param { return append(j.Body.Params(), j.Head.Params()...) }

// SetTraining switches batch norm between batch and running statistics.
func (j *Judge) SetTraining(t bool) { j.Body.SetTraining(t) }

func (j *Judge) tensors() []tensor.Named {
	var out []tensor.Named
	for _, ps := range [][]*nn.Param{j.Body.Params(), j.Body.Buffers(), j.Head.Params()} {
		for _, p := range ps {
			out = append(out, tensor.Named{Name: "net." + p.Name, Tensor: p.Value})
		}
	}
	return out
}

// Save writes the judge atomically.
func (j *Judge) Save(path string) error {
	cfg, _ := json.Marshal(j.Cfg)
	meta := map[string]string{MetaFormat: Format, MetaConfig: string(cfg)}
	return atomicfile.Write(path, func(w io.Writer) error {
		return tensor.WriteSafetensors(w, j.tensors(), meta)
	})
}

// An OptionError reports an option value judge cannot use, by its Go name
// (TrainOptions.Epochs is "Epochs"); a command line turns it into its flag.
type OptionError = opterr.Error

// ErrNotJudge is wrapped by Load when a file is not a judge.
var ErrNotJudge = errors.New("not a forger judge")

// Load reads a judge file, in inference mode.
func Load(path string) (*Judge, error) {
	fh, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("judge %s does not exist: %w", path, err)
		}
		return nil, fmt.Errorf("opening judge: %w", err)
	}
	defer fh.Close()
	f, err := tensor.ReadSafetensors(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %v", path, ErrNotJudge, err)
	}
	if f.Metadata[MetaFormat] != Format {
		if _, ok := f.Metadata[gan.MetaConfig]; ok {
			return nil, fmt.Errorf("%s is a forger model checkpoint, %w (make a judge with: forger judge train)", path, ErrNotJudge)
		}
		return nil, fmt.Errorf("%s: %w (a safetensors file without format %q)", path, ErrNotJudge, Format)
	}
	var cfg Config
	if err := json.Unmarshal([]byte(f.Metadata[MetaConfig]), &cfg); err != nil {
		return nil, fmt.Errorf("%s: %w: bad config: %v", path, ErrNotJudge, err)
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w: %v", path, ErrNotJudge, err)
	}
	j, err := New(cfg, 0)
	if err != nil {
		return nil, err
	}
	j.Cfg = cfg
	for _, nt := range j.tensors() {
		src, err := f.Lookup(nt.Name, nt.Tensor.Shape...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %v", path, ErrNotJudge, err)
		}
		nt.Tensor.CopyFrom(src)
	}
	j.SetTraining(false)
	return j, nil
}

// ImageSize is the number of values in one image the judge reads.
func (j *Judge) ImageSize() int { return j.Cfg.Size * j.Cfg.Size * j.Cfg.Channels }

// forward runs the network on a batch of images (a slice of n images) and
// returns the features and the logits; both are owned by the judge.
func (j *Judge) forward(images []float32, n int) (feats, logits *tensor.Tensor) {
	c := j.Cfg
	if j.batch == nil {
		j.batch = &tensor.Tensor{}
	}
	j.batch.Data = images[:n*j.ImageSize()]
	j.batch.Shape = append(j.batch.Shape[:0], n, c.Size, c.Size, c.Channels)
	feats = j.Body.Forward(j.batch)
	return feats, j.Head.Forward(feats)
}

// EvalBatch is the number of images Run feeds the network at once.
const EvalBatch = 250

// Prediction is what the judge says of n images.
type Prediction struct {
	Feats []float32 // [n, FeatureDim], row-major
	Class []int32   // the most likely class of each image
	// Attr holds the probability of each attribute, [n, len(Attributes)]
	// row-major; nil for a judge without attributes.
	Attr []float32
}

// Predict runs the judge on n images (n·ImageSize() values in [-1, 1]) in
// inference mode. progress, if not nil, is called with the number of images
// done after each batch. It stops with ctx's error between batches once ctx
// is done.
func (j *Judge) Predict(ctx context.Context, images []float32, progress func(done int)) (Prediction, error) {
	sz := j.ImageSize()
	n := len(images) / sz
	if n*sz != len(images) {
		panic(fmt.Sprintf("judge: %d values are not a whole number of %d×%d×%d images", len(images), j.Cfg.Size, j.Cfg.Size, j.Cfg.Channels))
	}
	j.SetTraining(false)
	k, a := len(j.Cfg.Classes), len(j.Cfg.Attributes)
	p := Prediction{Feats: make([]float32, n*FeatureDim), Class: make([]int32, n)}
	if a > 0 {
		p.Attr = make([]float32, n*a)
	}
	for lo := 0; lo < n; lo += EvalBatch {
		if err := ctx.Err(); err != nil {
			return Prediction{}, err
		}
		hi := min(n, lo+EvalBatch)
		f, logits := j.forward(images[lo*sz:hi*sz], hi-lo)
		copy(p.Feats[lo*FeatureDim:hi*FeatureDim], f.Data)
		for i := 0; i < hi-lo; i++ {
			row := logits.Data[i*(k+a) : (i+1)*(k+a)]
			p.Class[lo+i] = int32(argmax(row[:k]))
			for t, v := range row[k:] {
				p.Attr[(lo+i)*a+t] = float32(sigmoid(float64(v)))
			}
		}
		if progress != nil {
			progress(hi)
		}
	}
	return p, nil
}

// Run computes the features ([n, Features], row-major) and the predicted
// class of n images, as Predict does, to the end: for short runs that need
// no cancelling.
func (j *Judge) Run(images []float32, progress func(done int)) (feats []float32, preds []int32) {
	p, _ := j.Predict(context.Background(), images, progress) // a Background context is never done
	return p.Feats, p.Class
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

func argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

// Accuracy returns the fraction of preds equal to labels.
func Accuracy(preds, labels []int32) float64 {
	if len(labels) == 0 {
		return 0
	}
	ok := 0
	for i, p := range preds {
		if p == labels[i] {
			ok++
		}
	}
	return float64(ok) / float64(len(labels))
}
