package main

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"forger/gan"
)

// TestTrainRecipeFlags checks that a recipe flag the user gives wins over
// the model's recipe, whichever flag spells it: --d-norm spectral keeps
// spectral norm in a cdcgan (whose recipe has batch norm), and --d-norm none
// with --r1 trains a discriminator without normalisation.
func TestTrainRecipeFlags(t *testing.T) {
	needFashion(t)
	dir := t.TempDir()
	cases := []struct {
		name  string
		args  []string
		check func(gan.Config) bool
	}{
		{"cdcgan --d-norm spectral", []string{"--model", "cdcgan", "--d-norm", "spectral"}, func(c gan.Config) bool { return c.SpectralNorm && !c.DNoNorm }},
		{"dcgan --d-norm none --r1", []string{"--d-norm", "none", "--r1", "5", "--loss", "bce"}, func(c gan.Config) bool { return !c.SpectralNorm && c.DNoNorm }},
		{"dcgan --d-arch deep", []string{"--d-arch", "deep"}, func(c gan.Config) bool { return c.DArch == gan.DArchDeep && c.SpectralNorm }},
	}
	for i, c := range cases {
		run := filepath.Join(dir, string(rune('a'+i)))
		args := append([]string{"train", "--data", "fashion-mnist", "--out", run, "--limit", "64", "--epochs", "1",
			"--batch", "32", "--ngf", "8", "--ndf", "8", "--json"}, c.args...)
		out, stderr, code := forger(t, nil, args...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", c.name, code, stderr)
		}
		var res struct {
			Checkpoint string `json:"checkpoint"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatal(err)
		}
		_, cfg, err := gan.Open(res.Checkpoint)
		if err != nil || !c.check(cfg) {
			t.Errorf("%s: config %+v %v", c.name, cfg, err)
		}
	}
}
