package latent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"forger/dataset"
	"forger/gan"
	"forger/internal/atomicfile"
	"forger/nn"
	"forger/optim"
	"forger/stylegan"
	"forger/tensor"
)

// Encoder file format: the network's tensors under "net." and metadata
// "format" = EncoderFormat, "forger.encoder" = EncoderConfig as JSON.
const (
	EncoderFormat = "forger-encoder-1"
	MetaEncoder   = "forger.encoder"
)

// EncoderConfig describes an encoder; its JSON names are part of the file
// format.
type EncoderConfig struct {
	Model string     `json:"model"` // the checkpoint it was trained for
	GAN   gan.Config `json:"gan"`   // that model's configuration
	NZ    int        `json:"nz"`
	// Space is the latent space of the codes it predicts: z (""), or a
	// stylegan's W or W+, whose codes start from w_avg rather than 0.
	Space    Space `json:"space,omitempty"`
	Size     int   `json:"size"`
	Channels int   `json:"channels"`
	Width    int   `json:"width"` // channels of the first convolution
	// Iterations > 1 makes an iterative encoder (ReStyle): it reads the
	// target beside the generator's image of the current guess (2·Channels
	// input channels) and predicts a correction, Iterations times from z = 0.
	// 0 or 1 is a single pass from the image alone.
	Iterations int `json:"iterations,omitempty"`
	// RealImages is the number of real images trained on beside the
	// generated pairs (EncoderOptions.Real), RealData where they came from.
	RealImages int    `json:"real_images,omitempty"`
	RealData   string `json:"real_data,omitempty"`
	// PhotoLike: half of the real images were made photo-like.
	PhotoLike bool `json:"photo_like,omitempty"`

	Samples   int     `json:"samples"`            // (G(z), z) pairs seen in training
	Batch     int     `json:"batch"`              // pairs per step
	ImageLoss float64 `json:"image_loss"`         // weight of the image loss ‖G(E(x)) − x‖²
	ZLoss     float64 `json:"z_loss"`             // weight of the latent loss ‖E(x) − z‖²
	Features  string  `json:"features,omitempty"` // network of the image loss's perceptual term
	Seed      uint64  `json:"seed"`
	Seconds   float64 `json:"seconds"`
	// HeldOutZMSE and HeldOutPixelMSE measure the trained encoder on fresh
	// generated images: mean (E(x) − z)² and mean (G(E(x)) − x)².
	HeldOutZMSE     float64 `json:"held_out_z_mse"`
	HeldOutPixelMSE float64 `json:"held_out_pixel_mse"`
}

// Encoder maps images [N, S, S, C] in [-1, 1] to codes [N, dim] of its
// space (z: nz; a stylegan's W or W+: the mapping's output, or one per
// layer), as offsets from the space's origin (0 in z, w_avg in W and W+): a stack
// of 4×4 stride-2 convolutions (LeakyReLU 0.2, batch norm after the first),
// doubling the channels up to 256, down to the generator's base grid (4×4,
// or 7×7 at 28×28), then one linear layer to the code.
//
// An iterative encoder (Cfg.Iterations > 1) runs the same network several
// times: each pass reads the target and G(ẑ) side by side and adds its
// output to ẑ, so it sees and corrects its own error (ReStyle, Alaluf et
// al. 2021).
//
// The generator g its methods take is the one it was trained for
// (CheckModel); a DCGAN's conditional classes come as labels.
type Encoder struct {
	Cfg EncoderConfig
	Net *nn.Sequential

	x   *tensor.Tensor
	inp *tensor.Tensor // the network's input of an iterative pass
}

// dim is the length of the codes the encoder predicts.
func (c EncoderConfig) dim() (int, error) {
	if !c.Space.IsW() {
		if _, err := ParseSpace(string(c.Space)); err != nil {
			return 0, err
		}
		return c.NZ, nil
	}
	return c.Space.Dim(c.GAN)
}

