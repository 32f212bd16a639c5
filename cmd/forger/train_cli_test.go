package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"forger/gan"
	"forger/runfolder"
)

// --minutes without --epochs trains until the clock (issue 23, item 2), and
// the summary names only files the run wrote (item 1).
func TestTrainMinutesWithoutEpochs(t *testing.T) {
	needFashion(t)
	run := filepath.Join(t.TempDir(), "run")
	tiny := []string{"train", "--data", "fashion-mnist", "--limit", "64", "--batch", "32", "--ngf", "8", "--ndf", "8", "--nz", "16", "--size", "28"}
	out, stderr, code := forger(t, nil, append(tiny, "--out", run, "--minutes", "0.02")...)
	if code != 0 || !strings.Contains(out, "stopped after --minutes") || !strings.Contains(out, "losses:") {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, out, stderr)
	}
	f, _, err := gan.Open(filepath.Join(run, "checkpoints", runfolder.LatestName))
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Options struct {
			Epochs int `json:"epochs"`
		} `json:"options"`
	}
	if err := json.Unmarshal([]byte(f.Metadata[gan.MetaTrain]), &st); err != nil || st.Options.Epochs != 0 {
		t.Fatalf("the run was given %d epochs (%v), want none", st.Options.Epochs, err)
	}

	// Stopped before its first step: no loss plot, and none announced.
	run2 := filepath.Join(t.TempDir(), "run2")
	out, stderr, code = forger(t, nil, append(tiny, "--out", run2, "--minutes", "1e-9")...)
	if code != 0 || strings.Contains(out, "losses:") || !strings.Contains(out, "checkpoint:") {
		t.Fatalf("exit %d, stdout %q, stderr %s", code, out, stderr)
	}
}
