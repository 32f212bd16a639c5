package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"forger/dataset"
)

// TestEvalFaceJudge trains a small face judge on rendered faces and scores a
// folder of real faces with it: without -n, eval takes the number of faces
// the set holds out (the default 10,000 is more than a small set has) and
// says so; the report has the attribute rates; -n too large is refused.
func TestEvalFaceJudge(t *testing.T) {
	dir := t.TempDir()
	faces, err := dataset.GetCartoonFaces(context.Background(), dataset.CartoonOptions{N: 400, Size: 32, Seed: 3, Dir: filepath.Join(dir, "faces")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	judgePath := filepath.Join(dir, "judge.safetensors")
	if _, stderr, code := forger(t, nil, "judge", "train", "--data", faces, "--size", "32", "--epochs", "1", "--out", judgePath); code != 0 {
		t.Fatalf("judge train: exit %d: %s", code, stderr)
	}
	// The rendered faces themselves stand in for a generator's images.
	out, stderr, code := forger(t, nil, "eval", "--images", filepath.Join(faces, "images"), "--judge", judgePath, "--data", faces, "--json")
	if code != 0 {
		t.Fatalf("eval: exit %d: %s", code, stderr)
	}
	var rep struct {
		N       int                `json:"n"`
		AttrGap *float64           `json:"attr_gap"`
		AttrGen map[string]float64 `json:"attr_gen"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.N != 100 || rep.AttrGap == nil || len(rep.AttrGen) != 7 || !strings.Contains(stderr, "n = 100,") {
		t.Fatalf("eval without -n: n %d, attr_gap %v, rates %v, stderr %q", rep.N, rep.AttrGap, rep.AttrGen, stderr)
	}
	if _, stderr, code := forger(t, nil, "eval", "--images", filepath.Join(faces, "images"), "--judge", judgePath, "--data", faces, "-n", "500"); code == 0 || !strings.Contains(stderr, "-n 500 is more than") || !strings.Contains(stderr, "100 or less") {
		t.Fatalf("eval -n 500 of 100 held out: exit %d, %q", code, stderr)
	}
}