// encoderConv is one convolution of an encoder: in → out channels, batch
// norm after it or not.
type encoderConv struct {
	in, out int
	bn      bool
}

// plan returns the shapes of the network cfg describes: its convolutions,
// then a linear layer from linIn values to dim (NZ, Size, Channels and
// Width must be valid; GAN too for W and W+).
func (c EncoderConfig) plan() (convs []encoderConv, linIn, dim int, err error) {
	base := 4
	switch c.Size {
	case 28:
		base = 7
	case 32, 64, 128:
	default:
		return nil, 0, 0, fmt.Errorf("image size %d is not supported (use 28, 32, 64 or 128)", c.Size)
	}
	if c.Channels != 1 && c.Channels != 3 {
		return nil, 0, 0, fmt.Errorf("%d channels is not supported (use 1 or 3)", c.Channels)
	}
	if c.NZ < 1 || c.Width < 1 || c.NZ > maxEncoderDim || c.Width > maxEncoderWidth {
		return nil, 0, 0, fmt.Errorf("encoder: nz and width must be in 1–%d and 1–%d (got %d, %d)", maxEncoderDim, maxEncoderWidth, c.NZ, c.Width)
	}
	if dim, err = c.dim(); err != nil {
		return nil, 0, 0, err
	}
	if dim > maxEncoderDim {
		return nil, 0, 0, fmt.Errorf("encoder: %s codes of %d values, more than %d", c.Space, dim, maxEncoderDim)
	}
	in, ch, side := c.Channels, c.Width, c.Size
	if c.Iterations > 1 {
		in *= 2
	}
	for side > base {
		convs = append(convs, encoderConv{in: in, out: ch, bn: len(convs) > 0})
		in, side = ch, side/2
		ch = min(2*ch, 256)
	}
	return convs, side * side * in, dim, nil
}

// Bounds of an encoder's configuration, so that a file's config cannot ask
// for more memory than a real encoder needs (W+ of a 1024×1024 stylegan is
// 18·512 values).
const (
	maxEncoderDim   = 1 << 15
	maxEncoderWidth = 1 << 10
)

// values is the number of float32 values of the network cfg describes
// (parameters and batch norm's statistics).
func (c EncoderConfig) values() (int64, error) {
	convs, linIn, dim, err := c.plan()
	if err != nil {
		return 0, err
	}
	var n int64
	for _, cv := range convs {
		n += int64(cv.out) * int64(cv.in) * 16
		if cv.bn {
			n += 4 * int64(cv.out)
		}
	}
	return n + int64(linIn)*int64(dim) + int64(dim), nil
}

// NewEncoder returns an untrained encoder for cfg (NZ, Size, Channels and
// Width must be set; GAN too for W and W+).
func NewEncoder(cfg EncoderConfig, seed uint64) (*Encoder, error) {
	convs, linIn, dim, err := cfg.plan()
	if err != nil {
		return nil, err
	}
	rng := newRNG(seed)
	var layers []nn.Layer
	for _, cv := range convs {
		conv := nn.NewConv2d(cv.in, cv.out, 4, 2, 1, false, rng)
		conv.Weight.Value.FillNormal(rng, 0, 0.02)
		layers = append(layers, conv)
		if cv.bn {
			layers = append(layers, nn.NewBatchNormAct(cv.out, nn.LeakyReLU, 0.2))
		} else {
			layers = append(layers, nn.NewLeakyReLU(0.2))
		}
	}
	layers = append(layers, nn.NewReshape(linIn), nn.NewLinear(linIn, dim, true, rng))
	e := &Encoder{Cfg: cfg, Net: nn.NewSequential(layers...)}
	nn.ShareWorkspace(new(nn.Workspace), e.Net)
	return e, nil
}

