package face

import (
	"fmt"
	"image"

	"forger/nn"
	"forger/tensor"
)

// DescriptorSize is the side of the descriptor network's input.
const DescriptorSize = 150

// DescriptorNet is face-api's FaceRecognitionNet: dlib's ResNet-34-like face
// recogniser, 150×150 RGB in, 128-D descriptor out.
//
//	conv 7×7/2 valid 32 → max pool 3×3/2 valid
//	→ 3 residual blocks of 32 → down block + 3 of 64 → down + 2 of 128
//	→ down + 2 of 256 → down 256 → global average → fc 256×128
//
// Each convolution is conv + bias then a "scale" layer (batch norm folded
// in: ×weights + biases); the loader folds the scale into the convolution's
// weight and bias. A down block's first convolution is 3×3/2 valid; its
// shortcut is a 2×2/2 average pool zero-padded in channels, and where the
// pooled map is larger than the convolution's (8→3 vs 4, 4→1 vs 2) the
// convolution's output gets a zero row and column after, as in face-api.
type DescriptorNet struct {
	prep *prep
	net  *nn.Sequential
	ws   nn.Workspace

	single *tensor.Tensor
}

// LoadDescriptorNet loads dir/face_recognition_model-weights_manifest.json
// and its weights (dir is usually DefaultDir()).
func LoadDescriptorNet(dir string) (*DescriptorNet, error) {
	w, err := loadManifest(dir, DescriptorManifest)
	if err != nil {
		return nil, err
	}
	return NewDescriptorNet(w)
}

// NewDescriptorNet builds the network from loaded TF.js weights.
func NewDescriptorNet(w *Weights) (*DescriptorNet, error) {
	b := &builder{w: w}
	d := &DescriptorNet{prep: newPrep(DescriptorSize)}
	size := DescriptorSize
	var layers []nn.Layer
	// conv32_down: 7×7/2 valid, then ReLU.
	layers = append(layers, b.convLayer("conv32_down", 3, 32, 7, 2, false), nn.NewReLU())
	size = (size-7)/2 + 1
	layers = append(layers, nn.NewMaxPool2d(3, 2, 0))
	size = (size-3)/2 + 1
	in := 32
	for _, blk := range []struct {
		name string
		out  int
		down bool
	}{
		{"conv32_1", 32, false}, {"conv32_2", 32, false}, {"conv32_3", 32, false},
		{"conv64_down", 64, true}, {"conv64_1", 64, false}, {"conv64_2", 64, false}, {"conv64_3", 64, false},
		{"conv128_down", 128, true}, {"conv128_1", 128, false}, {"conv128_2", 128, false},
		{"conv256_down", 256, true}, {"conv256_1", 256, false}, {"conv256_2", 256, false},
		{"conv256_down_out", 256, true},
	} {
		var l nn.Layer
		l, size = b.residual(blk.name, in, blk.out, size, blk.down)
		layers = append(layers, l)
		in = blk.out
	}
	fc := b.get("fc", 256, 128)
	if b.err != nil {
		return nil, b.err
	}
	lin := &nn.Linear{In: 256, Out: 128, Weight: frozen("fc", transpose2(fc))}
	layers = append(layers, nn.NewGlobalAvgPool(), lin)
	d.net = &nn.Sequential{Layers: layers}
	for _, c := range b.convs {
		c.WS = &d.ws
	}
	return d, nil
}

// builder makes layers from weights, remembering the first error.
type builder struct {
	w     *Weights
	err   error
	convs []*nn.Conv2d
}

func (b *builder) get(name string, shape ...int) *tensor.Tensor {
	if b.err != nil {
		return tensor.New(shape...)
	}
	t, err := b.w.Get(name, shape...)
	if err != nil {
		b.err = err
		return tensor.New(shape...)
	}
	return t
}

// convLayer is prefix/conv (filters, bias) followed by prefix/scale
// (weights, biases), folded into one convolution: for output channel o,
// W'ₒ = Wₒ·sₒ and b'ₒ = bₒ·sₒ + tₒ. same selects 'same' padding (stride 1).
func (b *builder) convLayer(prefix string, in, out, k, stride int, same bool) *nn.Conv2d {
	filters := hwioToOHWI(b.get(prefix+"/conv/filters", k, k, in, out))
	bias := b.get(prefix+"/conv/bias", out)
	s := b.get(prefix+"/scale/weights", out)
	t := b.get(prefix+"/scale/biases", out)
	fb := tensor.New(out)
	per := k * k * in
	for o := 0; o < out; o++ {
		for i := range filters.Data[o*per : (o+1)*per] {
			filters.Data[o*per+i] *= s.Data[o]
		}
		fb.Data[o] = bias.Data[o]*s.Data[o] + t.Data[o]
	}
	c := &nn.Conv2d{In: in, Out: out, KH: k, KW: k, Stride: stride,
		Weight: frozen(prefix+"/filters", filters), Bias: frozen(prefix+"/bias", fb)}
	if same { // stride 1: TensorFlow pads (k-1)/2 before and k/2 after
		c.PadT, c.PadL, c.PadB, c.PadR = (k-1)/2, (k-1)/2, k/2, k/2
	}
	b.convs = append(b.convs, c)
	return c
}

