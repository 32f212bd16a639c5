package latent

import (
	"errors"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"forger/gan"
	"forger/stylegan"
	"forger/tensor"
)

// LoadFeatures' errors are typed, for the command to word in its flags.
func TestLoadFeaturesErrors(t *testing.T) {
	cfg := gan.Config{Size: 28, Channels: 1}
	if _, err := LoadFeatures(FeatJudge, cfg, FeatureSource{}); !errors.Is(err, ErrNoJudge) {
		t.Errorf("judge without a judge: %v", err)
	}
	var unknown *UnknownFeaturesError
	if _, err := LoadFeatures("lpips", cfg, FeatureSource{}); !errors.As(err, &unknown) || unknown.Name != "lpips" {
		t.Errorf("lpips: %v", err)
	}
	// auto without a judge is the discriminator's: here the checkpoint is missing.
	if _, err := LoadFeatures(FeatAuto, cfg, FeatureSource{Model: "/nonexistent.safetensors"}); err == nil || errors.Is(err, ErrNoJudge) {
		t.Errorf("auto without a judge: %v", err)
	}
}

// The discriminator's features are those of the checkpoint's own D, DCGAN's
// or StyleGAN2's, and a generator saved alone has none.
func TestLoadFeaturesDisc(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	sc := stylegan.DefaultConfig(32, 3)
	sc.ZDim, sc.WDim, sc.MappingLayers, sc.ChannelBase, sc.ChannelMax = 16, 16, 2, 64, 16
	dc := gan.Config{Arch: gan.DCGAN, Size: 32, Channels: 3, NZ: 8, NGF: 8, NDF: 8}
	dir := t.TempDir()
	img := tensor.New(2, 32, 32, 3)
	img.FillUniform(rng, -1, 1)
	for name, cfg := range map[string]gan.Config{"dcgan": dc, "stylegan": gan.StyleConfig(sc)} {
		g, d, err := gan.NewNets(cfg, rng)
		if err != nil {
			t.Fatal(err)
		}
		with, alone := filepath.Join(dir, name+".safetensors"), filepath.Join(dir, name+"-g.safetensors")
		if err := (&gan.Checkpoint{Config: cfg, G: g, D: d, TrainState: "{}"}).Save(with); err != nil {
			t.Fatal(err)
		}
		if err := (&gan.Checkpoint{Config: cfg, G: g, TrainState: "{}"}).Save(alone); err != nil {
			t.Fatal(err)
		}
		var want Features
		switch d := d.(type) {
		case *gan.StyleDiscriminator:
			want = StyleDiscFeatures(d)
		case *gan.Discriminator:
			want = DiscFeatures(d)
		}
		got, err := LoadFeatures(FeatDisc, cfg, FeatureSource{Model: with})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		a, b := want.Forward(img), got.Forward(img)
		if len(a) != len(b) || len(a) < 2 {
			t.Fatalf("%s: %d taps loaded, %d built", name, len(b), len(a))
		}
		for k := range a {
			if diff := tensor.MaxAbsDiff(a[k], b[k]); diff != 0 {
				t.Fatalf("%s: tap %d differs by %g", name, k, diff)
			}
		}
		if _, err := LoadFeatures(FeatDisc, cfg, FeatureSource{Model: alone}); !errors.Is(err, gan.ErrNoDiscriminator) {
			t.Fatalf("%s, a generator alone: %v, want ErrNoDiscriminator", name, err)
		}
	}
}
