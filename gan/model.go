// Package gan defines forger's generative adversarial networks — the DCGAN
// of Radford et al. as in pytorch/examples, and its class-conditional
// variant — and the adversarial training step. It also turns seeds into
// images (LatentForSeed, GenerateSeeds, StyleGenerator.MixSeeds) for
// forger generate and mix.
//
// The networks adapt to the image size: a generator starts from a base grid
// (4×4, or 7×7 for 28×28 images) and doubles it with stride-2 transposed
// convolutions until the image size; the discriminator mirrors it. At 64×64
// with ngf = ndf = 64 they are exactly the networks of pytorch/examples/dcgan.
package gan

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"forger/internal/opterr"
	"forger/nn"
	"forger/stylegan"
	"forger/tensor"
)

// Architectures.
const (
	DCGAN  = "dcgan"
	CDCGAN = "cdcgan"
	// VAE is a variational autoencoder whose decoder is DCGAN's generator
	// (package vae): its checkpoints hold the decoder as "g" and the
	// encoder beside it, and no discriminator.
	VAE = "vae"
)

// Config describes a generator/discriminator pair. It is stored in every
// checkpoint, so its JSON names are part of forger's file format.
type Config struct {
	Arch         string   `json:"arch"`
	Size         int      `json:"size"`
	Channels     int      `json:"channels"`
	NZ           int      `json:"nz"`
	NGF          int      `json:"ngf"`
	NDF          int      `json:"ndf"`
	Classes      []string `json:"classes,omitempty"`
	SpectralNorm bool     `json:"spectral_norm,omitempty"`
	// MinibatchStd appends the minibatch standard deviation (groups of 4)
	// to the discriminator's last features, so that it can see a lack of
	// variety.
	MinibatchStd bool `json:"mbstd,omitempty"`
	// EmbedDim is the size of the class embedding the conditional generator
	// appends to z.
	EmbedDim int `json:"embed_dim,omitempty"`
	// GCond is how the conditional generator sees the class: GCondEmbed
	// (the default, "") or GCondOneHot.
	GCond string `json:"g_cond,omitempty"`
	// DCond is how the conditional discriminator sees the class:
	// DCondProjection (the default, "") or DCondInput.
	DCond string `json:"d_cond,omitempty"`
	// DArch is the discriminator's shape: DArchDCGAN (the default, "") or
	// DArchDeep. A stylegan's is DArchResidual (its default, "") or, for
	// DCGAN's discriminator of NDF, SpectralNorm, DNoNorm, DBias and
	// MinibatchStd beside StyleGAN2's generator, DArchDCGAN or DArchDeep.
	DArch string `json:"d_arch,omitempty"`
	// DNoNorm leaves the discriminator's hidden layers without batch norm
	// (when SpectralNorm is off), as StyleGAN's is: a discriminator kept in
	// check by a gradient penalty instead (R1).
	DNoNorm bool `json:"d_no_norm,omitempty"`
	// DBias gives the convolutions of a discriminator without batch norm
	// (SpectralNorm or DNoNorm) a bias each. Without them such a D — convolutions
	// without bias, leaky ReLUs, minibatch stddev — is positively homogeneous,
	// D(a·x) = a·D(x) for a ≥ 0: mid-grey scores a logit of exactly 0 and a
	// faint copy of a face the sign of the face, so D cannot push a
	// generator's fading images down and the generator drifts to grey.
	// Checkpoints written before it have none and load as they were.
	DBias bool `json:"d_bias,omitempty"`
	// StyleGAN is the shape of a stylegan model (Arch StyleGAN); Size,
	// Channels and NZ repeat its own, NGF and NDF its ChannelMax.
	StyleGAN *stylegan.Config `json:"stylegan,omitempty"`
}

// Discriminator shapes.
const (
	// DArchDCGAN is DCGAN's discriminator: one 4×4 stride-2 convolution
	// per halving of the image.
	DArchDCGAN = "dcgan"
	// DArchDeep adds a 3×3 stride-1 convolution of the same width after
	// each halving, as SN-GAN's "standard CNN" discriminator does: twice
	// the depth, about twice the cost.
	DArchDeep = "deep"
	// DArchResidual is StyleGAN2's residual discriminator
	// (stylegan.Discriminator), a stylegan's only.
	DArchResidual = "residual"
)

