package latent

import (
	"context"
	"errors"
	"testing"
)

// A W+ encoder of a stylegan starts projections of held-out images closer
// than w_avg does, is saved and loaded with its space, and is refused for a
// projection in another space.
func TestWPlusEncoder(t *testing.T) {
	g := randomStyle(t, 32, 16, 256, 8) // an encoder's smallest size
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
