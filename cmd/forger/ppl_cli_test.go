package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"forger/dataset"
)

// TestEvalPPLAnyGenerator: eval scores a vae's decoder and a stylegan
// (fd for any generator), --ppl adds ppl, ppl_n and ppl_space measured in
// the face judge's features, the same number twice, and --ppl without a
// model or with --ppl-n 2 is a usage error.
func TestEvalPPLAnyGenerator(t *testing.T) {
	dir := t.TempDir()
	faces, err := dataset.GetCartoonFaces(context.Background(), dataset.CartoonOptions{N: 400, Size: 32, Seed: 5, Dir: filepath.Join(dir, "faces")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	judgePath := filepath.Join(dir, "judge.safetensors")
	if _, stderr, code := forger(t, nil, "judge", "train", "--data", faces, "--size", "32", "--epochs", "1", "--out", judgePath); code != 0 {
		t.Fatalf("judge train: exit %d: %s", code, stderr)
	}
	images := filepath.Join(faces, "images")
	runs := map[string][]string{
		"vae":      {"--ngf", "8", "--ndf", "8", "--nz", "16"},
		"stylegan": {"--ngf", "8", "--nz", "16", "--mapping-layers", "2"},
	}
	type report struct {
		FD       *float64 `json:"fd"`
		N        int      `json:"n"`
		PPL      *float64 `json:"ppl"`
		PPLN     int      `json:"ppl_n"`
		PPLSpace string   `json:"ppl_space"`
	}
	eval := func(args ...string) report {
		t.Helper()
		out, stderr, code := forger(t, nil, append([]string{"eval", "--judge", judgePath, "--data", faces, "-n", "100", "--json"}, args...)...)
		if code != 0 {
			t.Fatalf("eval %v: exit %d: %s", args, code, stderr)
		}
		var r report
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	for model, flags := range runs {
		run := filepath.Join(dir, model)
		args := append([]string{"train", "--model", model, "--size", "32", "--data", images, "--out", run, "--epochs", "1", "--batch", "16"}, flags...)
		if model != "vae" {
			args = append(args, "--augment", "none") // a vae has no augmentation to turn off
		}
		if _, stderr, code := forger(t, nil, args...); code != 0 {
			t.Fatalf("train %s: exit %d: %s", model, code, stderr)
		}
		plain := eval("--model", run)
		if plain.FD == nil || plain.N != 100 || plain.PPL != nil {
			t.Fatalf("eval %s: %+v", model, plain)
		}
		r := eval("--model", run, "--ppl", "--ppl-n", "40")
		want := "slerp in z, distance in the face judge's features"
		if model == "stylegan" {
			want = "lerp in w, distance in the face judge's features"
		}
		if r.PPL == nil || !(*r.PPL > 0) || r.PPLN != 40 || r.PPLSpace != want || r.FD == nil || *r.FD != *plain.FD {
			t.Fatalf("eval %s --ppl: %+v", model, r)
		}
		if again := eval("--model", run, "--ppl", "--ppl-n", "40"); *again.PPL != *r.PPL {
			t.Fatalf("%s: ppl %g then %g", model, *r.PPL, *again.PPL)
		}
	}
	for _, bad := range [][]string{
		{"--images", images, "--ppl"},
		{"--model", filepath.Join(dir, "vae"), "--ppl", "--ppl-n", "2"},
	} {
		_, stderr, code := forger(t, nil, append([]string{"eval", "--judge", judgePath, "--data", faces, "-n", "100"}, bad...)...)
		if code == 0 || !strings.Contains(stderr, "--ppl") || strings.Contains(stderr, "panic") {
			t.Fatalf("eval %v: exit %d, %q", bad, code, stderr)
		}
	}
}
