package gan

import (
	"errors"
	"testing"
)

// TestValidateErrorsAreTyped: Validate names the field it refuses, in an
// *OptionError, and a conditional model without classes is ErrFewClasses.
func TestValidateErrorsAreTyped(t *testing.T) {
	ok := Config{Arch: DCGAN, Size: 32, Channels: 1, NZ: 8, NGF: 8, NDF: 8}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		option string
		edit   func(*Config)
	}{
		{"Arch", func(c *Config) { c.Arch = "vqgan" }}, // vae is a model now
		{"GCond", func(c *Config) { c.GCond = "hot" }},
		{"DCond", func(c *Config) { c.DCond = "hot" }},
		{"DArch", func(c *Config) { c.DArch = "resnet" }},
		{"Size", func(c *Config) { c.Size = 48 }},
		{"Channels", func(c *Config) { c.Channels = 2 }},
	} {
		bad := ok
		c.edit(&bad)
		var oe *OptionError
		if err := bad.Validate(); !errors.As(err, &oe) || oe.Option != c.option {
			t.Errorf("%s: Validate returned %v, want an *OptionError for %s", c.option, err, c.option)
		}
	}
	var oe *OptionError
	if err := CheckLoss("wgan"); !errors.As(err, &oe) || oe.Option != "Loss" || oe.Value != "wgan" {
		t.Errorf("CheckLoss(wgan) = %v, want an *OptionError for Loss", err)
	}
	few := ok
	few.Arch, few.Classes = CDCGAN, []string{"one"}
	if err := few.Validate(); !errors.Is(err, ErrFewClasses) {
		t.Errorf("a conditional model with one class: %v, want ErrFewClasses", err)
	}
}
