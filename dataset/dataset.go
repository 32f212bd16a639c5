// Package dataset loads training images for GAN training.
//
// A data set is held in memory as one flat []float32 in NHWC order with
// values in [-1, 1], the layout and range a tanh generator produces, so the
// trainer can copy batches out of it without conversion. Sources are the
// built-in data sets "fashion-mnist" and "mnist", IDX files, and folders of
// ordinary image files; all are cropped and resized to one square size.
package dataset

import (
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"

	"forger/internal/opterr"
)

// Set is a data set of equally sized square images with optional labels.
type Set struct {
	Name     string   // data set name or path, as given to Open
	Size     int      // square side after preprocessing
	Channels int      // 1 (gray) or 3 (RGB)
	Classes  []string // class names, indexed by label; empty when unlabelled

	// Images holds Len() images of ImageSize() values each; every image
	// is Size×Size×Channels, row-major, values in [-1, 1].
	Images []float32
	Labels []int32 // one label per image; all 0 when unlabelled

	Skipped      int      // files that could not be decoded (folder sets)
	SkipExamples []string // the first few of them, as "path: reason"
}

// Len returns the number of images.
func (s *Set) Len() int { return len(s.Labels) }

// ImageSize returns the number of values in one image, Size*Size*Channels.
func (s *Set) ImageSize() int { return s.Size * s.Size * s.Channels }

// Image returns image i as a slice of Images (not a copy).
func (s *Set) Image(i int) []float32 {
	n := s.ImageSize()
	return s.Images[i*n : (i+1)*n : (i+1)*n]
}

// Batch copies the images selected by idx into images and their labels
// into labels, in order, so that the trainer can reuse its buffers and
// avoid an allocation per step. images must hold at least
// len(idx)*ImageSize() values and labels, unless nil, len(idx) values;
// Batch panics otherwise.
func (s *Set) Batch(idx []int, images []float32, labels []int32) {
	n := s.ImageSize()
	for k, i := range idx {
		copy(images[k*n:(k+1)*n], s.Images[i*n:(i+1)*n])
	}
	if labels != nil {
		for k, i := range idx {
			labels[k] = s.Labels[i]
		}
	}
}

// Options control how Open preprocesses a data set.
type Options struct {
	Size     int // square side of the output images: 28, 32, 64 or 128
	Channels int // 1 (gray) or 3 (RGB)
	Limit    int // if > 0, keep only the first Limit images

	// Split selects "train" (the default when empty) or "test" for
	// fashion-mnist, mnist and folders of IDX files. Other sources have
	// no splits and ignore it.
	Split string

	// Progress, if not nil, receives a progress bar while a large folder
	// is decoded.
	Progress io.Writer
}

// Names of the built-in data sets.
const (
	FashionMNIST = "fashion-mnist"
	MNIST        = "mnist"
)

// Open loads the data set named by spec: "fashion-mnist", "mnist",
// "cartoon-faces" or "cartoon-faces-misaligned" (rendered by
// GetCartoonFaces; unlabelled, see ReadAttributes for the attributes), a
// folder of images, a folder holding IDX files (as written by Get), or an
// IDX images file (*-images-idx3-ubyte or *-images-idx3-ubyte.gz) whose
// labels file lies beside it.
//
// Images in a folder are found recursively (png, jpeg, gif and webp) and
// read in sorted path order. When every image is in a sub-folder, the
// first-level sub-folder names are the classes; otherwise the set is
// unlabelled. Files that fail to decode are skipped and counted in
// Set.Skipped rather than failing the whole load.
func Open(spec string, o Options) (*Set, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	var (
		s   *Set
		err error
	)
	switch spec {
	case FashionMNIST, MNIST:
		s, err = openBuiltin(spec, o)
	case CartoonFaces, CartoonFacesMisaligned: // see cartoon.go
		s, err = openCartoon(spec, o)
	default:
		s, err = openPath(spec, o)
	}
	if err != nil {
		return nil, err
	}
	s.Name = spec
	return s, nil
}

// Builtin reports whether spec names one of Open's built-in data sets
// rather than a path.
func Builtin(spec string) bool {
	switch spec {
	case FashionMNIST, MNIST, CartoonFaces, CartoonFacesMisaligned:
		return true
	}
	return false
}

