package gan

import (
	"context"
	"image"

	"forger/picture"
	"forger/tensor"
)

// SeedBatch is how many seeds GenerateSeeds renders in one forward pass:
// enough to keep the matrix products busy, few enough that a batch of the
// models forger trains ends well within the second Ctrl-C may take.
const SeedBatch = 8

// GenerateSeeds renders the image of each seed with g (in the mode
// SetTraining set; LoadGeneratorNet's is inference) and hands them to each
// in order, i indexing seeds; picture.FromTensor
// makes them, so they are g's no longer. labels, one per seed, are the
// classes of a conditional model, nil otherwise. psi is the truncation,
// 1 = off: a StyleGenerator pulls w towards w_avg (0 gives the average
// image), another generator scales z towards 0 (SeedZ). It renders
// SeedBatch seeds at a time and checks ctx before each batch, returning
// ctx's error once it is done; it stops at each's first error. A seed's
// image does not depend on the batch it is rendered in.
func GenerateSeeds(ctx context.Context, g GeneratorNet, seeds []int64, labels []int32, psi float64, each func(i int, img image.Image) error) error {
	cfg := g.ModelConfig()
	sg, isStyle := g.(*StyleGenerator)
	for lo := 0; lo < len(seeds); lo += SeedBatch {
		if err := ctx.Err(); err != nil {
			return err
		}
		hi := min(lo+SeedBatch, len(seeds))
		z := tensor.New(hi-lo, cfg.NZ)
		for i, s := range seeds[lo:hi] {
			SeedZ(g, s, psi, z.Data[i*cfg.NZ:(i+1)*cfg.NZ])
		}
		var imgs *tensor.Tensor
		if isStyle {
			imgs = sg.Truncated(z, psi)
		} else {
			var l []int32
			if labels != nil {
				l = labels[lo:hi]
			}
			imgs = g.Forward(z, l)
		}
		per := imgs.Len() / (hi - lo)
		for i := range hi - lo {
			if err := each(lo+i, picture.FromTensor(imgs.Data[i*per:(i+1)*per], cfg.Size, cfg.Channels)); err != nil {
				return err
			}
		}
	}
	return nil
}
