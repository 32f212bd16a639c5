package main

import (
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"forger/augment"
	"forger/gan"
	"forger/train"
)

// TestTrainRecipeFlags checks that a recipe flag the user gives wins over
// the model's recipe, whichever flag spells it: --d-norm spectral keeps
// spectral norm in a cdcgan (whose recipe has batch norm), and --d-norm none
// with --r1 trains a discriminator without normalisation.
func TestTrainRecipeFlags(t *testing.T) {
	needFashion(t)
	dir := t.TempDir()
	cases := []struct {
		name  string
		args  []string
		check func(gan.Config) bool
	}{
		{"cdcgan --d-norm spectral", []string{"--model", "cdcgan", "--d-norm", "spectral"}, func(c gan.Config) bool { return c.SpectralNorm && !c.DNoNorm }},
		{"dcgan --d-norm none --r1", []string{"--d-norm", "none", "--r1", "5", "--loss", "bce"}, func(c gan.Config) bool { return !c.SpectralNorm && c.DNoNorm }},
		{"dcgan --d-arch deep", []string{"--d-arch", "deep"}, func(c gan.Config) bool { return c.DArch == gan.DArchDeep && c.SpectralNorm }},
	}
	for i, c := range cases {
		run := filepath.Join(dir, string(rune('a'+i)))
		args := append([]string{"train", "--data", "fashion-mnist", "--out", run, "--limit", "64", "--epochs", "1",
			"--batch", "32", "--ngf", "8", "--ndf", "8", "--json"}, c.args...)
		out, stderr, code := forger(t, nil, args...)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", c.name, code, stderr)
		}
		var res struct {
			Checkpoint string `json:"checkpoint"`
		}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatal(err)
		}
		_, cfg, err := gan.Open(res.Checkpoint)
		if err != nil || !c.check(cfg) {
			t.Errorf("%s: config %+v %v", c.name, cfg, err)
		}
	}
}

// TestTrainFaceRecipe checks that a dcgan of 64×64 takes the face recipe
// (BCE, no normalisation in D but biases, R1 10, minibatch stddev) when no
// recipe flag is given, one of 128×128 the same large-face recipe — and
// batch norm without the recipe's R1 when asked for with --d-norm batch —
// and that a 32×32 one keeps the small-image recipe.
func TestTrainFaceRecipe(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "faces")
	os.Mkdir(data, 0o755)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 40 {
		img := image.NewRGBA(image.Rect(0, 0, 64, 64))
		for p := range img.Pix {
			img.Pix[p] = uint8(rng.IntN(256))
		}
		f, _ := os.Create(filepath.Join(data, fmt.Sprintf("%02d.png", i)))
		png.Encode(f, img)
		f.Close()
	}
	for _, c := range []struct {
		size   string
		recipe string // face, large, batch or small
		args   []string
	}{{"64", "face", nil}, {"128", "large", nil}, {"128", "batch", []string{"--d-norm", "batch"}}, {"32", "small", nil}} {
		args := append([]string{"train", "--data", data, "--out", filepath.Join(dir, "run"+c.size+c.recipe), "--size", c.size,
			"--epochs", "1", "--batch", "16", "--ngf", "4", "--ndf", "4", "--augment", "none", "--json"}, c.args...)
		out, stderr, code := forger(t, nil, args...)
		if code != 0 {
			t.Fatalf("size %s %s: exit %d: %s", c.size, c.recipe, code, stderr)
		}
		var res struct {
			Checkpoint string `json:"checkpoint"`
		}
		json.Unmarshal([]byte(out), &res)
		f, cfg, err := gan.Open(res.Checkpoint)
		if err != nil {
			t.Fatal(err)
		}
		var st struct {
			Options struct {
				Loss string  `json:"loss"`
				R1   float64 `json:"r1"`
			} `json:"options"`
		}
		json.Unmarshal([]byte(f.Metadata[gan.MetaTrain]), &st)
		bce := st.Options.Loss == "bce" && cfg.MinibatchStd && !cfg.SpectralNorm
		got := map[string]bool{
			"face":  bce && cfg.DNoNorm && cfg.DBias && st.Options.R1 == 10,
			"batch": bce && !cfg.DNoNorm && st.Options.R1 == 0,
			"large": bce && cfg.DNoNorm && cfg.DBias && st.Options.R1 == 10,
			"small": cfg.SpectralNorm && !cfg.DNoNorm && st.Options.Loss == "hinge" && st.Options.R1 == 0,
		}
		if !got[c.recipe] {
			t.Errorf("size %s, %s recipe: config %+v, options %+v", c.size, c.recipe, cfg, st.Options)
		}
	}
}