// CheckDArch returns an *OptionError naming DArch when darch ("" is the
// default) is not a discriminator shape of the architecture arch.
func CheckDArch(arch, darch string) error {
	switch darch {
	case "", DArchDCGAN, DArchDeep:
		return nil
	case DArchResidual:
		if arch == StyleGAN {
			return nil
		}
		return &OptionError{Pkg: "gan", Option: "DArch", Value: darch, Reason: "is a stylegan's discriminator (use dcgan or deep)"}
	}
	if arch == StyleGAN {
		return &OptionError{Pkg: "gan", Option: "DArch", Value: darch, Reason: "is unknown for a stylegan (use residual, StyleGAN2's, or dcgan or deep, DCGAN's)"}
	}
	return &OptionError{Pkg: "gan", Option: "DArch", Value: darch, Reason: "is unknown (use dcgan or deep)"}
}

// DCGANDiscriminator reports whether the discriminator of c is DCGAN's
// (Discriminator): a dcgan's and a cdcgan's, and a stylegan's of DArch
// DArchDCGAN or DArchDeep. A stylegan's residual one is StyleDiscriminator.
func (c Config) DCGANDiscriminator() bool {
	switch c.Arch {
	case StyleGAN:
		return c.DArch == DArchDCGAN || c.DArch == DArchDeep
	case VAE:
		return false
	}
	return true
}

// How a conditional generator sees the class.
const (
	// GCondEmbed appends a learned embedding (EmbedDim values, N(0, 1) at
	// the start) to z.
	GCondEmbed = "embed"
	// GCondOneHot appends the one-hot class to z (the standard conditional
	// DCGAN): at the start the class weighs little beside z, so the
	// generator learns to use z before it learns the classes.
	GCondOneHot = "onehot"
)

// How a conditional discriminator sees the class.
const (
	// DCondProjection adds ⟨embed(class), features⟩ to the logit (Miyato &
	// Koyama 2018).
	DCondProjection = "projection"
	// DCondInput feeds the class at the input, as one-hot maps beside the
	// image (the standard conditional DCGAN), implemented as a per-class
	// bias after the first convolution (nn.ClassBias).
	DCondInput = "input"
)

// Conditional reports whether the networks take a class label.
func (c Config) Conditional() bool { return c.Arch == CDCGAN }

// ClassError is ClassIndex's error: s names none of the model's classes.
type ClassError struct {
	Class   string
	Classes []string
}

func (e *ClassError) Error() string {
	return fmt.Sprintf("%q is not a class of this model (classes: %s)", e.Class, strings.Join(e.Classes, ", "))
}

// ClassIndex is the one lookup of a class label, for every command and the
// studio: s is a class name (any case) or an index into c.Classes. Any
// other s is a *ClassError.
func (c Config) ClassIndex(s string) (int32, error) {
	for i, name := range c.Classes {
		if strings.EqualFold(name, s) {
			return int32(i), nil
		}
	}
	if i, err := strconv.Atoi(s); err == nil && i >= 0 && i < len(c.Classes) {
		return int32(i), nil
	}
	return 0, &ClassError{Class: s, Classes: c.Classes}
}

// An OptionError reports an option value gan cannot use, by its Go name
// (Config.Size is "Size"); a command line turns it into its flag.
type OptionError = opterr.Error

// ErrFewClasses is wrapped by Validate when a conditional model has fewer
// than 2 classes.
var ErrFewClasses = errors.New("gan: a conditional model needs at least 2 classes")

// ErrNotDCGAN is wrapped when a model of another architecture (a stylegan)
// is given to code that handles dcgan and cdcgan only.
var ErrNotDCGAN = errors.New("only dcgan and cdcgan models are supported here")

// ErrNoDiscriminator is returned when a discriminator is asked of a model
// that has none: a vae, or a generator saved alone (an import).
var ErrNoDiscriminator = errors.New("the model has no discriminator")

