package dataset

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// solid returns a w×h image of colour c.
func solid(w, h int, c color.RGBA) *image.RGBA {
	m := image.NewRGBA(image.Rect(0, 0, w, h))
	for i := 0; i < len(m.Pix); i += 4 {
		m.Pix[i], m.Pix[i+1], m.Pix[i+2], m.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return m
}

// encode writes m to path in the format named by the extension.
func encode(t *testing.T, path string, m image.Image) {
	t.Helper()
	var b bytes.Buffer
	var err error
	switch strings.ToLower(filepath.Ext(path)) {
	case ".png":
		err = png.Encode(&b, m)
	case ".jpg", ".jpeg":
		err = jpeg.Encode(&b, m, &jpeg.Options{Quality: 95})
	case ".gif":
		// The web-safe palette holds the test colours exactly; the
		// encoder's default, Plan 9, does not.
		p := image.NewPaletted(m.Bounds(), palette.WebSafe)
		draw.Draw(p, p.Rect, m, m.Bounds().Min, draw.Src)
		err = gif.Encode(&b, p, nil)
	default:
		t.Fatalf("cannot encode %s", path)
	}
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, b.Bytes())
}

// near reports whether pixel p is within tol of colour c in [-1, 1] units.
func near(p []float32, c color.RGBA, tol float64) bool {
	for i, v := range []uint8{c.R, c.G, c.B}[:len(p)] {
		if math.Abs(float64(p[i])-(float64(v)/127.5-1)) > tol {
			return false
		}
	}
	return true
}

var (
	red   = color.RGBA{255, 0, 0, 255}
	green = color.RGBA{0, 255, 0, 255}
	blue  = color.RGBA{0, 0, 255, 255}
	white = color.RGBA{255, 255, 255, 255}
)

// allNear checks that every pixel of image i of s is near c.
func allNear(t *testing.T, s *Set, i int, c color.RGBA, tol float64) {
	t.Helper()
	img := s.Image(i)
	for p := 0; p < len(img); p += s.Channels {
		if !near(img[p:p+s.Channels], c, tol) {
			t.Fatalf("image %d pixel %d = %v, want near %v", i, p/s.Channels, img[p:p+s.Channels], c)
		}
	}
}