// train's warnings name no flag; forger train adds the advice in its flags.
func TestTrainWarningAdvice(t *testing.T) {
	face, large, hinge := train.FaceDefaults(), train.LargeFaceDefaults(), train.Defaults()
	face.DBias, large.DBias = true, true // as Complete gives a new run
	old := large                         // a run begun before D without normalisation had biases
	old.DBias = false
	bn := face // --d-norm batch: pytorch/examples' D, without R1
	bn.DNoNorm, bn.DBias, bn.R1 = false, false, 0
	bnADA := bn
	bnADA.Augment = augment.ADA
	bnNone := bn
	bnNone.Augment = augment.None
	for _, c := range []struct {
		name      string
		kind      train.WarningKind
		recipe    train.Options
		want, not []string // flags the advice names, and must not
	}{
		{"hinge, D wins", train.WarnDWins, hinge, []string{"--r1 10", "--lr-d than 0.0002"}, []string{"--label-smoothing", "--d-norm none"}},
		{"face, D wins", train.WarnDWins, face, []string{"--label-smoothing 0.1", "--augment ada", "--lr-d"}, []string{"--r1 10", "--d-norm"}},
		{"batch norm, D wins", train.WarnDWins, bn, []string{"--label-smoothing 0.1", "--d-norm none --r1 10", "--augment ada"}, nil},
		{"large face, D wins", train.WarnDWins, large, []string{"--lr-d"}, []string{"--r1 10"}},
		{"hinge, collapse", train.WarnCollapse, hinge, []string{"--lr-g", "earlier checkpoint"}, nil},
		{"face, collapse", train.WarnCollapse, face, []string{"--lr-g"}, []string{"--mbstd"}},
		{"hinge, grey", train.WarnGrey, hinge, []string{"--loss bce --d-norm none --r1 10 --mbstd"}, nil},
		{"face, grey", train.WarnGrey, face, []string{"weaker --r1 than 10"}, []string{"--d-norm", "new run"}},
		{"batch norm without augmentation, grey", train.WarnGrey, bnNone, []string{"--augment ada"}, []string{"--d-norm batch", "--r1"}},
		{"batch norm with ADA, grey", train.WarnGrey, bnADA, []string{"--ada-target"}, []string{"--augment ada", "--d-norm batch"}},
		{"large face, grey", train.WarnGrey, large, []string{"weaker --r1 than 10"}, []string{"--d-norm batch", "new run"}},
		{"large face without biases in D, grey", train.WarnGrey, old, []string{"no biases", "a new run"}, []string{"--r1"}},
	} {
		got := trainWarning(train.Warning{Kind: c.kind, Message: "what happened", Run: c.recipe})
		if !strings.HasPrefix(got, "what happened. ") {
			t.Errorf("%s: %q, want the message first", c.name, got)
		}
		for _, f := range c.want {
			if !strings.Contains(got, f) {
				t.Errorf("%s: %q, want advice naming %s", c.name, got, f)
			}
		}
		for _, f := range c.not {
			if strings.Contains(got, f) {
				t.Errorf("%s: %q names %s, which the recipe has or cannot take", c.name, got, f)
			}
		}
	}
	if got := trainWarning(train.Warning{Kind: train.WarnSkipped, Message: "skipped 2 files"}); got != "skipped 2 files" {
		t.Errorf("a warning without advice is worded %q", got)
	}
}

// TestGivenOptions: each option of a run's recipe has a flag of forger
// train, and the flags given name their options (train.Options.Given), both
// of D's normalisation for --d-norm.
func TestGivenOptions(t *testing.T) {
	cmd := trainCmd()
	typ := reflect.TypeFor[train.Options]()
	for i := range typ.NumField() {
		f := typ.Field(i)
		// PLEvery: the recipe's alone; DBias: follows --d-norm in a new run
		// and the checkpoint in a resumed one, never given.
		if f.Tag.Get("json") == "-" || f.Name == "PLEvery" || f.Name == "DBias" {
			continue
		}
		if flagFor(cmd, f.Name) == "" {
			t.Errorf("option %s of the recipe has no flag: a resume could not check it", f.Name)
		}
	}
	if err := cmd.ParseFlags([]string{"--resume", "--lr-g", "1e-4", "--d-norm", "none", "--minutes", "3"}); err != nil {
		t.Fatal(err)
	}
	if got, want := givenOptions(cmd), []string{"LRG", "SpectralNorm", "DNoNorm", "Minutes", "Resume"}; !slices.Equal(got, want) {
		t.Errorf("given %v, want %v", got, want)
	}
}
