package stylegan

import (
	"math"
	"math/rand/v2"
	"testing"

	"forger/nn"
	"forger/tensor"
)

// TestConvClamp: with ConvClamp each resolution's RGB image is within
// ±ConvClamp, so the image, their sum through positive upsampling filters,
// stays within blocks × ConvClamp where the same weights without the clamp
// go beyond; the layers' activations are clamped too (images differ where
// the unclamped ones are small), and the gradients of W+ and of the
// parameters still match finite differences.
func TestConvClamp(t *testing.T) {
	cfg := tiny()
	g0, err := NewGenerator(cfg, rand.New(rand.NewPCG(5, 5)))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConvClamp = 0.5
	g, err := NewGenerator(cfg, rand.New(rand.NewPCG(5, 5)))
	if err != nil {
		t.Fatal(err)
	}
	for _, gg := range []*Generator{g0, g} {
		for _, n := range gg.Synthesis.Noise() {
			n.Strength.Value.Fill(0.3)
		}
		gg.Synthesis.SetNoise(nn.NoiseConst, nil)
	}
	rng := rand.New(rand.NewPCG(6, 6))
	z := tensor.New(2, cfg.ZDim)
	z.FillNormal(rng, 0, 1)
	ws := Broadcast(nil, g.Mapping.Forward(z), cfg.NumWs())
	free := g0.Synthesis.Forward(ws).Clone()
	img := g.Synthesis.Forward(ws)
	const bound = 3 * 0.5 // three resolutions, 4 to 16
	var over, inside, differ int
	for i, v := range img.Data {
		if math.Abs(float64(v)) > bound {
			t.Fatalf("image value %g beyond %g", v, bound)
		}
		f := free.Data[i]
		if math.Abs(float64(f)) > bound {
			over++
		} else {
			inside++
			if math.Abs(float64(f-v)) > 1e-4 {
				differ++
			}
		}
	}
	if over == 0 || differ == 0 {
		t.Fatalf("%d values beyond the bound unclamped, %d of %d inside differ: the clamp is not tested", over, differ, inside)
	}

	r := tensor.New(img.Shape...)
	r.FillNormal(rng, 0, 1)
	fs := func() *tensor.Tensor { return g.Synthesis.Forward(ws) }
	fs()
	nn.ZeroGrad(g.Params())
	dws := g.Synthesis.Backward(r).Clone()
	// Many values sit at the clamp's ends; with the masks of the leaky
	// ReLUs and clamps held the network is smooth and the differences
	// exact (and HoldMasks is tested with them).
	g.Synthesis.HoldMasks(true)
	defer g.Synthesis.HoldMasks(false)
	checkFD(t, "ws", fs, r, ws.Data, dws.Data, rng)
	for _, p := range g.Synthesis.Params() {
		grad := p.Grad.Clone()
		checkFD(t, p.Name, fs, r, p.Value.Data, grad.Data, rng)
	}

	// Old checkpoints, without the field, load with no clamp.
	if c := DefaultConfig(32, 3); c.ConvClamp != 0 || c.Validate() != nil {
		t.Fatalf("default ConvClamp %g", c.ConvClamp)
	}
	cfg.ConvClamp = -1
	if cfg.Validate() == nil {
		t.Fatal("a negative ConvClamp validates")
	}
}
