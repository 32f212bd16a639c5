package main

import (
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"forger/gan"
	"forger/internal/fixture"
	"forger/interop/onnx"
)

// TestExportONNXStyleGAN trains a tiny stylegan from the command line,
// exports it to ONNX (truncation fixed, and as an input) and checks in ONNX
// Runtime that the graph gives forger generate's PNGs for the same seeds'
// z, to the PNGs' rounding. A vae's decoder exports as a dcgan's
// generator; the stylegan flags and bad truncations are refused in one line.
func TestExportONNXStyleGAN(t *testing.T) {
	data, dir := discFolder(t, 16), t.TempDir()
	run := filepath.Join(dir, "sg")
	if _, errs, code := forger(t, nil, "train", "--model", "stylegan", "--size", "32", "--data", data, "--out", run,
		"--epochs", "1", "--batch", "8", "--ngf", "8", "--nz", "16", "--mapping-layers", "2", "--json"); code != 0 {
		t.Fatalf("train: exit %d: %s", code, errs)
	}
	const psi = "0.7"
	gen := filepath.Join(dir, "gen")
	if _, errs, code := forger(t, nil, "generate", "--model", run, "--seeds", "1-3", "--truncation", psi, "--out", gen); code != 0 {
		t.Fatalf("generate: %s", errs)
	}
	_, nodeErr := exec.LookPath("node")
	fixed := filepath.Join(dir, "fixed.onnx")
	args := []string{"export", "onnx", run, "--out", fixed, "--batch", "dynamic", "--truncation", psi}
	if nodeErr == nil {
		args = append(args, "--verify")
	}
	out, errs, code := forger(t, nil, args...)
	if code != 0 || !strings.Contains(out, "z [dynamic,16] float32 (truncation 0.7) -> image [dynamic,3,32,32] float32 NCHW in [-1, 1]") {
		t.Fatalf("export: exit %d: %s %s", code, out, errs)
	}
	t.Log(strings.TrimSpace(out))
	input := filepath.Join(dir, "input.onnx")
	out, errs, code = forger(t, nil, "export", "onnx", run, "--out", input, "--batch", "3", "--truncation-input")
	if code != 0 || !strings.Contains(out, "z [3,16] float32, truncation [] float32 -> image [3,3,32,32]") {
		t.Fatalf("export --truncation-input: exit %d: %s %s", code, out, errs)
	}
	for _, p := range []string{fixed, input} {
		if st, err := os.Stat(p); err != nil || st.Size() < 10_000 {
			t.Fatalf("%s: %v", p, err)
		}
	}

	oneLine := func(what string, args []string, says string) {
		t.Helper()
		_, errs, code := forger(t, nil, args...)
		if code != 2 || !strings.Contains(errs, says) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("%s: exit %d, %q; want exit 2 and one line saying %q", what, code, errs, says)
		}
	}
	oneLine("negative truncation", []string{"export", "onnx", run, "--out", filepath.Join(dir, "x.onnx"), "--truncation", "-1"}, "--truncation -1: use 0 or more")
	v := filepath.Join(dir, "v")
	if _, errs, code := forger(t, nil, "train", "--model", "vae", "--size", "32", "--data", data, "--out", v,
		"--epochs", "1", "--batch", "8", "--ngf", "8", "--ndf", "8", "--nz", "16", "--json"); code != 0 {
		t.Fatalf("train vae: exit %d: %s", code, errs)
	}
	if out, errs, code := forger(t, nil, "export", "onnx", v, "--out", filepath.Join(dir, "v.onnx")); code != 0 || !strings.Contains(out, "z [1,16] float32 -> image [1,3,32,32]") {
		t.Fatalf("export a vae: exit %d: %s %s", code, out, errs)
	}
	oneLine("vae --truncation", []string{"export", "onnx", v, "--out", filepath.Join(dir, "x.onnx"), "--truncation", "0.5"}, "--truncation is for stylegans, and this model is a vae")
	oneLine("vae --truncation-input", []string{"export", "onnx", v, "--out", filepath.Join(dir, "x.onnx"), "--truncation-input"}, "--truncation-input is for stylegans, and this model is a vae")
	oneLine("an image", []string{"export", "onnx", filepath.Join(gen, "seed0001.png"), "--out", filepath.Join(dir, "x.onnx")}, "not a forger checkpoint")
	if _, err := os.Stat(filepath.Join(dir, "x.onnx")); err == nil {
		t.Error("a refused export wrote its --out")
	}

	if nodeErr != nil {
		fixture.Missing(t, "node is not installed (apt-get install nodejs npm): the exports were not run")
	}
	// generate's PNGs against the graphs, on the seeds' z: a byte is within
	// half a step (1/255 of [-1, 1]) of the value it rounds.
	c := &onnx.CheckData{ZShape: []int{3, 16}, Shape: []int{3, 3, 32, 32}}
	for i := range 3 {
		z := make([]float32, 16)
		gan.LatentForSeed(int64(i+1), 1, z)
		c.Z = append(c.Z, z...)
		f, err := os.Open(filepath.Join(gen, fmt.Sprintf("seed%04d.png", i+1)))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if img.Bounds() != image.Rect(0, 0, 32, 32) {
			t.Fatalf("generate wrote %v", img.Bounds())
		}
		for ch := range 3 {
			for y := range 32 {
				for x := range 32 {
					r, g, b, _ := img.At(x, y).RGBA() // opaque: not premultiplied away
					c.Images = append(c.Images, float32([3]uint32{r, g, b}[ch]>>8)/127.5-1)
				}
			}
		}
	}
	tol := 0.5/127.5 + 1e-4
	for _, p := range []string{fixed, input} {
		v := 0.7
		c.Truncation = &v
		diff, err := onnx.RunCheck(t.Context(), p, c, testLog{t})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: generate's PNGs vs ONNX Runtime, max abs difference %.4g (tolerance %.4g)", filepath.Base(p), diff, tol)
		if diff > tol {
			t.Errorf("%s: generate's images and the graph's differ by %g > %g", filepath.Base(p), diff, tol)
		}
	}
	// The check can fail: another truncation fed is other images.
	other := 1.0
	c.Truncation = &other
	if diff, err := onnx.RunCheck(t.Context(), input, c, testLog{t}); err != nil || diff < 0.05 {
		t.Errorf("truncation 1 fed against images of 0.7: difference %g, %v; want a visible one", diff, err)
	}
}

type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }
