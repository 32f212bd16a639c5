package main

// Tests of `forger face detect | align | index | match` through the built
// binary (bin, from cli_test.go's TestMain). Those that run the networks
// need the face models (forger models get face) and skip without them;
// astronaut.png comes from Debian's python3-skimage.

import (
	"bytes"
	"image"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"forger/face"
	"forger/internal/fixture"
)

const astronautPNG = "/usr/lib/python3/dist-packages/skimage/data/astronaut.png"

// faceModels returns the installed face models' folder (the real one, not
// the temporary FORGER_HOME forger() gives the binary), or skips.
func faceModels(t *testing.T) string {
	t.Helper()
	dir := face.DefaultDir()
	for _, f := range []string{face.LandmarkManifest, face.DescriptorManifest} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			fixture.Missingf(t, "face models missing in %s: run 'forger models get face'", dir)
		}
	}
	return dir
}

func needFile(t *testing.T, path, hint string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		fixture.Missingf(t, "%s is missing (%s)", path, hint)
	}
}

// oneLineError checks a failed run: non-zero exit, one line on stderr
// starting "forger: ", no stack trace.
func oneLineError(t *testing.T, args []string, stderr string, code int) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if code == 0 || len(lines) != 1 || !strings.HasPrefix(lines[0], "forger: ") || strings.Contains(stderr, "goroutine") {
		t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
	}
}

func writePNGFile(t *testing.T, path string, img image.Image) {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFaceCLIErrors(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.png")
	os.WriteFile(text, []byte("not an image\n"), 0o644)
	tiny := filepath.Join(dir, "tiny.png")
	writePNGFile(t, tiny, image.NewRGBA(image.Rect(0, 0, 8, 8)))
	missing := filepath.Join(dir, "missing.png")
	for _, c := range []struct {
		args []string
		want string // in the message
		code int    // 0: any non-zero
	}{
		{[]string{"face", "detect", missing}, "no such file", 1},
		{[]string{"face", "detect", text}, "not a PNG, JPEG, GIF or WebP image", 1},
		{[]string{"face", "detect", tiny}, "face models are missing", 1}, // FORGER_HOME is empty
		{[]string{"face", "detect"}, "accepts 1 arg", 0},
		{[]string{"face", "align", filepath.Join(dir, "nothing"), filepath.Join(dir, "out")}, "no such file", 1},
		{[]string{"face", "align", tiny, filepath.Join(dir, "out"), "--size", "100"}, "--size 100", 2},
		{[]string{"face", "align", tiny, filepath.Join(dir, "out"), "--layout", "bogus"}, "use ffhq or cartoon", 2},
		{[]string{"face", "index", dir}, "--db FILE is required", 2},
		{[]string{"face", "index", tiny, "--db", filepath.Join(dir, "x.db")}, "is not a folder", 2},
		{[]string{"face", "match", tiny}, "--db FILE is required", 2},
		{[]string{"face", "match", missing, "--db", filepath.Join(dir, "x.db")}, "no such file", 1},
		{[]string{"face", "match", text, "--db", filepath.Join(dir, "x.db")}, "not a PNG", 1},
		{[]string{"face", "match", tiny, "--db", filepath.Join(dir, "x.db")}, "no face index", 1},
		{[]string{"face", "match", tiny, "--db", filepath.Join(dir, "x.db")}, "(build one with 'forger face index GALLERY --db FILE')", 1},
		{[]string{"face", "landmarks", "--raw", text}, "not a PNG, JPEG, GIF or WebP image", 1},
		{[]string{"face", "embed", "--raw", missing}, "no such file", 1},
		{[]string{"face", "match", tiny, "--db", text}, "not a face index", 1},
		{[]string{"face", "match", tiny, "--db", filepath.Join(dir, "x.db"), "-k", "0"}, "-k", 2},
	} {
		_, stderr, code := forger(t, nil, c.args...)
		oneLineError(t, c.args, stderr, code)
		if c.code != 0 && code != c.code {
			t.Errorf("%v: exit %d, want %d", c.args, code, c.code)
		}
		if !strings.Contains(stderr, c.want) {
			t.Errorf("%v: stderr %q lacks %q", c.args, stderr, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.db")); err == nil {
		t.Error("a failed match created the index file")
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
		t.Error("a failed align created its output folder")
	}
}

// toRGBA copies img into a new *image.RGBA at (0, 0).
func testRGBA(img image.Image) *image.RGBA {
	b := img.Bounds()
	m := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(m, m.Rect, img, b.Min, draw.Src)
	return m
}
