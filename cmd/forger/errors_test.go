package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"forger/gan"
)

func TestKebab(t *testing.T) {
	for in, want := range map[string]string{"LabelSmoothing": "label-smoothing", "GCond": "g-cond", "ADATarget": "ada-target",
		"R1Every": "r1-every", "NZ": "nz", "Steps": "steps", "AugmentP": "augment-p", "FreezeD": "freeze-d", "LR": "lr"} {
		if got := kebab(in); got != want {
			t.Errorf("kebab(%s) = %s, want %s", in, got, want)
		}
	}
}

// TestExplainNamesTheFlag: a library's option error, wrapped, reads with
// the command's flag; without such a flag it stays as it was.
func TestExplainNamesTheFlag(t *testing.T) {
	cmd := &cobra.Command{Use: "x"}
	cmd.Flags().Int("project-steps", 0, "")
	cmd.Flags().String("d-arch", "", "")
	err := fmt.Errorf("loading: %w", &gan.OptionError{Pkg: "gan", Option: "DArch", Value: "resnet", Reason: "is unknown"})
	if got, want := explain(cmd, err).Error(), `loading: --d-arch "resnet" is unknown`; got != want {
		t.Errorf("explain: %q, want %q", got, want)
	}
	err = &gan.OptionError{Pkg: "latent", Option: "Steps", Value: 0, Reason: "must be ≥ 1"}
	if got, want := explain(cmd, err).Error(), "--project-steps 0 must be ≥ 1"; got != want {
		t.Errorf("explain: %q, want %q", got, want)
	}
	err = &gan.OptionError{Pkg: "gan", Option: "Channels", Value: 2, Reason: "is not supported"}
	if got := explain(cmd, err); got != err {
		t.Errorf("explain without a --channels flag: %v, want the error unchanged", got)
	}
}

// TestLibraryErrorsReadAsFlags: errors the libraries return by Go name
// (train's LabelSmoothing, latent's Strengths) reach the user as flags,
// and the sentinels as the sentences they had.
func TestLibraryErrorsReadAsFlags(t *testing.T) {
	dir := t.TempDir()
	model := latTinyModel(t, dir)
	v := make([]float64, 16)
	v[0] = 1
	dfile := filepath.Join(dir, "d.json")
	latWriteDirection(t, dfile, "x", v)
	run := filepath.Join(dir, "run")
	faces := filepath.Join(dir, "faces.safetensors")
	saveModel(t, faces, gan.Config{Arch: gan.DCGAN, Size: 32, Channels: 3, NZ: 8, NGF: 8, NDF: 8})
	noJudge := filepath.Join(dir, "judge.safetensors")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"train", "--data", "fashion-mnist", "--out", run, "--label-smoothing", "0.7"}, "forger: --label-smoothing 0.7 must be in [0, 0.5)"},
		{[]string{"train", "--data", "fashion-mnist", "--out", run, "--r1", "1", "--d-norm", "batch"}, "forger: --r1 needs a discriminator without batch norm: add --spectral-norm or --d-norm none"},
		{[]string{"train", "--data", "fashion-mnist", "--out", run, "--resume"}, "(start without --resume)"},
		{[]string{"edit", "--model", model, "--seed", "1", "--direction", dfile, "--strengths", "-3:3:0", "--out", filepath.Join(dir, "x.png")}, `forger: --strengths "-3:3:0" has a COUNT outside 1 to 1000`},
		{[]string{"project", "--model", model, dfile, "--loss", "l1", "--out", filepath.Join(dir, "p")}, `forger: --loss "l1" is unknown (use perceptual, pixel or both)`},
		{[]string{"project", "--model", model, dfile, "--init", "encoder", "--encoder", filepath.Join(dir, "enc.safetensors"), "--out", filepath.Join(dir, "p")}, "(make one with: forger encoder train --model CKPT --out "},
		// A missing judge: the command that makes one for the model's data.
		{[]string{"eval", "--model", model, "--judge", noJudge}, "(make one with: forger judge train --data fashion-mnist --out " + noJudge + ")"},
		{[]string{"eval", "--model", faces, "--judge", noJudge}, "(make one with: forger judge train --data cartoon-faces --size 32 --out " + noJudge + ")"},
		{[]string{"eval", "--model", faces, "--data", "mnist"}, "(make one with: forger judge train --data mnist --out JUDGE.safetensors)"},
	} {
		_, stderr, code := forger(t, nil, c.args...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.args, code, stderr, c.want)
		}
	}
}
