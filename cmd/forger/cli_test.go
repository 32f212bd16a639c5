package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"forger/dataset"
	"forger/gan"
	"forger/internal/fixture"
)

var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "forger-cli")
	if err != nil {
		panic(err)
	}
	bin = filepath.Join(dir, "forger")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		panic(string(out))
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// forger runs the binary and returns stdout, stderr and the exit code.
func forger(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(append(os.Environ(), "FORGER_GEMM=go", "FORGER_HOME="+t.TempDir()), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

func needFashion(t *testing.T) {
	t.Helper()
	if err := dataset.Installed(dataset.FashionMNIST); err != nil {
		fixture.Missing(t, err)
	}
}

func TestVersionNamesBackend(t *testing.T) {
	out, _, code := forger(t, nil, "version")
	if code != 0 || !strings.Contains(out, "gemm: go") {
		t.Fatalf("version: %q (exit %d)", out, code)
	}
}

func TestTrainGenerateList(t *testing.T) {
	needFashion(t)
	dir := t.TempDir()
	run := filepath.Join(dir, "run")
	out, stderr, code := forger(t, nil, "train", "--data", "fashion-mnist", "--model", "cdcgan", "--out", run,
		"--limit", "128", "--epochs", "1", "--batch", "32", "--ngf", "8", "--ndf", "8", "--json")
	if code != 0 {
		t.Fatalf("train exit %d: %s", code, stderr)
	}
	var res struct {
		Checkpoint string `json:"checkpoint"`
		Epochs     int    `json:"epochs"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Epochs != 1 || !strings.HasSuffix(res.Checkpoint, "1e_0k_28x28.safetensors") {
		t.Fatalf("train result %q: %v", out, err)
	}
	// Without recipe flags a cdcgan trains with the conditional recipe.
	if _, cfg, err := gan.Open(res.Checkpoint); err != nil || cfg.GCond != gan.GCondOneHot || cfg.DCond != gan.DCondProjection || cfg.SpectralNorm {
		t.Fatalf("default cdcgan recipe: %+v %v", cfg, err)
	}

	gen := func(outDir string, args ...string) []string {
		t.Helper()
		out, stderr, code := forger(t, nil, append([]string{"generate", "--model", run, "--out", outDir, "--json"}, args...)...)
		if code != 0 {
			t.Fatalf("generate exit %d: %s", code, stderr)
		}
		var r struct {
			Files []string `json:"files"`
			Grid  string   `json:"grid"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		return append(r.Files, r.Grid)
	}
	a := gen(filepath.Join(dir, "a"), "--seeds", "3,5-6", "--class", "Sneaker", "--grid")
	b := gen(filepath.Join(dir, "b"), "--seeds", "3,5-6", "--class", "7", "--grid")
	if len(a) != 4 || filepath.Base(a[0]) != "seed0003_Sneaker.png" || filepath.Base(a[3]) != "grid.png" {
		t.Fatalf("files %v", a)
	}
	for i := range a {
		x, _ := os.ReadFile(a[i])
		y, _ := os.ReadFile(b[i])
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Fatalf("%s and %s differ: the same seed must give the same image", a[i], b[i])
		}
	}
	c := gen(filepath.Join(dir, "c"), "--seeds", "4", "--class", "Sneaker")
	x, _ := os.ReadFile(a[0])
	y, _ := os.ReadFile(c[0])
	if bytes.Equal(x, y) {
		t.Fatal("seeds 3 and 4 gave the same image")
	}

	out, _, code = forger(t, nil, "models", "list", dir, "--json")
	if code != 0 || !strings.Contains(out, `"arch":"cdcgan"`) || !strings.Contains(out, `"Sneaker"`) {
		t.Fatalf("models list: %q", out)
	}

	// Bad requests: one line on stderr, non-zero exit, nothing written.
	bad := [][]string{
		{"generate", "--model", run, "--class", "Hat", "--out", filepath.Join(dir, "x")},
		{"generate", "--model", a[0], "--out", filepath.Join(dir, "x")},
		{"generate", "--model", filepath.Join(dir, "missing.safetensors"), "--out", filepath.Join(dir, "x")},
		{"generate", "--model", run, "--seeds", "9-2", "--out", filepath.Join(dir, "x")},
		{"train", "--data", filepath.Join(dir, "nothing"), "--out", filepath.Join(dir, "x")},
		{"train", "--data", "fashion-mnist", "--out", filepath.Join(dir, "x"), "--size", "48"},
		{"train", "--data", "fashion-mnist", "--out", run, "--limit", "64"},
		{"bench", "train", "--size", "48"},
		{"data", "get", "cifar"},
	}
	for _, args := range bad {
		_, stderr, code := forger(t, nil, args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code == 0 || len(lines) != 1 || !strings.HasPrefix(lines[0], "forger: ") || strings.Contains(stderr, "goroutine") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); err == nil {
		t.Error("a failed command left files in its output folder")
	}
}
