package main

import (
	"encoding/json"
	"fmt"
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

// A resume continues the run's recipe: a recipe flag given with another
// value than the run's is refused in one line naming it, the run's value
// and --resume; the run's own command line again, with another clock, is
// accepted.
func TestResumeRecipeFlags(t *testing.T) {
	needFashion(t)
	run := filepath.Join(t.TempDir(), "run")
	tiny := []string{"train", "--data", "fashion-mnist", "--out", run, "--limit", "64", "--batch", "32", "--ngf", "8", "--ndf", "8", "--nz", "16", "--size", "28"}
	if out, stderr, code := forger(t, nil, append(tiny, "--minutes", "0.01")...); code != 0 {
		t.Fatalf("train: exit %d, stdout %q, stderr %s", code, out, stderr)
	}
	_, stderr, code := forger(t, nil, "train", "--out", run, "--resume", "--lr-g", "1e-4", "--minutes", "0.01")
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	want := "forger: --lr-g 0.0001 differs from the resumed run's 0.0002: --resume continues the run's recipe (to change it, start a new run from its weights with --from " + run + " and another --out)"
	if code == 0 || len(lines) != 1 || lines[0] != want {
		t.Fatalf("resume with another --lr-g: exit %d, stderr %q, want %q", code, stderr, want)
	}
	_, stderr, _ = forger(t, nil, "train", "--out", run, "--resume", "--ngf", "16")
	if !strings.Contains(stderr, "--ngf 16 differs from the resumed run's 8: --resume continues the run's recipe (to change it, start a new run with another --out)") {
		t.Errorf("resume with another --ngf: stderr %q", stderr)
	}
	out, stderr, code := forger(t, nil, append(tiny, "--resume", "--lr-g", "2e-4", "--minutes", "0.01")...)
	if code != 0 || !strings.Contains(out, "stopped after --minutes") {
		t.Fatalf("resume with the run's flags and --minutes: exit %d, stdout %q, stderr %s", code, out, stderr)
	}
}

// A flag given that the model does not use is refused even at the value
// its recipe has (--loss bce is a vae's, --mbstd a stylegan's), in the
// same line as at any other value.
func TestTrainRefusesUnusedFlagsAtRecipeValues(t *testing.T) {
	data, dir := discFolder(t, 16), t.TempDir()
	for i, c := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--model", "vae", "--loss", "bce"}, `forger: --loss "bce" does not apply to a vae: it has no discriminator`},
		{[]string{"--model", "vae", "--d-norm", "batch"}, "forger: --d-norm does not apply to a vae: it has no discriminator"},
		{[]string{"--model", "stylegan", "--d-arch", "residual", "--mbstd"}, "forger: --mbstd does not apply to a stylegan: its residual discriminator always has minibatch stddev"},
		{[]string{"--model", "dcgan", "--mapping-layers", "0"}, "forger: --mapping-layers 0 does not apply to a dcgan: it is a stylegan setting"},
	} {
		args := append([]string{"train", "--size", "32", "--data", data, "--out", filepath.Join(dir, fmt.Sprint(i)),
			"--epochs", "1", "--batch", "8", "--ngf", "8", "--nz", "16"}, c.flags...)
		_, stderr, code := forger(t, nil, args...)
		if code == 0 || strings.TrimSpace(stderr) != c.want {
			t.Errorf("%v: exit %d, stderr %q, want %q", c.flags, code, stderr, c.want)
		}
	}
}

