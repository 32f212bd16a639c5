package gan

import (
	"fmt"
	"image"
	"math/rand/v2"

	"forger/nn"
	"forger/picture"
	"forger/stylegan"
	"forger/tensor"
)

// StyleGAN is the architecture of package stylegan: StyleGAN2's mapping and
// synthesis networks and its residual discriminator.
const StyleGAN = "stylegan"

// StyleConfig returns the gan configuration of a StyleGAN2 of shape sc.
func StyleConfig(sc stylegan.Config) Config {
	return Config{Arch: StyleGAN, Size: sc.Size, Channels: sc.Channels, NZ: sc.ZDim, NGF: sc.ChannelMax, NDF: sc.ChannelMax, StyleGAN: &sc}
}

// validateStyle checks a stylegan configuration: its shape is c.StyleGAN,
// which Size, Channels and NZ repeat.
func (c Config) validateStyle() error {
	sc := c.StyleGAN
	if sc == nil {
		return &OptionError{Pkg: "gan", Option: "StyleGAN", Value: nil, Reason: "is required for a stylegan"}
	}
	if err := sc.Validate(); err != nil {
		return err
	}
	if c.Size != sc.Size || c.Channels != sc.Channels || c.NZ != sc.ZDim {
		return fmt.Errorf("%w: size %d, channels %d, nz %d differ from the stylegan shape's %d, %d, %d",
			stylegan.ErrConfig, c.Size, c.Channels, c.NZ, sc.Size, sc.Channels, sc.ZDim)
	}
	return nil
}

// StyleGenerator is a StyleGAN2 generator (stylegan.Generator) as gan's
// Trainer sees it: in training mode its Forward mixes styles (as drawn by
// DrawStep) and draws random noise; in inference mode it renders z without
// mixing and with the layers' constant noise, so a seed is one image. It
// regularises path length (RegularizeG).
type StyleGenerator struct {
	*stylegan.Generator
	Cfg Config
	// MixProb is the probability of style mixing in a training step
	// (StyleGAN2: 0.9).
	MixProb float64
	// PL is the path-length regulariser; its running mean is saved with
	// the generator's tensors ("pl_mean").
	PL *stylegan.PathLength

	training      bool
	drawn         bool
	n, crossover  int
	z2, plz, plz2 *tensor.Tensor
	plMean        *tensor.Tensor
}

// StyleDiscriminator is StyleGAN2's residual discriminator
// (stylegan.Discriminator) as gan's Trainer sees it. It is unconditional:
// Forward ignores labels.
type StyleDiscriminator struct {
	*stylegan.Discriminator
	Cfg Config
}

var (
	_ GeneratorNet     = (*StyleGenerator)(nil)
	_ DiscriminatorNet = (*StyleDiscriminator)(nil)
	_ StepDrawer       = (*StyleGenerator)(nil)
	_ GRegularizer     = (*StyleGenerator)(nil)
)

// NewStyleGenerator builds the StyleGAN2 generator of cfg (Arch StyleGAN),
// in training mode.
func NewStyleGenerator(cfg Config, rng *rand.Rand) (*StyleGenerator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Arch != StyleGAN {
		return nil, &OptionError{Pkg: "gan", Option: "Arch", Value: cfg.Arch, Reason: "is not a stylegan"}
	}
	g, err := stylegan.NewGenerator(*cfg.StyleGAN, rng)
	if err != nil {
		return nil, err
	}
	s := &StyleGenerator{Generator: g, Cfg: cfg, MixProb: 0.9, PL: stylegan.NewPathLength(), plMean: tensor.New(1)}
	s.SetTraining(true)
	return s, nil
}

// NewStyleDiscriminator builds the StyleGAN2 discriminator of cfg.
func NewStyleDiscriminator(cfg Config, rng *rand.Rand) (*StyleDiscriminator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Arch != StyleGAN {
		return nil, &OptionError{Pkg: "gan", Option: "Arch", Value: cfg.Arch, Reason: "is not a stylegan"}
	}
	if cfg.DCGANDiscriminator() {
		return nil, &OptionError{Pkg: "gan", Option: "DArch", Value: cfg.DArch, Reason: "is DCGAN's discriminator (NewDiscriminator builds it), not StyleGAN2's"}
	}
	d, err := stylegan.NewDiscriminator(*cfg.StyleGAN, rng)
	if err != nil {
		return nil, err
	}
	return &StyleDiscriminator{Discriminator: d, Cfg: cfg}, nil
}

