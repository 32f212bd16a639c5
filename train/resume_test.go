package train

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"forger/augment"
	"forger/gan"
)

// TestResumeRecipe: a resumed run given an option of its recipe with
// another value is refused with an *OptionError naming it that wraps
// ErrResumeRecipe; with the run's own value, or given only its length
// (Minutes, Epochs) and output, it continues.
func TestResumeRecipe(t *testing.T) {
	o := firstSession(t)
	run := o.LRG
	o.Resume, o.Epochs, o.Minutes = true, 0, 1e-9

	o.LRG, o.Given = run/2, []string{"Minutes", "LRG"}
	_, err := Run(context.Background(), o, &quietUI{}, nil)
	var oe *OptionError
	if !errors.As(err, &oe) || oe.Option != "LRG" || !errors.Is(err, ErrResumeRecipe) || !strings.Contains(err.Error(), "differs from the resumed run's 0.0002") {
		t.Fatalf("resumed with LRG %v (the run's %v): %v, want an option error for LRG wrapping ErrResumeRecipe", o.LRG, run, err)
	}

	o.LRG, o.Minutes, o.LogEvery = run, 0.001, 7 // the run's own rate; another clock and cadence
	res, err := Run(context.Background(), o, &quietUI{}, nil)
	if err != nil || res.Stopped != "time" {
		t.Fatalf("resumed with the run's LRG and a new clock: %+v %v", res, err)
	}
	o.Given = nil // a Go caller that gives nothing: the checkpoint's recipe
	o.LRG = 1
	if _, err := Run(context.Background(), o, &quietUI{}, nil); err != nil {
		t.Fatalf("resumed without Given: %v", err)
	}
}

// TestSameRecipe: which given options a resumed run refuses, and how.
func TestSameRecipe(t *testing.T) {
	dir := t.TempDir()
	run := small(filepath.Join(dir, "run"))
	run.Data, run.Augment = dir, augment.DiffAugment // a folder
	cases := []struct {
		name   string
		change func(*Options)
		given  []string
		option string // "" accepted
		err    error
		text   string
	}{
		{"lengths and output", func(o *Options) { o.Epochs, o.Minutes, o.LogEvery, o.SampleMinutes, o.Keep = 9, 3, 1, 2, 1 },
			[]string{"Epochs", "Minutes", "LogEvery", "SampleMinutes", "Keep", "Out", "Resume"}, "", nil, ""},
		{"same values", func(*Options) {}, []string{"LRG", "Batch", "Loss", "Data", "Seed", "MinibatchStd", "SpectralNorm", "DNoNorm"}, "", nil, ""},
		{"a changed option not given", func(o *Options) { o.LRD = 1 }, []string{"LRG"}, "", nil, ""},
		{"defaults that stand for a value", func(o *Options) { o.R1Every, o.ADATarget, o.AugmentP = 16, 0.6, 1 },
			[]string{"R1Every", "ADATarget", "AugmentP"}, "", nil, ""},
		{"the data set's folder, spelt otherwise", func(o *Options) { o.Data = filepath.Join(dir, "run", "..") + "/." }, []string{"Data"}, "", nil, ""},
		{"batch", func(o *Options) { o.Batch = 16 }, []string{"Batch"}, "Batch", ErrResumeRecipe, "Batch 16 differs from the resumed run's 32"},
		{"loss", func(o *Options) { o.Loss = gan.LossHinge }, []string{"Loss"}, "Loss", ErrResumeRecipe, `Loss "hinge" differs from the resumed run's "bce"`},
		{"data", func(o *Options) { o.Data = "mnist" }, []string{"Data"}, "Data", ErrResumeRecipe, `Data "mnist" differs from the resumed run's "` + dir + `"`},
		{"size", func(o *Options) { o.Size = 32 }, []string{"Size"}, "Size", ErrResumeRecipe, ""},
		{"seed", func(o *Options) { o.Seed = 7 }, []string{"Seed"}, "Seed", ErrResumeRecipe, ""},
		{"ema", func(o *Options) { o.EMA = 0.9 }, []string{"EMA"}, "EMA", ErrResumeRecipe, ""},
		{"a bool", func(o *Options) { o.MinibatchStd = true }, []string{"MinibatchStd"}, "MinibatchStd", ErrResumeRecipe, "MinibatchStd is off in the resumed run"},
		{"D's normalisation", func(o *Options) { o.DNoNorm = true }, []string{"SpectralNorm", "DNoNorm"}, "SpectralNorm", ErrResumeRecipe, `SpectralNorm "none" differs from the resumed run's "batch"`},
		{"from", func(o *Options) { o.From = "x.safetensors" }, []string{"From"}, "From", ErrResumeRecipe, "differs from the resumed run, which has none"},
		{"unused by the model", func(o *Options) { o.MappingLayers = 4 }, []string{"MappingLayers"}, "MappingLayers", ErrNotUsed, "does not apply to the resumed cdcgan"},
	}
	for _, c := range cases {
		o := run
		o.Resume = true
		c.change(&o)
		o.Given = c.given
		err := o.sameRecipe(run)
		var oe *OptionError
		switch {
		case c.option == "" && err != nil:
			t.Errorf("%s: %v, want it accepted", c.name, err)
		case c.option != "" && (!errors.As(err, &oe) || oe.Option != c.option || !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.text)):
			t.Errorf("%s: %v, want an option error for %s wrapping %v saying %q", c.name, err, c.option, c.err, c.text)
		}
	}
}