// CheckModel returns an error when the encoder was not made for a model of
// configuration cfg.
func (e *Encoder) CheckModel(cfg gan.Config) error {
	if e.Cfg.NZ != cfg.NZ || e.Cfg.Size != cfg.Size || e.Cfg.Channels != cfg.Channels {
		return fmt.Errorf("the encoder is for %d×%d×%d images and nz %d, the model makes %d×%d×%d with nz %d",
			e.Cfg.Size, e.Cfg.Size, e.Cfg.Channels, e.Cfg.NZ, cfg.Size, cfg.Size, cfg.Channels, cfg.NZ)
	}
	if !e.Cfg.Space.IsW() {
		return nil
	}
	want, err := e.Cfg.Space.Dim(cfg)
	if err != nil {
		return err
	}
	if got, _ := e.Cfg.dim(); got != want {
		return fmt.Errorf("the encoder predicts %s codes of %d values, the model's have %d", e.Cfg.Space, got, want)
	}
	return nil
}

// net returns g as a function of the encoder's codes, with labels for a
// conditional DCGAN.
func (e *Encoder) net(g gan.GeneratorNet, labels []int32) codeNet {
	n, err := newCodeNet(g, e.Cfg.Space, labels)
	if err != nil {
		panic("latent: encoder for another model: " + err.Error())
	}
	return n
}

// origin sets every row of codes [N, dim] to the space's origin: 0 in z,
// w_avg (in every layer for W+) in W and W+.
func (e *Encoder) origin(g gan.GeneratorNet, codes *tensor.Tensor) {
	sg, ok := g.(*gan.StyleGenerator)
	if !e.Cfg.Space.IsW() || !ok {
		codes.Zero()
		return
	}
	avg, err := AverageCode(sg, e.Cfg.Space)
	if err != nil {
		panic("latent: encoder for another model: " + err.Error())
	}
	for i := range codes.Shape[0] {
		copy(codes.Data[i*len(avg.Z):(i+1)*len(avg.Z)], avg.Z)
	}
}

// sampleCodes draws fresh z into zs [N, nz] and sets codes [N, dim] to
// them in the encoder's space (through the mapping for W and W+, every
// layer the same w in W+).
func (e *Encoder) sampleCodes(g gan.GeneratorNet, zs, codes *tensor.Tensor, rng *rand.Rand) {
	gan.SampleZ(zs, rng)
	sg, ok := g.(*gan.StyleGenerator)
	if !e.Cfg.Space.IsW() || !ok {
		copy(codes.Data, zs.Data)
		return
	}
	w := sg.Mapping.Forward(zs)
	if e.Cfg.Space == SpaceW {
		copy(codes.Data, w.Data)
		return
	}
	stylegan.Broadcast(&tensor.Tensor{Data: codes.Data, Shape: []int{zs.Shape[0], sg.NumWs(), sg.Config.WDim}}, w, sg.NumWs())
}

// Encode returns the codes of n images (n·S·S·C values in [-1, 1]) as
// [n, dim], in inference mode. g is the generator the encoder was trained
// for and labels (len n) the classes of a conditional one; only iterative
// encoders use them, to render their guesses.
func (e *Encoder) Encode(g gan.GeneratorNet, images []float32, labels []int32) *tensor.Tensor {
	return e.encode(g, images, labels, e.Cfg.Iterations)
}

// encode is Encode with passes passes of an iterative encoder.
func (e *Encoder) encode(g gan.GeneratorNet, images []float32, labels []int32, passes int) *tensor.Tensor {
	dim, _ := e.Cfg.dim()
	out := tensor.New(len(images)/(e.Cfg.Size*e.Cfg.Size*e.Cfg.Channels), dim)
	e.origin(g, out)
	for range max(1, passes) {
		e.pass(g, images, labels, out, nil)
	}
	return out
}