// Validate checks the configuration: an *OptionError for a value it cannot
// use, ErrFewClasses for a conditional model without classes.
func (c Config) Validate() error {
	switch c.Arch {
	case DCGAN, VAE:
	case CDCGAN:
		if len(c.Classes) < 2 {
			return fmt.Errorf("%w (got %d): use the unconditional dcgan, or a data set with classes", ErrFewClasses, len(c.Classes))
		}
	case StyleGAN:
		if err := c.validateStyle(); err != nil {
			return err
		}
		if err := CheckDArch(c.Arch, c.DArch); err != nil || !c.DCGANDiscriminator() {
			return err
		}
		if c.NDF < 1 {
			return &OptionError{Pkg: "gan", Option: "NDF", Value: c.NDF, Reason: "must be positive"}
		}
		_, _, err := levels(c.Size)
		return err
	default:
		return &OptionError{Pkg: "gan", Option: "Arch", Value: c.Arch, Reason: "is unknown (use dcgan, cdcgan, stylegan or vae)"}
	}
	switch c.GCond {
	case "", GCondEmbed, GCondOneHot:
	default:
		return &OptionError{Pkg: "gan", Option: "GCond", Value: c.GCond, Reason: "is unknown (use embed or onehot)"}
	}
	switch c.DCond {
	case "", DCondProjection, DCondInput:
	default:
		return &OptionError{Pkg: "gan", Option: "DCond", Value: c.DCond, Reason: "is unknown (use projection or input)"}
	}
	if err := CheckDArch(c.Arch, c.DArch); err != nil {
		return err
	}
	if _, _, err := levels(c.Size); err != nil {
		return err
	}
	if c.Channels != 1 && c.Channels != 3 {
		return &OptionError{Pkg: "gan", Option: "Channels", Value: c.Channels, Reason: "is not supported (use 1 or 3)"}
	}
	if c.NZ < 1 || c.NGF < 1 || c.NDF < 1 {
		return fmt.Errorf("nz, ngf and ndf must be positive (got %d, %d, %d)", c.NZ, c.NGF, c.NDF)
	}
	return nil
}

// Levels returns the base grid and the number of doublings of DCGAN's
// networks at an image size (an *OptionError for an unsupported one), for
// networks built to mirror them (the vae's encoder).
func Levels(size int) (base, ups int, err error) { return levels(size) }

// levels returns the base grid and the number of doublings for a size.
func levels(size int) (base, ups int, err error) {
	switch size {
	case 28:
		return 7, 2, nil
	case 32:
		return 4, 3, nil
	case 64:
		return 4, 4, nil
	case 128:
		return 4, 5, nil
	}
	return 0, 0, &OptionError{Pkg: "gan", Option: "Size", Value: size, Reason: "is not supported (use 28, 32, 64 or 128)"}
}

// JSON returns the configuration as stored in checkpoints.
func (c Config) JSON() string {
	b, _ := json.Marshal(c)
	return string(b)
}

// Generator maps a latent vector z (and a class, when conditional) to an
// image [N, Size, Size, Channels] in [-1, 1].
type Generator struct {
	Cfg   Config
	Net   *nn.Sequential
	Embed *nn.Embedding // nil unless conditional

	z4     *tensor.Tensor // z (with the class embedding) seen as [N,1,1,·]
	concat nn.Concat
	dz     *tensor.Tensor
}

// NewGenerator builds a generator with DCGAN's initialisation: convolution
// weights from N(0, 0.02), batch-norm scales from N(1, 0.02).
func NewGenerator(cfg Config, rng *rand.Rand) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Arch == StyleGAN {
		return nil, fmt.Errorf("%w, and this model is a stylegan", ErrNotDCGAN)
	}
	base, ups, _ := levels(cfg.Size)
	in := cfg.NZ
	g := &Generator{Cfg: cfg}
	if cfg.Conditional() {
		if cfg.GCond == GCondOneHot {
			// A fixed identity embedding: not trained, not saved.
			k := len(cfg.Classes)
			g.Cfg.EmbedDim = k
			g.Embed = nn.NewEmbedding(k, k, rng)
			g.Embed.Weight.Value.Zero()
			for c := range k {
				g.Embed.Weight.Value.Data[c*k+c] = 1
			}
			g.Embed.Weight.Frozen = true
		} else {
			if g.Cfg.EmbedDim == 0 {
				g.Cfg.EmbedDim = 50
			}
			g.Embed = nn.NewEmbedding(len(cfg.Classes), g.Cfg.EmbedDim, rng)
		}
		g.Embed.Weight.Name = "embed.weight"
		in += g.Cfg.EmbedDim
	}
	ch := cfg.NGF << (ups - 1)
	layers := []nn.Layer{nn.NewConvTranspose2d(in, ch, base, 1, 0, false, rng), nn.NewBatchNormAct(ch, nn.ReLU, 0)}
	for i := 1; i < ups; i++ {
		layers = append(layers, nn.NewConvTranspose2d(ch, ch/2, 4, 2, 1, false, rng), nn.NewBatchNormAct(ch/2, nn.ReLU, 0))
		ch /= 2
	}
	layers = append(layers, nn.NewConvTranspose2d(ch, cfg.Channels, 4, 2, 1, false, rng), nn.NewTanh())
	g.Net = nn.NewSequential(layers...)
	nn.ShareWorkspace(new(nn.Workspace), g.Net)
	nn.Prefix("main", g.Net.Params())
	nn.Prefix("main", g.Net.Buffers())
	dcganInit(g.Net, rng)
	return g, nil
}

