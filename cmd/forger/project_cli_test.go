package main

// forger project and forger encoder through the built binary on a tiny model.

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"forger/latent"
)

func TestProjectAndEncoder(t *testing.T) {
	dir := t.TempDir()
	model := latTinyModel(t, dir)
	latRun(t, "generate", "--model", model, "--seeds", "5", "--out", dir)
	photo := filepath.Join(dir, "seed0005.png")

	type result struct {
		Initial float64 `json:"initial_loss"`
		Final   float64 `json:"final_loss"`
		Steps   int     `json:"steps"`
		Latent  string  `json:"latent"`
		GIF     string  `json:"gif"`
		Recon   string  `json:"reconstruction"`
	}
	project := func(args ...string) result {
		t.Helper()
		out := latRun(t, append([]string{"project", "--model", model, photo, "--json"}, args...)...)
		var r result
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("project %q: %v", out, err)
		}
		return r
	}
	if r := project("--loss", "pixel", "--optimizer", "lbfgs", "--steps", "100", "--out", filepath.Join(dir, "l")); r.Steps != 100 || !(r.Final < r.Initial/10) {
		t.Errorf("pixel projection with L-BFGS: %+v, want a 10× fall", r)
	}
	r := project("--loss", "pixel", "--steps", "100", "--out", filepath.Join(dir, "p"))
	if r.Steps != 100 || !(r.Final < r.Initial/10) {
		t.Errorf("pixel projection with Adam: %+v, want a 10× fall", r)
	}
	for _, f := range []string{r.Latent, r.GIF, r.Recon, filepath.Join(dir, "p", "compare.png")} {
		if _, err := os.Stat(f); err != nil {
			t.Error(err)
		}
	}
	if n := latGIFFrames(t, r.GIF); n != 100/3+1+1+2 { // every 3 steps, the last, and 2 to linger
		t.Errorf("projection.gif has %d frames", n)
	}
	lf, err := latent.ReadFile(r.Latent)
	if err != nil || lf.Source != photo || lf.Model != model {
		t.Fatalf("latent.json: %+v %v", lf, err)
	}
	// The default (perceptual through the model's discriminator, plus pixels).
	if r := project("--steps", "30", "--out", filepath.Join(dir, "q")); !(r.Final < r.Initial) {
		t.Errorf("default projection: %+v", r)
	}

	enc := filepath.Join(dir, "enc.safetensors")
	latRun(t, "encoder", "train", "--model", model, "--samples", "3000", "--batch", "32", "--width", "8", "--lr", "2e-3", "--out", enc)
	if r := project("--init", "encoder", "--encoder", enc, "--loss", "pixel", "--steps", "10", "--out", filepath.Join(dir, "e")); !(r.Initial < 0.05) {
		t.Errorf("encoder init: %+v", r)
	}
	iter := filepath.Join(dir, "iter.safetensors")
	latRun(t, "encoder", "train", "--model", model, "--samples", "2000", "--batch", "32", "--width", "8", "--lr", "2e-3", "--iterations", "2", "--out", iter)
	if r := project("--init", "encoder", "--encoder", iter, "--loss", "pixel", "--steps", "10", "--out", filepath.Join(dir, "i")); !(r.Initial < 0.05) {
		t.Errorf("iterative encoder init: %+v", r)
	}
	// Real images beside the generated pairs: the first 6 of a folder.
	realDir := filepath.Join(dir, "real")
	latRun(t, "generate", "--model", model, "--seeds", "100-107", "--out", realDir)
	withReal := filepath.Join(dir, "real.safetensors")
	latRun(t, "encoder", "train", "--model", model, "--samples", "1000", "--batch", "32", "--width", "8", "--iterations", "2",
		"--data", realDir, "--data-limit", "6", "--photo-like", "--out", withReal)
	if e, err := latent.LoadEncoder(withReal); err != nil {
		t.Error(err)
	} else if e.Cfg.RealImages != 6 || e.Cfg.RealData != realDir || !e.Cfg.PhotoLike {
		t.Errorf("encoder trained on photo-like real images: config %+v", e.Cfg)
	}
	out := latRun(t, "project", "--model", model, "--compare-init", "--encoder", enc, "-n", "4", photo, "--steps", "40", "--loss", "pixel", "--out", filepath.Join(dir, "cmp"), "--json")
	var cmp struct {
		Groups []struct {
			Name   string  `json:"name"`
			Steps  int     `json:"encoder_steps_to_mean_final"`
			Mean   float64 `json:"mean_init_final_loss"`
			Within bool    `json:"steps_within_fifth"`
			Images int     `json:"images"`
			Passed bool    `json:"passed"`
			Below  int     `json:"images_passed"`
		} `json:"groups"`
		Within int      `json:"groups_within_fifth"`
		Plots  []string `json:"plots"`
	}
	if err := json.Unmarshal([]byte(out), &cmp); err != nil || len(cmp.Groups) != 2 || cmp.Groups[0].Name != "generated" {
		t.Fatalf("compare-init %q: %v", out, err)
	}
	if len(cmp.Plots) != 2 {
		t.Fatalf("plots %v", cmp.Plots)
	}
	within := 0
	for _, g := range cmp.Groups {
		if g.Within != (g.Steps >= 0 && g.Steps <= 40/5) {
			t.Errorf("group %s: %d steps, steps_within_fifth %v", g.Name, g.Steps, g.Within)
		}
		if g.Within {
			within++
		}
		if g.Below < 0 || g.Below > g.Images {
			t.Errorf("group %s: %d of %d images passed", g.Name, g.Below, g.Images)
		}
		if g.Images == 1 && (g.Below == 1) != g.Passed {
			t.Errorf("group %s of one image: passed %v, images_passed %d", g.Name, g.Passed, g.Below)
		}
	}
	if cmp.Within != within {
		t.Errorf("groups_within_fifth %d, want %d", cmp.Within, within)
	}
	for _, p := range cmp.Plots {
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
	}
}
