package stylegan

import (
	"math/rand/v2"
	"testing"

	"forger/nn"
	"forger/tensor"
)

// TestStepAllocatesNothing: after a warm-up, a generator step with style
// mixing and a discriminator step allocate nothing, as forger's other
// networks (go test ./gan -run Allocates).
func TestStepAllocatesNothing(t *testing.T) {
	cfg := DefaultConfig(32, 3)
	cfg.ChannelBase, cfg.ChannelMax = 256, 16
	rng := rand.New(rand.NewPCG(8, 8))
	g, _ := NewGenerator(cfg, rng)
	d, _ := NewDiscriminator(cfg, rng)
	g.SetTraining(true)
	z, z2 := tensor.New(4, cfg.ZDim), tensor.New(4, cfg.ZDim)
	z.FillNormal(rng, 0, 1)
	z2.FillNormal(rng, 0, 1)
	dl := tensor.New(4, 1)
	dl.Fill(1)
	ps := g.Params()
	step := func() {
		nn.ZeroGrad(ps)
		img := g.Forward(z, z2, 3)
		d.Forward(img)
		g.Backward(d.Backward(dl))
	}
	step()
	if n := testing.AllocsPerRun(3, step); n > 0 {
		t.Errorf("a step allocates %.0f times", n)
	}
}
