package main

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"forger/gan"
	"forger/judge"
	"forger/latent"
)

// A young model that rarely draws the attribute: its classifier says "no"
// for every sample. direction learn then learns from the classifier's
// scores (issue 23, item 5) and the direction still adds the attribute.
func TestDirectionLearnFromScores(t *testing.T) {
	dir := t.TempDir()
	model := latTinyModel(t, dir)
	clfDir := filepath.Join(dir, "clf")
	median := filepath.Join(clfDir, "bright.safetensors")
	latMedianJudge(t, model, median, "bright", 1)

	// The same classifier with its threshold above every sample's score.
	rare := filepath.Join(dir, "rare", "bright.safetensors")
	j, err := judge.Load(median)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gan.LoadGenerator(model)
	if err != nil {
		t.Fatal(err)
	}
	clf, err := latent.LoadClassifier(median, "")
	if err != nil {
		t.Fatal(err)
	}
	_, _, probs, err := latent.SampleLabelled(context.Background(), g, clf, 400, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	top := -1e9
	for _, p := range probs {
		top = max(top, latent.Logit(p))
	}
	j.Head.Bias.Value.Data[1] -= float32(top + 1) // every logit ≤ −1
	if err := j.Save(rare); err != nil {
		t.Fatal(err)
	}

	out := filepath.Join(dir, "bright.json")
	res := latRun(t, "direction", "learn", "--model", model, "--attribute", "bright", "--judge", rare, "--samples", "400", "--out", out, "--json")
	var lr struct {
		Positives int    `json:"positives"`
		Method    string `json:"method"`
	}
	if err := json.Unmarshal([]byte(res), &lr); err != nil || lr.Positives != 0 || lr.Method != latent.MethodScores {
		t.Fatalf("direction learn from a classifier that says no to all: %q %v", res, err)
	}
	// Judged by the median classifier, moving along it adds the attribute.
	fails := filepath.Join(dir, "failures.png")
	res = latRun(t, "direction", "check", "--model", model, "--direction", out, "--classifier-dir", clfDir, "-n", "30", "--strength", "3",
		"--out", filepath.Join(dir, "check.png"), "--failures", fails, "--json")
	var ck latent.CheckResult
	if err := json.Unmarshal([]byte(res), &ck); err != nil || ck.N != 30 {
		t.Fatalf("direction check: %q %v", res, err)
	}
	if ck.SuccessRate < 0.5 {
		t.Errorf("moving 3 along the direction learnt from scores added the attribute to %.0f%% only", 100*ck.SuccessRate)
	}
	// The failures: as many seeds as the success rate leaves, and a grid of
	// them (two rows of 64-pixel tiles) when there are any.
	if want := 30 - int(math.Round(30*ck.SuccessRate)); len(ck.FailedSeeds) != want {
		t.Errorf("%d failed seeds, want %d (success %.3f of 30)", len(ck.FailedSeeds), want, ck.SuccessRate)
	}
	if _, err := os.Stat(fails); (err == nil) != (len(ck.FailedSeeds) > 0) {
		t.Errorf("failures grid exists: %v, failed seeds %v", err == nil, ck.FailedSeeds)
	}

	// A classifier whose scores do not vary: a clear error.
	flat := filepath.Join(dir, "flat", "bright.safetensors")
	clear(j.Head.Weight.Value.Data)
	if err := j.Save(flat); err != nil {
		t.Fatal(err)
	}
	_, stderr, code := forger(t, nil, "direction", "learn", "--model", model, "--attribute", "bright", "--judge", flat, "--samples", "400", "--out", filepath.Join(dir, "flat.json"))
	if code == 0 || !strings.Contains(stderr, "same score") {
		t.Errorf("flat scores: exit %d, %q", code, stderr)
	}
}
