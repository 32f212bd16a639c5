package latent

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"

	"forger/gan"
	"forger/stylegan"
	"forger/tensor"
)

// smallStyle32 is a small untrained stylegan of 32×32 (an encoder's
// smallest size) with w_avg set to the mean of 256 mapped seeds.
func smallStyle32(t testing.TB) *gan.StyleGenerator {
	t.Helper()
	sc := stylegan.DefaultConfig(32, 3)
	sc.ZDim, sc.WDim, sc.MappingLayers, sc.ChannelBase, sc.ChannelMax = 16, 16, 2, 256, 16
	g, err := gan.NewStyleGenerator(gan.StyleConfig(sc), rand.New(rand.NewPCG(8, 9)))
	if err != nil {
		t.Fatal(err)
	}
	g.SetTraining(false)
	z := tensor.New(256, sc.ZDim)
	gan.SampleZ(z, rand.New(rand.NewPCG(5, 6)))
	w := g.Mapping.Forward(z)
	for j := range g.Mapping.WAvg.Value.Data {
		var s float32
		for i := range 256 {
			s += w.Data[i*sc.WDim+j]
		}
		g.Mapping.WAvg.Value.Data[j] = s / 256
	}
	return g
}

// A W+ encoder of a stylegan starts projections of held-out images closer
// than w_avg does, is saved and loaded with its space, and is refused for a
// projection in another space.
func TestWPlusEncoder(t *testing.T) {
	g := smallStyle32(t)
	cfg := g.ModelConfig()
	e, err := TrainEncoder(context.Background(), g, "small", EncoderOptions{Samples: 3000, Batch: 32, Width: 16, LR: 2e-3, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if e.Cfg.Space != SpaceWPlus {
		t.Fatalf("a stylegan's encoder predicts %q codes, want w+ (the default)", e.Cfg.Space)
	}
	e2 := saveAndLoad(t, e)
	if e2.Cfg.Space != SpaceWPlus || e2.CheckModel(cfg) != nil {
		t.Fatalf("loaded encoder: space %q, CheckModel %v", e2.Cfg.Space, e2.CheckModel(cfg))
	}
	const n = 16
	codes := make([]Code, n)
	for i := range codes {
		codes[i] = FromSeed(cfg, 7000+int64(i), 0)
	}
	x := Render(g, codes).Clone()
	o := ProjectOptions{Loss: LossPixel}
	fromAvg, err := Starts(g, x, nil, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	fromEnc, err := Starts(g, x, e2, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	if fromEnc[0].Space != SpaceWPlus || len(fromEnc[0].Z) != g.NumWs()*cfg.StyleGAN.WDim {
		t.Fatalf("encoder start: space %q, %d values", fromEnc[0].Space, len(fromEnc[0].Z))
	}
	loss := func(cs []Code) float64 {
		obj := NewObjective(LossPixel, nil, 0, x)
		return obj.Eval(Render(g, cs), false)
	}
	la, le := loss(fromAvg), loss(fromEnc)
	t.Logf("pixel loss of the start: w_avg %.5f, encoder %.5f; held-out w+ MSE %.4f, pixel MSE %.5f", la, le, e.Cfg.HeldOutZMSE, e.Cfg.HeldOutPixelMSE)
	if le >= 0.7*la {
		t.Errorf("the encoder's start (pixel loss %g) is not clearly better than w_avg's (%g)", le, la)
	}
	o.Space = SpaceW
	if _, err := Starts(g, x, e2, nil, o); !errors.Is(err, ErrSpace) {
		t.Errorf("a w+ encoder for a projection in w: %v, want a space error", err)
	}
}