// TestResumeFromAnotherFolder: a run given its data as a relative path
// saves it as an absolute one, so a resume from another working folder
// trains on the same data; given again, the data compares as the place it
// names, relative or absolute.
func TestResumeFromAnotherFolder(t *testing.T) {
	data := blobFolder(t, 16)
	out := filepath.Join(t.TempDir(), "run")
	t.Chdir(filepath.Dir(data))
	rel := "./" + filepath.Base(data)
	o := smallVAE(rel, out)
	o.Epochs = 1
	if _, err := Run(context.Background(), o, &quietUI{}, nil); err != nil {
		t.Fatal(err)
	}
	if _, st, err := readState(out); err != nil || st.Options.Data != data {
		t.Fatalf("saved data %q (%v), want %q", st.Options.Data, err, data)
	}

	t.Chdir(t.TempDir())
	o.Resume, o.Epochs = true, 2
	if res, err := Run(context.Background(), o, &quietUI{}, nil); err != nil || res.Epochs != 2 {
		t.Fatalf("resumed from another folder: %+v %v", res, err)
	}
	o.Given, o.Epochs = []string{"Data", "Epochs"}, 3
	var oe *OptionError
	if _, err := Run(context.Background(), o, &quietUI{}, nil); !errors.As(err, &oe) || oe.Option != "Data" || !errors.Is(err, ErrResumeRecipe) {
		t.Errorf("resumed from another folder given %q, another place there: %v, want it refused", rel, err)
	}
	o.Data = data
	if res, err := Run(context.Background(), o, &quietUI{}, nil); err != nil || res.Epochs != 3 {
		t.Fatalf("resumed from another folder given the data's absolute path: %+v %v", res, err)
	}
	t.Chdir(filepath.Dir(data))
	o.Data, o.Epochs = rel, 4
	if res, err := Run(context.Background(), o, &quietUI{}, nil); err != nil || res.Epochs != 4 {
		t.Fatalf("resumed given the relative path where it names the data: %+v %v", res, err)
	}
}

// TestResumeRecipeFromWeights: a refused resume says whether a new run
// From the run's weights could take the option instead: for a GAN's
// recipe, not for its network's shape, From itself or a vae (no source).
func TestResumeRecipeFromWeights(t *testing.T) {
	ganRun := small("run")
	vaeRun := smallVAE("faces", "run")
	for _, c := range []struct {
		name   string
		run    Options
		change func(*Options)
		option string
		want   bool
	}{
		{"a GAN's learning rate", ganRun, func(o *Options) { o.LRG = 1 }, "LRG", true},
		{"a GAN's loss", ganRun, func(o *Options) { o.Loss = gan.LossHinge }, "Loss", true},
		{"a GAN's width", ganRun, func(o *Options) { o.NGF = 16 }, "NGF", false},
		{"a GAN's source", ganRun, func(o *Options) { o.From = "x.safetensors" }, "From", false},
		{"a vae's learning rate", vaeRun, func(o *Options) { o.LRG = 1 }, "LRG", false},
	} {
		o := c.run
		o.Resume = true
		c.change(&o)
		o.Given = []string{c.option}
		err := o.sameRecipe(c.run)
		var re *ResumeRecipeError
		var oe *OptionError
		if !errors.As(err, &re) || !errors.As(err, &oe) || oe.Option != c.option || !errors.Is(err, ErrResumeRecipe) || re.FromWeights != c.want {
			t.Errorf("%s: %v (%+v), want a *ResumeRecipeError with FromWeights %v under an option error for %s", c.name, err, re, c.want, c.option)
		}
	}
}

// firstSession trains the small Fashion-MNIST run for one epoch in a
// temporary folder and returns its options, for tests that resume it.
func firstSession(t *testing.T) Options {
	t.Helper()
	needFashion(t)
	o := small(filepath.Join(t.TempDir(), "run"))
	o.Epochs = 1
	if _, err := Run(context.Background(), o, &quietUI{}, nil); err != nil {
		t.Fatal(err)
	}
	return o
}