// pass runs one pass of the encoder (step) over images in chunks of 64,
// in inference mode, updating their codes z [n, dim]. If img is not nil
// it receives the generator's images of the new codes.
func (e *Encoder) pass(g gan.GeneratorNet, images []float32, labels []int32, z, img *tensor.Tensor) {
	e.Net.SetTraining(false)
	g.SetTraining(false)
	c := e.Cfg
	per := c.Size * c.Size * c.Channels
	n := len(images) / per
	if e.x == nil {
		e.x = &tensor.Tensor{}
	}
	for lo := 0; lo < n; lo += 64 {
		hi := min(n, lo+64)
		e.x.Data = images[lo*per : hi*per]
		e.x.Shape = append(e.x.Shape[:0], hi-lo, c.Size, c.Size, c.Channels)
		zs := z.Samples(lo, hi)
		var ls []int32
		if labels != nil {
			ls = labels[lo:hi]
		}
		net := e.net(g, ls)
		e.step(net, e.x, zs)
		if img != nil {
			copy(img.Data[lo*per:hi*per], net.forward(zs).Data)
		}
	}
}

// BestPassesFactor is how many times its trained Iterations an iterative
// encoder runs in EncodeBest. More passes than trained keep improving
// in-domain images while out-of-domain ones (photos, for a cartoon
// generator) are best after one or two, so EncodeBest keeps each image's
// best pass (measured on the 32×32 cartoon-faces model, latent/README.md).
const BestPassesFactor = 3

// EncodeBest returns the latents of the images obj scores (its targets),
// like Encode; an iterative encoder runs BestPassesFactor·Iterations passes
// and keeps, for each image, the guess whose rendering obj scores lowest.
// A pass costs one generator and one encoder forward pass and one
// evaluation of obj, without gradients: less than a projection step.
func (e *Encoder) EncodeBest(g gan.GeneratorNet, obj *Objective, labels []int32) *tensor.Tensor {
	images := obj.target.Data
	if e.Cfg.Iterations <= 1 {
		return e.Encode(g, images, labels)
	}
	c := e.Cfg
	dim, _ := c.dim()
	n := len(images) / (c.Size * c.Size * c.Channels)
	z := tensor.New(n, dim)
	e.origin(g, z)
	best := tensor.New(n, dim)
	bestLoss := make([]float64, n)
	for i := range bestLoss {
		bestLoss[i] = math.Inf(1)
	}
	img := tensor.New(n, c.Size, c.Size, c.Channels)
	for range BestPassesFactor * c.Iterations {
		e.pass(g, images, labels, z, img)
		obj.Eval(img, false)
		for i, l := range obj.Last {
			if l < bestLoss[i] {
				bestLoss[i] = l
				copy(best.Data[i*dim:(i+1)*dim], z.Data[i*dim:(i+1)*dim])
			}
		}
	}
	return best
}

// step is one pass of the encoder: z += E(x) for a single-pass encoder
// (from the origin), z += E(x, G(z)) for an iterative one, G being net.
// It returns the network's output, the correction.
func (e *Encoder) step(net codeNet, x, z *tensor.Tensor) *tensor.Tensor {
	if e.Cfg.Iterations <= 1 {
		return e.add(z, e.Net.Forward(x))
	}
	y := net.forward(z)
	n, ch := x.Shape[0], e.Cfg.Channels
	pixels := x.Len() / ch
	if e.inp == nil || e.inp.Shape[0] != n {
		e.inp = tensor.New(n, e.Cfg.Size, e.Cfg.Size, 2*ch)
	}
	for p := range pixels {
		copy(e.inp.Data[p*2*ch:p*2*ch+ch], x.Data[p*ch:(p+1)*ch])
		copy(e.inp.Data[p*2*ch+ch:(p+1)*2*ch], y.Data[p*ch:(p+1)*ch])
	}
	return e.add(z, e.Net.Forward(e.inp))
}

// add adds the correction d to z and returns d.
func (e *Encoder) add(z, d *tensor.Tensor) *tensor.Tensor {
	for i, v := range d.Data {
		z.Data[i] += v
	}
	return d
}

func (e *Encoder) tensors() []tensor.Named {
	var out []tensor.Named
	for _, ps := range [][]*nn.Param{e.Net.Params(), e.Net.Buffers()} {
		for _, p := range ps {
			out = append(out, tensor.Named{Name: "net." + p.Name, Tensor: p.Value})
		}
	}
	return out
}

