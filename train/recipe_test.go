package train

import (
	"errors"
	"math/rand/v2"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"forger/gan"
)

// cliStart is Options as forger train starts them before its flags: no
// size, channels or epochs, so that Complete chooses them.
func cliStart() Options {
	o := Defaults()
	o.Size, o.Channels, o.Epochs = 0, 0, 0
	o.Data, o.Out = "faces", "run"
	return o
}

// TestComplete: what Complete fills in for a new run, and what it keeps
// because the caller gave it (Given).
func TestComplete(t *testing.T) {
	cases := []struct {
		name  string
		set   func(*Options)
		given []string
		check func(t *testing.T, o Options)
	}{
		{"the data's shape and the 64×64 face recipe", func(*Options) {}, nil, func(t *testing.T, o Options) {
			if o.Size != 64 || o.Channels != 3 || o.Loss != gan.LossBCE || o.SpectralNorm || !o.DNoNorm || !o.DBias || !o.MinibatchStd || o.NGF != 64 || o.R1 != FaceR1 || o.Epochs != Defaults().Epochs || o.Batch != FaceBatch {
				t.Errorf("%+v, want 64×64 RGB, BCE, no normalisation in D but biases and mbstd, width 64, R1 %d, %d epochs, batch %d", o, FaceR1, Defaults().Epochs, FaceBatch)
			}
		}},
		{"a built-in set's shape and the hinge recipe", func(o *Options) { o.Data = "fashion-mnist" }, nil, func(t *testing.T, o Options) {
			if o.Size != 28 || o.Channels != 1 || o.Loss != gan.LossHinge || !o.SpectralNorm || o.MinibatchStd || o.Batch != 64 {
				t.Errorf("%+v, want 28×28 gray, hinge with spectral norm, no mbstd and batch 64", o)
			}
		}},
		{"a size given 0 is the data's", func(o *Options) { o.Size = 0 }, []string{"Size"}, func(t *testing.T, o Options) {
			if o.Size != 64 {
				t.Errorf("size %d, want the data's 64", o.Size)
			}
		}},
		{"a size not given is the data's", func(o *Options) { o.Size = 32 }, nil, func(t *testing.T, o Options) {
			if o.Size != 64 {
				t.Errorf("size %d, want the data's 64", o.Size)
			}
		}},
		{"128×128 without widths", func(o *Options) { o.Size = 128 }, []string{"Size"}, func(t *testing.T, o Options) {
			if o.NGF != Wide128 || o.NDF != Wide128 || !o.DNoNorm || o.SpectralNorm || o.R1 != 10 || o.Batch != 64 {
				t.Errorf("%+v, want widths %d, no normalisation in D, R1 10 and batch 64", o, Wide128)
			}
		}},
		{"128×128 with --ngf", func(o *Options) { o.Size, o.NGF = 128, 64 }, []string{"Size", "NGF"}, func(t *testing.T, o Options) {
			if o.NGF != 64 || o.NDF != Wide128 {
				t.Errorf("ngf %d, ndf %d, want 64 as given and %d", o.NGF, o.NDF, Wide128)
			}
		}},
		{"a stylegan at 128×128 keeps its widths", func(o *Options) { o.Model, o.Size = gan.StyleGAN, 128 }, []string{"Model", "Size"}, func(t *testing.T, o Options) {
			if o.NGF != 256 || o.Batch != StyleGANBatch || o.R1 != FaceR1 || o.NDF != FaceDefaults().NDF {
				t.Errorf("%+v, want width 256, batch %d and its D's R1 and width", o, StyleGANBatch)
			}
		}},
		{"a stylegan's residual discriminator is as wide as its --ngf", func(o *Options) { o.Model, o.NGF, o.DArch = gan.StyleGAN, 128, gan.DArchResidual }, []string{"Model", "NGF", "DArch"}, func(t *testing.T, o Options) {
			if o.NGF != 128 || o.NDF != 128 {
				t.Errorf("ngf %d, ndf %d, want 128 and 128", o.NGF, o.NDF)
			}
		}},
		{"a stylegan's residual discriminator when asked", func(o *Options) { o.Model, o.DArch = gan.StyleGAN, gan.DArchResidual }, []string{"Model", "DArch"}, func(t *testing.T, o Options) {
			if o.DArch != gan.DArchResidual || o.NDF != o.NGF || o.DBias || o.LRD != o.LRG || o.R1 != StyleGANR1(64, StyleGANBatch) || o.MappingLayers != 2 {
				t.Errorf("%+v, want the residual D as wide as G, no biases, G's lr, StyleGANR1 and 2 mapping layers", o)
			}
			if err := o.validate(); err != nil {
				t.Errorf("validate: %v", err)
			}
		}},
		{"a stylegan has DCGAN's discriminator of the face recipe by default", func(o *Options) { o.Model = gan.StyleGAN }, []string{"Model"}, func(t *testing.T, o Options) {
			if o.DArch != gan.DArchDCGAN || o.MappingLayers != 2 {
				t.Errorf("%+v, want DCGAN's D and 2 mapping layers", o)
			}
		}},
		{"a stylegan with DCGAN's discriminator takes the face recipe's D", func(o *Options) { o.Model, o.DArch = gan.StyleGAN, gan.DArchDCGAN }, []string{"Model", "DArch"}, func(t *testing.T, o Options) {
			f := FaceDefaults()
			if o.NDF != f.NDF || !o.DNoNorm || o.SpectralNorm || !o.DBias || !o.MinibatchStd || o.R1 != FaceR1 || o.LRD != f.LRD || o.LRG != StyleGANDefaults(64).LRG || o.NGF != 256 {
				t.Errorf("%+v, want D width %d without normalisation but biases, mbstd, R1 %d, D's lr %v beside the stylegan's G", o, f.NDF, FaceR1, f.LRD)
			}
			if err := o.validate(); err != nil {
				t.Errorf("validate: %v", err)
			}
		}},
		{"a stylegan with DCGAN's discriminator keeps a given --ndf and --r1", func(o *Options) { o.Model, o.DArch, o.NDF, o.R1 = gan.StyleGAN, gan.DArchDeep, 32, 2 }, []string{"Model", "DArch", "NDF", "R1"}, func(t *testing.T, o Options) {
			if o.NDF != 32 || o.R1 != 2 || o.DArch != gan.DArchDeep {
				t.Errorf("%+v, want deep, ndf 32 and R1 2 as given", o)
			}
			if err := o.validate(); err != nil {
				t.Errorf("validate: %v", err)
			}
		}},
		{"a stylegan's residual discriminator refuses --ndf", func(o *Options) { o.Model, o.NDF, o.DArch = gan.StyleGAN, 32, gan.DArchResidual }, []string{"Model", "NDF", "DArch"}, func(t *testing.T, o Options) {
			if err := o.validate(); !errors.Is(err, ErrNotUsed) {
				t.Errorf("validate: %v, want ErrNotUsed", err)
			}
		}},
		{"a dcgan refuses the residual discriminator", func(o *Options) { o.DArch = gan.DArchResidual }, []string{"DArch"}, func(t *testing.T, o Options) {
			var oe *OptionError
			if err := o.validate(); !errors.As(err, &oe) || oe.Option != "DArch" {
				t.Errorf("validate: %v, want an *OptionError naming DArch", err)
			}
		}},
		{"a residual stylegan's R1 follows its batch", func(o *Options) { o.Model, o.Batch, o.DArch = gan.StyleGAN, 32, gan.DArchResidual }, []string{"Model", "Batch", "DArch"}, func(t *testing.T, o Options) {
			if want := StyleGANR1(64, 32); o.Batch != 32 || o.R1 != want || want == StyleGANR1(64, StyleGANBatch) {
				t.Errorf("batch %d, R1 %v, want 32 and %v", o.Batch, o.R1, want)
			}
		}},
		{"a given R1 is kept", func(o *Options) { o.Model, o.Batch, o.R1 = gan.StyleGAN, 32, 0.5 }, []string{"Model", "Batch", "R1"}, func(t *testing.T, o Options) {
			if o.R1 != 0.5 {
				t.Errorf("R1 %v, want 0.5 as given", o.R1)
			}
		}},
		{"a given R1 with batch norm is kept, for Run to refuse", func(o *Options) { o.Size, o.SpectralNorm, o.R1 = 128, false, 5 }, []string{"Size", "SpectralNorm", "DNoNorm", "R1"}, func(t *testing.T, o Options) {
			if o.R1 != 5 || o.DNoNorm || o.SpectralNorm {
				t.Errorf("%+v, want R1 5 and batch norm as given", o)
			}
			if err := o.validate(); !errors.Is(err, ErrR1BatchNorm) {
				t.Errorf("validate: %v, want ErrR1BatchNorm", err)
			}
		}},
		{"batch norm given at 128×128 drops the recipe's R1", func(o *Options) { o.Size, o.SpectralNorm = 128, false }, []string{"Size", "SpectralNorm", "DNoNorm"}, func(t *testing.T, o Options) {
			if o.R1 != 0 || o.DNoNorm || o.SpectralNorm || o.Loss != gan.LossBCE {
				t.Errorf("%+v, want batch norm in D, no R1, BCE", o)
			}
		}},
		{"spectral norm given at 128×128 keeps the recipe's R1", func(o *Options) { o.Size, o.SpectralNorm = 128, true }, []string{"Size", "SpectralNorm", "DNoNorm"}, func(t *testing.T, o Options) {
			if o.R1 != 10 || !o.SpectralNorm || o.DNoNorm {
				t.Errorf("%+v, want spectral norm in D and R1 10", o)
			}
		}},
		{"a given recipe option is kept", func(o *Options) { o.Loss, o.LRG = gan.LossLSGAN, 1e-3 }, []string{"Loss", "LRG"}, func(t *testing.T, o Options) {
			if o.Loss != gan.LossLSGAN || o.LRG != 1e-3 || o.LRD != 2e-4 {
				t.Errorf("loss %q, lr %v/%v, want lsgan and 0.001 as given, D's 0.0002", o.Loss, o.LRG, o.LRD)
			}
		}},
		{"a recipe option set but not given is the recipe's", func(o *Options) { o.Loss = gan.LossLSGAN }, nil, func(t *testing.T, o Options) {
			if o.Loss != gan.LossBCE {
				t.Errorf("loss %q, want the recipe's bce", o.Loss)
			}
		}},
		{"until the clock", func(o *Options) { o.Minutes = 5 }, []string{"Minutes"}, func(t *testing.T, o Options) {
			if o.Epochs != 0 {
				t.Errorf("epochs %d, want 0 (until the clock)", o.Epochs)
			}
		}},
		{"epochs not given with a clock", func(o *Options) { o.Epochs, o.Minutes = 9, 5 }, []string{"Minutes"}, func(t *testing.T, o Options) {
			if o.Epochs != 0 {
				t.Errorf("epochs %d, want 0 (until the clock)", o.Epochs)
			}
		}},
		{"epochs and a clock", func(o *Options) { o.Epochs, o.Minutes = 3, 5 }, []string{"Epochs", "Minutes"}, func(t *testing.T, o Options) {
			if o.Epochs != 3 {
				t.Errorf("epochs %d, want 3 as given", o.Epochs)
			}
		}},
		{"epochs given 0 without a clock", func(o *Options) { o.Epochs = 0 }, []string{"Epochs"}, func(t *testing.T, o Options) {
			if o.Epochs != Defaults().Epochs {
				t.Errorf("epochs %d, want the default %d", o.Epochs, Defaults().Epochs)
			}
		}},
		{"a D without normalisation has biases", func(o *Options) { o.Size, o.SpectralNorm, o.DNoNorm = 64, false, true }, []string{"Size", "SpectralNorm", "DNoNorm"}, func(t *testing.T, o Options) {
			if !o.DBias {
				t.Errorf("--d-norm none: DBias false, want biases in D")
			}
		}},
		{"the 128×128 recipe's D has biases", func(o *Options) { o.Size = 128 }, []string{"Size"}, func(t *testing.T, o Options) {
			if !o.DNoNorm || !o.DBias {
				t.Errorf("128×128: DNoNorm %v DBias %v, want both", o.DNoNorm, o.DBias)
			}
		}},
		{"batch norm and spectral norm keep their D", func(o *Options) { o.Size, o.SpectralNorm, o.DNoNorm = 64, false, false }, []string{"Size", "SpectralNorm", "DNoNorm"}, func(t *testing.T, o Options) {
			if o.DBias || o.R1 != 0 {
				t.Errorf("64×64 with batch norm in D given: DBias %v, R1 %v; want neither", o.DBias, o.R1)
			}
			o32 := cliStart()
			o32.Size, o32.Given = 32, []string{"Size"}
			if err := o32.Complete(); err != nil || !o32.SpectralNorm || o32.DBias {
				t.Errorf("32×32: %v, spectral norm %v, DBias %v, want spectral norm without biases", err, o32.SpectralNorm, o32.DBias)
			}
		}},
		{"a vae drops the GAN recipe", func(o *Options) { o.Model = gan.VAE }, []string{"Model"}, func(t *testing.T, o Options) {
			if o.KLWeight != 1 || o.EMA != 0 || o.MinibatchStd || o.LRG != 1e-3 {
				t.Errorf("%+v, want the vae recipe", o)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := cliStart()
			c.set(&o)
			o.Given = slices.Clone(c.given)
			if err := o.Complete(); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(o.Given, c.given) {
				t.Errorf("Given %v, want it unchanged %v", o.Given, c.given)
			}
			c.check(t, o)
		})
	}
}

// TestCompleteResume: a resumed run's options are left as they are.
func TestCompleteResume(t *testing.T) {
	o := cliStart()
	o.Resume, o.Out, o.Data = true, "run", ""
	want := o
	if err := o.Complete(); err != nil || !reflect.DeepEqual(o, want) {
		t.Errorf("resumed: %v, %+v, want the options unchanged %+v", err, o, want)
	}
}

// saveSource writes a checkpoint holding a generator of cfg, for From.
func saveSource(t *testing.T, cfg gan.Config) string {
	t.Helper()
	g, err := gan.NewGenerator(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(t.TempDir(), "src.safetensors")
	if err := (&gan.Checkpoint{Config: cfg, G: g}).Save(src); err != nil {
		t.Fatal(err)
	}
	return src
}

// TestCompleteFrom: a run From a checkpoint has its network and the
// recipe of its model at its size, and no Wide128 widths; a shape option
// given with another value than the source's is refused.
func TestCompleteFrom(t *testing.T) {
	src := saveSource(t, gan.Config{Arch: gan.DCGAN, Size: 128, Channels: 3, NZ: 16, NGF: 8, NDF: 8, MinibatchStd: true})

	o := cliStart()
	o.From, o.Given = src, []string{"From", "LRG"}
	o.LRG = 1e-5
	if err := o.Complete(); err != nil {
		t.Fatal(err)
	}
	// The source's batch norm in D: no R1, though the 128×128 recipe has it.
	if o.Size != 128 || o.NGF != 8 || o.NDF != 8 || o.NZ != 16 || o.DNoNorm || o.DBias || o.SpectralNorm || o.R1 != 0 || o.Loss != gan.LossBCE || o.LRG != 1e-5 {
		t.Errorf("from a 128×128 dcgan of width 8 with batch norm in D: %+v", o)
	}
	if !slices.Equal(o.Given, []string{"From", "LRG"}) {
		t.Errorf("Given %v, want it unchanged", o.Given)
	}

	// A source without normalisation in D keeps the D it has: none of the
	// biases a new run's would get when its checkpoint has none.
	for _, bias := range []bool{false, true} {
		src := saveSource(t, gan.Config{Arch: gan.DCGAN, Size: 64, Channels: 3, NZ: 16, NGF: 8, NDF: 8, DNoNorm: true, DBias: bias})
		o := cliStart()
		o.From, o.Given = src, []string{"From"}
		if err := o.Complete(); err != nil || !o.DNoNorm || o.DBias != bias {
			t.Errorf("from a D without norm, biases %v: %v, DNoNorm %v DBias %v", bias, err, o.DNoNorm, o.DBias)
		}
	}

	o = cliStart()
	o.From, o.Size, o.Given = src, 64, []string{"From", "Size"}
	var oe *OptionError
	want := "train: Size 64: the network of " + src + " makes 128×128 images"
	if err := o.Complete(); !errors.As(err, &oe) || oe.Option != "Size" || !errors.Is(err, ErrFromShape) || err.Error() != want {
		t.Errorf("from a 128×128 source given Size 64: %v, want %q wrapping ErrFromShape", err, want)
	}
}
