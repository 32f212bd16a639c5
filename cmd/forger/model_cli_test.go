package main

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"forger/gan"
	"forger/optim"
	"forger/runfolder"
)

// saveCheckpoint writes an untrained 28×28 gray DCGAN checkpoint.
func saveCheckpoint(t *testing.T, path string) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	cfg := gan.Config{Arch: gan.DCGAN, Size: 28, Channels: 1, NZ: 8, NGF: 4, NDF: 4}
	g, err := gan.NewGenerator(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	d, _ := gan.NewDiscriminator(cfg, rng)
	ck := &gan.Checkpoint{Config: g.Cfg, G: g, D: d, OptG: optim.NewAdam(g.Params(), 1e-4, 0.5, 0.9),
		OptD: optim.NewAdam(d.Params(), 1e-4, 0.5, 0.9), TrainState: `{"epoch":1,"images":64}`}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := ck.Save(path); err != nil {
		t.Fatal(err)
	}
}

// forgerIn runs the binary in dir.
func forgerIn(t *testing.T, dir string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "FORGER_GEMM=go", "FORGER_HOME="+t.TempDir())
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

// A model argument may be a checkpoint, a run folder or a name from forger
// models list; a wrong one is answered in one line that says so and names
// the nearest models (issue 23, item 7). A copied latest.safetensors is a
// model (item 3).
func TestModelArguments(t *testing.T) {
	dir := t.TempDir()
	ck := filepath.Join(dir, "runs", "faces-32", "checkpoints")
	saveCheckpoint(t, filepath.Join(ck, "1e_0k_28x28.safetensors"))
	if err := os.Symlink("1e_0k_28x28.safetensors", filepath.Join(ck, runfolder.LatestName)); err != nil {
		t.Fatal(err)
	}
	saveCheckpoint(t, filepath.Join(dir, "models", "latest.safetensors"))
	os.WriteFile(filepath.Join(dir, "photo.png"), []byte("\x89PNG\r\n\x1a\nnot really"), 0o644)

	out, stderr, code := forgerIn(t, dir, "models", "list", "models")
	if code != 0 || !strings.Contains(out, "models/latest.safetensors") {
		t.Fatalf("models list of a copied latest.safetensors: exit %d %q %s", code, out, stderr)
	}
	out, _, _ = forgerIn(t, dir, "models", "list", "runs")
	if !strings.Contains(out, "faces-32/1e_0k_28x28 *") || strings.Count(out, ".safetensors") != 1 {
		t.Fatalf("models list runs: %q", out)
	}

	for _, model := range []string{"faces-32", "faces-32/1e_0k_28x28", "runs/faces-32", "models/latest.safetensors"} {
		if _, stderr, code := forgerIn(t, dir, "generate", "--model", model, "-n", "1", "--out", t.TempDir()); code != 0 {
			t.Errorf("generate --model %s: exit %d: %s", model, code, stderr)
		}
	}

	for _, c := range []struct {
		args []string
		want []string
	}{
		{[]string{"generate", "--model", "/nope"}, []string{"/nope", "run folder", "forger models list"}},
		{[]string{"generate", "--model", "face-32"}, []string{"nearest: faces-32"}},
		{[]string{"train", "--data", "fashion-mnist", "--from", "face-32", "--out", "x"}, []string{"--from face-32", "nearest: faces-32"}},
		{[]string{"generate", "--model", "runs/face-32"}, []string{"nearest: runs/faces-32"}},
		{[]string{"generate", "--model", "photo.png"}, []string{"not a forger checkpoint"}},
		{[]string{"generate", "--model", "runs"}, []string{"not a run folder", "forger models list runs"}},
		{[]string{"generate"}, []string{"--model is required", "forger models list"}},
		{[]string{"morph", "--model", "face-32", "--from", "1", "--to", "2", "--out", "x.gif"}, []string{"nearest: faces-32"}},
		{[]string{"models", "list", "nowhere"}, []string{"no such folder"}},
		{[]string{"models", "list", "photo.png"}, []string{"not a folder or a forger checkpoint"}},
		{[]string{"direction", "learn", "--model", "faces-32", "--attribute", "smiling", "--judge", "nope.safetensors", "--out", "d.json"},
			[]string{"no such classifier", "--attribute smiling --size 28"}},
	} {
		_, stderr, code := forgerIn(t, dir, c.args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code == 0 || len(lines) != 1 || strings.Contains(stderr, "goroutine") {
			t.Errorf("%v: exit %d, stderr %q", c.args, code, stderr)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(stderr, w) {
				t.Errorf("%v: %q does not say %q", c.args, strings.TrimSpace(stderr), w)
			}
		}
	}
}
