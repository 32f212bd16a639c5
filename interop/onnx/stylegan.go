package onnx

import (
	"fmt"
	"math"

	"google.golang.org/protobuf/proto"

	"forger/gan"
	"forger/interop/onnx/onnxpb"
	"forger/nn"
	"forger/stylegan"
)

// InputTruncation is the name of a stylegan graph's truncation input.
const InputTruncation = "truncation"

// StyleGenerator returns the ONNX model of a stylegan generator rendering z
// as forger generate does: the mapping network z → w; w pulled towards
// w_avg, w_avg + ψ·(w − w_avg), with ψ = psi fixed in the graph (1 leaves
// w as it is) or, with o.TruncationInput, fed to the graph's truncation
// input (a float32 scalar); the synthesis network with every layer taking
// that w and its constant noise image (generate's noise, so a z is one
// image); and the image clipped to [-1, 1], as generate's pictures are.
//
// A modulated convolution is StyleGAN2's non-fused form, as forger runs it:
// the input scaled by the style (Mul, per sample and input channel), one
// Conv (or, upsampling, ConvTranspose of stride 2 and the [1,3,3,1] blur)
// with the shared weight, and the output scaled by the demodulation
// coefficients 1/√(s²·W2ᵀ + 1e-8) (MatMul of the squared styles with the
// weight's per-(out, in) sums of squares, precomputed), which equals the
// grouped per-sample convolution. Resampling is a depthwise Conv or
// ConvTranspose with the 4×4 filter, borders as forger's upfirdn2d.
func StyleGenerator(g *gan.StyleGenerator, psi float64, o Options) (*onnxpb.ModelProto, error) {
	if o.Batch < 0 {
		return nil, fmt.Errorf("batch %d: want a positive size or 0 (dynamic)", o.Batch)
	}
	if math.IsNaN(psi) || math.IsInf(psi, 0) {
		return nil, fmt.Errorf("truncation %g: want a number", psi)
	}
	cfg, sc := g.Cfg, g.Config
	b := &builder{g: &onnxpb.GraphProto{Name: proto.String("forger_stylegan_generator")}}
	b.g.Input = append(b.g.Input, valueInfo(InputZ, onnxpb.TensorProto_FLOAT, o.Batch, int64(sc.ZDim)))

	// The mapping network: normalize_2nd_moment, then the layers.
	x := b.node("Mul", []string{InputZ, InputZ})
	x = b.node("ReduceMean", []string{x}, ints("axes", 1), intAttr("keepdims", 1))
	x = b.node("Add", []string{x, b.scalar(1e-8)})
	x = b.node("Reciprocal", []string{b.node("Sqrt", []string{x})})
	x = b.node("Mul", []string{InputZ, x})
	m := g.Mapping
	for i, l := range m.Layers {
		x = equalLinear(b, x, l, fmt.Sprintf("mapping.fc%d", i))
	}
	// Truncation, in forger's order of operations: avg + ψ·(w − avg);
	// forger skips it at ψ = 1, and so does a graph of fixed ψ 1.
	w := x
	if o.TruncationInput || psi != 1 {
		t := InputTruncation
		if o.TruncationInput {
			b.g.Input = append(b.g.Input, scalarInfo(InputTruncation))
		} else {
			t = b.init("truncation_psi", nil, []float32{float32(psi)})
		}
		avg := b.init("mapping.w_avg", []int64{1, int64(sc.WDim)}, append([]float32(nil), m.WAvg.Value.Data...))
		d := b.node("Mul", []string{b.node("Sub", []string{x, avg}), t})
		w = b.node("Add", []string{avg, d})
	}

	// The synthesis network, from the 4×4 constant (broadcast over the
	// batch by the first modulation).
	syn := g.Synthesis
	c4 := sc.Width(4)
	x = b.init("synthesis.b4.const", []int64{1, int64(c4), 4, 4}, nchw(syn.Const.Value.Data, 4, 4, c4))
	side, ch := 4, c4
	var img string
	for _, bl := range syn.Parts() {
		name := fmt.Sprintf("synthesis.b%d", bl.Res)
		var err error
		if bl.Conv0 != nil {
			if x, side, ch, err = synthLayer(b, x, w, *bl.Conv0, name+".conv0", side, ch); err != nil {
				return nil, err
			}
		}
		if x, side, ch, err = synthLayer(b, x, w, bl.Conv1, name+".conv1", side, ch); err != nil {
			return nil, err
		}
		rgb, err := toRGB(b, x, w, bl.RGB, name+".torgb", ch)
		if err != nil {
			return nil, err
		}
		if img == "" {
			img = rgb
			continue
		}
		if bl.Up == nil {
			return nil, fmt.Errorf("%s: no upsampling of the image", name)
		}
		up, err := upFIRDn(b, img, bl.Up, sc.Channels, name+".up")
		if err != nil {
			return nil, err
		}
		img = b.node("Add", []string{up, rgb})
	}
	if side != sc.Size {
		return nil, fmt.Errorf("the graph makes %d×%d images, the model %d×%d", side, side, sc.Size, sc.Size)
	}
	b.node("Clip", []string{img, b.scalar(-1), b.scalar(1)})
	last := b.g.Node[len(b.g.Node)-1]
	last.Output[0] = OutputImage
	b.g.Output = append(b.g.Output, valueInfo(OutputImage, onnxpb.TensorProto_FLOAT, o.Batch, int64(sc.Channels), int64(sc.Size), int64(sc.Size)))

	doc := fmt.Sprintf("forger generator stylegan %dx%d, %d channels: z [N,%d] float32", sc.Size, sc.Size, sc.Channels, sc.ZDim)
	trunc := fmt.Sprint(psi)
	if o.TruncationInput {
		doc += " and truncation [] float32 (psi: w towards w_avg, 1 none)"
		trunc = "input"
	} else {
		doc += fmt.Sprintf(" (truncation %g towards w_avg)", psi)
	}
	doc += fmt.Sprintf(" -> image [N,%d,%d,%d] float32 NCHW in [-1,1]; the layers' constant noise, as forger generate", sc.Channels, sc.Size, sc.Size)
	if o.Source != "" {
		doc += "; from " + o.Source
	}
	mp := model(b, doc, cfg)
	mp.MetadataProps = append(mp.MetadataProps, &onnxpb.StringStringEntryProto{Key: proto.String("forger.truncation"), Value: proto.String(trunc)})
	return mp, nil
}