// Save writes the encoder atomically.
func (e *Encoder) Save(path string) error {
	cfg, _ := json.Marshal(e.Cfg)
	meta := map[string]string{"format": EncoderFormat, MetaEncoder: string(cfg)}
	return atomicfile.Write(path, func(w io.Writer) error {
		return tensor.WriteSafetensors(w, e.tensors(), meta)
	})
}

// LoadEncoder reads an encoder file.
func LoadEncoder(path string) (*Encoder, error) {
	fh, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("encoder %s does not exist: %w", path, err)
		}
		return nil, fmt.Errorf("opening encoder: %w", err)
	}
	defer fh.Close()
	f, err := tensor.ReadSafetensors(fh)
	if err != nil {
		return nil, fmt.Errorf("%s: not a forger encoder: %v", path, err)
	}
	if f.Metadata["format"] != EncoderFormat {
		return nil, fmt.Errorf("%s: not a forger encoder (format %q, want %q)", path, f.Metadata["format"], EncoderFormat)
	}
	var cfg EncoderConfig
	if err := json.Unmarshal([]byte(f.Metadata[MetaEncoder]), &cfg); err != nil {
		return nil, fmt.Errorf("%s: not a forger encoder: bad config: %v", path, err)
	}
	// The file's network must be the size its config says, before the
	// config's network is made: a config cannot ask for more memory than
	// the file holds.
	want, err := cfg.values()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	var have int64
	for name, t := range f.Tensors {
		if strings.HasPrefix(name, "net.") {
			have += int64(t.Len())
		}
	}
	if have != want {
		return nil, fmt.Errorf("%s: not a forger encoder: its config needs %d values, the file holds %d", path, want, have)
	}
	e, err := NewEncoder(cfg, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	for _, nt := range e.tensors() {
		src, err := f.Lookup(nt.Name, nt.Tensor.Shape...)
		if err != nil {
			return nil, fmt.Errorf("%s: not a forger encoder: %v", path, err)
		}
		nt.Tensor.CopyFrom(src)
	}
	e.Net.SetTraining(false)
	return e, nil
}

// EncoderOptions control TrainEncoder.
type EncoderOptions struct {
	Samples int     // (G(z), z) pairs in all (default 50000)
	Batch   int     // pairs per step (default 64)
	LR      float64 // Adam's peak learning rate, cosine decay (default 1e-3)
	Width   int     // first convolution's channels (default 32)
	// ImageLoss weighs ‖G(E(x)) − x‖² (through the frozen generator) against
	// ‖E(x) − z‖²; 0 means 1, negative turns it off.
	ImageLoss float64
	// ZLoss weighs ‖E(x) − z‖²; 0 means 1, negative turns it off.
	ZLoss float64
	// Features, if not nil, adds a perceptual term to the image loss:
	// ‖φ(G(E(x))) − φ(x)‖² as in LossBoth, weighed by PerceptualWeight
	// (default 1). It trains the encoder for the projection's own loss.
	Features         Features
	PerceptualWeight float64
	// Iterations > 1 trains an iterative encoder (see Encoder).
	Iterations int
	// Space is the space of the codes it predicts; "" is the model's
	// DefaultSpace (W+ for a stylegan, z otherwise). In W+ the pairs are
	// (G(w), w in every layer); the image loss on real images lets its
	// layers differ.
	Space Space
	// Real, if not nil, holds real images of the model's size (an
	// unconditional model's): each batch is then half generated pairs and
	// half real images, the real ones trained with the image loss alone
	// (their z is unknown), as pSp and ReStyle train on real photos. Mixed
	// batches keep BatchNorm's statistics those of what the encoder sees at
	// projection time.
	Real     *dataset.Set
	RealData string // Real's source, recorded in the encoder's config
	// PhotoLike turns half of the real images into rough stand-ins for
	// photographs (new background, colour cast, blur, noise; see
	// photoLike), for data sets of plain-background images.
	PhotoLike bool
	Seed      uint64
	// Progress, if not nil, is called after each step with the pairs done
	// and the smoothed losses.
	Progress func(done, total int, zLoss, imgLoss float64)
}

