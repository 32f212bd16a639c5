package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// cartoon32 renders 2000 cartoon faces at 32×32 into a temporary folder
// (the renderer's npm packages are cached under the user's FORGER_HOME).
func cartoon32(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "cartoon-32")
	cmd := exec.Command(bin, "data", "get", "cartoon-faces", "--n", "2000", "--size", "32", "--dir", dir)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("rendering the cartoon faces this test needs: %v: %s", err, errb.String())
	}
	return dir
}

// At its defaults, attribute train learns smiling from 32×32 faces, which
// the old defaults (lr 2e-3, batches of 128) did not: balanced accuracy
// 50%, a classifier answering "no" for every face, written with exit 0.
// Such a classifier is now refused: non-zero exit, no file (issue 23,
// item 6).
func TestAttributeTrainDefaultsLearnAndChanceIsRefused(t *testing.T) {
	data := cartoon32(t)
	clf := filepath.Join(t.TempDir(), "smiling.safetensors")
	out, stderr, code := forger(t, nil, "attribute", "train", "--data", data, "--attribute", "smiling", "--size", "32", "--out", clf, "--json")
	if code != 0 {
		t.Fatalf("attribute train at its defaults: exit %d: %s", code, stderr)
	}
	var r struct {
		Balanced float64 `json:"balanced_accuracy"`
		Test     int     `json:"test_images"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Test != 200 || r.Balanced < 0.65 {
		t.Fatalf("smiling at 32×32: %q %v", out, err)
	}

	// A learning rate too small to move: at chance, refused.
	weak := filepath.Join(t.TempDir(), "weak.safetensors")
	_, stderr, code = forger(t, nil, "attribute", "train", "--data", data, "--attribute", "smiling", "--size", "32", "--lr", "1e-9", "--epochs", "1", "--out", weak)
	last := stderr[max(0, strings.LastIndex(stderr, "\rforger: ")+1):] // after the progress bar
	if code == 0 || strings.Count(last, "\n") != 1 || !strings.HasPrefix(last, "forger: smiling: balanced accuracy") || !strings.Contains(last, "at chance") {
		t.Fatalf("a classifier at chance: exit %d, %q", code, last)
	}
	if _, err := os.Stat(weak); err == nil {
		t.Fatal("a classifier at chance was written")
	}
}
