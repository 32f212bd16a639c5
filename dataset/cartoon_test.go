package dataset

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"forger/internal/fixture"
)

// needNode skips the test unless node and the renderer script are there.
func needNode(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		fixture.Missing(t, "node not found: cartoon-faces tests need Node.js and npm (apt-get install nodejs npm)")
	}
	if findCartoonScript() == "" {
		fixture.Missing(t, cartoonScript+" not found above the test's folder")
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
	dir, err := GetCartoonFaces(context.Background(), CartoonOptions{N: n, Size: size, Seed: 7}, &log)
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
	if _, err := GetCartoonFaces(context.Background(), CartoonOptions{N: n, Size: size, Seed: 7}, &log); err != nil || strings.Contains(log.String(), "rendering") {
		t.Errorf("second GetCartoonFaces: %v, log %q; want no rendering", err, log.String())
	}

	// A set made by another version of the renderer is made again.
	man, _ := readCartoonManifest(dir)
	man.Renderer = "an older renderer"
	b, _ := json.Marshal(man)
	writeFile(t, filepath.Join(dir, cartoonManifestName), b)
	log.Reset()
	if _, err := GetCartoonFaces(context.Background(), CartoonOptions{N: n, Size: size, Seed: 7}, &log); err != nil || !strings.Contains(log.String(), "rendering it again") {
		t.Errorf("after a renderer change: %v, log %q; want rendering again", err, log.String())
	}
	if man, _ := readCartoonManifest(dir); man.Renderer == "an older renderer" {
		t.Error("manifest not replaced")
	}

	// The same seed gives the same files; another seed other faces.
	other := filepath.Join(t.TempDir(), "again")
	if _, err := GetCartoonFaces(context.Background(), CartoonOptions{N: n, Size: size, Seed: 7, Dir: other}, nil); err != nil {
		t.Fatal(err)
	}
	sameTree(t, dir, other)
	third := filepath.Join(t.TempDir(), "seed8")
	if _, err := GetCartoonFaces(context.Background(), CartoonOptions{N: 3, Size: size, Seed: 8, Dir: third}, nil); err != nil {
		t.Fatal(err)
	}
	x, _ := os.ReadFile(filepath.Join(dir, "images", "000000.png"))
	y, _ := os.ReadFile(filepath.Join(third, "images", "000000.png"))
	if bytes.Equal(x, y) {
		t.Error("seeds 7 and 8 gave the same first face")
	}

	// --misalign: the same faces (same attributes), moved, with the
	// transform recorded.
	mdir, err := GetCartoonFaces(context.Background(), CartoonOptions{N: n, Size: size, Seed: 7, Misalign: true}, nil)
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
	if _, err := GetCartoonFaces(context.Background(), CartoonOptions{N: 5, Size: size, Seed: 7}, nil); err != nil {
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
	if _, err := GetCartoonFaces(context.Background(), CartoonOptions{N: 2, Dir: foreign}, nil); !errors.Is(err, ErrNotCartoonSet) {
		t.Errorf("rendering into a foreign folder: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(foreign, "notes.txt")); err != nil || string(b) != "keep me" {
		t.Errorf("foreign folder changed: %q, %v", b, err)
	}
}

// IsCartoon knows a rendered set by its manifest, wherever it lies and
// whatever it is called, and a folder of other images by the lack of one,
// even when its path contains "cartoon-faces".
func TestIsCartoon(t *testing.T) {
	needNode(t)
	isolate(t)
	rendered, err := GetCartoonFaces(context.Background(), CartoonOptions{N: 2, Size: minCartoonSize, Seed: 3, Dir: filepath.Join(t.TempDir(), "faces")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	photos := filepath.Join(t.TempDir(), "cartoon-faces-fans", "photos")
	writeFile(t, filepath.Join(photos, "me.png"), []byte("not read"))
	lookalike := filepath.Join(t.TempDir(), "cartoon-faces-64")
	writeFile(t, filepath.Join(lookalike, "images", "000000.png"), []byte("not read"))
	writeFile(t, filepath.Join(lookalike, "attributes.csv"), []byte("file,male\n000000.png,1\n"))
	for spec, want := range map[string]bool{
		CartoonFaces: true, CartoonFacesMisaligned: true,
		rendered: true, filepath.Join(rendered, "images"): true,
		MNIST: false, FashionMNIST: false, "cartoon-faces-64": false,
		photos: false, lookalike: false, filepath.Join(lookalike, "images"): false,
	} {
		if got := IsCartoon(spec); got != want {
			t.Errorf("IsCartoon(%q) = %v, want %v", spec, got, want)
		}
	}
}

func TestCartoonWithoutNode(t *testing.T) {
	if findCartoonScript() == "" {
		fixture.Missing(t, cartoonScript+" not found above the test's folder")
	}
	isolate(t)
	t.Setenv("PATH", t.TempDir())
	_, err := GetCartoonFaces(context.Background(), CartoonOptions{N: 2}, nil)
	if err == nil || err.Error() != nodeMissing {
		t.Errorf("without node: %v, want %q", err, nodeMissing)
	}
	var nr *NotRenderedError
	if _, err := Open(CartoonFaces, Options{Size: 64, Channels: 3}); !errors.As(err, &nr) || nr.Name != CartoonFaces || nr.Misalign {
		t.Errorf("Open before rendering: %v", err)
	}
}

func TestCartoonOptionErrors(t *testing.T) {
	isolate(t)
	for _, o := range []CartoonOptions{{N: -1}, {N: maxCartoonN + 1}, {Size: 8}, {Size: 5000}} {
		want := "N"
		if o.Size != 0 {
			want = "Size"
		}
		var oe *OptionError
		if _, err := GetCartoonFaces(context.Background(), o, nil); !errors.As(err, &oe) || oe.Option != want || !strings.Contains(err.Error(), "out of range") {
			t.Errorf("%+v: %v, want an *OptionError for %s", o, err, want)
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

// mustNode fails the test, in one line, unless node and the renderer
// script are there (person sets are tested for real, never skipped).
func mustNode(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node not found: the cartoon-faces person tests need Node.js and npm (apt-get install nodejs npm)")
	}
	if findCartoonScript() == "" {
		t.Fatal(cartoonScript + " not found above the test's folder")
	}
}

// personIdentityKeys are the parts of facesjs's face object that make a
// person (person.mjs's IDENTITY_KEYS): equal in every photo of a set.
var personIdentityKeys = []string{"fatness", "teamColors", "body", "ear", "head", "eyeLine", "smileLine",
	"miscLine", "facialHair", "eye", "eyebrow", "nose", "hair.color"}

// personFaces runs person.mjs with --faces (as GetCartoonFaces runs it,
// plus the face objects) into a temporary folder and returns that folder
// and the faces, one map per photo.
func personFaces(t *testing.T, person int64, n, size int, seed int64) (string, []map[string]any) {
	t.Helper()
	var log bytes.Buffer
	dir, err := prepareRenderer(t.Context(), filepath.Dir(findCartoonScript()), &log)
	if err != nil {
		t.Fatalf("prepareRenderer: %v\n%s", err, log.String())
	}
	out := t.TempDir()
	jsonl := filepath.Join(out, "faces.jsonl")
	cmd := exec.Command("node", filepath.Join(dir, personScript), "--person", fmt.Sprint(person),
		"--n", fmt.Sprint(n), "--size", fmt.Sprint(size), "--seed", fmt.Sprint(seed), "--out", out, "--faces", jsonl)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("person.mjs: %v\n%s", err, b)
	}
	b, err := os.ReadFile(jsonl)
	if err != nil {
		t.Fatal(err)
	}
	var faces []map[string]any
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var rec struct {
			File string
			Face map[string]any
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("faces.jsonl line %d: %v", i+1, err)
		}
		if want := fmt.Sprintf("%06d.png", i); rec.File != want {
			t.Fatalf("faces.jsonl line %d is for %s, want %s", i+1, rec.File, want)
		}
		faces = append(faces, rec.Face)
	}
	if len(faces) != n {
		t.Fatalf("%d faces in faces.jsonl, want %d", len(faces), n)
	}
	return out, faces
}

// facePart returns the part key ("eye", "hair.color") of a face object as
// JSON, for comparing.
func facePart(face map[string]any, key string) string {
	var v any = face
	for k := range strings.SplitSeq(key, ".") {
		m, _ := v.(map[string]any)
		v = m[k]
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func TestCartoonPerson(t *testing.T) {
	mustNode(t)
	isolate(t)
	const n, size, seed = 24, 32, 3
	// Person 14 is a man with a mustache and a beard (so the test sees
	// facial hair kept), person 13 a woman with another skin colour.
	p, q := int64(14), int64(13)

	var log bytes.Buffer
	dir, err := GetCartoonFaces(context.Background(), CartoonOptions{N: n, Size: size, Seed: seed, Person: &p}, &log)
	if err != nil {
		t.Fatalf("GetCartoonFaces --person %d: %v\n%s", p, err, log.String())
	}
	if want := filepath.Join(filepath.Dir(CartoonDir(size, false)), "cartoon-faces-32-person-14"); dir != want || dir != CartoonPersonDir(size, p) {
		t.Errorf("person set is in %s, want %s", dir, want)
	}
	if !cartoonComplete(dir, n) {
		t.Fatalf("%s does not hold %d images and attributes.csv", dir, n)
	}
	if man, ok := readCartoonManifest(dir); !ok || man.Person == nil || *man.Person != p || man.N != n || man.Seed != seed {
		t.Errorf("manifest %+v, want person %d, n %d, seed %d", man, p, n, seed)
	}

	// attributes.csv: the columns of a misaligned set, one skin tone, one
	// sex and facial hair, varied glasses, hats and smiles, and a mild
	// misalignment.
	if h := firstLine(t, filepath.Join(dir, "attributes.csv")); h != "file,male,mustache,beard,glasses,smiling,hat,skin_tone,rotation_deg,scale,shift_x,shift_y" {
		t.Errorf("header %q", h)
	}
	a, err := ReadAttributes(dir)
	if err != nil {
		t.Fatal(err)
	}
	if a.Len() != n || a.Misalign == nil {
		t.Fatalf("%d rows, misalign %v; want %d rows with misalign columns", a.Len(), a.Misalign != nil, n)
	}
	count := map[string]int{}
	for i := range n {
		if a.SkinTone[i] != a.SkinTone[0] {
			t.Errorf("row %d: skin tone %s, row 0 %s: a person set has one skin tone", i, a.SkinTone[i], a.SkinTone[0])
		}
		for _, c := range []string{"male", "mustache", "beard"} {
			if a.Flags[c][i] != a.Flags[c][0] {
				t.Errorf("row %d: %s %d, row 0 %d: one person", i, c, a.Flags[c][i], a.Flags[c][0])
			}
		}
		for _, c := range CartoonFlagColumns {
			count[c] += a.Flags[c][i]
		}
		r, sc, sx, sy := a.Misalign["rotation_deg"][i], a.Misalign["scale"][i], a.Misalign["shift_x"][i], a.Misalign["shift_y"][i]
		if r < -5 || r > 5 || sc < 0.95 || sc > 1.05 || sx < -0.05 || sx > 0.05 || sy < -0.05 || sy > 0.05 {
			t.Errorf("row %d: rotation %g, scale %g, shift %g,%g; want within ±5°, 0.95–1.05, ±0.05", i, r, sc, sx, sy)
		}
	}
	if count["male"] != n || count["mustache"] != n || count["beard"] != n {
		t.Errorf("person %d: male, mustache, beard in %d, %d, %d of %d photos; want all (the fixture is a bearded man)", p, count["male"], count["mustache"], count["beard"], n)
	}
	for _, c := range []string{"glasses", "smiling", "hat"} {
		if count[c] == 0 || count[c] == n {
			t.Errorf("%s in %d of %d photos: want some with and some without", c, count[c], n)
		}
	}
	t.Logf("person %d: skin %s, counts in %d photos %v", p, a.SkinTone[0], n, count)

	// The identity, from the face objects person.mjs draws (run directly,
	// with --faces; its images are the set's, byte for byte).
	out, faces := personFaces(t, p, n, size, seed)
	sameTree(t, filepath.Join(dir, "images"), filepath.Join(out, "images"))
	for i, f := range faces {
		for _, k := range personIdentityKeys {
			if facePart(f, k) != facePart(faces[0], k) {
				t.Errorf("photo %d: %s is %s, photo 0's %s: identity parts must not change", i, k, facePart(f, k), facePart(faces[0], k))
			}
		}
	}
	for _, k := range []string{"hair.id", "mouth.id", "glasses.id", "accessories.id", "jersey.id"} {
		seen := map[string]bool{}
		for _, f := range faces {
			seen[facePart(f, k)] = true
		}
		if len(seen) < 2 {
			t.Errorf("%s is %v in all %d photos: want variety", k, slices.Collect(maps.Keys(seen)), n)
		}
	}

	// Another person: another identity, another folder, other images.
	qdir, err := GetCartoonFaces(context.Background(), CartoonOptions{N: 4, Size: size, Seed: seed, Person: &q}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if qdir != CartoonPersonDir(size, q) {
		t.Errorf("person %d is in %s", q, qdir)
	}
	_, qfaces := personFaces(t, q, 1, size, seed)
	differ := 0
	for _, k := range personIdentityKeys {
		if facePart(qfaces[0], k) != facePart(faces[0], k) {
			differ++
		}
	}
	if differ < len(personIdentityKeys)/2 {
		t.Errorf("persons %d and %d differ in %d of %d identity parts: want different people", p, q, differ, len(personIdentityKeys))
	}
	x, _ := os.ReadFile(filepath.Join(dir, "images", "000000.png"))
	y, _ := os.ReadFile(filepath.Join(qdir, "images", "000000.png"))
	if bytes.Equal(x, y) {
		t.Errorf("persons %d and %d gave the same first photo", p, q)
	}
	if qa, err := ReadAttributes(qdir); err != nil {
		t.Error(err)
	} else if qa.SkinTone[0] == a.SkinTone[0] {
		t.Errorf("persons %d and %d both have skin %s: want the fixture's two skin tones", p, q, a.SkinTone[0])
	}

	// Another --seed: the same person in other photos.
	_, other := personFaces(t, p, 4, size, seed+1)
	for _, k := range personIdentityKeys {
		if facePart(other[0], k) != facePart(faces[0], k) {
			t.Errorf("--seed %d changed the person's %s", seed+1, k)
		}
	}

	// Asking again finds the set; the name cartoon-faces never finds a
	// person set, not even one rendered into the general set's folder.
	log.Reset()
	if _, err := GetCartoonFaces(context.Background(), CartoonOptions{N: n, Size: size, Seed: seed, Person: &p}, &log); err != nil || strings.Contains(log.String(), "rendering") {
		t.Errorf("second GetCartoonFaces --person: %v, log %q; want no rendering", err, log.String())
	}
	if _, err := GetCartoonFaces(context.Background(), CartoonOptions{N: 2, Size: size, Seed: seed, Person: &p, Dir: CartoonDir(size, false)}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(CartoonFaces, Options{Size: size, Channels: 3}); err == nil || !strings.Contains(err.Error(), "not rendered") {
		t.Errorf("Open(%s) with only person sets rendered: %v, want not rendered", CartoonFaces, err)
	}
	if _, err := LabelledDir(CartoonFaces, size); err == nil {
		t.Errorf("LabelledDir(%s) found a person set", CartoonFaces)
	}
	// … and a general set asked for in that folder is rendered over it.
	log.Reset()
	if _, err := GetCartoonFaces(context.Background(), CartoonOptions{N: 2, Size: size, Seed: seed}, &log); err != nil || !strings.Contains(log.String(), "rendering 2 cartoon faces") {
		t.Errorf("general set over a person set: %v, log %q; want rendering", err, log.String())
	}
	if man, _ := readCartoonManifest(CartoonDir(size, false)); man.Person != nil {
		t.Errorf("general set's manifest has person %d", *man.Person)
	}
}

func TestCartoonPersonSameSet(t *testing.T) {
	p, p2, q := int64(5), int64(5), int64(6)
	general := cartoonManifest{Format: cartoonFormat, N: 300, Size: 64, Seed: 0, Renderer: "r"}
	person := general
	person.Person = &p
	same := general
	same.Person = &p2
	other := general
	other.Person = &q
	for _, c := range []struct {
		have, want cartoonManifest
		same       bool
	}{
		{general, general, true}, {person, same, true},
		{person, general, false}, {general, person, false}, {person, other, false},
	} {
		if got := sameCartoonSet(c.have, c.want); got != c.same {
			t.Errorf("sameCartoonSet(person %v, person %v) = %v, want %v", c.have.Person, c.want.Person, got, c.same)
		}
	}
	// A general set's manifest is written as before: no "person" key.
	if b, _ := json.Marshal(general); strings.Contains(string(b), "person") {
		t.Errorf("general manifest %s mentions person", b)
	}
}

func TestCartoonPersonOptionErrors(t *testing.T) {
	isolate(t)
	neg, p := int64(-1), int64(1)
	if _, err := GetCartoonFaces(context.Background(), CartoonOptions{N: 2, Person: &neg}, nil); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Errorf("--person -1: %v", err)
	}
	var oe *OptionError
	if _, err := GetCartoonFaces(context.Background(), CartoonOptions{N: 2, Person: &p, Misalign: true}, nil); !errors.As(err, &oe) || oe.Option != "Misalign" {
		t.Errorf("--person with --misalign: %v", err)
	}
}

// TestCartoonPersonSharesRenderer checks that person.mjs draws with
// render.mjs's crop, background, PRNG and id lists (person.mjs keeps its
// own copy so that render.mjs, and the sets made with it, stay unchanged).
func TestCartoonPersonSharesRenderer(t *testing.T) {
	script := findCartoonScript()
	if script == "" {
		t.Fatal(cartoonScript + " not found above the test's folder")
	}
	render, err := os.ReadFile(script)
	if err != nil {
		t.Fatal(err)
	}
	person, err := os.ReadFile(filepath.Join(filepath.Dir(script), personScript))
	if err != nil {
		t.Fatal(err)
	}
	// block returns the declaration starting with start: up to the end of
	// its line when that ends in ";", else up to the line "end".
	block := func(src []byte, start, end string) string {
		s := string(src)
		i := strings.Index(s, "\n"+start)
		if i < 0 {
			return ""
		}
		s = s[i+1:]
		line, _, _ := strings.Cut(s, "\n")
		if strings.HasSuffix(line, ";") {
			return line
		}
		j := strings.Index(s, "\n"+end+"\n")
		if j < 0 {
			return ""
		}
		return s[:j+1+len(end)]
	}
	for _, name := range []string{"CROP", "BACKGROUND", "MUSTACHE_ONLY", "BEARD_AND_MUSTACHE", "BEARD_ONLY", "BEARD_IDS",
		"SMILES", "NOT_SMILES", "GLASSES", "HATS", "HAT_IDS", "RACES", "pick"} {
		r, p := block(render, "const "+name+" =", "];"), block(person, "const "+name+" =", "];")
		if r == "" || r != p {
			t.Errorf("const %s differs between render.mjs and person.mjs:\n%s\n---\n%s", name, r, p)
		}
	}
	if r, p := block(render, "function mulberry32(", "}"), block(person, "function mulberry32(", "}"); r == "" || r != p {
		t.Errorf("mulberry32 differs between render.mjs and person.mjs:\n%s\n---\n%s", r, p)
	}
	for _, s := range []string{"const cx = CROP.x + CROP.side / 2, cy = CROP.y + CROP.side / 2;",
		"new Resvg(svg, { background: BACKGROUND, font: { loadSystemFonts: false } }).render().asPng();"} {
		if !bytes.Contains(render, []byte(s)) || !bytes.Contains(person, []byte(s)) {
			t.Errorf("render.mjs and person.mjs do not both have %q", s)
		}
	}
}