// TrainEncoder trains an encoder for the generator g (stored at model) on
// pairs (G(c), c) of codes c of o.Space generated on the fly, with classes
// drawn uniformly for conditional models. The generator is frozen.
func TrainEncoder(ctx context.Context, g gan.GeneratorNet, model string, o EncoderOptions) (*Encoder, error) {
	if o.Samples == 0 {
		o.Samples = 50000
	}
	if o.Batch == 0 {
		o.Batch = 64
	}
	if o.LR == 0 {
		o.LR = 1e-3
	}
	if o.Width == 0 {
		o.Width = 32
	}
	if o.ImageLoss == 0 {
		o.ImageLoss = 1
	}
	if o.ImageLoss < 0 {
		o.ImageLoss = 0
	}
	if o.PerceptualWeight == 0 {
		o.PerceptualWeight = 1
	}
	if o.ZLoss == 0 {
		o.ZLoss = 1
	}
	if o.ZLoss < 0 {
		o.ZLoss = 0
	}
	if o.ZLoss == 0 && o.ImageLoss == 0 {
		return nil, errors.New("the z loss and the image loss are both off: nothing to train on")
	}
	cfg := g.ModelConfig()
	if o.Space == "" {
		o.Space = DefaultSpace(cfg)
	}
	if _, err := o.Space.Dim(cfg); err != nil {
		return nil, err
	}
	if r := o.Real; r != nil {
		switch {
		case cfg.Conditional():
			return nil, errors.New("training on real images needs an unconditional model")
		case o.ImageLoss == 0:
			return nil, errors.New("training on real images needs the image loss")
		case r.Size != cfg.Size || r.Channels != cfg.Channels:
			return nil, fmt.Errorf("the real images are %d×%d×%d, the model makes %d×%d×%d", r.Size, r.Size, r.Channels, cfg.Size, cfg.Size, cfg.Channels)
		case r.Len() == 0:
			return nil, errors.New("no real images")
		}
	} else if o.PhotoLike {
		return nil, &OptionError{Pkg: "latent", Option: "PhotoLike", Value: nil, Reason: "needs real images (photo-like images are made from them)"}
	}
	switch {
	case o.Samples < 1:
		return nil, &OptionError{Pkg: "latent", Option: "Samples", Value: o.Samples, Reason: "must be ≥ 1"}
	case o.Batch < 2:
		return nil, &OptionError{Pkg: "latent", Option: "Batch", Value: o.Batch, Reason: "must be ≥ 2"}
	case !(o.LR > 0):
		return nil, &OptionError{Pkg: "latent", Option: "LR", Value: o.LR, Reason: "must be positive"}
	case o.Width < 1:
		return nil, &OptionError{Pkg: "latent", Option: "Width", Value: o.Width, Reason: "must be positive"}
	}
	e, err := NewEncoder(EncoderConfig{Model: model, GAN: cfg, NZ: cfg.NZ, Space: o.Space, Size: cfg.Size, Channels: cfg.Channels,
		Width: o.Width, Iterations: o.Iterations, RealData: o.RealData, PhotoLike: o.PhotoLike, Samples: o.Samples, Batch: o.Batch, ImageLoss: o.ImageLoss, ZLoss: o.ZLoss, Seed: o.Seed}, o.Seed)
	if err != nil {
		return nil, err
	}
	kind := LossPixel
	if o.Features != nil {
		kind = LossBoth
		e.Cfg.Features = o.Features.Name()
	}
	Freeze(g)
	start := time.Now()
	rng := newRNG(o.Seed + 1)
	b, nz := o.Batch, e.Cfg.NZ
	dim, _ := e.Cfg.dim()
	steps := max(1, (o.Samples+b-1)/b)
	z := tensor.New(b, dim) // the codes of the batch's generated rows
	var labels []int32
	if cfg.Conditional() {
		labels = make([]int32, b)
	}
	x := tensor.New(b, cfg.Size, cfg.Size, cfg.Channels)
	dzhat := tensor.New(b, dim)
	dimg := tensor.New(b, cfg.Size, cfg.Size, cfg.Channels)
	opt := optim.NewAdam(e.Net.Params(), o.LR, 0.9, 0.999)
	e.Net.SetTraining(true)
	// Every batch holds bg generated pairs (G(z), z) and, with real
	// images, b − bg of those, whose z is unknown: mixed batches, so that
	// batch norm's statistics in training are those of the mixture it meets
	// in inference (batches of one kind at a time made its running
	// statistics fit neither kind).
	bg := b
	if o.Real != nil {
		bg = b / 2
	}
	per := cfg.Size * cfg.Size * cfg.Channels
	idx := make([]int, b-bg)
	mask, queue := make([]bool, cfg.Size*cfg.Size), make([]int, 0, cfg.Size*cfg.Size)
	// Views of the generated rows, whose code is known, and their z.
	zg, dzg := z.Samples(0, bg), dzhat.Samples(0, bg)
	zsrc := tensor.New(bg, nz)
	// The generated rows' renderer (their labels) and the whole batch's.
	netG, net := e.net(g, nil), e.net(g, labels)
	if labels != nil {
		netG = e.net(g, labels[:bg])
	}
	// The z loss is a mean over the generated rows; weigh it by their share
	// of the batch, as the image loss is a mean over all rows.
	zScale := float32(o.ZLoss * float64(bg) / float64(b))
	// fill draws a batch into x: fresh pairs in its first bg rows (their z
	// in z), real images (half of them photo-like with PhotoLike) after.
	fill := func(rng *rand.Rand) {
		g.SetTraining(false)
		e.sampleCodes(g, zsrc, zg, rng)
		if labels != nil {
			for i := range labels {
				labels[i] = int32(rng.IntN(len(cfg.Classes)))
			}
		}
		copy(x.Data[:bg*per], netG.forward(zg).Data)
		if bg == b {
			return
		}
		for i := range idx {
			idx[i] = rng.IntN(o.Real.Len())
		}
		o.Real.Batch(idx, x.Data[bg*per:], nil)
		if o.PhotoLike {
			for i := bg; i < b; i++ {
				if rng.IntN(2) == 0 {
					photoLike(rng, x.Data[i*per:(i+1)*per], cfg.Size, cfg.Channels, mask, queue)
				}
			}
		}
	}
	// grad sets dzhat to the gradient of the loss at zhat and returns the
	// z loss (over the generated rows) and the image loss.
	grad := func(zhat *tensor.Tensor) (zl, il float64) {
		dzhat.Zero()
		zl = nn.MSE(zhat.Samples(0, bg), zg, dzg)
		for i := range dzg.Data {
			dzg.Data[i] *= zScale
		}
		if o.ImageLoss > 0 {
			// G(ẑ) against x: the gradient flows back through G to ẑ.
			xhat := net.forward(zhat)
			obj := NewObjective(kind, o.Features, o.PerceptualWeight, x)
			il = obj.Eval(xhat, true)
			// Eval's gradient is that of the sum over images: divide by
			// the batch for the mean.
			for i, v := range obj.Grad().Data {
				dimg.Data[i] = v * float32(o.ImageLoss/float64(b))
			}
			dz := net.backward(dimg)
			for i, v := range dz.Data {
				dzhat.Data[i] += v
			}
		}
		return zl, il
	}
	iters := max(1, o.Iterations)
	zhat := tensor.New(b, dim)
	var zAvg, iAvg float64
	for step := 0; step < steps; step++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		fill(rng)
		opt.LR = o.LR * 0.5 * (1 + math.Cos(math.Pi*float64(step)/float64(steps)))
		// Every pass from z = 0 is trained on its own error, with the
		// earlier passes' output taken as given (ReStyle).
		var zl, il float64
		e.origin(g, zhat)
		for range iters {
			e.step(net, x, zhat)
			zl, il = grad(zhat) // the last pass's losses are reported
			e.Net.Backward(dzhat)
			opt.Step()
		}
		a := 0.05
		if step == 0 {
			a = 1
		}
		zAvg = (1-a)*zAvg + a*zl
		iAvg = (1-a)*iAvg + a*il
		if o.Progress != nil {
			o.Progress(min(o.Samples, (step+1)*b), o.Samples, zAvg, iAvg)
		}
	}
	e.calibrate(g, net, x, zhat, fill, calibrationBatches)
	e.Net.SetTraining(false)
	e.Cfg.Seconds = time.Since(start).Seconds()
	if o.Real != nil {
		e.Cfg.RealImages = o.Real.Len()
	}
	e.Cfg.HeldOutZMSE, e.Cfg.HeldOutPixelMSE = e.Measure(g, 256, o.Seed+1000)
	return e, nil
}

