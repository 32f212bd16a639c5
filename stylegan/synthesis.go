package stylegan

import (
	"fmt"
	"math/rand/v2"

	"forger/nn"
	"forger/parallel"
	"forger/tensor"
)

// layer is one StyleGAN2 SynthesisLayer: modulated convolution, then
// demodulation, noise, bias and leaky ReLU (gain √2) fused in one pass
// (nn.ModEpilogue), then the clamp of Config.ConvClamp when it is set.
type layer struct {
	conv  *nn.ModConv2d
	noise *nn.NoiseInput
	epi   *nn.ModEpilogue
	clamp *nn.Clamp // nil: no clamp
	wi    int       // index of its w in W+
}

// newClamp is the clamp of conv_clamp c, nil when c is 0.
func newClamp(c float32) *nn.Clamp {
	if c == 0 {
		return nil
	}
	return nn.NewClamp(c)
}

func newLayer(name string, in, out, res, wDim int, up bool, wi int, clamp float32, rng *rand.Rand) *layer {
	l := &layer{conv: nn.NewModConv2d(in, out, 3, wDim, up, true, rng), noise: nn.NewNoiseInput(res, res, rng), wi: wi, clamp: newClamp(clamp)}
	l.epi = nn.NewModEpilogue(out, l.noise)
	for _, p := range l.params() {
		p.Name = name + "." + p.Name
	}
	l.noise.Const.Name = name + "." + l.noise.Const.Name
	return l
}

// params: the convolution's, the noise strength and the bias.
func (l *layer) params() []*nn.Param { return append(l.conv.Params(), l.epi.Params()...) }

func (l *layer) forward(x, w *tensor.Tensor) *tensor.Tensor {
	y := l.epi.Forward(l.conv.ForwardRaw(x, w))
	if l.clamp != nil {
		y = l.clamp.Forward(y)
	}
	return y
}

func (l *layer) backward(dy *tensor.Tensor) (dx, dw *tensor.Tensor) {
	if l.clamp != nil {
		dy = l.clamp.Backward(dy)
	}
	return l.conv.BackwardRaw(l.epi.Backward(dy))
}

// toRGB is StyleGAN2's ToRGBLayer: a 1×1 modulated convolution without
// demodulation, a bias, and the clamp of Config.ConvClamp when it is set.
type toRGB struct {
	conv  *nn.ModConv2d
	bias  *nn.BiasAct
	clamp *nn.Clamp // nil: no clamp
	wi    int
}

func newToRGB(name string, in, channels, wDim, wi int, clamp float32, rng *rand.Rand) *toRGB {
	t := &toRGB{conv: nn.NewModConv2d(in, channels, 1, wDim, false, false, rng), bias: nn.NewBiasAct(channels, false), clamp: newClamp(clamp), wi: wi}
	for _, p := range t.params() {
		p.Name = name + "." + p.Name
	}
	return t
}

func (t *toRGB) params() []*nn.Param { return append(t.conv.Params(), t.bias.Params()...) }

func (t *toRGB) forward(x, w *tensor.Tensor) *tensor.Tensor {
	y := t.bias.Forward(t.conv.Forward(x, w))
	if t.clamp != nil {
		y = t.clamp.Forward(y)
	}
	return y
}

func (t *toRGB) backward(dy *tensor.Tensor) (dx, dw *tensor.Tensor) {
	if t.clamp != nil {
		dy = t.clamp.Backward(dy)
	}
	return t.conv.Backward(t.bias.Backward(dy))
}

// block is one resolution of the skip generator: (conv0 with 2×
// upsampling,) conv1, and toRGB added to the upsampled image so far.
type block struct {
	res          int
	conv0, conv1 *layer // conv0 nil at 4×4
	rgb          *toRGB
	up           *nn.UpFIRDn2d // the previous image, 2× (nil at 4×4)

	img       *tensor.Tensor // the image up to this resolution
	add, dadd nn.Add         // the image sum, and the features' gradient sum
}

// Synthesis is StyleGAN2's synthesis network with the skip architecture: a
// learned 4×4 constant, two modulated convolutions per resolution (the
// first upsamples), and at each resolution an RGB image added to the
// upsampled image of the resolutions before.
type Synthesis struct {
	Config Config
	Const  *nn.Param // [4, 4, Width(4)]
	blocks []*block

	ws    *tensor.Tensor   // the W+ input of the last Forward
	wl    []*tensor.Tensor // [NumWs] each [N, WDim], gathered from ws
	dws   *tensor.Tensor
	x0    *tensor.Tensor // the constant, repeated per sample
	ws0   nn.Workspace
	gath  gather
	gathF parallel.Func
}

