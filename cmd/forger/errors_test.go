package main

import (
	"fmt"
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
