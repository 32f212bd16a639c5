package main

// Ctrl-C tests of the commands that make pictures: generate, data get,
// face index and align, edit.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"forger/face/facedb"
	"forger/gan"
	"forger/internal/fixture"
	"forger/optim"
	"forger/picture"
)

// wholeFiles checks that every file left in dir (after Ctrl-C) has a name
// made by want and, if a PNG, decodes: nothing half-written, no temporary
// files.
func wholeFiles(t *testing.T, dir string, want func(name string) bool) int {
	t.Helper()
	left, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range left {
		if !want(e.Name()) {
			t.Errorf("%s left in %s", e.Name(), dir)
			continue
		}
		if !strings.HasSuffix(e.Name(), ".png") {
			continue
		}
		if _, err := picture.Load(filepath.Join(dir, e.Name()), picture.Limits{}); err != nil {
			t.Errorf("%s is not whole: %v", e.Name(), err)
		}
	}
	return len(left)
}

// rgbModel writes a random 64×64 RGB DCGAN checkpoint: slower per image
// than latTinyModel's, so that a long command is still running when the
// test interrupts it.
func rgbModel(t *testing.T, dir string) string {
	t.Helper()
	cfg := gan.Config{Arch: gan.DCGAN, Size: 64, Channels: 3, NZ: 32, NGF: 16, NDF: 8}
	rng := rand.New(rand.NewPCG(3, 3))
	g, err := gan.NewGenerator(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	gan.RecalibrateBN(g)
	d, err := gan.NewDiscriminator(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	ck := &gan.Checkpoint{Config: cfg, G: g, D: d, OptG: optim.NewAdam(g.Params(), 1e-3, 0.5, 0.999),
		OptD: optim.NewAdam(d.Params(), 1e-3, 0.5, 0.999), TrainState: "{}"}
	p := filepath.Join(dir, "rgb.safetensors")
	if err := ck.Save(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// Ctrl-C stops forger generate between batches within a second; the
// images written by then are whole, and no grid is written.
func TestGenerateStopsOnSIGINT(t *testing.T) {
	model := rgbModel(t, t.TempDir())
	out := t.TempDir()
	interrupt(t, time.Second, "generating", "generate", "--model", model, "-n", "10000", "--grid", "--out", out)
	n := wholeFiles(t, out, func(name string) bool { return strings.HasPrefix(name, "seed") && strings.HasSuffix(name, ".png") })
	t.Logf("%d images written before Ctrl-C", n)
}

// Ctrl-C stops forger data get cartoon-faces within a second: the
// renderer is stopped and its temporary folder removed, so the
// destination's parent is left empty.
func TestDataGetStopsOnSIGINT(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		fixture.Missing(t, "node not found: cartoon-faces needs Node.js and npm (apt-get install nodejs npm)")
	}
	out := t.TempDir()
	interrupted(t, out, "rendering faces", "data", "get", "cartoon-faces", "--n", "200000", "--size", "64", "--dir", filepath.Join(out, "faces"))
}

// linkedPhotos fills dir with n copies of astronaut.png (hard links of one
// copy), named by name(i).
func linkedPhotos(t *testing.T, dir string, n int, name func(i int) string) {
	t.Helper()
	needFile(t, astronautPNG, "apt-get install python3-skimage")
	data, err := os.ReadFile(astronautPNG)
	if err != nil {
		t.Fatal(err)
	}
	first := filepath.Join(dir, name(0))
	if err := os.WriteFile(first, data, 0o644); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < n; i++ {
		if err := os.Link(first, filepath.Join(dir, name(i))); err != nil {
			t.Fatal(err)
		}
	}
}

// Ctrl-C stops forger face index between photos within a second; the
// index is left as it was (here: without a face).
func TestFaceIndexStopsOnSIGINT(t *testing.T) {
	models := faceModels(t)
	gallery := t.TempDir()
	linkedPhotos(t, gallery, 300, func(i int) string { return fmt.Sprintf("p%03d.png", i) })
	db := filepath.Join(t.TempDir(), "people.db")
	interrupt(t, time.Second, "index", "face", "index", gallery, "--db", db, "--models", models)
	d, err := facedb.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if n, _, err := d.Count(context.Background()); err != nil || n != 0 {
		t.Errorf("the interrupted index holds %d faces (%v), want none", n, err)
	}
}

// Ctrl-C stops forger face align between photos within a second; the crops
// made by then are whole and the report says which they are.
func TestFaceAlignStopsOnSIGINT(t *testing.T) {
	models := faceModels(t)
	in := t.TempDir()
	linkedPhotos(t, in, 300, func(i int) string { return fmt.Sprintf("p%03d.png", i) })
	out := t.TempDir()
	interrupt(t, time.Second, "align", "face", "align", in, out, "--size", "64", "--models", models)
	n := wholeFiles(t, out, func(name string) bool {
		return strings.HasPrefix(name, "p") && strings.HasSuffix(name, ".png") || name == alignSheet || name == alignReport
	})
	if _, err := os.Stat(filepath.Join(out, alignReport)); err != nil {
		t.Errorf("no report after Ctrl-C: %v", err)
	}
	t.Logf("%d files left", n)
}

// Ctrl-C stops forger edit (rendering 1,000 frames of a 64×64 model, then
// the GIF) within a second, with no animation written. edit has no
// progress bar, so the signal comes 300 ms after the start.
func TestEditStopsOnSIGINT(t *testing.T) {
	dir := t.TempDir()
	model := rgbModel(t, dir)
	v := make([]float64, 32)
	v[0] = 1
	dfile := filepath.Join(dir, "d.json")
	latWriteDirection(t, dfile, "x", v)
	out := t.TempDir()
	interrupted(t, out, "", "edit", "--model", model, "--seed", "1", "--direction", dfile, "--strengths", "-3:3:1000", "--out", filepath.Join(out, "e.gif"))
}