// residual returns face-api's residual (down = false) or residualDown block
// on a size×size input, and its output size.
func (b *builder) residual(name string, in, out, size int, down bool) (nn.Layer, int) {
	if !down {
		body := &nn.Sequential{Layers: []nn.Layer{
			b.convLayer(name+"/conv1", in, out, 3, 1, true), nn.NewReLU(),
			b.convLayer(name+"/conv2", out, out, 3, 1, true),
		}}
		return &nn.Sequential{Layers: []nn.Layer{&nn.Residual{Body: body}, nn.NewReLU()}}, size
	}
	convSize := (size-3)/2 + 1
	poolSize := size / 2
	body := &nn.Sequential{Layers: []nn.Layer{
		b.convLayer(name+"/conv1", in, out, 3, 2, false), nn.NewReLU(),
		b.convLayer(name+"/conv2", out, out, 3, 1, true),
	}}
	if convSize != poolSize {
		if poolSize != convSize+1 && b.err == nil {
			b.err = fmt.Errorf("face: %s: pooled %d vs convolved %d", name, poolSize, convSize)
		}
		body.Layers = append(body.Layers, nn.NewZeroPad(0, 1, 0, 1))
	}
	var short nn.Layer = nn.NewAvgPool2d(2, 2, 0)
	if out != in {
		// face-api concatenates zeros of the pooled map's own width: out = 2·in.
		short = &nn.Sequential{Layers: []nn.Layer{short, nn.NewChannelPad(0, out-in)}}
	}
	return &nn.Sequential{Layers: []nn.Layer{&nn.Residual{Body: body, Shortcut: short}, nn.NewReLU()}}, poolSize
}

// Forward computes the descriptors of a batch of RGB images x [N,H,W,3] with
// values in [0, 255], as face-api's computeFaceDescriptor does for image
// tensors (pad to square, resize to 150, normalise). The result [N,128] is
// owned by the network and valid until its next Forward.
func (d *DescriptorNet) Forward(x *tensor.Tensor) *tensor.Tensor {
	return d.net.Forward(d.prep.Forward(x))
}

// Backward takes the gradient of a loss with respect to the last Forward's
// descriptors [N,128] and returns its gradient with respect to that
// Forward's input pixels (the shape of x). The weights are frozen.
//
// For images g in [-1, 1] (forger's generators) fed as x = (g+1)·127.5, the
// gradient with respect to g is 127.5 times the returned one.
func (d *DescriptorNet) Backward(dy *tensor.Tensor) *tensor.Tensor {
	return d.prep.Backward(d.net.Backward(dy))
}

// Embed returns the descriptor of one face crop.
func (d *DescriptorNet) Embed(img image.Image) Descriptor {
	b := img.Bounds()
	if b.Empty() {
		return Descriptor{} // face-api returns zeros for an empty input
	}
	d.single = tensor.Ensure(d.single, 1, b.Dy(), b.Dx(), 3)
	writeRGB(img, d.single.Data)
	var out Descriptor
	copy(out[:], d.Forward(d.single).Data)
	return out
}

// EmbedBatch returns the descriptors of several face crops, computed as one
// batch (each crop padded and resized on its own first, as face-api does).
func (d *DescriptorNet) EmbedBatch(imgs []image.Image) []Descriptor {
	out := make([]Descriptor, len(imgs))
	if len(imgs) == 0 {
		return out
	}
	y := d.Forward(batchTensor(imgs, DescriptorSize))
	for i := range out {
		if !imgs[i].Bounds().Empty() {
			copy(out[i][:], y.Data[i*128:(i+1)*128])
		}
	}
	return out
}

// batchTensor makes [N,size,size,3] from images of any sizes, each padded to
// a square and resized on its own (un-normalised pixel values).
func batchTensor(imgs []image.Image, size int) *tensor.Tensor {
	x := tensor.New(len(imgs), size, size, 3)
	per := size * size * 3
	var pad nn.ZeroPad
	resize := nn.NewResizeBilinear(size, size)
	for i, img := range imgs {
		t := ImageTensor(img)
		h, w := t.Shape[1], t.Shape[2]
		if h == 0 || w == 0 {
			continue
		}
		if h != w {
			pad.Top, pad.Bottom, pad.Left, pad.Right = squarePad(h, w)
			t = pad.Forward(t)
		}
		if t.Shape[1] != size {
			t = resize.Forward(t)
		}
		copy(x.Data[i*per:(i+1)*per], t.Data)
	}
	return x
}
