package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestNoSilentDefaults: the latent commands refuse values their libraries
// would silently replace by a default (--steps 0 was 300 steps reported as
// "steps": 0), and project reports the settings it ran with.
func TestNoSilentDefaults(t *testing.T) {
	dir := t.TempDir()
	model := latTinyModel(t, dir)
	photo := filepath.Join(dir, "photo.png")
	latGrayPhoto(t, photo)
	v := make([]float64, 16)
	v[0] = 1
	dfile := filepath.Join(dir, "d.json")
	latWriteDirection(t, dfile, "x", v)
	out := filepath.Join(dir, "out")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"project", "--model", model, photo, "--steps", "0", "--out", out}, "--steps must be between 1 and 100000"},
		{[]string{"project", "--model", model, photo, "--prior", "-1", "--out", out}, "--prior must be ≥ 0"},
		{[]string{"project", "--model", model, photo, "--perceptual-weight", "0", "--out", out}, "--perceptual-weight must be positive"},
		{[]string{"morph", "--model", model, "--from", photo, "--to", "1", "--project-steps", "0", "--out", out + ".gif"}, "--project-steps must be between 1 and 100000"},
		{[]string{"encoder", "train", "--model", model, "--z-loss", "-1", "--out", out + ".safetensors"}, "--image-loss and --z-loss must be ≥ 0"},
		{[]string{"encoder", "train", "--model", model, "--perceptual-weight", "0", "--out", out + ".safetensors"}, "--perceptual-weight must be positive"},
		{[]string{"direction", "check", "--model", model, "--direction", dfile, "--classifier-dir", dir, "--strength", "0"}, "--strength must be a number other than 0"},
	} {
		_, stderr, code := forger(t, nil, c.args...)
		if code != 2 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %q; want exit 2 and %q", c.args[:2], code, stderr, c.want)
		}
	}

	// What project ran with comes back: --prior 0 is off (0), the rest as given.
	stdout := latRun(t, "project", "--model", model, photo, "--steps", "7", "--prior", "0", "--lr", "0.05", "--loss", "pixel", "--out", out, "--json")
	var rep map[string]any
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatalf("project --json: %v: %s", err, stdout)
	}
	for k, want := range map[string]any{"steps": 7.0, "prior": 0.0, "lr": 0.05, "loss": "pixel", "optimizer": "adam", "init": "mean"} {
		if rep[k] != want {
			t.Errorf("project --json %q = %v, want %v", k, rep[k], want)
		}
	}
	if _, ok := rep["perceptual_weight"]; ok {
		t.Errorf("project --loss pixel reports a perceptual_weight: %v", rep)
	}
}
