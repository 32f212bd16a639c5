package latent

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"

	"forger/dataset"
	"forger/judge"
	"forger/nn"
	"forger/tensor"
)

// An attribute classifier is a judge (package judge) with two classes,
// "no-NAME" and "NAME", trained on a cartoon-faces set labelled by the 0/1
// column NAME of its attributes.csv. Any judge can label latents, though:
// a multi-class judge with one class chosen as the positive one.

// AttributeClasses returns the class names of an attribute classifier.
func AttributeClasses(attr string) []string { return []string{"no-" + attr, attr} }

// AttributeSplits loads a labelled face set (see dataset.LabelledDir) at the
// given size and channels, labels its images 1 where the 0/1 column attr is
// 1, and splits it with a fixed shuffle: a tenth (at most 2000 images) for
// testing, the rest for training. limit > 0 keeps the first limit images.
func AttributeSplits(data, attr string, size, channels, limit int, progress io.Writer) (*judge.Splits, error) {
	set, attrs, err := dataset.OpenLabelled(data, dataset.Options{Size: size, Channels: channels, Limit: limit, Progress: progress})
	if err != nil {
		return nil, err
	}
	flags, err := attrs.Flag(attr)
	if err != nil {
		return nil, err
	}
	n := set.Len()
	set.Classes = AttributeClasses(attr)
	for i := range set.Labels {
		set.Labels[i] = int32(flags[i])
	}
	t := min(2000, n/10)
	if t < 2 {
		return nil, fmt.Errorf("%d images are too few to train and test a classifier", n)
	}
	// Shuffle in place with a fixed seed (a copy of a 64×64 set would
	// double its gigabyte), then slice.
	rng := rand.New(rand.NewPCG(0xa77, 1))
	sz := set.ImageSize()
	tmp := make([]float32, sz)
	for i := n - 1; i > 0; i-- {
		j := rng.IntN(i + 1)
		if i == j {
			continue
		}
		a, b := set.Images[i*sz:(i+1)*sz], set.Images[j*sz:(j+1)*sz]
		copy(tmp, a)
		copy(a, b)
		copy(b, tmp)
		set.Labels[i], set.Labels[j] = set.Labels[j], set.Labels[i]
	}
	part := func(lo, hi int) *dataset.Set {
		out := *set
		out.Images = set.Images[lo*sz : hi*sz : hi*sz]
		out.Labels = set.Labels[lo:hi:hi]
		return &out
	}
	test := part(0, t)
	return &judge.Splits{Name: data, Classes: set.Classes, Train: part(t, n), Test: test, HeldOut: test}, nil
}

// BalancedAccuracy returns the mean of the per-class recalls of binary
// predictions.
func BalancedAccuracy(preds, labels []int32) float64 {
	var ok, n [2]int
	for i, l := range labels {
		if l < 0 || l > 1 {
			continue
		}
		n[l]++
		if preds[i] == l {
			ok[l]++
		}
	}
	var s float64
	k := 0
	for c := range n {
		if n[c] > 0 {
			s += float64(ok[c]) / float64(n[c])
			k++
		}
	}
	if k == 0 {
		return 0
	}
	return s / float64(k)
}

// ChanceError is returned by CheckNotChance for a classifier whose
// balanced accuracy on its test images is no better than a guess's: one
// that, say, answers "no" for every face.
type ChanceError struct {
	Balanced             float64 // the classifier's balanced accuracy
	Bar                  float64 // what it had to exceed (see ChanceBar)
	Positives, Negatives int     // test images with and without the attribute
}

func (e *ChanceError) Error() string {
	if e.Positives == 0 || e.Negatives == 0 {
		return fmt.Sprintf("all %d test images have the same label: balanced accuracy cannot tell a classifier from a guess", e.Positives+e.Negatives)
	}
	return fmt.Sprintf("balanced accuracy %.1f%% on %d test images (%d with the attribute) is at chance (a guess reaches %.1f%%): the classifier learnt nothing",
		100*e.Balanced, e.Positives+e.Negatives, e.Positives, 100*e.Bar)
}