// NewSynthesis returns the synthesis network of cfg.
func NewSynthesis(cfg Config, rng *rand.Rand) *Synthesis {
	s := &Synthesis{Config: cfg}
	c4 := cfg.Width(4)
	s.Const = &nn.Param{Name: "synthesis.b4.const", Value: tensor.New(4, 4, c4), Grad: tensor.New(4, 4, c4)}
	s.Const.Value.FillNormal(rng, 0, 1)
	wi := 0
	for res := 4; res <= cfg.Size; res *= 2 {
		name := fmt.Sprintf("synthesis.b%d", res)
		b := &block{res: res}
		out := cfg.Width(res)
		if res > 4 {
			b.conv0 = newLayer(name+".conv0", cfg.Width(res/2), out, res, cfg.WDim, true, wi, cfg.ConvClamp, rng)
			wi++
			b.up = nn.NewUpsample2x()
		}
		b.conv1 = newLayer(name+".conv1", out, out, res, cfg.WDim, false, wi, cfg.ConvClamp, rng)
		wi++
		b.rgb = newToRGB(name+".torgb", out, cfg.Channels, cfg.WDim, wi, cfg.ConvClamp, rng)
		s.blocks = append(s.blocks, b)
	}
	for _, l := range s.layers() {
		l.conv.SetWorkspace(&s.ws0)
	}
	return s
}

// layers returns the modulated 3×3 layers in order.
func (s *Synthesis) layers() []*layer {
	var ls []*layer
	for _, b := range s.blocks {
		if b.conv0 != nil {
			ls = append(ls, b.conv0)
		}
		ls = append(ls, b.conv1)
	}
	return ls
}

// Params returns the trainable parameters.
func (s *Synthesis) Params() []*nn.Param {
	ps := []*nn.Param{s.Const}
	for _, b := range s.blocks {
		if b.conv0 != nil {
			ps = append(ps, b.conv0.params()...)
		}
		ps = append(ps, b.conv1.params()...)
		ps = append(ps, b.rgb.params()...)
	}
	return ps
}

// Buffers returns the constant noise images.
func (s *Synthesis) Buffers() []*nn.Param {
	var ps []*nn.Param
	for _, l := range s.layers() {
		ps = append(ps, l.noise.Const)
	}
	return ps
}

// Noise returns the per-layer noise inputs, coarse to fine, for setting
// their mode and RNG or reading the noise of the last Forward.
func (s *Synthesis) Noise() []*nn.NoiseInput {
	var ns []*nn.NoiseInput
	for _, l := range s.layers() {
		ns = append(ns, l.noise)
	}
	return ns
}

// SetNoise sets the noise mode of every layer; rng (for NoiseRandom) is
// shared by the layers.
func (s *Synthesis) SetNoise(mode nn.NoiseMode, rng *rand.Rand) {
	for _, n := range s.Noise() {
		n.Mode, n.RNG = mode, rng
	}
}

// LayerParts is one modulated 3×3 layer of the synthesis network as an
// exporter (interop/onnx) reads it: y = Clamp(Epilogue(Conv(x, w))), the
// epilogue adding the demodulation, its noise (Epilogue.Noise), the bias
// and the leaky ReLU with gain.
type LayerParts struct {
	Conv     *nn.ModConv2d
	Epilogue *nn.ModEpilogue
	Clamp    *nn.Clamp // nil: no clamp
}

// ToRGBParts is a block's toRGB as an exporter reads it:
// y = Clamp(Bias(Conv(x, w))).
type ToRGBParts struct {
	Conv  *nn.ModConv2d
	Bias  *nn.BiasAct
	Clamp *nn.Clamp // nil: no clamp
}

// BlockParts is one resolution of the synthesis network as an exporter
// reads it: x ← Conv1(Conv0(x)) (Conv0 upsamples; nil at 4×4), and the
// image ← Up(image) + RGB(x) (the first block's image is its RGB(x)).
type BlockParts struct {
	Res   int
	Conv0 *LayerParts // nil at 4×4
	Conv1 LayerParts
	RGB   ToRGBParts
	Up    *nn.UpFIRDn2d // nil at 4×4
}

// Parts returns the network's blocks, coarse to fine, for reading: the
// layers are the network's own, not copies. Every layer takes its own w of
// W+; rendering a w (forger generate) gives them all the same one.
func (s *Synthesis) Parts() []BlockParts {
	parts := make([]BlockParts, len(s.blocks))
	lp := func(l *layer) LayerParts { return LayerParts{Conv: l.conv, Epilogue: l.epi, Clamp: l.clamp} }
	for i, b := range s.blocks {
		p := BlockParts{Res: b.res, Conv1: lp(b.conv1), RGB: ToRGBParts{Conv: b.rgb.conv, Bias: b.rgb.bias, Clamp: b.rgb.clamp}, Up: b.up}
		if b.conv0 != nil {
			c0 := lp(b.conv0)
			p.Conv0 = &c0
		}
		parts[i] = p
	}
	return parts
}

// gather copies ws[:, j, :] into wl[j] for every j.
type gather struct {
	ws   []float32
	wl   []*tensor.Tensor
	n, d int
}

