package judge

import (
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"

	"forger/dataset"
)

// HeldOutMax is the size of the held-out real split: training images the
// judge never sees, whose distance to the test split is fd_real (the floor
// of fd: two samples of the real distribution).
const HeldOutMax = 10000

// Splits are the three parts of a data set as the judge uses them.
//
// For fashion-mnist, mnist and folders of IDX files, Test is the test split
// and HeldOut the last HeldOutMax images of the training split (the last
// sixth, if the split is smaller); Train is the rest. Other sources have no
// test split: their images are shuffled once with a fixed seed, and Test and
// HeldOut are the first two slices of min(HeldOutMax, len/6) images.
type Splits struct {
	Name                 string // canonical data name (see DataName)
	Classes              []string
	Train, HeldOut, Test *dataset.Set
}

// DataName is the canonical name of a data spec as stored in a judge:
// built-in names unchanged, paths made absolute.
func DataName(spec string) string {
	if spec == dataset.FashionMNIST || spec == dataset.MNIST {
		return spec
	}
	if abs, err := filepath.Abs(spec); err == nil {
		return abs
	}
	return filepath.Clean(spec)
}

// hasTestSplit reports whether spec has a separate test split.
func hasTestSplit(spec string) bool {
	if spec == dataset.FashionMNIST || spec == dataset.MNIST {
		return true
	}
	for _, name := range []string{"t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte"} {
		if fi, err := os.Stat(filepath.Join(spec, name)); err == nil && fi.Mode().IsRegular() {
			return true
		}
	}
	return false
}

// LoadSplits opens the data set spec at the given size and channels and
// splits it. progress, if not nil, receives the loader's progress bar for
// large image folders.
func LoadSplits(spec string, size, channels int, progress io.Writer) (*Splits, error) {
	o := dataset.Options{Size: size, Channels: channels, Progress: progress}
	all, err := dataset.Open(spec, o)
	if err != nil {
		return nil, err
	}
	if len(all.Classes) < 2 {
		return nil, fmt.Errorf("%s has no classes: the judge is a classifier and needs labelled images (one sub-folder per class)", spec)
	}
	s := &Splits{Name: DataName(spec), Classes: all.Classes}
	if hasTestSplit(spec) {
		o.Split = "test"
		test, err := dataset.Open(spec, o)
		if err != nil {
			return nil, err
		}
		if len(test.Classes) != len(all.Classes) {
			return nil, fmt.Errorf("%s: the test split has %d classes, the training split %d", spec, len(test.Classes), len(all.Classes))
		}
		h := min(HeldOutMax, all.Len()/6)
		if h < 1 {
			return nil, fmt.Errorf("%s has %d training images: too few to hold some out", spec, all.Len())
		}
		s.Test = test
		s.Train = slice(all, 0, all.Len()-h)
		s.HeldOut = slice(all, all.Len()-h, all.Len())
		return s, nil
	}
	t := min(HeldOutMax, all.Len()/6)
	if t < 1 {
		return nil, fmt.Errorf("%s has %d images: too few for the judge's test and held-out splits (at least 6)", spec, all.Len())
	}
	perm := rand.New(rand.NewPCG(0x5_9117, 6)).Perm(all.Len())
	s.Test = gather(all, perm[:t])
	s.HeldOut = gather(all, perm[t:2*t])
	s.Train = gather(all, perm[2*t:])
	return s, nil
}

// slice returns images [lo, hi) of s, sharing its storage.
func slice(s *dataset.Set, lo, hi int) *dataset.Set {
	sz := s.ImageSize()
	out := *s
	out.Images = s.Images[lo*sz : hi*sz : hi*sz]
	out.Labels = s.Labels[lo:hi:hi]
	return &out
}

// gather returns a copy of the images idx of s, in that order.
func gather(s *dataset.Set, idx []int) *dataset.Set {
	out := *s
	out.Images = make([]float32, len(idx)*s.ImageSize())
	out.Labels = make([]int32, len(idx))
	s.Batch(idx, out.Images, out.Labels)
	return &out
}

// First returns the first n images of s (all when n ≥ Len), sharing storage.
func First(s *dataset.Set, n int) *dataset.Set {
	return slice(s, 0, min(n, s.Len()))
}