// NewNets builds the generator and discriminator of any architecture: a
// stylegan's discriminator is StyleGAN2's residual one or, with DArch
// DArchDCGAN or DArchDeep, DCGAN's (Config.DCGANDiscriminator).
func NewNets(cfg Config, rng *rand.Rand) (GeneratorNet, DiscriminatorNet, error) {
	var g GeneratorNet
	var err error
	if cfg.Arch == StyleGAN {
		g, err = NewStyleGenerator(cfg, rng)
	} else {
		g, err = NewGenerator(cfg, rng)
	}
	if err != nil {
		return nil, nil, err
	}
	d, err := NewDiscriminatorNet(cfg, rng)
	if err != nil {
		return nil, nil, err
	}
	return g, d, nil
}

// NewDiscriminatorNet builds the discriminator cfg names: StyleGAN2's for a
// stylegan unless it asks for DCGAN's, DCGAN's otherwise.
func NewDiscriminatorNet(cfg Config, rng *rand.Rand) (DiscriminatorNet, error) {
	// Each branch returns a nil interface, not a typed nil, on error.
	if cfg.Arch == StyleGAN && !cfg.DCGANDiscriminator() {
		d, err := NewStyleDiscriminator(cfg, rng)
		if err != nil {
			return nil, err
		}
		return d, nil
	}
	d, err := NewDiscriminator(cfg, rng)
	if err != nil {
		return nil, err
	}
	return d, nil
}

// ModelConfig returns s.Cfg.
func (s *StyleGenerator) ModelConfig() Config { return s.Cfg }

// SetTraining switches between training (random noise, w_avg updates,
// style mixing) and inference (constant noise).
func (s *StyleGenerator) SetTraining(t bool) {
	s.training = t
	s.Generator.SetTraining(t)
	mode := nn.NoiseConst
	if t {
		mode = nn.NoiseRandom
	}
	for _, l := range s.Synthesis.Noise() {
		l.Mode = mode
	}
}

// DrawStep draws the next training Forward's randomness from rng: the
// noise's seed and, with probability MixProb, a second latent and the
// crossover layer of style mixing.
func (s *StyleGenerator) DrawStep(rng *rand.Rand, n int) {
	s.Noise.Seed(rng.Uint64(), rng.Uint64())
	s.n = n
	s.crossover = stylegan.Crossover(rng, s.NumWs(), s.MixProb)
	if s.crossover < s.NumWs() {
		s.z2 = tensor.Ensure(s.z2, n, s.Config.ZDim)
		SampleZ(s.z2, rng)
	}
	s.drawn = true
}

// Forward renders z [N, ZDim]; labels are ignored. A training Forward
// after DrawStep mixes styles as drawn (once: the next one does not mix
// unless drawn again).
func (s *StyleGenerator) Forward(z *tensor.Tensor, _ []int32) *tensor.Tensor {
	if s.training && s.drawn && s.crossover < s.NumWs() && z.Shape[0] == s.z2.Shape[0] {
		s.drawn = false
		return s.Generator.Forward(z, s.z2, s.crossover)
	}
	s.drawn = false
	return s.Generator.Forward(z, nil, s.NumWs())
}

// PLBatchShrink divides the batch for the path-length regulariser, as
// StyleGAN2 does (pl_batch_shrink).
const PLBatchShrink = 2

// RegularizeG adds gain × the path-length penalty's gradient on a batch of
// half the last DrawStep's size (fresh latents, style-mixed as training)
// and returns the penalty.
func (s *StyleGenerator) RegularizeG(rng *rand.Rand, gain float64) float64 {
	m := max(1, s.n/PLBatchShrink)
	s.plz = tensor.Ensure(s.plz, m, s.Config.ZDim)
	SampleZ(s.plz, rng)
	numWs := s.NumWs()
	cross := stylegan.Crossover(rng, numWs, s.MixProb)
	var z2 *tensor.Tensor
	if cross < numWs {
		s.plz2 = tensor.Ensure(s.plz2, m, s.Config.ZDim)
		SampleZ(s.plz2, rng)
		z2 = s.plz2
	}
	penalty, _ := s.PL.AddGrad(s.Generator, s.plz, z2, cross, rng, gain)
	// The running mean is saved as F32 with the generator: kept at F32
	// precision, a resumed run continues bit for bit.
	s.PL.Mean = float64(float32(s.PL.Mean))
	return penalty
}

// PLMeanName is the tensor that saves the path-length running mean.
const PLMeanName = "pl_mean"

// Tensors returns the generator's parameters and buffers and the
// path-length running mean under prefix.
func (s *StyleGenerator) Tensors(prefix string) []tensor.Named {
	s.plMean.Data[0] = float32(s.PL.Mean)
	return append(s.Generator.Tensors(prefix), tensor.Named{Name: prefix + "." + PLMeanName, Tensor: s.plMean})
}

