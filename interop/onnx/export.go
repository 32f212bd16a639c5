// Package onnx writes forger's generators as ONNX models, so that they run
// where Go does not: ONNX Runtime (Node, Python, C#, the browser through
// onnxruntime-web) or any other ONNX runner.
//
// The graph takes z [N, NZ] (float32) and, for a conditional model, class
// [N] (int64, the class index), and gives image [N, C, H, W] (float32, NCHW
// as ONNX Runtime users expect, in [-1, 1]). It is the generator in
// inference mode: ConvTranspose, BatchNormalization with the running
// statistics, Relu and Tanh, with Gather and Concat for the class and a
// Reshape of z to [N, NZ(+classes), 1, 1]. ONNX's ConvTranspose weight is
// [in, out, kh, kw], as PyTorch's; forger's [in, kh, kw, out] is transposed.
//
// A stylegan's graph (StyleGenerator) takes z (and, if asked, the
// truncation as a scalar input; else the export fixes it) and gives the
// image as forger generate renders it: the mapping network, truncation
// towards w_avg, modulated convolutions (Mul, Conv, and a MatMul for the
// demodulation), the layers' constant noise, the skip image upsampled by a
// depthwise ConvTranspose, clipped to [-1, 1].
//
// Opset 15, IR version 8 (ONNX 1.12).
package onnx

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"forger/gan"
	"forger/interop/onnx/onnxpb"
	"forger/nn"
)

// Names of the graph's inputs and output.
const (
	InputZ      = "z"
	InputClass  = "class"
	OutputImage = "image"
	Opset       = 15
	IRVersion   = 8
)

// Options shape the export.
type Options struct {
	// Batch is the batch size of the inputs; 0 means dynamic (the
	// dimension is named "N").
	Batch int
	// Source is recorded in the model's doc string (e.g. the checkpoint).
	Source string
	// TruncationInput makes a stylegan's graph take its truncation ψ as a
	// second input, truncation (a float32 scalar, required), rather than
	// fix it (StyleGenerator's psi). The input has no default: ONNX
	// Runtime's Node.js binding (1.30) silently ignores a feed of an input
	// that an initializer defaults.
	TruncationInput bool
}

type builder struct {
	g     *onnxpb.GraphProto
	count int
}

func (b *builder) name(prefix string) string {
	b.count++
	return fmt.Sprintf("%s_%d", prefix, b.count)
}

func (b *builder) init(name string, dims []int64, data []float32) string {
	b.g.Initializer = append(b.g.Initializer, &onnxpb.TensorProto{
		Name: proto.String(name), Dims: dims,
		DataType:  proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
		FloatData: data,
	})
	return name
}

func (b *builder) initInt64(name string, data []int64) string {
	b.g.Initializer = append(b.g.Initializer, &onnxpb.TensorProto{
		Name: proto.String(name), Dims: []int64{int64(len(data))},
		DataType:  proto.Int32(int32(onnxpb.TensorProto_INT64)),
		Int64Data: data,
	})
	return name
}

func (b *builder) node(op string, inputs []string, attrs ...*onnxpb.AttributeProto) string {
	out := b.name(op)
	b.g.Node = append(b.g.Node, &onnxpb.NodeProto{
		OpType: proto.String(op), Name: proto.String(out), Input: inputs, Output: []string{out}, Attribute: attrs,
	})
	return out
}

func ints(name string, v ...int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: v}
}

func intAttr(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_INT.Enum(), I: proto.Int64(v)}
}

func floatAttr(name string, v float32) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: proto.String(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: proto.Float32(v)}
}

func valueInfo(name string, elem onnxpb.TensorProto_DataType, batch int, dims ...int64) *onnxpb.ValueInfoProto {
	d := &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: "N"}}
	if batch > 0 {
		d = &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(batch)}}
	}
	shape := &onnxpb.TensorShapeProto{Dim: []*onnxpb.TensorShapeProto_Dimension{d}}
	for _, v := range dims {
		shape.Dim = append(shape.Dim, &onnxpb.TensorShapeProto_Dimension{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: v}})
	}
	return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{
		Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: proto.Int32(int32(elem)), Shape: shape}}}}
}