// dcganInit applies the initialisation of the DCGAN paper to a network.
func dcganInit(s *nn.Sequential, rng *rand.Rand) {
	for _, l := range s.Layers {
		if sn, ok := l.(*nn.SpectralNorm); ok {
			l = sn.Inner
		}
		switch l := l.(type) {
		case *nn.Conv2d:
			l.Weight.Value.FillNormal(rng, 0, 0.02)
			if l.Bias != nil {
				l.Bias.Value.Zero()
			}
		case *nn.ConvTranspose2d:
			l.Weight.Value.FillNormal(rng, 0, 0.02)
		case *nn.BatchNorm:
			l.Gamma.Value.FillNormal(rng, 1, 0.02)
			l.Beta.Value.Zero()
		}
	}
	for _, l := range s.Layers {
		if sn, ok := l.(*nn.SpectralNorm); ok {
			sn.Orig.Value.CopyFrom(sn.Inner.WeightParam().Value)
		}
	}
}

// Params returns the trainable parameters.
func (g *Generator) Params() []*nn.Param {
	ps := g.Net.Params()
	if g.Embed != nil && g.Cfg.GCond != GCondOneHot {
		ps = append(ps, g.Embed.Weight)
	}
	return ps
}

// Buffers returns the batch-norm statistics.
func (g *Generator) Buffers() []*nn.Param { return g.Net.Buffers() }

// SetTraining switches batch norm between batch and running statistics.
func (g *Generator) SetTraining(t bool) { g.Net.SetTraining(t) }

// Forward generates images from z [N, NZ]; labels (len N) are used only by
// conditional generators.
func (g *Generator) Forward(z *tensor.Tensor, labels []int32) *tensor.Tensor {
	x := z
	if g.Embed != nil {
		x = g.concat.Forward(z, g.Embed.Lookup(labels))
	}
	g.z4 = tensor.View(g.z4, x, x.Shape[0], 1, 1, x.Shape[1])
	return g.Net.Forward(g.z4)
}

// Backward takes the gradient with respect to the images and returns the
// gradient with respect to z.
func (g *Generator) Backward(dimg *tensor.Tensor) *tensor.Tensor {
	dx := g.Net.Backward(dimg)
	n := dx.Shape[0]
	dx = tensor.View(g.dz, dx, n, dx.Len()/n)
	g.dz = dx
	if g.Embed == nil {
		return dx
	}
	parts := g.concat.Backward(dx)
	g.Embed.Backward(parts[1])
	return parts[0]
}

// Discriminator scores images: one logit per image, high for real. The
// conditional discriminator is by default a projection discriminator
// (Miyato & Koyama 2018): its logit adds ⟨embed(class), features⟩ to the
// unconditional one (at equal images it gave a higher class accuracy than
// feeding the class in, DCondInput; docs/results/fashion-mnist.md).
type Discriminator struct {
	Cfg   Config
	Trunk *nn.Sequential // image → features [N, base, base, ch]
	Head  nn.Layer       // features (flattened) → logit
	Embed *nn.Embedding  // class → projection vector; nil unless a projection discriminator

	first *nn.Conv2d    // the layer that sees the images
	cbias *nn.ClassBias // the class at the input (DCondInput); nil otherwise

	feat, logits, dproj *tensor.Tensor
	labels              []int32
}