// calibrationBatches is how many training batches calibrate averages.
const calibrationBatches = 50

// calibrate sets batch norm's running statistics to their plain average
// over n fresh training batches (fill), every pass run as in training, the
// weights fixed ("precise BN", Wu and Johnson 2021): the moving averages
// kept in training remember mostly the last few batches.
func (e *Encoder) calibrate(g gan.GeneratorNet, net codeNet, x, zhat *tensor.Tensor, fill func(*rand.Rand), n int) {
	var bns []*nn.BatchNorm
	var momenta []float64
	for _, l := range e.Net.Layers {
		if bn, ok := l.(*nn.BatchNorm); ok {
			bns, momenta = append(bns, bn), append(momenta, bn.Momentum)
		}
	}
	rng := newRNG(e.Cfg.Seed + 2)
	e.Net.SetTraining(true)
	calls := 0
	for range n {
		fill(rng)
		e.origin(g, zhat)
		for range max(1, e.Cfg.Iterations) {
			for _, bn := range bns {
				bn.Momentum = 1 / float64(calls+1)
			}
			e.step(net, x, zhat)
			calls++
		}
	}
	for i, bn := range bns {
		bn.Momentum = momenta[i]
	}
	e.Net.SetTraining(false)
}

// Measure returns the encoder's mean (E(x) − c)² and (G(E(x)) − x)² on n
// fresh generated images x = G(c) from the given seed, c a code of its
// space (z, or w in every layer of W+).
func (e *Encoder) Measure(g gan.GeneratorNet, n int, seed uint64) (zMSE, pixelMSE float64) {
	return e.measure(g, n, seed, e.Cfg.Iterations)
}

func (e *Encoder) measure(g gan.GeneratorNet, n int, seed uint64, passes int) (zMSE, pixelMSE float64) {
	cfg := g.ModelConfig()
	rng := newRNG(seed)
	dim, _ := e.Cfg.dim()
	z := tensor.New(n, dim)
	e.sampleCodes(g, tensor.New(n, cfg.NZ), z, rng)
	var labels []int32
	if cfg.Conditional() {
		labels = make([]int32, n)
		for i := range labels {
			labels[i] = int32(rng.IntN(len(cfg.Classes)))
		}
	}
	g.SetTraining(false)
	net := e.net(g, labels)
	x := net.forward(z).Clone()
	zhat := e.encode(g, x.Data, labels, passes)
	xhat := net.forward(zhat)
	for i, v := range zhat.Data {
		d := float64(v - z.Data[i])
		zMSE += d * d
	}
	for i, v := range xhat.Data {
		d := float64(v - x.Data[i])
		pixelMSE += d * d
	}
	return zMSE / float64(z.Len()), pixelMSE / float64(x.Len())
}
