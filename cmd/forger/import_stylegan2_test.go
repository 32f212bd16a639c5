package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportStyleGAN2CLI: an NVIDIA network pickle (the 32×32 fixture of
// interop/torch, made by NVIDIA's code) imported; generate and mix run it;
// export onnx writes it (checked in ONNX Runtime when Node.js is
// installed: conv_clamp and its FP16 layers' clamps included); project
// without a discriminator refuses it in one line; what cannot be imported
// gets one line and exit code 2.
func TestImportStyleGAN2CLI(t *testing.T) {
	dir := t.TempDir()
	fix := filepath.Join("..", "..", "interop", "torch", "testdata", "stylegan2")
	ck := filepath.Join(dir, "sg2.safetensors")
	out, errs, code := forger(t, nil, "import", "stylegan2", filepath.Join(fix, "rgb32.pkl"), "--out", ck)
	if code != 0 || !strings.Contains(out, "stylegan 32×32×3, z 32, w 32, 2 mapping layers, widths min(256/res, 32), conv_clamp 1") {
		t.Fatalf("import: %d %s %s", code, out, errs)
	}
	if _, errs, code = forger(t, nil, "generate", "--model", ck, "--seeds", "1-2", "--truncation", "0.7", "--out", filepath.Join(dir, "gen")); code != 0 {
		t.Fatalf("generate: %s", errs)
	}
	if _, err := os.Stat(filepath.Join(dir, "gen", "seed0002.png")); err != nil {
		t.Fatal(err)
	}
	if _, errs, code = forger(t, nil, "mix", "--model", ck, "--rows", "1-2", "--cols", "3", "--out", filepath.Join(dir, "mix.png")); code != 0 {
		t.Fatalf("mix: %s", errs)
	}
	// --key G: the snapshot's live generator (the same network here).
	if out, errs, code = forger(t, nil, "import", "stylegan2", filepath.Join(fix, "rgb32.pkl"), "--key", "G", "--out", filepath.Join(dir, "g.safetensors")); code != 0 || !strings.Contains(out, "(G)") {
		t.Fatalf("--key G: %d %s %s", code, out, errs)
	}

	oneLine := func(what, errs string, wantCode, code int, says string) {
		t.Helper()
		if code != wantCode || !strings.Contains(errs, says) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("%s: exit %d, %q; want exit %d and one line saying %q", what, code, errs, wantCode, says)
		}
	}
	args := []string{"export", "onnx", ck, "--out", filepath.Join(dir, "g.onnx"), "--truncation", "0.7", "--batch", "dynamic"}
	if _, err := exec.LookPath("node"); err == nil {
		args = append(args, "--verify")
	}
	if out, errs, code = forger(t, nil, args...); code != 0 || !strings.Contains(out, "z [dynamic,32] float32 (truncation 0.7) -> image [dynamic,3,32,32]") {
		t.Errorf("export onnx: exit %d: %s %s", code, out, errs)
	}
	t.Log(strings.TrimSpace(out))
	_, errs, code = forger(t, nil, "project", "--model", ck, filepath.Join(dir, "gen", "seed0001.png"), "--out", filepath.Join(dir, "proj"))
	// An imported generator has no discriminator: the default perceptual
	// loss cannot be had, pixels can.
	oneLine("project", errs, 1, code, "the model has no discriminator: use --features judge")
	if _, errs, code = forger(t, nil, "project", "--model", ck, filepath.Join(dir, "gen", "seed0001.png"), "--loss", "pixel", "--steps", "20", "--out", filepath.Join(dir, "proj")); code != 0 {
		t.Errorf("project --loss pixel: exit %d: %s", code, errs)
	}
	_, errs, code = forger(t, nil, "import", "stylegan2", filepath.Join(fix, "cond8.pkl"), "--out", filepath.Join(dir, "x.safetensors"))
	oneLine("conditional", errs, 2, code, "is conditional (c_dim 3)")
	_, errs, code = forger(t, nil, "import", "stylegan2", filepath.Join(fix, "rgb32.pkl"), "--key", "D", "--out", filepath.Join(dir, "x.safetensors"))
	oneLine("--key D", errs, 2, code, "D is a None")
	_, errs, code = forger(t, nil, "import", "stylegan2", "import_stylegan2_test.go", "--out", filepath.Join(dir, "x.safetensors"))
	oneLine("a Go file", errs, 2, code, "not a pickle")
	_, errs, code = forger(t, nil, "import", "stylegan2", filepath.Join(fix, "rgb32.pkl"))
	oneLine("no --out", errs, 2, code, "--out")
	if _, err := os.Stat(filepath.Join(dir, "x.safetensors")); err == nil {
		t.Error("a refused import wrote its --out")
	}
}