// scalarInfo is the value info of a float32 scalar input.
func scalarInfo(name string) *onnxpb.ValueInfoProto {
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{
		Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
			ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)), Shape: &onnxpb.TensorShapeProto{}}}}}
}

// scalar returns a new float32 scalar initializer.
func (b *builder) scalar(v float32) string {
	return b.init(b.name("const"), nil, []float32{v})
}

// nchw copies an [h, w, c] image into [c, h, w].
func nchw(src []float32, h, w, c int) []float32 {
	dst := make([]float32, len(src))
	for y := range h {
		for x := range w {
			for k := range c {
				dst[(k*h+y)*w+x] = src[(y*w+x)*c+k]
			}
		}
	}
	return dst
}

// equalLinear is nn.EqualLinear on x [N, In]: Gemm with the run-time gains
// folded as forger folds them (alpha = WeightGain·Gain, C = bias·LRMul·Gain),
// then the leaky ReLU.
func equalLinear(b *builder, x string, l *nn.EqualLinear, name string) string {
	alpha := l.WeightGain() * l.Gain
	inputs := []string{x, b.init(name+".weight", []int64{int64(l.Out), int64(l.In)}, append([]float32(nil), l.Weight.Value.Data...))}
	if l.Bias != nil {
		c := make([]float32, l.Out)
		for i, v := range l.Bias.Value.Data {
			c[i] = v * l.LRMul * l.Gain
		}
		inputs = append(inputs, b.init(name+".bias", []int64{int64(l.Out)}, c))
	}
	y := b.node("Gemm", inputs, floatAttr("alpha", alpha), intAttr("transB", 1))
	if l.Act {
		y = b.node("LeakyRelu", []string{y}, floatAttr("alpha", 0.2))
	}
	return y
}

