package dataset

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"forger/internal/fixture"
)

// needFashion skips the test when the Fashion-MNIST Debian package is
// not installed.
func needFashion(t *testing.T) {
	t.Helper()
	if !complete(fashionSystemDir, fashionFiles()) {
		fixture.Missingf(t, "Fashion-MNIST is not installed in %s (apt-get install %s)", fashionSystemDir, fashionPackage)
	}
}

// isolate points FORGER_HOME at an empty temporary folder.
func isolate(t *testing.T) {
	t.Setenv("FORGER_HOME", t.TempDir())
}

// gunzip returns the decompressed contents of a .gz file.
func gunzip(t *testing.T, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkShape checks the sizes of s and that all values lie in [-1, 1].
func checkShape(t *testing.T, s *Set, n, size, channels int) {
	t.Helper()
	if s.Len() != n || s.Size != size || s.Channels != channels {
		t.Fatalf("Len, Size, Channels = %d, %d, %d; want %d, %d, %d", s.Len(), s.Size, s.Channels, n, size, channels)
	}
	if s.ImageSize() != size*size*channels || len(s.Images) != n*size*size*channels || len(s.Labels) != n {
		t.Fatalf("ImageSize %d, len(Images) %d, len(Labels) %d for %d images of %d×%d×%d",
			s.ImageSize(), len(s.Images), len(s.Labels), n, size, size, channels)
	}
	for i, v := range s.Images {
		if !(v >= -1 && v <= 1) {
			t.Fatalf("Images[%d] = %v, outside [-1, 1]", i, v)
		}
	}
}

func TestFashionMNIST(t *testing.T) {
	needFashion(t)
	isolate(t)
	s, err := Open("fashion-mnist", Options{Size: 28, Channels: 1, Limit: 100, Split: "test"})
	if err != nil {
		t.Fatal(err)
	}
	checkShape(t, s, 100, 28, 1)
	if s.Name != "fashion-mnist" || len(s.Classes) != 10 {
		t.Fatalf("Name %q, %d classes; want fashion-mnist, 10", s.Name, len(s.Classes))
	}
	if s.Labels[0] != 9 || s.Classes[9] != "Ankle boot" {
		t.Errorf("first label %d (%s), want 9 (Ankle boot)", s.Labels[0], s.Classes[s.Labels[0]])
	}
	for i, l := range s.Labels {
		if l < 0 || l > 9 {
			t.Fatalf("Labels[%d] = %d, want 0..9", i, l)
		}
	}
	if lo, hi := slices.Min(s.Images), slices.Max(s.Images); lo != -1 || hi != 1 {
		t.Errorf("values span [%v, %v], want [-1, 1]", lo, hi)
	}

	// Compare with the raw file, read independently.
	raw := gunzip(t, filepath.Join(fashionSystemDir, "t10k-images-idx3-ubyte.gz"))[16:]
	for i, v := range s.Images {
		if want := float32(raw[i])/127.5 - 1; v != want {
			t.Fatalf("Images[%d] = %v, want %v", i, v, want)
		}
	}
	labels := gunzip(t, filepath.Join(fashionSystemDir, "t10k-labels-idx1-ubyte.gz"))[8:]
	for i, l := range s.Labels {
		if l != int32(labels[i]) {
			t.Fatalf("Labels[%d] = %d, want %d", i, l, labels[i])
		}
	}

	train, err := Open("fashion-mnist", Options{Size: 28, Channels: 1, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if got := train.Labels; !slices.Equal(got, []int32{9, 0, 0, 3, 0}) {
		t.Errorf("train labels %v, want [9 0 0 3 0]", got)
	}
}

func TestIDXResize(t *testing.T) {
	needFashion(t)
	isolate(t)
	orig, err := Open("fashion-mnist", Options{Size: 28, Channels: 1, Limit: 10, Split: "test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{32, 64} {
		s, err := Open("fashion-mnist", Options{Size: size, Channels: 3, Limit: 10, Split: "test"})
		if err != nil {
			t.Fatal(err)
		}
		checkShape(t, s, 10, size, 3)
		if !slices.Equal(s.Labels, orig.Labels) {
			t.Errorf("size %d: labels %v, want %v", size, s.Labels, orig.Labels)
		}
		for i := range s.Len() {
			img, want := s.Image(i), bilinear(orig.Image(i), 28, size)
			for p, v := range want {
				got := img[3*p : 3*p+3]
				if got[0] != got[1] || got[1] != got[2] {
					t.Fatalf("size %d image %d pixel %d: gray became %v", size, i, p, got)
				}
				// 0.02 is under 3 of 255 levels: rounding, not content.
				if math.Abs(float64(got[0])-v) > 0.02 {
					t.Fatalf("size %d image %d pixel %d = %v, want %.3f", size, i, p, got[0], v)
				}
			}
		}
	}
}

// bilinear scales the n×n gray image src to size×size by bilinear
// interpolation with pixel centres at half-integers, clamping at the
// edges: the textbook definition, to check x/image/draw's use against.
func bilinear(src []float32, n, size int) []float64 {
	at := func(x, y int) float64 {
		return float64(src[min(max(y, 0), n-1)*n+min(max(x, 0), n-1)])
	}
	out := make([]float64, 0, size*size)
	for y := range size {
		sy := (float64(y)+0.5)*float64(n)/float64(size) - 0.5
		y0, fy := int(math.Floor(sy)), sy-math.Floor(sy)
		for x := range size {
			sx := (float64(x)+0.5)*float64(n)/float64(size) - 0.5
			x0, fx := int(math.Floor(sx)), sx-math.Floor(sx)
			top := at(x0, y0)*(1-fx) + at(x0+1, y0)*fx
			bottom := at(x0, y0+1)*(1-fx) + at(x0+1, y0+1)*fx
			out = append(out, top*(1-fy)+bottom*fy)
		}
	}
	return out
}

// idxBytes returns an IDX file of unsigned bytes.
func idxBytes(magic uint32, dims []uint32, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, magic)
	binary.Write(&b, binary.BigEndian, dims)
	b.Write(data)
	return b.Bytes()
}

func gzipBytes(b []byte) []byte {
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write(b)
	w.Close()
	return z.Bytes()
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestIDXFile(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	// Three 28×28 images of constant gray 0, 51 and 255, labels 2, 0, 1,
	// uncompressed, in the dotted names some mirrors use.
	var pix []byte
	for _, v := range []byte{0, 51, 255} {
		pix = append(pix, bytes.Repeat([]byte{v}, 28*28)...)
	}
	images := filepath.Join(dir, "my-images.idx3-ubyte")
	writeFile(t, images, idxBytes(idxImagesMagic, []uint32{3, 28, 28}, pix))
	writeFile(t, filepath.Join(dir, "my-labels.idx1-ubyte"), idxBytes(idxLabelsMagic, []uint32{3}, []byte{2, 0, 1}))

	s, err := Open(images, Options{Size: 32, Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	checkShape(t, s, 3, 32, 1)
	if !slices.Equal(s.Labels, []int32{2, 0, 1}) || !slices.Equal(s.Classes, []string{"0", "1", "2"}) {
		t.Errorf("labels %v, classes %q; want [2 0 1], [0 1 2]", s.Labels, s.Classes)
	}
	for i, want := range []float32{-1, 51/127.5 - 1, 1} {
		for _, v := range s.Image(i) {
			if math.Abs(float64(v-want)) > 1e-6 {
				t.Fatalf("image %d has value %v, want %v everywhere", i, v, want)
			}
		}
	}
}

func TestIDXErrors(t *testing.T) {
	isolate(t)
	full := idxBytes(idxImagesMagic, []uint32{10, 28, 28}, make([]byte, 10*28*28))
	labels := idxBytes(idxLabelsMagic, []uint32{10}, make([]byte, 10))
	tests := []struct {
		name   string
		images []byte
		labels []byte
		want   string
	}{
		{"truncated", full[:len(full)-28*28*5], nil, "is truncated"},
		{"truncated gz", gzipBytes(full)[:30], nil, "truncated"},
		{"truncated header", full[:10], nil, "unexpected EOF"},
		{"labels magic", labels, nil, "magic number 0x00000801, want 0x00000803"},
		{"bad labels", full, full, "not an IDX labels file"},
		{"label count", full, idxBytes(idxLabelsMagic, []uint32{9}, make([]byte, 9)), "9 labels for the 10 images"},
		{"zero rows", idxBytes(idxImagesMagic, []uint32{1, 0, 28}, nil), nil, "bad IDX dimensions"},
		{"no images", idxBytes(idxImagesMagic, []uint32{0, 28, 28}, nil), nil, "no images"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			images := filepath.Join(dir, "train-images-idx3-ubyte")
			writeFile(t, images, tt.images)
			if tt.labels != nil {
				writeFile(t, filepath.Join(dir, "train-labels-idx1-ubyte"), tt.labels)
			}
			_, err := Open(images, Options{Size: 28, Channels: 1})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Open: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestOptionErrors(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	tests := []struct {
		spec   string
		o      Options
		want   string
		option string // of the *OptionError, if it is one
	}{
		{dir, Options{Size: 48, Channels: 1}, "Size 48 is not supported (use 28, 32, 64 or 128)", "Size"},
		{dir, Options{Size: 32, Channels: 2}, "Channels 2 is not supported (use 1 or 3)", "Channels"},
		{dir, Options{Size: 32, Channels: 3, Split: "valid"}, `Split "valid" is not supported`, "Split"},
		{dir, Options{Size: 32, Channels: 3, Limit: -1}, "Limit -1 is negative", "Limit"},
		{filepath.Join(dir, "nope"), Options{Size: 32, Channels: 3}, "not found", ""},
		{"mnist", Options{Size: 28, Channels: 1}, "mnist is not installed: run 'forger data get mnist'", ""},
	}
	for _, tt := range tests {
		_, err := Open(tt.spec, tt.o)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Open(%q, %+v): %v, want an error containing %q", tt.spec, tt.o, err, tt.want)
		}
		var oe *OptionError
		if tt.option != "" && (!errors.As(err, &oe) || oe.Option != tt.option) {
			t.Errorf("Open(%q, %+v): %v, want an *OptionError for %s", tt.spec, tt.o, err, tt.option)
		}
	}
}

func TestBatch(t *testing.T) {
	needFashion(t)
	isolate(t)
	s, err := Open("fashion-mnist", Options{Size: 32, Channels: 3, Limit: 20, Split: "test"})
	if err != nil {
		t.Fatal(err)
	}
	idx := []int{7, 0, 19, 7}
	images := make([]float32, len(idx)*s.ImageSize())
	labels := make([]int32, len(idx))
	if allocs := testing.AllocsPerRun(10, func() { s.Batch(idx, images, labels) }); allocs != 0 {
		t.Errorf("Batch allocates %v times per call", allocs)
	}
	for k, i := range idx {
		if !slices.Equal(images[k*s.ImageSize():(k+1)*s.ImageSize()], s.Image(i)) || labels[k] != s.Labels[i] {
			t.Errorf("batch entry %d is not image %d", k, i)
		}
	}
	s.Batch(idx[:1], images, nil) // labels are optional
}
