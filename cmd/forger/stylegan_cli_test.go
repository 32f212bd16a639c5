package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// discFolder writes n 32×32 images of a coloured disc on a background.
func discFolder(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	for i := 0; i < n; i++ {
		img := image.NewRGBA(image.Rect(0, 0, 32, 32))
		cx, cy, r := 8+(i*7)%16, 8+(i*5)%16, 4+i%6
		for y := 0; y < 32; y++ {
			for x := 0; x < 32; x++ {
				c := color.RGBA{uint8(40 * (i % 6)), 90, uint8(255 - 30*(i%8)), 255}
				if (x-cx)*(x-cx)+(y-cy)*(y-cy) <= r*r {
					c = color.RGBA{250, uint8(20 * (i % 12)), 60, 255}
				}
				img.Set(x, y, c)
			}
		}
		var b bytes.Buffer
		png.Encode(&b, img)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("d%03d.png", i)), b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestStyleGANTrainGenerateMix trains a tiny stylegan from the command
// line and checks models list (JSON, and the table's columns), generate (seeds deterministic, truncation 0
// is one image for all seeds) and the mix grid's size and errors.
func TestStyleGANTrainGenerateMix(t *testing.T) {
	data, dir := discFolder(t, 16), t.TempDir()
	run := filepath.Join(dir, "sg")
	_, errOut, code := forger(t, nil, "train", "--model", "stylegan", "--size", "32", "--data", data, "--out", run,
		"--epochs", "1", "--batch", "8", "--ngf", "8", "--nz", "16", "--mapping-layers", "2", "--json")
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, errOut)
	}
	out, _, code := forger(t, nil, "models", "list", dir, "--json")
	if code != 0 || !strings.Contains(out, `"arch":"stylegan"`) {
		t.Fatalf("models list: %s (exit %d)", out, code)
	}
	// The table's columns line up under their headings.
	out, _, code = forger(t, nil, "models", "list", dir)
	lines := strings.Split(out, "\n")
	if code != 0 || len(lines) < 2 || strings.Index(lines[1], "stylegan ") != strings.Index(lines[0], "ARCH") ||
		strings.Index(lines[1], "32x32x3") != strings.Index(lines[0], "SIZE") {
		t.Fatalf("models list: columns do not line up:\n%s", out)
	}
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, sub := range []string{"a", "b"} {
		if _, e, code := forger(t, nil, "generate", "--model", run, "--seeds", "1-2", "--out", filepath.Join(dir, sub)); code != 0 {
			t.Fatalf("generate: %s", e)
		}
	}
	a1, b1, a2 := read(filepath.Join(dir, "a", "seed0001.png")), read(filepath.Join(dir, "b", "seed0001.png")), read(filepath.Join(dir, "a", "seed0002.png"))
	if !bytes.Equal(a1, b1) || bytes.Equal(a1, a2) {
		t.Fatal("a seed is not one image, or two seeds are one")
	}
	if _, e, code := forger(t, nil, "generate", "--model", run, "--seeds", "1-3", "--truncation", "0", "--out", filepath.Join(dir, "t")); code != 0 {
		t.Fatalf("generate --truncation 0: %s", e)
	}
	t1 := read(filepath.Join(dir, "t", "seed0001.png"))
	if !bytes.Equal(t1, read(filepath.Join(dir, "t", "seed0003.png"))) || bytes.Equal(t1, a1) {
		t.Fatal("truncation 0 is not w_avg's image for every seed")
	}

	grid := filepath.Join(dir, "mix.png")
	out, e, code := forger(t, nil, "mix", "--model", run, "--rows", "1-3", "--cols", "4,5", "--out", grid, "--json")
	if code != 0 {
		t.Fatalf("mix: %s", e)
	}
	var res struct {
		Layers int `json:"layers"`
		NumWs  int `json:"num_ws"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Layers != 4 || res.NumWs != 8 {
		t.Fatalf("mix: %s %v", out, err)
	}
	f, err := os.Open(grid)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(f)
	f.Close()
	// 3 columns and 4 rows of 32-pixel tiles (one row and column of
	// sources), 2-pixel gaps, scaled ×2.
	if err != nil || cfg.Width != (3*32+4*2)*2 || cfg.Height != (4*32+5*2)*2 {
		t.Fatalf("mix grid %dx%d, %v", cfg.Width, cfg.Height, err)
	}
	for _, bad := range [][]string{
		{"mix", "--model", run, "--rows", "1", "--cols", "2", "--out", grid, "--layers", "9"},
		{"mix", "--model", run, "--rows", "x", "--cols", "2", "--out", grid},
		{"mix", "--model", run, "--cols", "2", "--out", grid},
		{"generate", "--model", run, "--truncation", "-1"},
	} {
		_, e, code := forger(t, nil, bad...)
		if code == 0 || strings.Count(strings.TrimSpace(e), "\n") != 0 || strings.Contains(e, "panic") {
			t.Errorf("%v: exit %d, %q", bad, code, e)
		}
	}
}

// TestStyleGANWithDCGANDiscriminatorCLI: forger train --model stylegan
// --d-arch dcgan takes --ndf, saves a checkpoint of DCGAN's discriminator
// beside the stylegan's generator, and the commands that read a stylegan's
// discriminator (project --features disc, in W+) read this one; resuming
// with another --d-arch is refused in one line.
func TestStyleGANWithDCGANDiscriminatorCLI(t *testing.T) {
	data, dir := discFolder(t, 16), t.TempDir()
	run := filepath.Join(dir, "sg")
	_, errOut, code := forger(t, nil, "train", "--model", "stylegan", "--d-arch", "dcgan", "--ndf", "8", "--size", "32", "--data", data, "--out", run,
		"--epochs", "1", "--batch", "8", "--ngf", "8", "--nz", "16", "--mapping-layers", "2", "--json")
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, errOut)
	}
	if _, e, code := forger(t, nil, "generate", "--model", run, "--seeds", "1", "--out", filepath.Join(dir, "g")); code != 0 {
		t.Fatalf("generate: %s", e)
	}
	target := filepath.Join(dir, "g", "seed0001.png")
	pout, e, code := forger(t, nil, "project", "--model", run, "--features", "disc", "--steps", "3", "--json", "--out", filepath.Join(dir, "p"), target)
	if code != 0 {
		t.Fatalf("project --features disc: exit %d: %s", code, e)
	}
	if !strings.Contains(pout, `"w+"`) {
		t.Fatalf("project: %s, want a W+ projection", pout)
	}
	_, e, code = forger(t, nil, "train", "--out", run, "--resume", "--epochs", "2", "--d-arch", "residual")
	if code == 0 || strings.Count(strings.TrimSpace(e), "\n") != 0 || !strings.Contains(e, "--d-arch") {
		t.Fatalf("resume with --d-arch residual: exit %d, stderr %q, want one line naming --d-arch", code, e)
	}
}
