package latent

import (
	"errors"
	"testing"

	"forger/gan"
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
