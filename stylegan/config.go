package stylegan

import (
	"errors"
	"fmt"
	"math"
	"math/bits"
)

// Config is the shape of a StyleGAN2 generator and discriminator. Its JSON
// form, under its Go field names (as scripts/stylegan-reference.py writes
// it), is stored in checkpoints (gan.Config.StyleGAN).
type Config struct {
	Size     int // image side: a power of two from 8 (32, 64 and 128 are the intended sizes)
	Channels int // image channels: 1 or 3

	ZDim, WDim    int     // latent sizes
	MappingLayers int     // fully connected layers of the mapping network
	MappingLRMul  float32 // learning-rate multiplier of the mapping network
	WAvgBeta      float32 // decay of the running average of w (truncation's centre)

	// Feature maps at resolution r: min(ChannelBase/r, ChannelMax), in G
	// and D alike, as StyleGAN2.
	ChannelBase, ChannelMax int

	MbstdGroup int // minibatch-stddev group size of D

	// ConvClamp, when positive, clamps the output of every synthesis layer
	// (after its activation) and toRGB to ±ConvClamp, as StyleGAN2's
	// conv_clamp (256 in NVIDIA's configurations) does; 0 clamps nothing.
	// Networks imported from NVIDIA's pickles need it to give their images.
	ConvClamp float32 `json:",omitempty"`
}

// DefaultConfig returns forger's CPU-sized StyleGAN2: w and z of 256, 8
// mapping layers (StyleGAN's depth: the deeper mapping gives the better
// behaved W; it costs little next to the convolutions) at lr ×0.01, and
// ChannelBase 2048 with ChannelMax 256. ChannelBase 2048 gives the widths of
// forger's DCGAN with ngf 64 (512/256/128/64 at 4/8/16/32, here capped at
// 256 at 4×4), so a stylegan costs about as much per image as the DCGAN it
// is compared with; StyleGAN2's own 32768 and 512 are for GPUs.
func DefaultConfig(size, channels int) Config {
	return Config{
		Size: size, Channels: channels,
		ZDim: 256, WDim: 256, MappingLayers: 8, MappingLRMul: 0.01, WAvgBeta: 0.995,
		ChannelBase: 2048, ChannelMax: 256, MbstdGroup: 4,
	}
}

// ErrConfig is wrapped by Validate's errors.
var ErrConfig = errors.New("stylegan: invalid config")

// Validate reports a configuration the networks cannot be built from.
func (c Config) Validate() error {
	switch {
	case c.Size < 8 || c.Size&(c.Size-1) != 0:
		return fmt.Errorf("%w: Size %d is not a power of two of at least 8", ErrConfig, c.Size)
	case c.Channels != 1 && c.Channels != 3:
		return fmt.Errorf("%w: Channels %d, want 1 or 3", ErrConfig, c.Channels)
	case c.ZDim < 1 || c.WDim < 1 || c.MappingLayers < 1:
		return fmt.Errorf("%w: ZDim %d, WDim %d, MappingLayers %d must be positive", ErrConfig, c.ZDim, c.WDim, c.MappingLayers)
	case c.MappingLRMul <= 0:
		return fmt.Errorf("%w: MappingLRMul %g must be positive", ErrConfig, c.MappingLRMul)
	case c.WAvgBeta < 0 || c.WAvgBeta > 1:
		return fmt.Errorf("%w: WAvgBeta %g outside [0, 1]", ErrConfig, c.WAvgBeta)
	case c.ChannelMax < 1 || c.ChannelBase/c.Size < 1:
		return fmt.Errorf("%w: ChannelBase %d and ChannelMax %d leave no channels at %d×%d", ErrConfig, c.ChannelBase, c.ChannelMax, c.Size, c.Size)
	case c.MbstdGroup < 1:
		return fmt.Errorf("%w: MbstdGroup %d must be positive", ErrConfig, c.MbstdGroup)
	case !(c.ConvClamp >= 0) || math.IsInf(float64(c.ConvClamp), 0):
		return fmt.Errorf("%w: ConvClamp %g must be 0 (none) or positive", ErrConfig, c.ConvClamp)
	}
	return nil
}

// Width is the number of feature maps at resolution res.
func (c Config) Width(res int) int { return min(c.ChannelBase/res, c.ChannelMax) }

// NumWs is the number of w vectors the synthesis network takes (W+): one
// per convolution and one for the last toRGB, 2·log2(Size) − 2.
func (c Config) NumWs() int { return 2*log2(c.Size) - 2 }

func log2(n int) int { return bits.Len(uint(n)) - 1 }
