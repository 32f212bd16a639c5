package main

// Ctrl-C tests of the commands that make pictures: generate, data get,
// face index and align, edit.

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"forger/gan"
	"forger/internal/fixture"
	"forger/optim"
	"forger/picture"
)

// wholeFiles checks that every file left in dir (after Ctrl-C) has a name
// made by want and decodes: nothing half-written, no temporary files.
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
