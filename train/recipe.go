package train

import (
	"reflect"
	"slices"

	"forger/dataset"
	"forger/gan"
)

// Complete fills in what a new run was not given (o.Given) with forger's
// recipe, as forger train does, so that a Go caller that lists what it
// chose trains the command line's run:
//
//   - Size and Channels are the data's (dataset.DefaultShape), or with From
//     the source's whole network (TakeShape);
//   - the options of the recipe (batch, widths, loss, normalisation,
//     optimiser, penalties) are DefaultsFor's for the model at its size, a
//     stylegan's for the discriminator given or its source's (withStyleD).
//     R1 follows the discriminator: a stylegan's residual one's from its
//     batch (StyleGANR1), none for batch norm in D;
//   - a dcgan, cdcgan or vae of 128×128 and above, not From a source, has
//     widths of Wide128 (steps at a usable pace on 2 cores);
//   - without Epochs, a run trains Defaults' epochs, or with Minutes until
//     the clock.
//
// A resumed run is left as it is: its recipe is its checkpoint's. Its
// errors are TakeShape's.
func (o *Options) Complete() error {
	if o.Resume {
		return nil
	}
	given := func(name string) bool { return slices.Contains(o.Given, name) }
	keep := o.Given
	if o.From != "" {
		if err := o.TakeShape(); err != nil {
			return err
		}
		keep = append(slices.Clone(o.Given), ShapeOptions...)
	} else {
		size, channels := dataset.DefaultShape(o.Data)
		if !given("Size") || o.Size == 0 {
			o.Size = size
		}
		if !given("Channels") || o.Channels == 0 {
			o.Channels = channels
		}
	}
	rec := DefaultsFor(o.Model, o.Size)
	if o.Model == gan.StyleGAN && slices.Contains(keep, "DArch") {
		rec = rec.withStyleD(o.DArch)
	}
	o.applyRecipe(rec, keep)
	if o.Size >= 128 && o.From == "" && o.Model != gan.StyleGAN {
		if !slices.Contains(keep, "NGF") {
			o.NGF = Wide128
		}
		if !slices.Contains(keep, "NDF") {
			o.NDF = Wide128
		}
	}
	if o.From == "" {
		// A new dcgan's or cdcgan's D without normalisation gets biases
		// (gan.Config.DBias); one From a checkpoint has the source's.
		// Spectral norm's D is as homogeneous, but its recipe (the default
		// below 64×64) keeps the D it was measured with until it is
		// measured with biases.
		o.DBias = (o.Model == gan.DCGAN || o.Model == gan.CDCGAN || o.dcganD()) && o.DNoNorm && !o.SpectralNorm
	}
	if o.Model == gan.StyleGAN && !o.dcganD() && !given("NDF") {
		// Its residual discriminator is as wide as its generator (a given
		// NDF is refused by Run): the run's options say so, as its
		// checkpoint does.
		o.NDF = o.NGF
	}
	if !given("Epochs") || o.Epochs == 0 {
		o.Epochs = 0
		if o.Minutes <= 0 {
			o.Epochs = Defaults().Epochs
		}
	}
	return nil
}

// recipeOptions are the options a model's recipe (DefaultsFor) sets where
// not given: its batch, latent size and widths, loss, normalisation,
// optimiser and penalties, and other models' settings (unset for most), so
// that a run's checkpoints hold no defaults its model does not use.
var recipeOptions = []string{"Batch", "NZ", "NGF", "NDF", "Loss", "SpectralNorm", "DNoNorm", "MinibatchStd", "DArch", "R1", "LRG", "LRD", "Beta1", "Beta2", "EMA",
	"R1Every", "ADATarget", "MappingLayers", "StyleMixing", "PLWeight", "PLEvery", "KLWeight"}

// applyRecipe sets rec's value of each of recipeOptions that keep does not
// list. R1 is the recipe's for its own discriminator and batch: a
// stylegan's γ follows the batch (StyleGANR1), and with batch norm in D
// (given, or a source's) the run has none.
func (o *Options) applyRecipe(rec Options, keep []string) {
	v, r := reflect.ValueOf(o).Elem(), reflect.ValueOf(rec)
	for _, name := range recipeOptions {
		if !slices.Contains(keep, name) {
			v.FieldByName(name).Set(r.FieldByName(name))
		}
	}
	if slices.Contains(keep, "R1") {
		return
	}
	if o.Model == gan.StyleGAN && !o.dcganD() {
		o.R1 = StyleGANR1(o.Size, o.Batch)
	} else if !o.SpectralNorm && !o.DNoNorm {
		o.R1 = 0
	}
}

// withStyleD returns a stylegan's recipe o with the discriminator darch.
// DCGAN's (dcgan or deep) is FaceDefaults' — width 64, no normalisation
// (with biases), minibatch stddev, R1 γ FaceR1 and its learning rate —
// beside the generator's Adam betas. StyleGAN2's residual one is as wide
// as G, learns at G's rate and has StyleGAN2-ADA's R1 (StyleGANR1).
func (o Options) withStyleD(darch string) Options {
	o.DArch, o.SpectralNorm, o.DNoNorm, o.MinibatchStd = darch, false, true, true
	if o.dcganD() {
		f := FaceDefaults()
		o.NDF, o.R1, o.LRD = f.NDF, f.R1, f.LRD
		return o
	}
	o.NDF, o.LRD, o.R1 = o.NGF, o.LRG, StyleGANR1(o.Size, o.Batch)
	return o
}
