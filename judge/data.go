package judge

import (
	"fmt"
	"io"
	"math/rand/v2"
	"slices"

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
	Name                 string // the data option as a judge saves it (dataset.Place)
	Classes              []string
	Train, HeldOut, Test *dataset.Set

	// Attributes name the yes/no columns of a labelled face set, and
	// TrainAttrs, HeldOutAttrs and TestAttrs hold their 0/1 values for each
	// image of the split ([Len, len(Attributes)], row-major). Nil for other
	// data.
	Attributes                          []string
	TrainAttrs, HeldOutAttrs, TestAttrs []uint8
}

// LoadSplits opens the data set spec at the given size and channels and
// splits it. progress, if not nil, receives the loader's progress bar for
// large image folders.
func LoadSplits(spec string, size, channels int, progress io.Writer) (*Splits, error) {
	if dataset.IsLabelled(spec) {
		return loadFaceSplits(spec, size, channels, progress)
	}
	o := dataset.Options{Size: size, Channels: channels, Progress: progress}
	all, err := dataset.Open(spec, o)
	if err != nil {
		return nil, err
	}
	if len(all.Classes) < 2 {
		return nil, fmt.Errorf("%s has no classes: the judge is a classifier and needs labelled images (one sub-folder per class)", spec)
	}
	s := &Splits{Name: dataset.Place(spec), Classes: all.Classes}
	if dataset.HasTestSplit(spec) {
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

// FaceAttributes are the yes/no attributes a face judge predicts: the 0/1
// columns of a cartoon face set's attributes.csv.
var FaceAttributes = dataset.CartoonFlagColumns

// loadFaceSplits opens a labelled face set (cartoon-faces, or a folder with
// images/ and attributes.csv). Its classes are the skin tone buckets
// (dataset.SkinBuckets: dark, light, medium) and its attributes the 0/1
// columns. The images
// are shuffled once with a fixed seed; Test and HeldOut are the first two
// quarters (at most HeldOutMax each), so that eval can score 5,000 images
// of a 20,000-image set, and the judge trains on the other half.
func loadFaceSplits(spec string, size, channels int, progress io.Writer) (*Splits, error) {
	all, attrs, err := dataset.OpenLabelled(spec, dataset.Options{Size: size, Channels: channels, Progress: progress})
	if err != nil {
		return nil, err
	}
	n := all.Len()
	tones := dataset.SkinBuckets
	for i, t := range attrs.SkinTone {
		b, err := dataset.SkinBucket(t)
		if err != nil {
			return nil, fmt.Errorf("%s: row %d: %w", spec, i+1, err)
		}
		all.Labels[i] = int32(slices.Index(tones, b))
	}
	a := len(FaceAttributes)
	flags := make([]uint8, n*a)
	for k, name := range FaceAttributes {
		col, err := attrs.Flag(name)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", spec, err)
		}
		for i, v := range col {
			flags[i*a+k] = uint8(v)
		}
	}
	t := min(HeldOutMax, n/4)
	if t < 2 {
		return nil, fmt.Errorf("%s has %d images: too few for the judge's test and held-out splits (at least 8)", spec, n)
	}
	all.Classes = tones
	perm := rand.New(rand.NewPCG(0x5_9117, 6)).Perm(n)
	pick := func(idx []int) (*dataset.Set, []uint8) {
		out := gather(all, idx)
		f := make([]uint8, len(idx)*a)
		for r, i := range idx {
			copy(f[r*a:(r+1)*a], flags[i*a:(i+1)*a])
		}
		return out, f
	}
	s := &Splits{Name: dataset.Place(spec), Classes: tones, Attributes: slices.Clone(FaceAttributes)}
	s.Test, s.TestAttrs = pick(perm[:t])
	s.HeldOut, s.HeldOutAttrs = pick(perm[t : 2*t])
	s.Train, s.TrainAttrs = pick(perm[2*t:])
	return s, nil
}

// firstAttrs returns the attribute rows of the first n images of a split.
func (s *Splits) firstAttrs(rows []uint8, n int) []uint8 {
	if rows == nil {
		return nil
	}
	a := len(s.Attributes)
	return rows[:min(n*a, len(rows))]
}
