package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVAETrainGenerateBench trains a tiny vae from the command line and
// checks that its metrics have recon and kl, that models list and
// generate treat its decoder as a generator (a seed is one image), that a
// bad --kl-weight is a one-line error naming the flag, and that bench
// train times it.
func TestVAETrainGenerateBench(t *testing.T) {
	data, dir := discFolder(t, 16), t.TempDir()
	run := filepath.Join(dir, "v")
	out, errOut, code := forger(t, nil, "train", "--model", "vae", "--size", "32", "--data", data, "--out", run,
		"--epochs", "2", "--batch", "8", "--ngf", "8", "--ndf", "8", "--nz", "16", "--kl-weight", "0.5", "--json")
	if code != 0 {
		t.Fatalf("train: exit %d: %s", code, errOut)
	}
	var res struct{ Checkpoint, Stopped string }
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Stopped != "done" {
		t.Fatalf("train: %q, %v", out, err)
	}
	b, err := os.ReadFile(filepath.Join(run, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]float64
	if err := json.Unmarshal(bytes.SplitN(b, []byte("\n"), 2)[0], &m); err != nil {
		t.Fatal(err)
	}
	if m["recon"] <= 0 || m["kl"] <= 0 || math.Abs(m["loss_g"]-(m["recon"]+0.5*m["kl"])) > 1e-9*m["loss_g"] {
		t.Fatalf("metrics line %v: want recon, kl and loss_g = recon + 0.5·kl", m)
	}
	if out, _, code := forger(t, nil, "models", "list", dir, "--json"); code != 0 || !strings.Contains(out, `"arch":"vae"`) {
		t.Fatalf("models list: %s (exit %d)", out, code)
	}
	for _, sub := range []string{"a", "b"} {
		if _, e, code := forger(t, nil, "generate", "--model", run, "--seeds", "1-2", "--out", filepath.Join(dir, sub)); code != 0 {
			t.Fatalf("generate: %s", e)
		}
	}
	read := func(p string) []byte {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	a1, b1, a2 := read(filepath.Join(dir, "a", "seed0001.png")), read(filepath.Join(dir, "b", "seed0001.png")), read(filepath.Join(dir, "a", "seed0002.png"))
	if !bytes.Equal(a1, b1) || bytes.Equal(a1, a2) {
		t.Fatal("a seed is not one image, or two seeds are one")
	}

	_, errOut, code = forger(t, nil, "train", "--model", "vae", "--size", "32", "--data", data, "--out", filepath.Join(dir, "bad"),
		"--epochs", "1", "--kl-weight", "-1")
	if code == 0 || !strings.Contains(errOut, "--kl-weight") || strings.Count(strings.TrimSpace(errOut), "\n") > 0 || strings.Contains(errOut, "panic") {
		t.Fatalf("--kl-weight -1: exit %d, %q", code, errOut)
	}

	out, errOut, code = forger(t, nil, "bench", "train", "--model", "vae", "--size", "32", "--batch", "4", "--ngf", "8", "--ndf", "8",
		"--steps", "2", "--warmup", "1", "--json")
	var br struct {
		Model        string  `json:"model"`
		ImagesPerSec float64 `json:"images_per_sec"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &br) != nil || br.Model != "vae" || br.ImagesPerSec <= 0 {
		t.Fatalf("bench train --model vae: exit %d, %q %q", code, out, errOut)
	}
}

// TestTrainRefusesFlagsTheModelIgnores: a flag given that the model does
// not use (a GAN's with --model vae, a dcgan's with --model stylegan,
// another model's with --model dcgan) is a one-line error naming the flag
// the user gave, not a run that quietly ignores it.
func TestTrainRefusesFlagsTheModelIgnores(t *testing.T) {
	data, dir := discFolder(t, 16), t.TempDir()
	for i, c := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--model", "vae", "--r1-every", "8"}, "forger: --r1-every 8 does not apply to a vae: it has no discriminator"},
		{[]string{"--model", "vae", "--lr-d", "0.002"}, "forger: --lr-d 0.002 does not apply to a vae"},
		{[]string{"--model", "vae", "--loss", "hinge"}, `forger: --loss "hinge" does not apply to a vae`},
		{[]string{"--model", "vae", "--d-norm", "spectral"}, "forger: --d-norm does not apply to a vae"},
		{[]string{"--model", "vae", "--style-mixing", "0.5"}, "forger: --style-mixing 0.5 does not apply to a vae: it is a stylegan setting"},
		{[]string{"--model", "stylegan", "--d-arch", "residual", "--ndf", "16"}, "forger: --ndf 16 does not apply to a stylegan: its residual discriminator is as wide as its generator"},
		{[]string{"--model", "stylegan", "--d-arch", "residual", "--spectral-norm"}, "forger: --spectral-norm does not apply to a stylegan"},
		{[]string{"--model", "stylegan", "--d-arch", "residual", "--d-norm", "batch"}, "forger: --d-norm does not apply to a stylegan"},
		{[]string{"--model", "stylegan", "--d-arch", "residual", "--mbstd=false"}, "forger: --mbstd does not apply to a stylegan"},
		{[]string{"--model", "dcgan", "--kl-weight", "2"}, "forger: --kl-weight 2 does not apply to a dcgan: it is a vae setting"},
	} {
		args := append([]string{"train", "--size", "32", "--data", data, "--out", filepath.Join(dir, fmt.Sprint(i)),
			"--epochs", "1", "--batch", "8", "--ngf", "8", "--nz", "16"}, c.flags...)
		_, errOut, code := forger(t, nil, args...)
		if code == 0 || !strings.HasPrefix(errOut, c.want) || strings.Count(strings.TrimSpace(errOut), "\n") > 0 {
			t.Errorf("%v: exit %d, %q, want %q", c.flags, code, errOut, c.want)
		}
	}
}
