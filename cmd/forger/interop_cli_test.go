package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestImportGenerateExport: a PyTorch DCGAN (the tiny fixture of
// interop/torch) imported, generated from, and exported to ONNX, checked in
// ONNX Runtime when Node.js is installed.
func TestImportGenerateExport(t *testing.T) {
	dir := t.TempDir()
	fix := filepath.Join("..", "..", "interop", "torch", "testdata", "dcgan64")
	ck := filepath.Join(dir, "imported.safetensors")
	out, errs, code := forger(t, nil, "import", "pytorch", filepath.Join(fix, "netG_epoch_0.pth"), "--d", filepath.Join(fix, "netD_epoch_0.pth"), "--arch", "dcgan", "--out", ck)
	if code != 0 || !strings.Contains(out, "dcgan 64×64×3, nz 8, ngf 2, ndf 2") {
		t.Fatalf("import: %d %s %s", code, out, errs)
	}
	if _, errs, code = forger(t, nil, "generate", "--model", ck, "--seeds", "1-2", "--out", filepath.Join(dir, "gen")); code != 0 {
		t.Fatalf("generate: %s", errs)
	}
	args := []string{"export", "onnx", ck, "--out", filepath.Join(dir, "g.onnx"), "--batch", "dynamic"}
	if _, err := exec.LookPath("node"); err == nil {
		args = append(args, "--verify")
	}
	out, errs, code = forger(t, nil, args...)
	if code != 0 || !strings.Contains(out, "image [dynamic,3,64,64]") {
		t.Fatalf("export: %d %s %s", code, out, errs)
	}
	t.Log(strings.TrimSpace(out))

	// What cannot be imported: one line, exit code 2.
	_, errs, code = forger(t, nil, "import", "pytorch", filepath.Join(fix, "netD_epoch_0.pth"), "--arch", "dcgan", "--out", filepath.Join(dir, "x.safetensors"))
	if code == 0 || !strings.Contains(errs, "main.11.weight [1 16 4 4]") || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
		t.Fatalf("importing D as G: %d %q", code, errs)
	}
	_, errs, code = forger(t, nil, "import", "pytorch", "interop_cli_test.go", "--arch", "dcgan", "--out", filepath.Join(dir, "x.safetensors"))
	if code != 2 || !strings.Contains(errs, "not a readable PyTorch checkpoint") {
		t.Fatalf("a Go file: %d %q", code, errs)
	}
}