func TestFolderClasses(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	// Centre green, left and right quarters red: the centre crop must
	// keep only the green.
	wide := solid(40, 20, green)
	for y := range 20 {
		for x := range 10 {
			wide.SetRGBA(x, y, red)
			wide.SetRGBA(39-x, y, red)
		}
	}
	encode(t, filepath.Join(dir, "cats", "a-wide.png"), wide)
	encode(t, filepath.Join(dir, "cats", "b.JPG"), solid(50, 50, blue))
	writeFile(t, filepath.Join(dir, "cats", "c-corrupt.png"), []byte("\x89PNG\r\n\x1a\nnot really"))
	encode(t, filepath.Join(dir, "dogs", "sub", "d.gif"), solid(8, 8, white))
	gopher, err := os.ReadFile(filepath.Join("testdata", "gopher.webp"))
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "dogs", "z.webp"), gopher)
	writeFile(t, filepath.Join(dir, "dogs", "notes.txt"), []byte("not an image"))
	encode(t, filepath.Join(dir, "dogs", ".hidden.png"), solid(8, 8, red))

	s, err := Open(dir, Options{Size: 32, Channels: 3})
	if err != nil {
		t.Fatal(err)
	}
	checkShape(t, s, 4, 32, 3)
	if !slices.Equal(s.Classes, []string{"cats", "dogs"}) || !slices.Equal(s.Labels, []int32{0, 0, 1, 1}) {
		t.Errorf("classes %q, labels %v; want [cats dogs], [0 0 1 1]", s.Classes, s.Labels)
	}
	if s.Skipped != 1 || len(s.SkipExamples) != 1 || !strings.Contains(s.SkipExamples[0], "c-corrupt.png: ") {
		t.Errorf("Skipped %d, SkipExamples %q; want 1, [.../c-corrupt.png: reason]", s.Skipped, s.SkipExamples)
	}
	// Sorted path order: a-wide.png, b.JPG, (c-corrupt.png), sub/d.gif, z.webp.
	allNear(t, s, 0, green, 0.02)
	allNear(t, s, 1, blue, 0.05) // JPEG is lossy
	allNear(t, s, 2, white, 0.01)
	if img := s.Image(3); slices.Min(img) == slices.Max(img) {
		t.Errorf("webp image is uniform, want the gopher")
	}

	gray, err := Open(dir, Options{Size: 28, Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	checkShape(t, gray, 4, 28, 1)
	// Luma of pure green: 0.587 × 255 ≈ 150.
	allNear(t, gray, 0, color.RGBA{150, 0, 0, 255}, 0.02)

	// With a limit, a skipped file is replaced by the next good one.
	lim, err := Open(dir, Options{Size: 28, Channels: 1, Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if lim.Len() != 3 || lim.Skipped != 1 || !slices.Equal(lim.Image(2), gray.Image(2)) {
		t.Errorf("Limit 3: Len %d, Skipped %d; want 3 images (a, b, d), 1 skipped", lim.Len(), lim.Skipped)
	}
}

func TestFolderFlat(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	encode(t, filepath.Join(dir, "one.png"), solid(10, 10, red))
	encode(t, filepath.Join(dir, "two.jpeg"), solid(10, 10, white))
	encode(t, filepath.Join(dir, "sub", "three.gif"), solid(10, 10, blue))
	s, err := Open(dir, Options{Size: 64, Channels: 3})
	if err != nil {
		t.Fatal(err)
	}
	checkShape(t, s, 3, 64, 3)
	if len(s.Classes) != 0 || !slices.Equal(s.Labels, []int32{0, 0, 0}) || s.Skipped != 0 {
		t.Errorf("classes %q, labels %v, skipped %d; want none, zeros, 0", s.Classes, s.Labels, s.Skipped)
	}
	allNear(t, s, 0, red, 0.01) // one.png, sub/three.gif, two.jpeg
	allNear(t, s, 1, blue, 0.01)
}

// The folder forger face align writes is a data set of its crops: its
// contact sheet (beside report.csv) is left out; an image of that name in a
// folder without the report is the user's and is read.
func TestFolderAlignNotes(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	encode(t, filepath.Join(dir, "a.png"), solid(10, 10, red))
	encode(t, filepath.Join(dir, "b.png"), solid(10, 10, red))
	encode(t, filepath.Join(dir, AlignSheet), solid(30, 10, blue))
	writeFile(t, filepath.Join(dir, AlignReport), []byte("file,faces\n"))
	s, err := Open(dir, Options{Size: 28, Channels: 3})
	if err != nil {
		t.Fatal(err)
	}
	checkShape(t, s, 2, 28, 3)
	for i := range s.Len() {
		allNear(t, s, i, red, 0.01)
	}
	if err := os.Remove(filepath.Join(dir, AlignReport)); err != nil {
		t.Fatal(err)
	}
	if s, err = Open(dir, Options{Size: 28, Channels: 3}); err != nil {
		t.Fatal(err)
	}
	checkShape(t, s, 3, 28, 3)
}

// A folder given through a symbolic link (a folder of photos linked
// elsewhere) is read as the folder it points to, classes and all.
func TestFolderThroughLink(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	encode(t, filepath.Join(dir, "real", "cats", "a.png"), solid(10, 10, red))
	encode(t, filepath.Join(dir, "real", "dogs", "b.png"), solid(10, 10, blue))
	link := filepath.Join(dir, "link")
	if err := os.Symlink(filepath.Join(dir, "real"), link); err != nil {
		t.Fatal(err)
	}
	s, err := Open(link, Options{Size: 32, Channels: 3})
	if err != nil {
		t.Fatal(err)
	}
	checkShape(t, s, 2, 32, 3)
	if !slices.Equal(s.Classes, []string{"cats", "dogs"}) || !slices.Equal(s.Labels, []int32{0, 1}) {
		t.Errorf("classes %q, labels %v; want cats and dogs", s.Classes, s.Labels)
	}
	allNear(t, s, 1, blue, 0.01)
}

func TestFolderErrors(t *testing.T) {
	isolate(t)
	empty := t.TempDir()
	writeFile(t, filepath.Join(empty, "readme.txt"), []byte("hello"))
	broken := t.TempDir()
	writeFile(t, filepath.Join(broken, "a.png"), []byte("garbage"))
	writeFile(t, filepath.Join(broken, "b.webp"), []byte("RIFF garbage"))
	tests := []struct{ dir, want string }{
		{empty, "no images (png, jpeg, gif, webp) in " + empty},
		{broken, "none of the 2 images in " + broken + " could be decoded"},
		{filepath.Join(empty, "missing"), "not found"},
		{filepath.Join(empty, "readme.txt"), "is not a folder or an IDX images file"},
	}
	for _, tt := range tests {
		_, err := Open(tt.dir, Options{Size: 32, Channels: 3})
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Open(%s): %v, want an error containing %q", tt.dir, err, tt.want)
		}
	}
}

func TestFolderProgress(t *testing.T) {
	isolate(t)
	dir := t.TempDir()
	var b bytes.Buffer
	png.Encode(&b, solid(4, 4, red))
	for i := range progressMin + 1 {
		writeFile(t, filepath.Join(dir, fmt.Sprintf("%03d.png", i)), b.Bytes())
	}
	var progress bytes.Buffer
	s, err := Open(dir, Options{Size: 28, Channels: 1, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != progressMin+1 {
		t.Errorf("Len %d, want %d", s.Len(), progressMin+1)
	}
	if !strings.Contains(progress.String(), "100%") {
		t.Errorf("progress output %q, want a finished bar", progress.String())
	}
}

// Place keeps every built-in name (Open's: cartoon-faces-misaligned too)
// and makes a path absolute against the working folder.
func TestPlace(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for spec, want := range map[string]string{
		FashionMNIST: FashionMNIST, MNIST: MNIST, CartoonFaces: CartoonFaces, CartoonFacesMisaligned: CartoonFacesMisaligned,
		"faces":                 filepath.Join(wd, "faces"),
		"./faces/../faces/":     filepath.Join(wd, "faces"),
		"./" + CartoonFaces:     filepath.Join(wd, CartoonFaces),
		"/data/faces/images":    "/data/faces/images",
		"/data/faces/../photos": "/data/photos",
	} {
		if got := Place(spec); got != want {
			t.Errorf("Place(%q) = %q, want %q", spec, got, want)
		}
	}
}

// Same: a relative and an absolute path to one folder, and a link to it,
// are the same data; another folder, a built-in name against a folder of
// that name, and a missing path are not.
func TestSame(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	for _, d := range []string{"faces", "photos", CartoonFaces} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink(filepath.Join(dir, "faces"), "link"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{"faces", filepath.Join(dir, "faces"), true},
		{"faces", "link", true},
		{"./faces/", "faces", true},
		{CartoonFaces, CartoonFaces, true},
		{"faces", "photos", false},
		{CartoonFaces, "./" + CartoonFaces, false},
		{"missing", "faces", false},
		{FashionMNIST, MNIST, false},
	} {
		if got := Same(c.a, c.b); got != c.want {
			t.Errorf("Same(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

// HasTestSplit: the built-in IDX sets and a folder with MNIST's t10k images
// have a test split; a folder of images, the cartoon faces and a folder
// whose t10k name is a folder do not.
func TestHasTestSplit(t *testing.T) {
	dir := t.TempDir()
	idx, imgs, odd := filepath.Join(dir, "idx"), filepath.Join(dir, "images"), filepath.Join(dir, "odd")
	for _, d := range []string{idx, imgs, filepath.Join(odd, "t10k-images-idx3-ubyte")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(idx, "t10k-images-idx3-ubyte.gz"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for spec, want := range map[string]bool{FashionMNIST: true, MNIST: true, idx: true, imgs: false, odd: false, CartoonFaces: false} {
		if got := HasTestSplit(spec); got != want {
			t.Errorf("HasTestSplit(%q) = %v, want %v", spec, got, want)
		}
	}
}