// Load sets the generator's parameters and buffers from f, and the
// path-length running mean when f has it.
func (s *StyleGenerator) Load(f *tensor.File, prefix string) error {
	if err := s.Generator.Load(f, prefix); err != nil {
		return err
	}
	if t, err := f.Lookup(prefix+"."+PLMeanName, 1); err == nil {
		s.PL.Mean = float64(t.Data[0])
	}
	return nil
}

// Truncated renders z [N, ZDim] with each w pulled towards w_avg:
// w_avg + psi·(w − w_avg), the truncation trick in W (psi 0 gives w_avg's
// image for every z). It uses the noise mode SetTraining set.
func (s *StyleGenerator) Truncated(z *tensor.Tensor, psi float64) *tensor.Tensor {
	return s.Generate(z, float32(psi))
}

// MixGrid renders style mixing: image i takes the first crossover layers'
// w (the coarse styles) from coarse's row i and the rest from fine's row
// i, both [N, ZDim], with truncation psi in W.
func (s *StyleGenerator) MixGrid(coarse, fine *tensor.Tensor, crossover int, psi float64) *tensor.Tensor {
	numWs := s.NumWs()
	w1 := s.Mapping.Forward(coarse).Clone()
	w2 := s.Mapping.Forward(fine)
	ws := stylegan.Mix(nil, w1, w2, numWs, max(0, min(crossover, numWs)))
	if psi != 1 {
		s.Mapping.Truncate(ws, float32(psi), 0)
	}
	return s.Synthesis.Forward(ws)
}

// ModelConfig returns d.Cfg.
func (d *StyleDiscriminator) ModelConfig() Config { return d.Cfg }

// Forward returns the logits [N, 1] of images; labels are ignored.
func (d *StyleDiscriminator) Forward(img *tensor.Tensor, _ []int32) *tensor.Tensor {
	return d.Discriminator.Forward(img)
}

// SetInputGrad says whether Backward computes the images' gradient.
func (d *StyleDiscriminator) SetInputGrad(on bool) {
	if c, ok := d.Net.Layers[0].(*nn.EqualConv2d); ok {
		c.Conv.SkipInputGrad = !on
	}
}

// MixCoarseLayers is the usual crossover of a style-mixing figure: the ws
// of the 4×4 and 8×8 blocks, StyleGAN's "coarse styles" (pose, face shape,
// hair style).
const MixCoarseLayers = 4

// StyleMix is a style-mixing figure's pictures (see MixSeeds).
type StyleMix struct {
	Rows, Cols []image.Image   // each row and column seed's own image
	Cells      [][]image.Image // Cells[r][c]: row seed r's coarse styles with column seed c's fine ones
}

// MixSeeds renders StyleGAN's style-mixing figure for seeds (as
// LatentForSeed names them): each seed's own image and, for each row seed
// and column seed, the image taking its first crossover ws of W+ from the
// row seed and the rest from the column seed, with truncation psi in W.
func (s *StyleGenerator) MixSeeds(rows, cols []int64, crossover int, psi float64) *StyleMix {
	zd, cfg := s.Cfg.NZ, s.Cfg
	latents := func(seeds []int64) *tensor.Tensor {
		z := tensor.New(len(seeds), zd)
		for i, sd := range seeds {
			LatentForSeed(sd, 1, z.Data[i*zd:(i+1)*zd])
		}
		return z
	}
	pictures := func(imgs *tensor.Tensor) []image.Image {
		n := imgs.Shape[0]
		per := imgs.Len() / n
		out := make([]image.Image, n)
		for i := range out { // FromTensor copies out of the generator's buffers
			out[i] = picture.FromTensor(imgs.Data[i*per:(i+1)*per], cfg.Size, cfg.Channels)
		}
		return out
	}
	m := &StyleMix{Rows: pictures(s.Truncated(latents(rows), psi)), Cols: pictures(s.Truncated(latents(cols), psi))}
	coarse, fine := tensor.New(len(rows)*len(cols), zd), tensor.New(len(rows)*len(cols), zd)
	for r, rseed := range rows {
		for c, cseed := range cols {
			k := r*len(cols) + c
			LatentForSeed(rseed, 1, coarse.Data[k*zd:(k+1)*zd])
			LatentForSeed(cseed, 1, fine.Data[k*zd:(k+1)*zd])
		}
	}
	mixed := pictures(s.MixGrid(coarse, fine, crossover, psi))
	for r := range rows {
		m.Cells = append(m.Cells, mixed[r*len(cols):(r+1)*len(cols)])
	}
	return m
}