// Place returns the data option spec as a run or a judge saves it: a
// built-in name as it is, a folder's or file's absolute path, so that the
// data is found again from another working folder.
func Place(spec string) string {
	if Builtin(spec) {
		return spec
	}
	if abs, err := filepath.Abs(spec); err == nil {
		return abs
	}
	return spec
}

// Same reports whether two data options name the same data set: the same
// built-in name, or paths to the same place (Place) or to the same file or
// folder (through links, from other working folders).
func Same(a, b string) bool {
	if Place(a) == Place(b) {
		return true
	}
	if Builtin(a) || Builtin(b) {
		return false
	}
	sa, errA := os.Stat(a)
	sb, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(sa, sb)
}

// An OptionError reports an option value dataset cannot use, by its Go
// name (Options.Size is "Size"); a command line turns it into its flag.
type OptionError = opterr.Error

// check validates o and fills in defaults.
func (o *Options) check() error {
	switch o.Size {
	case 28, 32, 64, 128:
	default:
		return &OptionError{Pkg: "dataset", Option: "Size", Value: o.Size, Reason: "is not supported (use 28, 32, 64 or 128)"}
	}
	if o.Channels != 1 && o.Channels != 3 {
		return &OptionError{Pkg: "dataset", Option: "Channels", Value: o.Channels, Reason: "is not supported (use 1 or 3)"}
	}
	if o.Limit < 0 {
		return &OptionError{Pkg: "dataset", Option: "Limit", Value: o.Limit, Reason: "is negative"}
	}
	switch o.Split {
	case "":
		o.Split = "train"
	case "train", "test":
	default:
		return &OptionError{Pkg: "dataset", Option: "Split", Value: o.Split, Reason: "is not supported (use train or test)"}
	}
	return nil
}

// openPath opens a folder or an IDX file.
func openPath(path string, o Options) (*Set, error) {
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("data set %q not found: want %s, %s, a folder of images or an IDX images file", path, FashionMNIST, MNIST)
	}
	if err != nil {
		return nil, fmt.Errorf("open data set: %w", err)
	}
	if fi.IsDir() {
		if f := findIDX(path, o.Split); f != "" {
			return openIDX(f, labelsFor(f), nil, o)
		}
		return openFolder(path, o)
	}
	if !strings.Contains(filepath.Base(path), "idx3-ubyte") {
		return nil, fmt.Errorf("%s is not a folder or an IDX images file (*-images-idx3-ubyte[.gz])", path)
	}
	return openIDX(path, labelsFor(path), nil, o)
}

// parallel calls fn(i) for every i in [0, n) on GOMAXPROCS goroutines.
// Each goroutine gets its fn from newWorker, so that it can own scratch
// buffers; fn must write only to storage of its own i.
func parallel(n int, newWorker func() (fn func(i int))) {
	workers := min(runtime.GOMAXPROCS(0), n)
	next := make(chan int, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			fn := newWorker()
			for i := range next {
				fn(i)
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// toFloats converts m, a Size×Size image, to dst in H×W×C order with values
// in [-1, 1]. With one channel, colour is reduced to luma with the BT.601
// weights of image/color.GrayModel, which leave gray pixels unchanged.
func toFloats(dst []float32, m *image.RGBA, channels int) {
	b := m.Bounds()
	k := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		row := m.Pix[m.PixOffset(b.Min.X, y):]
		for x := 0; x < b.Dx(); x++ {
			r, g, bl := uint32(row[4*x]), uint32(row[4*x+1]), uint32(row[4*x+2])
			if channels == 1 {
				dst[k] = unit(uint8((19595*r + 38470*g + 7471*bl + 1<<15) >> 16))
				k++
				continue
			}
			dst[k] = unit(uint8(r))
			dst[k+1] = unit(uint8(g))
			dst[k+2] = unit(uint8(bl))
			k += 3
		}
	}
}

// unit maps a pixel value in [0, 255] to [-1, 1].
func unit(v uint8) float32 { return float32(v)/127.5 - 1 }

// centreSquare returns the largest square centred in r.
func centreSquare(r image.Rectangle) image.Rectangle {
	w, h := r.Dx(), r.Dy()
	if w > h {
		x := r.Min.X + (w-h)/2
		return image.Rect(x, r.Min.Y, x+h, r.Max.Y)
	}
	y := r.Min.Y + (h-w)/2
	return image.Rect(r.Min.X, y, r.Max.X, y+w)
}
