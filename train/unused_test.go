package train

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"forger/gan"
)

// TestUnusedOptions: a new run given (Options.Given) an option its model
// does not read is an *OptionError naming it, wrapping ErrNotUsed, even at
// the recipe's value; the options the model reads, its recipe and a
// resumed run's options are not refused.
func TestUnusedOptions(t *testing.T) {
	// set gives the option a value other than the recipe's and other than zero.
	set := func(o *Options, name string) {
		o.Given = append(o.Given, name)
		f := reflect.ValueOf(o).Elem().FieldByName(name)
		switch f.Kind() {
		case reflect.Bool:
			f.SetBool(!f.Bool())
		case reflect.Int:
			f.SetInt(f.Int() + 3)
		case reflect.Float64:
			f.SetFloat(f.Float() + 0.25)
		case reflect.String:
			f.SetString(gan.LossHinge + "x")
		default:
			t.Fatalf("%s: no field of Options", name)
		}
	}
	for _, c := range []struct {
		model        string
		darch        string // a stylegan's discriminator ("": the recipe's)
		unused, used []string
	}{
		{gan.VAE, "", []string{"LRD", "Loss", "DSteps", "LabelSmoothing", "SpectralNorm", "DNoNorm", "MinibatchStd", "DArch", "R1", "R1Every",
			"AugmentP", "ADATarget", "GCond", "DCond", "MappingLayers", "StyleMixing", "PLWeight"}, []string{"NGF", "NDF", "NZ", "LRG", "Beta1", "EMA", "KLWeight"}},
		{gan.StyleGAN, gan.DArchResidual, []string{"NDF", "SpectralNorm", "DNoNorm", "MinibatchStd", "GCond", "DCond", "KLWeight"},
			[]string{"NGF", "LRD", "DSteps", "LabelSmoothing", "R1", "R1Every", "StyleMixing", "PLWeight", "MappingLayers"}},
		{gan.StyleGAN, "", []string{"GCond", "DCond", "KLWeight"},
			[]string{"NGF", "NDF", "SpectralNorm", "DNoNorm", "MinibatchStd", "LRD", "DSteps", "R1", "R1Every", "StyleMixing", "PLWeight", "MappingLayers"}},
		{gan.DCGAN, "", []string{"MappingLayers", "StyleMixing", "PLWeight", "KLWeight", "GCond", "DCond"},
			[]string{"NDF", "SpectralNorm", "MinibatchStd", "DSteps", "LRD"}},
		{gan.CDCGAN, "", []string{"MappingLayers", "KLWeight"}, []string{"GCond", "NDF"}},
	} {
		rec := DefaultsFor(c.model, 32)
		if c.darch != "" {
			rec = rec.withStyleD(c.darch)
		}
		rec.Data, rec.Out = "data", "out"
		if err := rec.validate(); err != nil {
			t.Errorf("%s's recipe: %v", c.model, err)
		}
		for _, name := range c.unused {
			o := rec
			set(&o, name)
			err := o.validate()
			var oe *OptionError
			if !errors.As(err, &oe) || oe.Option != name || !errors.Is(err, ErrNotUsed) || !strings.Contains(err.Error(), "does not apply to a "+c.model+": ") {
				t.Errorf("%s with %s set: %v, want an option error for it wrapping ErrNotUsed", c.model, name, err)
			}
			atRecipe := rec
			atRecipe.Given = []string{name}
			if err := atRecipe.validate(); !errors.Is(err, ErrNotUsed) {
				t.Errorf("%s given %s at the recipe's value: %v, want ErrNotUsed", c.model, name, err)
			}
			o.Resume = true
			if err := o.validate(); errors.Is(err, ErrNotUsed) {
				t.Errorf("%s with %s set, resumed: %v", c.model, name, err)
			}
		}
		for _, name := range c.used {
			o := rec
			set(&o, name)
			if err := o.validate(); errors.Is(err, ErrNotUsed) {
				t.Errorf("%s with %s set: %v, but it uses it", c.model, name, err)
			}
		}
	}
	o := StyleGANDefaults(32)
	o.Data, o.Out, o.NGF, o.NDF = "data", "out", 32, 32
	if err := o.validate(); err != nil {
		t.Errorf("stylegan with NDF = NGF: %v", err)
	}
}