func (g *gather) do(lo, hi int) {
	numWs := len(g.wl)
	for j := lo; j < hi; j++ {
		for i := 0; i < g.n; i++ {
			copy(g.wl[j].Data[i*g.d:(i+1)*g.d], g.ws[(i*numWs+j)*g.d:][:g.d])
		}
	}
}

// Forward renders ws [N, NumWs, WDim] (W+) as images [N, Size, Size,
// Channels], NHWC, about [-1, 1].
func (s *Synthesis) Forward(ws *tensor.Tensor) *tensor.Tensor {
	cfg := s.Config
	numWs := cfg.NumWs()
	if len(ws.Shape) != 3 || ws.Shape[1] != numWs || ws.Shape[2] != cfg.WDim {
		panic(fmt.Sprintf("stylegan.Synthesis: ws %v, want [N,%d,%d]", ws.Shape, numWs, cfg.WDim))
	}
	n := ws.Shape[0]
	s.ws = ws
	if len(s.wl) != numWs {
		s.wl = make([]*tensor.Tensor, numWs)
		s.gathF = s.gath.do
	}
	for j := range s.wl {
		s.wl[j] = tensor.Ensure(s.wl[j], n, cfg.WDim)
	}
	s.gath = gather{ws: ws.Data, wl: s.wl, n: n, d: cfg.WDim}
	parallel.For(numWs, 1, s.gathF)

	c4 := cfg.Width(4)
	s.x0 = tensor.Ensure(s.x0, n, 4, 4, c4)
	for i := 0; i < n; i++ {
		copy(s.x0.Data[i*16*c4:], s.Const.Value.Data)
	}
	x := s.x0
	var img *tensor.Tensor
	for _, b := range s.blocks {
		if b.conv0 != nil {
			x = b.conv0.forward(x, s.wl[b.conv0.wi])
		}
		x = b.conv1.forward(x, s.wl[b.conv1.wi])
		rgb := b.rgb.forward(x, s.wl[b.rgb.wi])
		if img == nil {
			img = rgb
		} else {
			img = b.add.Forward(b.up.Forward(img), rgb)
		}
		b.img = img
	}
	return img
}

// Backward takes the gradient of the images and returns that of ws [N,
// NumWs, WDim], accumulating the parameters' gradients. Two layers share a
// w in W+ (a block's toRGB and the next block's first convolution), so
// their gradients are summed there.
func (s *Synthesis) Backward(dimg *tensor.Tensor) *tensor.Tensor {
	cfg := s.Config
	if s.ws == nil || dimg.Len() != s.blocks[len(s.blocks)-1].img.Len() {
		panic(fmt.Sprintf("stylegan.Synthesis: gradient %v does not match the images", dimg.Shape))
	}
	n := s.ws.Shape[0]
	s.dws = tensor.Ensure(s.dws, s.ws.Shape...)
	s.dws.Zero()
	addW := func(wi int, dw *tensor.Tensor) {
		numWs := cfg.NumWs()
		for i := 0; i < n; i++ {
			row := s.dws.Data[(i*numWs+wi)*cfg.WDim:][:cfg.WDim]
			for k, v := range dw.Data[i*cfg.WDim : (i+1)*cfg.WDim] {
				row[k] += v
			}
		}
	}
	var dx *tensor.Tensor // gradient of the features from the block above
	for bi := len(s.blocks) - 1; bi >= 0; bi-- {
		b := s.blocks[bi]
		drgbx, dw := b.rgb.backward(dimg)
		addW(b.rgb.wi, dw)
		if b.up != nil {
			dimg = b.up.Backward(dimg)
		}
		if dx == nil {
			dx = drgbx
		} else {
			dx = b.dadd.Forward(dx, drgbx)
		}
		dx, dw = b.conv1.backward(dx)
		addW(b.conv1.wi, dw)
		if b.conv0 != nil {
			dx, dw = b.conv0.backward(dx)
			addW(b.conv0.wi, dw)
		}
	}
	if !s.Const.Frozen {
		c := s.Const.Grad.Data
		for i := 0; i < n; i++ {
			for k, v := range dx.Data[i*len(c) : (i+1)*len(c)] {
				c[k] += v
			}
		}
	}
	return s.dws
}

// HoldMasks holds (on) or releases the masks of every leaky ReLU and clamp
// of the synthesis network at those of the last Forward (see
// nn.ModEpilogue.HoldMask): the finite-difference second derivatives of the
// path-length penalty need them.
func (s *Synthesis) HoldMasks(on bool) {
	for _, l := range s.layers() {
		l.epi.HoldMask(on)
		if l.clamp != nil {
			l.clamp.HoldMask(on)
		}
	}
	for _, b := range s.blocks {
		if b.rgb.clamp != nil {
			b.rgb.clamp.HoldMask(on)
		}
	}
}