// modConv is nn.ModConv2d's forward up to the demodulation: it returns the
// convolution c of the modulated input [N, In, side, side] and the styles
// s [N, In].
func modConv(b *builder, x, w string, m *nn.ModConv2d, name string) (c, s string, err error) {
	s = equalLinear(b, w, m.Affine, name+".affine")
	if m.StyleGain != 1 {
		s = b.node("Mul", []string{s, b.scalar(m.StyleGain)})
	}
	xs := b.node("Mul", []string{x, b.node("Reshape", []string{s, b.initInt64(b.name("shape"), []int64{-1, int64(m.In), 1, 1})})})
	k, src := m.K, m.Weight.Value.Data
	kk := []int64{int64(k), int64(k)}
	if !m.Up {
		wt := kernelsFirst(src, m.Out, m.In, k, false)
		p := int64(k / 2)
		c = b.node("Conv", []string{xs, b.init(name+".weight", []int64{int64(m.Out), int64(m.In), int64(k), int64(k)}, wt)},
			ints("kernel_shape", kk...), ints("pads", p, p, p, p))
		return c, s, nil
	}
	// The transposed convolution's weight [In, Out, K, K] is the weight
	// with in and out swapped, not flipped, as forger's is.
	wt := kernelsFirst(src, m.Out, m.In, k, true)
	c = b.node("ConvTranspose", []string{xs, b.init(name+".weight", []int64{int64(m.In), int64(m.Out), int64(k), int64(k)}, wt)},
		ints("kernel_shape", kk...), ints("strides", 2, 2), ints("pads", 0, 0, 0, 0))
	blur := m.Blur()
	if blur == nil {
		return "", "", fmt.Errorf("%s: an upsampling convolution without its blur", name)
	}
	c, err = upFIRDn(b, c, blur, m.Out, name+".blur")
	return c, s, err
}

// demod returns the demodulation coefficients [N, Out] of styles s:
// 1/√(s²·W2ᵀ + 1e-8), W2 [Out, In] summing the squared weight over the
// kernel in forger's order.
func demod(b *builder, s string, m *nn.ModConv2d, name string) string {
	kk, src := m.K*m.K, m.Weight.Value.Data
	w2 := make([]float32, m.Out*m.In)
	for o := range m.Out {
		row := w2[o*m.In : (o+1)*m.In]
		for k := range kk {
			for i, v := range src[(o*kk+k)*m.In : (o*kk+k+1)*m.In] {
				row[i] += v * v
			}
		}
	}
	w2t := make([]float32, len(w2)) // [In, Out]
	for o := range m.Out {
		for i := range m.In {
			w2t[i*m.Out+o] = w2[o*m.In+i]
		}
	}
	q := b.node("MatMul", []string{b.node("Mul", []string{s, s}), b.init(name+".weight_sq_sums", []int64{int64(m.In), int64(m.Out)}, w2t)})
	q = b.node("Add", []string{q, b.scalar(1e-8)})
	return b.node("Reciprocal", []string{b.node("Sqrt", []string{q})})
}

// synthLayer is a synthesis layer: the modulated convolution, then
// lrelu(c·d·Gain + bias·Gain + strength·noise·Gain), forger's epilogue with
// the gain folded in as it folds it (noise: the layer's constant image),
// then the clamp. It returns the output, its side and its channels.
func synthLayer(b *builder, x, w string, l stylegan.LayerParts, name string, side, ch int) (string, int, int, error) {
	m, e := l.Conv, l.Epilogue
	if m.In != ch {
		return "", 0, 0, fmt.Errorf("%s: a convolution of %d inputs after %d channels", name, m.In, ch)
	}
	if e.C != m.Out {
		return "", 0, 0, fmt.Errorf("%s: an epilogue of %d channels after %d", name, e.C, m.Out)
	}
	if m.Up {
		side *= 2
	}
	c, s, err := modConv(b, x, w, m, name)
	if err != nil {
		return "", 0, 0, err
	}
	var dg string
	if m.Demod {
		dg = b.node("Mul", []string{demod(b, s, m, name), b.scalar(e.Gain)})
		dg = b.node("Reshape", []string{dg, b.initInt64(b.name("shape"), []int64{-1, int64(m.Out), 1, 1})})
	} else {
		dg = b.scalar(e.Gain)
	}
	y := b.node("Mul", []string{c, dg})
	bias := make([]float32, e.C)
	for i, v := range e.Bias.Value.Data {
		bias[i] = v * e.Gain
	}
	y = b.node("Add", []string{y, b.init(name+".bias", []int64{1, int64(e.C), 1, 1}, bias)})
	if n := e.Noise; n != nil {
		if n.H != side || n.W != side {
			return "", 0, 0, fmt.Errorf("%s: noise of %d×%d on %d×%d features", name, n.H, n.W, side, side)
		}
		st := n.Strength.Value.Data[0]
		noise := make([]float32, len(n.Const.Value.Data))
		for i, v := range n.Const.Value.Data {
			noise[i] = st * v * e.Gain
		}
		y = b.node("Add", []string{y, b.init(name+".noise", []int64{1, 1, int64(n.H), int64(n.W)}, noise)})
	}
	y = b.node("LeakyRelu", []string{y}, floatAttr("alpha", e.Slope))
	if l.Clamp != nil {
		y = b.node("Clip", []string{y, b.scalar(-l.Clamp.Limit), b.scalar(l.Clamp.Limit)})
	}
	return y, side, m.Out, nil
}

