package gan

import (
	"math/rand/v2"

	"forger/nn"
	"forger/optim"
	"forger/tensor"
)

// The averaged generator. GAN practice samples from an exponential moving
// average of the generator's weights (Karras et al.; Yazıcı et al. 2019):
// it smooths out the oscillation of adversarial training. With batch norm
// the average needs its own statistics: the running statistics of the live
// generator belong to its weights, not to the averaged ones, so forger
// re-estimates them by running the averaged generator on fresh latents.

// recalBatches and recalBatch set how many latents re-estimate the
// averaged generator's batch-norm statistics.
const recalBatches, recalBatch = 8, 64

// WithAverage runs f with the generator's weights replaced by the EMA's and
// batch-norm statistics (of a DCGAN) re-estimated for them, then restores the live
// weights and statistics. The generator is in inference mode inside f.
func WithAverage(g GeneratorNet, ema *optim.EMA, f func() error) error {
	bufs := g.Buffers()
	saved := make([]*tensor.Tensor, len(bufs))
	for i, b := range bufs {
		saved[i] = b.Value.Clone()
	}
	ema.Swap()
	defer func() {
		ema.Swap()
		for i, b := range bufs {
			b.Value.CopyFrom(saved[i])
		}
		g.SetTraining(true)
	}()
	if dg, ok := g.(*Generator); ok {
		RecalibrateBN(dg)
	}
	g.SetTraining(false)
	return f()
}

// RecalibrateBN replaces the generator's running batch-norm statistics by
// their average over recalBatches batches of random latents (and uniformly
// random classes), computed with the current weights. The latents come from
// a fixed seed, so the result depends on the weights only.
func RecalibrateBN(g *Generator) {
	var bns []*nn.BatchNorm
	for _, l := range g.Net.Layers {
		if b, ok := l.(*nn.BatchNorm); ok {
			bns = append(bns, b)
		}
	}
	rng := rand.New(rand.NewPCG(0xba7c4, 0))
	z := tensor.New(recalBatch, g.Cfg.NZ)
	var labels []int32
	if g.Cfg.Conditional() {
		labels = make([]int32, recalBatch)
	}
	g.SetTraining(true)
	for k := 0; k < recalBatches; k++ {
		for _, b := range bns {
			b.Momentum = 1 / float64(k+1) // a cumulative average
		}
		SampleZ(z, rng)
		for i := range labels {
			labels[i] = int32(rng.IntN(len(g.Cfg.Classes)))
		}
		g.Forward(z, labels)
	}
	for _, b := range bns {
		b.Momentum = 0.1
	}
}
