package latent

import (
	"errors"
	"fmt"

	"forger/gan"
)

// Space is a latent space a code lives in. Every generator has z, its
// input; a stylegan also has W, the mapping network's output (one w for
// every layer), and W+, one w per layer of the synthesis network, which a
// projection can fit more closely than W and W than z.
type Space string

// The latent spaces. A latent file without "space" is in z.
const (
	SpaceZ     Space = "z"
	SpaceW     Space = "w"
	SpaceWPlus Space = "w+"
)

// ErrSpace is wrapped by every *SpaceError.
var ErrSpace = errors.New("latent space")

// SpaceError reports a latent space that is unknown, or that a model or an
// operation does not have.
type SpaceError struct {
	Space  string
	Reason string // e.g. "is unknown (use z, w or w+)"
}

func (e *SpaceError) Error() string { return fmt.Sprintf("latent space %q %s", e.Space, e.Reason) }

// Unwrap returns ErrSpace.
func (e *SpaceError) Unwrap() error { return ErrSpace }

// ParseSpace parses "z", "w" or "w+"; "" is z.
func ParseSpace(s string) (Space, error) {
	switch Space(s) {
	case "", SpaceZ:
		return SpaceZ, nil
	case SpaceW, SpaceWPlus:
		return Space(s), nil
	}
	return "", &SpaceError{Space: s, Reason: "is unknown (use z, w or w+)"}
}

// String returns the space's name; the zero Space is z.
func (s Space) String() string {
	if s == "" {
		return string(SpaceZ)
	}
	return string(s)
}

// IsW reports whether s is W or W+ (a stylegan's spaces after the mapping
// network).
func (s Space) IsW() bool { return s == SpaceW || s == SpaceWPlus }

// norm returns s with the zero Space as z.
func (s Space) norm() Space {
	if s == "" {
		return SpaceZ
	}
	return s
}

// DefaultSpace is the space a model's projections use unless told: W+ for
// a stylegan (it keeps the person; latent/README.md), z for the others.
func DefaultSpace(cfg gan.Config) Space {
	if cfg.Arch == gan.StyleGAN {
		return SpaceWPlus
	}
	return SpaceZ
}

// Dim returns the length of a code of space s for the model cfg: nz for z,
// the size of w for W, and the number of layers' w times that for W+
// (layer by layer, coarse first). W and W+ are a stylegan's alone.
func (s Space) Dim(cfg gan.Config) (int, error) {
	switch s.norm() {
	case SpaceZ:
		return cfg.NZ, nil
	case SpaceW, SpaceWPlus:
		if cfg.StyleGAN == nil {
			return 0, &SpaceError{Space: string(s), Reason: fmt.Sprintf("needs a stylegan model (this one is a %s: use z)", cfg.Arch)}
		}
		if s == SpaceW {
			return cfg.StyleGAN.WDim, nil
		}
		return cfg.StyleGAN.NumWs() * cfg.StyleGAN.WDim, nil
	}
	_, err := ParseSpace(string(s))
	return 0, err
}