// --from keeps the source's network: a shape flag given another value than
// the source's is refused in one line naming the flag, the source's value
// and what to do, one the source's model does not use as such; shape flags
// not given, --model included, are the source's, and the schedule's
// (--lr-g, --loss) are free.
func TestTrainFromKeepsSourceNetwork(t *testing.T) {
	needFashion(t)
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	tiny := []string{"train", "--data", "fashion-mnist", "--limit", "64", "--batch", "32", "--minutes", "1e-9"}
	if out, stderr, code := forger(t, nil, append(tiny, "--out", src, "--ngf", "8", "--ndf", "8", "--nz", "16", "--size", "28")...); code != 0 {
		t.Fatalf("train: exit %d, stdout %q, stderr %s", code, out, stderr)
	}
	net := "the network of " + filepath.Join(src, "checkpoints", runfolder.LatestName)
	const advice = "; --from keeps the source's network, so leave the flag out"
	for i, c := range []struct {
		flags []string
		want  string
	}{
		{[]string{"--d-norm", "batch"}, `forger: --d-norm "batch": ` + net + " has spectral norm in D" + advice},
		{[]string{"--mbstd"}, "forger: --mbstd: " + net + " has no minibatch stddev in D" + advice},
		{[]string{"--d-arch", "deep"}, `forger: --d-arch "deep": ` + net + " has the dcgan discriminator" + advice},
		{[]string{"--ngf", "32"}, "forger: --ngf 32: " + net + " has a generator width of 8" + advice},
		{[]string{"--size", "32"}, "forger: --size 32: " + net + " makes 28×28 images" + advice},
		{[]string{"--model", "cdcgan"}, `forger: --model "cdcgan": ` + net + " is a dcgan" + advice},
		{[]string{"--mapping-layers", "2"}, "forger: --mapping-layers 2 does not apply to a dcgan: it is a stylegan setting"},
	} {
		_, stderr, code := forger(t, nil, append(append(tiny, "--from", src, "--out", filepath.Join(dir, fmt.Sprint(i))), c.flags...)...)
		if code == 0 || strings.TrimSpace(stderr) != c.want {
			t.Errorf("--from with %v: exit %d, stderr %q, want %q", c.flags, code, stderr, c.want)
		}
	}
	tuned := filepath.Join(dir, "tuned")
	if out, stderr, code := forger(t, nil, append(tiny, "--from", src, "--out", tuned, "--ngf", "8", "--lr-g", "1e-4", "--loss", "bce")...); code != 0 {
		t.Fatalf("--from with the source's --ngf and another schedule: exit %d, stdout %q, stderr %s", code, out, stderr)
	}
	if _, cfg, err := gan.Open(filepath.Join(tuned, "checkpoints", runfolder.LatestName)); err != nil || cfg.NZ != 16 || cfg.NDF != 8 || !cfg.SpectralNorm {
		t.Errorf("fine-tuned network %+v (%v), want the source's", cfg, err)
	}

	// A stylegan's: --model, its mapping network and widths are the source's.
	data := discFolder(t, 16)
	sg := filepath.Join(dir, "sg")
	styleTiny := []string{"train", "--data", data, "--batch", "8", "--minutes", "1e-9"}
	if _, stderr, code := forger(t, nil, append(styleTiny, "--model", "stylegan", "--size", "32", "--out", sg, "--ngf", "8", "--nz", "16", "--mapping-layers", "2")...); code != 0 {
		t.Fatalf("train stylegan: exit %d: %s", code, stderr)
	}
	if _, stderr, _ := forger(t, nil, append(styleTiny, "--from", sg, "--out", filepath.Join(dir, "sg-bad"), "--mapping-layers", "4")...); !strings.Contains(stderr, "--mapping-layers 4: the network of "+filepath.Join(sg, "checkpoints", runfolder.LatestName)+" has 2 mapping layers"+advice) {
		t.Errorf("--from a stylegan with another --mapping-layers: %q", stderr)
	}
	sg2 := filepath.Join(dir, "sg2")
	if _, stderr, code := forger(t, nil, append(styleTiny, "--from", sg, "--out", sg2)...); code != 0 {
		t.Fatalf("--from a stylegan without --model: exit %d: %s", code, stderr)
	}
	if _, cfg, err := gan.Open(filepath.Join(sg2, "checkpoints", runfolder.LatestName)); err != nil || cfg.Arch != gan.StyleGAN || cfg.NZ != 16 || cfg.StyleGAN.MappingLayers != 2 {
		t.Errorf("fine-tuned stylegan %+v (%v), want the source's network", cfg, err)
	}
}

// A run given --data as a relative path resumes from another folder, given
// the data's absolute path or not at all.
func TestResumeFromAnotherFolder(t *testing.T) {
	data := discFolder(t, 16)
	run := filepath.Join(t.TempDir(), "run")
	tiny := []string{"--batch", "8", "--ngf", "8", "--ndf", "8", "--nz", "16", "--size", "32"}
	if out, stderr, code := forgerIn(t, filepath.Dir(data), append([]string{"train", "--data", "./" + filepath.Base(data), "--out", run, "--epochs", "1"}, tiny...)...); code != 0 {
		t.Fatalf("train: exit %d, stdout %q, stderr %s", code, out, stderr)
	}
	elsewhere := t.TempDir()
	if out, stderr, code := forgerIn(t, elsewhere, "train", "--resume", "--out", run, "--epochs", "2"); code != 0 || !strings.Contains(out, "done: 2 epochs") {
		t.Fatalf("resume from another folder: exit %d, stdout %q, stderr %s", code, out, stderr)
	}
	if out, stderr, code := forgerIn(t, elsewhere, "train", "--resume", "--out", run, "--epochs", "3", "--data", data); code != 0 || !strings.Contains(out, "done: 3 epochs") {
		t.Fatalf("resume from another folder with --data %s: exit %d, stdout %q, stderr %s", data, code, out, stderr)
	}
}
