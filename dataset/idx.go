package dataset

import (
	"bufio"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/image/draw"
)

// IDX magic numbers: two zero bytes, the element type 0x08 (unsigned
// byte) and the number of dimensions.
const (
	idxImagesMagic = 0x00000803
	idxLabelsMagic = 0x00000801
)

// maxIDXItem bounds the size of one IDX item (one image), so that a
// corrupt header cannot make readIDX overflow or ask for absurd memory.
const maxIDXItem = 1 << 24

// readIDX reads an IDX file of unsigned bytes, raw or gzip-compressed,
// whose magic number must be magic. It returns the dimensions from the
// header and the data of the first limit items (all items if limit <= 0),
// where an item is one index of the first dimension.
func readIDX(path string, magic uint32, limit int) (dims []int, data []byte, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return decodeIDX(f, path, magic, limit)
}

// decodeIDX is readIDX on the bytes of r; path labels errors.
func decodeIDX(in io.Reader, path string, magic uint32, limit int) (dims []int, data []byte, err error) {
	var r io.Reader = bufio.NewReader(in)
	if b, _ := r.(*bufio.Reader).Peek(2); len(b) == 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}

	var m uint32
	if err := binary.Read(r, binary.BigEndian, &m); err != nil {
		return nil, nil, fmt.Errorf("%s: reading IDX header: %w", path, noEOF(err))
	}
	if m != magic {
		return nil, nil, fmt.Errorf("%s: magic number 0x%08x, want 0x%08x: not an IDX %s file", path, m, magic, idxKind(magic))
	}
	raw := make([]uint32, magic&0xff)
	if err := binary.Read(r, binary.BigEndian, raw); err != nil {
		return nil, nil, fmt.Errorf("%s: reading IDX header: %w", path, noEOF(err))
	}
	item := int64(1)
	for i, d := range raw {
		dims = append(dims, int(d))
		if i > 0 {
			item *= int64(d)
			if d == 0 || item > maxIDXItem {
				return nil, nil, fmt.Errorf("%s: bad IDX dimensions %v", path, raw)
			}
		}
	}

	n := int64(dims[0])
	if limit > 0 && int64(limit) < n {
		n = int64(limit)
	}
	// io.ReadAll grows its buffer as data arrives, so a header that
	// claims more data than the file holds costs no huge allocation.
	data, err = io.ReadAll(io.LimitReader(r, n*item))
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(data)) < n*item {
		return nil, nil, fmt.Errorf("%s is truncated: its header announces %d %s, it holds %d", path, dims[0], idxKind(magic), int64(len(data))/item)
	}
	return dims, data, nil
}

// noEOF turns io.EOF into io.ErrUnexpectedEOF: a file that ends inside a
// header or a gzip stream is truncated, not merely finished.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

func idxKind(magic uint32) string {
	if magic == idxImagesMagic {
		return "images"
	}
	return "labels"
}

// HasTestSplit reports whether the data set spec has a separate test split
// that Options.Split "test" opens: the built-in Fashion-MNIST and MNIST, or
// a folder with MNIST's t10k files.
func HasTestSplit(spec string) bool {
	if spec == FashionMNIST || spec == MNIST {
		return true
	}
	return findIDX(spec, "test") != ""
}

// findIDX returns the images file of split ("train" or "test") in dir, in
// the names of the MNIST distribution, or "" if there is none.
func findIDX(dir, split string) string {
	prefix := "train"
	if split == "test" {
		prefix = "t10k"
	}
	for _, name := range []string{prefix + "-images-idx3-ubyte.gz", prefix + "-images-idx3-ubyte"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// labelsFor returns the labels file that goes with an IDX images file,
// found by name (train-images-idx3-ubyte.gz → train-labels-idx1-ubyte.gz,
// with or without .gz), or "" if there is none.
func labelsFor(images string) string {
	base := filepath.Base(images)
	base = strings.Replace(base, "images", "labels", 1)
	base = strings.Replace(base, "idx3", "idx1", 1)
	alt := base + ".gz"
	if s, ok := strings.CutSuffix(base, ".gz"); ok {
		alt = s
	}
	for _, name := range []string{base, alt} {
		p := filepath.Join(filepath.Dir(images), name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			return p
		}
	}
	return ""
}

// openIDX loads an IDX images file and, if labels is not "", its labels.
// classes names the labels; when nil, labels are named by their number.
// Images are centre-cropped to a square if needed and resized to o.Size
// with bilinear filtering.
func openIDX(images, labels string, classes []string, o Options) (*Set, error) {
	dims, pix, err := readIDX(images, idxImagesMagic, o.Limit)
	if err != nil {
		return nil, err
	}
	if len(dims) != 3 {
		return nil, fmt.Errorf("%s: IDX file has %d dimensions, want 3 (count, rows, columns)", images, len(dims))
	}
	n, rows, cols := len(pix)/(dims[1]*dims[2]), dims[1], dims[2]
	if n == 0 {
		return nil, fmt.Errorf("%s: no images", images)
	}

	s := &Set{Size: o.Size, Channels: o.Channels, Labels: make([]int32, n)}
	if labels != "" {
		ldims, lab, err := readIDX(labels, idxLabelsMagic, o.Limit)
		if err != nil {
			return nil, err
		}
		if ldims[0] != dims[0] {
			return nil, fmt.Errorf("%s has %d labels for the %d images of %s", labels, ldims[0], dims[0], images)
		}
		top := 0
		for i, l := range lab {
			s.Labels[i] = int32(l)
			top = max(top, int(l))
		}
		if classes == nil {
			for i := range top + 1 {
				classes = append(classes, strconv.Itoa(i))
			}
		}
		if top >= len(classes) {
			return nil, fmt.Errorf("%s: label %d out of range for %d classes", labels, top, len(classes))
		}
		s.Classes = classes
	}

	s.Images = make([]float32, n*s.ImageSize())
	item := rows * cols
	if rows == o.Size && cols == o.Size {
		for i, v := range pix {
			for c := range o.Channels {
				s.Images[i*o.Channels+c] = unit(v)
			}
		}
		return s, nil
	}
	crop := centreSquare(image.Rect(0, 0, cols, rows))
	parallel(n, func() func(int) {
		// All images have the same size, so one Scaler per goroutine
		// computes the filter weights once and reuses its buffers.
		dst := image.NewRGBA(image.Rect(0, 0, o.Size, o.Size))
		sc := draw.BiLinear.NewScaler(o.Size, o.Size, crop.Dx(), crop.Dy())
		return func(i int) {
			src := &image.Gray{Pix: pix[i*item : (i+1)*item], Stride: cols, Rect: image.Rect(0, 0, cols, rows)}
			sc.Scale(dst, dst.Bounds(), src, crop, draw.Src, nil)
			toFloats(s.Image(i), dst, o.Channels)
		}
	})
	return s, nil
}