// NewDiscriminator builds the discriminator for cfg.
func NewDiscriminator(cfg Config, rng *rand.Rand) (*Discriminator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Arch == VAE {
		return nil, ErrNoDiscriminator
	}
	if !cfg.DCGANDiscriminator() {
		return nil, fmt.Errorf("%w, and this model is a stylegan with StyleGAN2's discriminator", ErrNotDCGAN)
	}
	base, ups, _ := levels(cfg.Size)
	d := &Discriminator{Cfg: cfg}
	wrap := func(l nn.Weighted) nn.Layer {
		if cfg.SpectralNorm {
			return nn.NewSpectralNorm(l, rng)
		}
		return l
	}
	ch := cfg.NDF
	bias := cfg.DBias && (cfg.SpectralNorm || cfg.DNoNorm) // batch norm has its own shift
	d.first = nn.NewConv2d(cfg.Channels, ch, 4, 2, 1, bias, rng)
	layers := []nn.Layer{wrap(d.first)}
	inputCond := cfg.Conditional() && cfg.DCond == DCondInput
	if inputCond {
		// A convolution with N(0, 0.02) weights of one-hot maps: one tap per
		// class in each of the 16 positions of the kernel.
		side := cfg.Size / 2
		d.cbias = nn.NewClassBias(len(cfg.Classes), side*side*ch, 0.08, rng)
		layers = append(layers, d.cbias)
	}
	layers = append(layers, nn.NewLeakyReLU(0.2))
	// conv adds a convolution and its normalisation and leaky ReLU.
	conv := func(in, out, k, stride, pad int) {
		layers = append(layers, wrap(nn.NewConv2d(in, out, k, stride, pad, bias, rng)))
		if cfg.SpectralNorm || cfg.DNoNorm {
			layers = append(layers, nn.NewLeakyReLU(0.2))
		} else {
			layers = append(layers, nn.NewBatchNormAct(out, nn.LeakyReLU, 0.2))
		}
	}
	deep := cfg.DArch == DArchDeep
	if deep {
		conv(ch, ch, 3, 1, 1)
	}
	for i := 1; i < ups; i++ {
		conv(ch, ch*2, 4, 2, 1)
		ch *= 2
		if deep {
			conv(ch, ch, 3, 1, 1)
		}
	}
	if cfg.MinibatchStd {
		layers = append(layers, nn.NewMinibatchStd(4))
		ch++
	}
	d.Trunk = nn.NewSequential(layers...)
	nn.Prefix("main", d.Trunk.Params())
	nn.Prefix("main", d.Trunk.Buffers())
	dcganInit(d.Trunk, rng)
	// The final base×base convolution of DCGAN to one logit.
	head := nn.NewConv2d(ch, 1, base, 1, 0, bias, rng)
	head.Weight.Value.FillNormal(rng, 0, 0.02)
	if head.Bias != nil {
		head.Bias.Value.Zero()
	}
	d.Head = wrap(head)
	if sn, ok := d.Head.(*nn.SpectralNorm); ok {
		sn.Orig.Value.CopyFrom(head.Weight.Value)
	}
	nn.Prefix("head", d.Head.Params())
	nn.Prefix("head", d.Head.Buffers())
	nn.ShareWorkspace(new(nn.Workspace), d.Trunk, d.Head)
	if cfg.Conditional() && !inputCond {
		d.Embed = nn.NewEmbedding(len(cfg.Classes), base*base*ch, rng)
		d.Embed.Weight.Value.FillNormal(rng, 0, 0.02)
		d.Embed.Weight.Name = "embed.weight"
	}
	return d, nil
}

// Params returns the trainable parameters.
func (d *Discriminator) Params() []*nn.Param {
	ps := append(d.Trunk.Params(), d.Head.Params()...)
	if d.Embed != nil {
		ps = append(ps, d.Embed.Weight)
	}
	return ps
}

// Buffers returns batch-norm statistics and spectral-norm vectors.
func (d *Discriminator) Buffers() []*nn.Param {
	return append(d.Trunk.Buffers(), d.Head.Buffers()...)
}

// SetTraining sets the mode of every layer.
func (d *Discriminator) SetTraining(t bool) {
	d.Trunk.SetTraining(t)
	d.Head.SetTraining(t)
}

// Forward returns the logits [N, 1] for images [N, Size, Size, Channels].
func (d *Discriminator) Forward(img *tensor.Tensor, labels []int32) *tensor.Tensor {
	if d.cbias != nil {
		d.cbias.SetLabels(labels)
	}
	feat := d.Trunk.Forward(img)
	d.feat = feat
	out := d.Head.Forward(feat)
	n := out.Shape[0]
	d.logits = tensor.View(d.logits, out, n, 1)
	if d.Embed == nil {
		return d.logits
	}
	d.labels = labels
	proj := d.Embed.Lookup(labels)
	f := proj.Shape[1]
	for i := 0; i < n; i++ {
		var s float32
		fr, pr := feat.Data[i*f:(i+1)*f], proj.Data[i*f:(i+1)*f]
		for j, v := range fr {
			s += v * pr[j]
		}
		d.logits.Data[i] += s
	}
	return d.logits
}