// ChanceBar is the balanced accuracy a classifier must exceed, on a test
// set of pos images with the attribute and neg without, to be told from a
// guess: 0.5 plus two standard errors of a guess's balanced accuracy
// (0.5·√(¼/pos + ¼/neg)), and at least 0.55.
func ChanceBar(pos, neg int) float64 {
	if pos == 0 || neg == 0 {
		return 1
	}
	se := 0.5 * math.Sqrt(0.25/float64(pos)+0.25/float64(neg))
	return max(0.55, 0.5+2*se)
}

// CheckNotChance returns the balanced accuracy of binary predictions and,
// when it does not exceed ChanceBar, a *ChanceError.
func CheckNotChance(preds, labels []int32) (float64, error) {
	bal := BalancedAccuracy(preds, labels)
	var pos, neg int
	for _, l := range labels {
		switch l {
		case 1:
			pos++
		case 0:
			neg++
		}
	}
	if bar := ChanceBar(pos, neg); !(bal > bar) {
		return bal, &ChanceError{Balanced: bal, Bar: bar, Positives: pos, Negatives: neg}
	}
	return bal, nil
}

// Classifier gives the probability that images show an attribute: the
// softmax probability of one class of a judge.
type Classifier struct {
	J         *judge.Judge
	Positive  int    // the class that means "has the attribute"
	Attribute string // its name
	Path      string

	resize *nn.ResizeBilinear
	x      *tensor.Tensor
	probs  *tensor.Tensor
}

// LoadClassifier loads a judge as a classifier. positive names the class
// that counts as the attribute (case-insensitive name or index); "" means
// the attribute of an attribute classifier, or the last class.
func LoadClassifier(path, positive string) (*Classifier, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("classifier %s does not exist: %w", path, err)
	}
	j, err := judge.Load(path)
	if err != nil {
		return nil, err
	}
	cl := j.Cfg.Classes
	c := &Classifier{J: j, Positive: len(cl) - 1, Path: path}
	if positive != "" {
		found := false
		for i, name := range cl {
			if strings.EqualFold(name, positive) {
				c.Positive, found = i, true
			}
		}
		if i, err := strconv.Atoi(positive); !found && err == nil && i >= 0 && i < len(cl) {
			c.Positive, found = i, true
		}
		if !found {
			return nil, fmt.Errorf("%s: %q is not a class of this classifier (classes: %s)", path, positive, strings.Join(cl, ", "))
		}
	}
	c.Attribute = cl[c.Positive]
	return c, nil
}

// Prob returns, for n images (size×size×channels values each, in
// [-1, 1]), the probability of the positive class. Images of another size
// or channel count than the classifier's are resized (bilinear) and
// converted first.
func (c *Classifier) Prob(images []float32, size, channels int) []float64 {
	j := c.J
	j.SetTraining(false)
	per := size * size * channels
	n := len(images) / per
	out := make([]float64, n)
	k := len(j.Cfg.Classes)
	for lo := 0; lo < n; lo += 100 {
		hi := min(n, lo+100)
		x := c.adapt(images[lo*per:hi*per], hi-lo, size, channels)
		logits := j.Head.Forward(j.Body.Forward(x))
		c.probs = tensor.Ensure(c.probs, logits.Shape...)
		nn.Softmax(logits, c.probs)
		for i := 0; i < hi-lo; i++ {
			out[lo+i] = float64(c.probs.Data[i*k+c.Positive])
		}
	}
	return out
}

// adapt returns images as the judge reads them.
func (c *Classifier) adapt(images []float32, n, size, channels int) *tensor.Tensor {
	js, jc := c.J.Cfg.Size, c.J.Cfg.Channels
	x := tensor.FromData(images, n, size, size, channels)
	if channels != jc {
		y := tensor.New(n, size, size, jc)
		for p := 0; p < n*size*size; p++ {
			if jc == 3 {
				v := x.Data[p]
				y.Data[3*p], y.Data[3*p+1], y.Data[3*p+2] = v, v, v
			} else {
				y.Data[p] = 0.299*x.Data[3*p] + 0.587*x.Data[3*p+1] + 0.114*x.Data[3*p+2]
			}
		}
		x = y
	}
	if size != js {
		if c.resize == nil {
			c.resize = &nn.ResizeBilinear{OutH: js, OutW: js, HalfPixel: true}
		}
		x = c.resize.Forward(x)
	}
	return x
}

// Logit is log(p/(1-p)), clamped to ±20.
func Logit(p float64) float64 {
	p = max(1e-9, min(1-1e-9, p))
	return math.Log(p / (1 - p))
}