// toRGB is a toRGB layer: the modulated 1×1 convolution (demodulated if it
// says so), bias (and activation), clamp.
func toRGB(b *builder, x, w string, t stylegan.ToRGBParts, name string, ch int) (string, error) {
	m := t.Conv
	if m.In != ch || m.Up {
		return "", fmt.Errorf("%s: a toRGB of %d inputs after %d channels", name, m.In, ch)
	}
	c, s, err := modConv(b, x, w, m, name)
	if err != nil {
		return "", err
	}
	if m.Demod {
		d := b.node("Reshape", []string{demod(b, s, m, name), b.initInt64(b.name("shape"), []int64{-1, int64(m.Out), 1, 1})})
		c = b.node("Mul", []string{c, d})
	}
	ba := t.Bias
	bias := make([]float32, ba.C)
	for i, v := range ba.Bias.Value.Data {
		bias[i] = v * ba.Gain
	}
	if ba.Gain != 1 {
		c = b.node("Mul", []string{c, b.scalar(ba.Gain)})
	}
	y := b.node("Add", []string{c, b.init(name+".bias", []int64{1, int64(ba.C), 1, 1}, bias)})
	if ba.Act {
		y = b.node("LeakyRelu", []string{y}, floatAttr("alpha", 0.2))
	}
	if t.Clamp != nil {
		y = b.node("Clip", []string{y, b.scalar(-t.Clamp.Limit), b.scalar(t.Clamp.Limit)})
	}
	return y, nil
}

// upFIRDn is forger's upfirdn2d (up, then pad, then correlate with the
// separable filter; no down-sampling) on x [N, ch, H, W] as one depthwise
// convolution with the filter's 2-D kernel: a Conv without upsampling, and
// a ConvTranspose of stride Up with the kernel flipped and the padding that
// gives the zero-inserted signal's borders with it.
func upFIRDn(b *builder, x string, f *nn.UpFIRDn2d, ch int, name string) (string, error) {
	k := len(f.Taps)
	if f.Down != 1 || f.Up < 1 {
		return "", fmt.Errorf("%s: resampling up %d, down %d has no ONNX export", name, f.Up, f.Down)
	}
	kern := make([]float32, ch*k*k)
	flip := f.Up > 1
	for y := range k {
		for xx := range k {
			ty, tx := y, xx
			if flip {
				ty, tx = k-1-y, k-1-xx
			}
			v := f.Taps[ty] * f.Taps[tx]
			for c := range ch {
				kern[(c*k+y)*k+xx] = v
			}
		}
	}
	kw := b.init(name+".filter", []int64{int64(ch), 1, int64(k), int64(k)}, kern)
	attrs := []*onnxpb.AttributeProto{ints("kernel_shape", int64(k), int64(k)), intAttr("group", int64(ch))}
	if f.Up == 1 {
		if f.Pad0 < 0 || f.Pad1 < 0 {
			return "", fmt.Errorf("%s: negative padding", name)
		}
		p0, p1 := int64(f.Pad0), int64(f.Pad1)
		return b.node("Conv", []string{x, kw}, append(attrs, ints("pads", p0, p0, p1, p1))...), nil
	}
	// y[o] = Σ_t f[t]·u[o + t − Pad0], u the input with Up−1 zeros after
	// each sample; ConvTranspose gives y[o] = Σ x[i]·kern[o + pb − Up·i], so
	// kern[j] = f[k−1−j] with pb = k−1−Pad0, and pe = k−Up−Pad1 ends it at
	// forger's length n·Up + Pad0 + Pad1 − k + 1.
	pb, pe := int64(k-1-f.Pad0), int64(k-f.Up-f.Pad1)
	if pb < 0 || pe < 0 {
		return "", fmt.Errorf("%s: upsampling with padding %d, %d has no ONNX export", name, f.Pad0, f.Pad1)
	}
	return b.node("ConvTranspose", []string{x, kw}, append(attrs, ints("strides", int64(f.Up), int64(f.Up)), ints("pads", pb, pb, pe, pe))...), nil
}