// ErrFreezeBlocks is wrapped by FreezeBlocks when asked for more blocks
// than D has.
var ErrFreezeBlocks = errors.New("more blocks to freeze than the discriminator has")

// Blocks is the number of D's convolutions before its head: the blocks
// FreezeBlocks counts.
func (d *Discriminator) Blocks() int { return len(d.blocks()) }

// blocks returns each convolution of the trunk with the layers up to the
// next one (its normalisation and activation).
func (d *Discriminator) blocks() [][]nn.Layer {
	var out [][]nn.Layer
	for _, l := range d.Trunk.Layers {
		inner := l
		if sn, ok := l.(*nn.SpectralNorm); ok {
			inner = sn.Inner
		}
		if _, ok := inner.(*nn.Conv2d); ok {
			out = append(out, nil)
		}
		if len(out) > 0 {
			out[len(out)-1] = append(out[len(out)-1], l)
		}
	}
	return out
}

// FreezeBlocks freezes the parameters of D's first n blocks (a convolution
// with its normalisation), as FreezeD does when fine-tuning a GAN on a small
// data set (Mo et al. 2020): the first layers keep the features they learnt
// on the large set, the rest adapt.
func (d *Discriminator) FreezeBlocks(n int) error {
	bs := d.blocks()
	if n < 0 || n > len(bs) {
		return fmt.Errorf("%d: %w (%d)", n, ErrFreezeBlocks, len(bs))
	}
	for _, b := range bs[:n] {
		for _, l := range b {
			nn.Freeze(l.Params(), true)
		}
	}
	return nil
}

// holdMasks holds (or releases) the masks of D's leaky ReLUs: see
// nn.Activation.HoldMask.
func (d *Discriminator) holdMasks(on bool) {
	for _, l := range d.Trunk.Layers {
		if a, ok := l.(*nn.Activation); ok {
			a.HoldMask(on)
		}
	}
}

// HasBatchNorm reports whether D normalises with batch statistics, whose
// fused leaky ReLUs cannot hold their masks: the R1 penalty needs a
// discriminator without them.
func (d *Discriminator) HasBatchNorm() bool {
	for _, l := range d.Trunk.Layers {
		if _, ok := l.(*nn.BatchNorm); ok {
			return true
		}
	}
	return false
}

// spectralNorms returns D's spectrally normalised layers.
func (d *Discriminator) spectralNorms() []*nn.SpectralNorm {
	var out []*nn.SpectralNorm
	for _, l := range append(slices.Clone(d.Trunk.Layers), d.Head) {
		if sn, ok := l.(*nn.SpectralNorm); ok {
			out = append(out, sn)
		}
	}
	return out
}

// SetInputGrad sets whether Backward computes the gradient with respect to
// the images. Training D needs only its weights' gradients; training G (and
// projecting photos) needs the images'. It is on by default.
func (d *Discriminator) SetInputGrad(on bool) { d.first.SkipInputGrad = !on }

// Backward takes the gradient with respect to the logits and returns the
// gradient with respect to the images (nil after SetInputGrad(false)).
func (d *Discriminator) Backward(dlogits *tensor.Tensor) *tensor.Tensor {
	dfeat := d.Head.Backward(dlogits)
	if d.Embed != nil {
		// logit += ⟨e_y, φ⟩: dφ += dlogit·e_y and de_y = dlogit·φ.
		proj := d.Embed.Lookup(d.labels) // the same rows as in Forward
		f := proj.Shape[1]
		n := len(d.labels)
		d.dproj = tensor.Ensure(d.dproj, n, f)
		fy := d.feat.Data
		for i := 0; i < n; i++ {
			g := dlogits.Data[i]
			dr, pr, fr, pj := dfeat.Data[i*f:(i+1)*f], proj.Data[i*f:(i+1)*f], fy[i*f:(i+1)*f], d.dproj.Data[i*f:(i+1)*f]
			for j := range dr {
				dr[j] += g * pr[j]
				pj[j] = g * fr[j]
			}
		}
		d.Embed.Backward(d.dproj)
	}
	return d.Trunk.Backward(dfeat)
}