// Generator returns the ONNX model of g (in inference mode: batch norm with
// running statistics). Load g with gan.LoadGenerator, which takes the
// averaged generator (g_ema) when the checkpoint has one, as generate does.
func Generator(g *gan.Generator, o Options) (*onnxpb.ModelProto, error) {
	if o.Batch < 0 {
		return nil, fmt.Errorf("batch %d: want a positive size or 0 (dynamic)", o.Batch)
	}
	cfg := g.Cfg
	b := &builder{g: &onnxpb.GraphProto{Name: proto.String("forger_generator")}}
	b.g.Input = append(b.g.Input, valueInfo(InputZ, onnxpb.TensorProto_FLOAT, o.Batch, int64(cfg.NZ)))
	x := InputZ
	in := cfg.NZ
	if g.Embed != nil {
		b.g.Input = append(b.g.Input, valueInfo(InputClass, onnxpb.TensorProto_INT64, o.Batch))
		e := g.Embed.Weight.Value
		table := b.init("class_table", []int64{int64(e.Shape[0]), int64(e.Shape[1])}, append([]float32(nil), e.Data...))
		emb := b.node("Gather", []string{table, InputClass}, intAttr("axis", 0))
		x = b.node("Concat", []string{x, emb}, intAttr("axis", 1))
		in += e.Shape[1]
	}
	x = b.node("Reshape", []string{x, b.initInt64("z_shape", []int64{-1, int64(in), 1, 1})})
	side, ch := 1, in
	for i, l := range g.Net.Layers {
		switch l := l.(type) {
		case *nn.ConvTranspose2d:
			if l.In != ch {
				return nil, fmt.Errorf("layer %d: a transposed convolution of %d inputs after %d channels", i, l.In, ch)
			}
			k := l.K
			w := kernelsFirst(l.Weight.Value.Data, l.In, l.Out, k, false)
			inputs := []string{x, b.init(fmt.Sprintf("layer%d.weight", i), []int64{int64(l.In), int64(l.Out), int64(k), int64(k)}, w)}
			if l.Bias != nil {
				inputs = append(inputs, b.init(fmt.Sprintf("layer%d.bias", i), []int64{int64(l.Out)}, append([]float32(nil), l.Bias.Value.Data...)))
			}
			p := int64(l.Pad)
			x = b.node("ConvTranspose", inputs, ints("kernel_shape", int64(k), int64(k)), ints("strides", int64(l.Stride), int64(l.Stride)), ints("pads", p, p, p, p))
			side = (side-1)*l.Stride - 2*l.Pad + k
			ch = l.Out
		case *nn.BatchNorm:
			if l.C != ch {
				return nil, fmt.Errorf("layer %d: a batch norm of %d channels after %d", i, l.C, ch)
			}
			c := []int64{int64(l.C)}
			name := fmt.Sprintf("layer%d", i)
			x = b.node("BatchNormalization", []string{x,
				b.init(name+".weight", c, append([]float32(nil), l.Gamma.Value.Data...)),
				b.init(name+".bias", c, append([]float32(nil), l.Beta.Value.Data...)),
				b.init(name+".running_mean", c, append([]float32(nil), l.RunMean.Value.Data...)),
				b.init(name+".running_var", c, append([]float32(nil), l.RunVar.Value.Data...)),
			}, floatAttr("epsilon", float32(l.Eps)), floatAttr("momentum", float32(1-l.Momentum)))
			if l.Fused {
				x = activation(b, x, l.Act, l.Slope)
			}
		case *nn.Activation:
			x = activation(b, x, l.Kind, l.Slope)
		default:
			return nil, fmt.Errorf("layer %d (%T) has no ONNX export", i, l)
		}
	}
	// The last node's output is the graph's: rename it.
	last := b.g.Node[len(b.g.Node)-1]
	last.Output[0] = OutputImage
	b.g.Output = append(b.g.Output, valueInfo(OutputImage, onnxpb.TensorProto_FLOAT, o.Batch, int64(ch), int64(side), int64(side)))
	if ch != cfg.Channels || side != cfg.Size {
		return nil, fmt.Errorf("the graph makes %d×%d×%d images, the model %d×%d×%d", side, side, ch, cfg.Size, cfg.Size, cfg.Channels)
	}
	doc := fmt.Sprintf("forger generator %s %dx%d, %d channels: z [N,%d] float32", cfg.Arch, cfg.Size, cfg.Size, cfg.Channels, cfg.NZ)
	if g.Embed != nil {
		doc += fmt.Sprintf(" and class [N] int64 (0..%d)", len(cfg.Classes)-1)
	}
	doc += fmt.Sprintf(" -> image [N,%d,%d,%d] float32 NCHW in [-1,1]", cfg.Channels, cfg.Size, cfg.Size)
	if o.Source != "" {
		doc += "; from " + o.Source
	}
	return model(b, doc, cfg), nil
}

// model wraps the graph b built as a model of opset Opset.
func model(b *builder, doc string, cfg gan.Config) *onnxpb.ModelProto {
	return &onnxpb.ModelProto{
		IrVersion:    proto.Int64(IRVersion),
		OpsetImport:  []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(Opset)}},
		ProducerName: proto.String("forger"),
		DocString:    proto.String(doc),
		Graph:        b.g,
		MetadataProps: []*onnxpb.StringStringEntryProto{
			{Key: proto.String(gan.MetaConfig), Value: proto.String(cfg.JSON())},
			{Key: proto.String("forger.layout"), Value: proto.String("NCHW")},
		},
	}
}

func activation(b *builder, x string, kind nn.ActKind, slope float32) string {
	switch kind {
	case nn.ReLU:
		return b.node("Relu", []string{x})
	case nn.LeakyReLU:
		return b.node("LeakyRelu", []string{x}, floatAttr("alpha", slope))
	case nn.Tanh:
		return b.node("Tanh", []string{x})
	}
	return b.node("Sigmoid", []string{x})
}

// kernelsFirst returns a weight laid out [A][K][K][B], as forger's
// convolutions keep it, laid out [A][B][K][K] or, with swap, [B][A][K][K]:
// the layouts of ONNX's Conv and ConvTranspose.
func kernelsFirst(src []float32, a, bn, k int, swap bool) []float32 {
	w := make([]float32, len(src))
	for i := range a {
		for y := range k {
			for x := range k {
				for j := range bn {
					o := ((i*bn+j)*k+y)*k + x
					if swap {
						o = ((j*a+i)*k+y)*k + x
					}
					w[o] = src[((i*k+y)*k+x)*bn+j]
				}
			}
		}
	}
	return w
}

// Marshal encodes a model as an .onnx file's bytes.
func Marshal(m *onnxpb.ModelProto) ([]byte, error) { return proto.Marshal(m) }
