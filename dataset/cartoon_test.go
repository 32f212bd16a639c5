package dataset

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// needNode skips the test unless node and the renderer script are there.
func needNode(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not found: cartoon-faces tests need Node.js and npm (apt-get install nodejs npm)")
	}
	if findCartoonScript() == "" {
		t.Skip(cartoonScript + " not found above the test's folder")
	}
}

// firstLine returns the first line of the file at path.
func firstLine(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	return sc.Text()
}

// sameTree fails unless folders a and b hold the same files (names and
// bytes), manifest.json aside.
func sameTree(t *testing.T, a, b string) {
	t.Helper()
	var names []string
	filepath.WalkDir(a, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() != cartoonManifestName {
			rel, _ := filepath.Rel(a, p)
			names = append(names, rel)
		}
		return err
	})
	if len(names) == 0 {
		t.Fatalf("%s is empty", a)
	}
	for _, rel := range names {
		x, err := os.ReadFile(filepath.Join(a, rel))
		if err != nil {
			t.Fatal(err)
		}
		y, err := os.ReadFile(filepath.Join(b, rel))
		if err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		if !bytes.Equal(x, y) {
			t.Fatalf("%s differs between %s and %s: the same seed must give the same files", rel, a, b)
		}
	}
}

func TestCartoonFaces(t *testing.T) {
	needNode(t)
	isolate(t)
	const n, size = 40, 64
	var log bytes.Buffer
	dir, err := GetCartoonFaces(CartoonOptions{N: n, Size: size, Seed: 7}, &log)
	if err != nil {
		t.Fatalf("GetCartoonFaces: %v\n%s", err, log.String())
	}
	if dir != CartoonDir(size, false) {
		t.Errorf("set is in %s, want %s", dir, CartoonDir(size, false))
	}
	if !strings.Contains(log.String(), "faces/s") {
		t.Errorf("log does not report the speed:\n%s", log.String())
	}

	// n PNGs of size×size, named in order.
	entries, err := os.ReadDir(filepath.Join(dir, "images"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != n {
		t.Fatalf("%d files in images/, want %d", len(entries), n)
	}
	for i, e := range entries {
		if want := fmt.Sprintf("%06d.png", i); e.Name() != want {
			t.Fatalf("file %d is %s, want %s", i, e.Name(), want)
		}
		f, err := os.Open(filepath.Join(dir, "images", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		cfg, err := png.DecodeConfig(f)
		f.Close()
		if err != nil || cfg.Width != size || cfg.Height != size {
			t.Fatalf("%s: %dx%d, %v; want a %dx%d PNG", e.Name(), cfg.Width, cfg.Height, err, size, size)
		}
	}

	// The attributes.
	if h := firstLine(t, filepath.Join(dir, "attributes.csv")); h != "file,male,mustache,beard,glasses,smiling,hat,skin_tone" {
		t.Errorf("header %q", h)
	}
	a, err := ReadAttributes(dir)
	if err != nil {
		t.Fatal(err)
	}
	if a.Len() != n || a.Misalign != nil {
		t.Fatalf("%d rows, misalign %v; want %d rows, no misalign columns", a.Len(), a.Misalign, n)
	}
	tone := regexp.MustCompile(`^#[0-9a-f]{6}$`)
	count := map[string]int{}
	for i := range n {
		if want := fmt.Sprintf("%06d.png", i); a.Files[i] != want {
			t.Errorf("row %d is for %s, want %s", i, a.Files[i], want)
		}
		for _, c := range CartoonFlagColumns {
			count[c] += a.Flags[c][i]
		}
		if male := a.Flags["male"][i]; male == 0 && (a.Flags["mustache"][i] == 1 || a.Flags["beard"][i] == 1) {
			t.Errorf("row %d: a woman with a mustache or beard", i)
		}
		if !tone.MatchString(a.SkinTone[i]) {
			t.Errorf("row %d: skin tone %q, want #rrggbb", i, a.SkinTone[i])
		}
	}
	if count["male"] == 0 || count["male"] == n {
		t.Errorf("%d of %d faces are male: the mix is not balanced", count["male"], n)
	}
	t.Logf("attribute counts in %d faces: %v", n, count)
	if _, err := a.Flag("bald"); err == nil {
		t.Error("Flag(bald) did not fail")
	}

	// Open loads the images as an unlabelled set, also at a smaller size.
	for _, sz := range []int{64, 32} {
		s, err := Open(CartoonFaces, Options{Size: sz, Channels: 3})
		if err != nil {
			t.Fatal(err)
		}
		checkShape(t, s, n, sz, 3)
		if len(s.Classes) != 0 {
			t.Errorf("classes %q, want none", s.Classes)
		}
	}

	// Asking again finds the set in place.
	log.Reset()
	if _, err := GetCartoonFaces(CartoonOptions{N: n, Size: size, Seed: 7}, &log); err != nil || strings.Contains(log.String(), "rendering") {
		t.Errorf("second GetCartoonFaces: %v, log %q; want no rendering", err, log.String())
	}

	// A set made by another version of the renderer is made again.
	man, _ := readCartoonManifest(dir)
	man.Renderer = "an older renderer"
	b, _ := json.Marshal(man)
	writeFile(t, filepath.Join(dir, cartoonManifestName), b)
	log.Reset()
	if _, err := GetCartoonFaces(CartoonOptions{N: n, Size: size, Seed: 7}, &log); err != nil || !strings.Contains(log.String(), "rendering it again") {
		t.Errorf("after a renderer change: %v, log %q; want rendering again", err, log.String())
	}
	if man, _ := readCartoonManifest(dir); man.Renderer == "an older renderer" {
		t.Error("manifest not replaced")
	}

	// The same seed gives the same files; another seed other faces.
	other := filepath.Join(t.TempDir(), "again")
	if _, err := GetCartoonFaces(CartoonOptions{N: n, Size: size, Seed: 7, Dir: other}, nil); err != nil {
		t.Fatal(err)
	}
	sameTree(t, dir, other)
	third := filepath.Join(t.TempDir(), "seed8")
	if _, err := GetCartoonFaces(CartoonOptions{N: 3, Size: size, Seed: 8, Dir: third}, nil); err != nil {
		t.Fatal(err)
	}
	x, _ := os.ReadFile(filepath.Join(dir, "images", "000000.png"))
	y, _ := os.ReadFile(filepath.Join(third, "images", "000000.png"))
	if bytes.Equal(x, y) {
		t.Error("seeds 7 and 8 gave the same first face")
	}

	// --misalign: the same faces (same attributes), moved, with the
	// transform recorded.
	mdir, err := GetCartoonFaces(CartoonOptions{N: n, Size: size, Seed: 7, Misalign: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if mdir != CartoonDir(size, true) || !strings.HasSuffix(mdir, "cartoon-faces-64-misaligned") {
		t.Errorf("misaligned set is in %s", mdir)
	}
	if h := firstLine(t, filepath.Join(mdir, "attributes.csv")); !strings.HasSuffix(h, ",skin_tone,rotation_deg,scale,shift_x,shift_y") {
		t.Errorf("misaligned header %q", h)
	}
	m, err := ReadAttributes(filepath.Join(mdir, "images"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range CartoonFlagColumns {
		if !slices.Equal(m.Flags[c], a.Flags[c]) {
			t.Errorf("misaligned %s column differs from the aligned set's", c)
		}
	}
	moved := 0
	for i := range n {
		r, sc, sx, sy := m.Misalign["rotation_deg"][i], m.Misalign["scale"][i], m.Misalign["shift_x"][i], m.Misalign["shift_y"][i]
		if r < -20 || r > 20 || sc < 0.85 || sc > 1.15 || sx < -0.1 || sx > 0.1 || sy < -0.1 || sy > 0.1 {
			t.Errorf("row %d: rotation %g, scale %g, shift %g,%g out of range", i, r, sc, sx, sy)
		}
		if r != 0 || sc != 1 {
			moved++
		}
	}
	if moved == 0 {
		t.Error("no face was rotated or scaled")
	}
	if s, err := Open(CartoonFacesMisaligned, Options{Size: 64, Channels: 3}); err != nil || s.Len() != n {
		t.Errorf("Open(%s): %v", CartoonFacesMisaligned, err)
	}

	// Another N replaces the set in place, leaving no temporary folders.
	if _, err := GetCartoonFaces(CartoonOptions{N: 5, Size: size, Seed: 7}, nil); err != nil {
		t.Fatal(err)
	}
	if a, err := ReadAttributes(dir); err != nil || a.Len() != 5 || !cartoonComplete(dir, 5) {
		t.Errorf("after replacing: %v, complete %v", err, cartoonComplete(dir, 5))
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), ".*")); len(left) > 0 {
		t.Errorf("temporary folders left behind: %q", left)
	}

	// A folder of other files is never replaced.
	foreign := filepath.Join(t.TempDir(), "mine")
	writeFile(t, filepath.Join(foreign, "notes.txt"), []byte("keep me"))
	if _, err := GetCartoonFaces(CartoonOptions{N: 2, Dir: foreign}, nil); err == nil || !strings.Contains(err.Error(), "not a cartoon-faces set") {
		t.Errorf("rendering into a foreign folder: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(foreign, "notes.txt")); err != nil || string(b) != "keep me" {
		t.Errorf("foreign folder changed: %q, %v", b, err)
	}
}

func TestCartoonWithoutNode(t *testing.T) {
	if findCartoonScript() == "" {
		t.Skip(cartoonScript + " not found above the test's folder")
	}
	isolate(t)
	t.Setenv("PATH", t.TempDir())
	_, err := GetCartoonFaces(CartoonOptions{N: 2}, nil)
	if err == nil || err.Error() != nodeMissing {
		t.Errorf("without node: %v, want %q", err, nodeMissing)
	}
	if _, err := Open(CartoonFaces, Options{Size: 64, Channels: 3}); err == nil || !strings.Contains(err.Error(), "forger data get cartoon-faces") {
		t.Errorf("Open before rendering: %v", err)
	}
}

func TestCartoonOptionErrors(t *testing.T) {
	isolate(t)
	for _, o := range []CartoonOptions{{N: -1}, {N: maxCartoonN + 1}, {Size: 8}, {Size: 5000}} {
		if _, err := GetCartoonFaces(o, nil); err == nil || !strings.Contains(err.Error(), "out of range") {
			t.Errorf("%+v: %v", o, err)
		}
	}
}

func TestReadAttributes(t *testing.T) {
	const header = "file,male,mustache,beard,glasses,smiling,hat,skin_tone"
	dir := t.TempDir()
	good := header + ",rotation_deg,scale,shift_x,shift_y,note\n" +
		"000000.png,1,1,0,0,1,0,#f2d6cb,-3.5,1.02,0.01,-0.05,a\n" +
		"000001.png,0,0,0,1,0,1,#74453d,12,0.9,0,0.1,b\n"
	writeFile(t, filepath.Join(dir, "attributes.csv"), []byte(good))
	a, err := ReadAttributes(dir)
	if err != nil {
		t.Fatal(err)
	}
	if a.Len() != 2 || !slices.Equal(a.Flags["mustache"], []int{1, 0}) || !slices.Equal(a.Flags["hat"], []int{0, 1}) ||
		!slices.Equal(a.SkinTone, []string{"#f2d6cb", "#74453d"}) || !slices.Equal(a.Misalign["rotation_deg"], []float64{-3.5, 12}) ||
		!slices.Equal(a.Extra["note"], []string{"a", "b"}) {
		t.Errorf("parsed %+v", a)
	}

	bad := map[string]string{
		"empty":             "",
		"no rows":           header + "\n",
		"missing column":    "file,male,mustache,beard,glasses,smiling,skin_tone\n000000.png,1,1,0,0,1,#f2d6cb\n",
		"file not first":    "male,file,mustache,beard,glasses,smiling,hat,skin_tone\n1,000000.png,1,0,0,1,0,#f2d6cb\n",
		"duplicate column":  header + ",hat\n000000.png,1,1,0,0,1,0,#f2d6cb,0\n",
		"not 0/1":           header + "\n000000.png,1,2,0,0,1,0,#f2d6cb\n",
		"empty value":       header + "\n000000.png,1,,0,0,1,0,#f2d6cb\n",
		"short row":         header + "\n000000.png,1,1,0,0,1,0\n",
		"long row":          header + "\n000000.png,1,1,0,0,1,0,#f2d6cb,9\n",
		"empty file name":   header + "\n,1,1,0,0,1,0,#f2d6cb\n",
		"partial misalign":  header + ",rotation_deg,scale\n000000.png,1,1,0,0,1,0,#f2d6cb,1,1\n",
		"misalign not a nr": header + ",rotation_deg,scale,shift_x,shift_y\n000000.png,1,1,0,0,1,0,#f2d6cb,x,1,0,0\n",
		"bad quoting":       header + "\n\"000000.png,1,1,0,0,1,0,#f2d6cb\n",
	}
	for name, text := range bad {
		p := filepath.Join(t.TempDir(), "attributes.csv")
		writeFile(t, p, []byte(text))
		if _, err := ReadAttributes(p); err == nil {
			t.Errorf("%s: no error", name)
		} else if !strings.Contains(err.Error(), p) {
			t.Errorf("%s: error %q does not name the file", name, err)
		}
	}
	if _, err := ReadAttributes(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestDarkSkinFlag(t *testing.T) {
	a := &Attributes{SkinTone: []string{"#f2d6cb", "#5c3937", "#aa816f", "#eab687"}}
	got, err := a.Flag(DarkSkin)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{0, 1, 1, 0}; !slices.Equal(got, want) {
		t.Fatalf("dark_skin = %v, want %v", got, want)
	}
	a.SkinTone = []string{"pink"}
	if _, err := a.Flag(DarkSkin); err == nil {
		t.Fatal("a bad skin_tone gave no error")
	}
}
