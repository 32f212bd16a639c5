package face

import (
	"fmt"
	"image"

	"forger/nn"
	"forger/parallel"
	"forger/tensor"
)

// LandmarkSize is the side of the landmark network's input.
const LandmarkSize = 112

// LandmarkNet is face-api's FaceLandmark68Net: 112×112 RGB in, four dense
// blocks of separable convolutions (32, 64, 128, 256 channels, each halving
// the size: 112 → 56 → 28 → 14 → 7), a 7×7/2 average pool and a fully
// connected layer [256,136] giving 68 (x, y) in units of the square input.
type LandmarkNet struct {
	prep *prep
	net  *nn.Sequential

	single *tensor.Tensor
}

// LoadLandmarkNet loads dir/face_landmark_68_model-weights_manifest.json and
// its weights (dir is usually DefaultDir()).
func LoadLandmarkNet(dir string) (*LandmarkNet, error) {
	w, err := loadManifest(dir, LandmarkManifest)
	if err != nil {
		return nil, err
	}
	return NewLandmarkNet(w)
}

// NewLandmarkNet builds the network from loaded TF.js weights.
func NewLandmarkNet(w *Weights) (*LandmarkNet, error) {
	b := &builder{w: w}
	var layers []nn.Layer
	in := 3
	for i, out := range []int{32, 64, 128, 256} {
		layers = append(layers, b.denseBlock(fmt.Sprintf("dense%d", i), in, out, i == 0))
		in = out
	}
	fcw := b.get("fc/weights", 256, 136)
	fcb := b.get("fc/bias", 136)
	if b.err != nil {
		return nil, b.err
	}
	layers = append(layers,
		nn.NewAvgPool2d(7, 2, 0),
		nn.NewReshape(256),
		&nn.Linear{In: 256, Out: 136, Weight: frozen("fc/weights", transpose2(fcw)), Bias: frozen("fc/bias", fcb)})
	return &LandmarkNet{prep: newPrep(LandmarkSize), net: &nn.Sequential{Layers: layers}}, nil
}

// separable is face-api's depthwiseSeparableConv: a 3×3 depthwise
// convolution ('same', the given stride), a 1×1 convolution, and a bias.
func (b *builder) separable(prefix string, in, out, stride int) nn.Layer {
	dw := b.get(prefix+"/depthwise_filter", 3, 3, in, 1)
	pw := b.get(prefix+"/pointwise_filter", 1, 1, in, out)
	bias := b.get(prefix+"/bias", out)
	d := &nn.DepthwiseConv2d{Window: nn.Window{KH: 3, KW: 3, Stride: stride, Same: true}, In: in, Mult: 1,
		Weight: frozen(prefix+"/depthwise_filter", dw)}
	p := &nn.Conv2d{In: in, Out: out, KH: 1, KW: 1, Stride: 1,
		Weight: frozen(prefix+"/pointwise_filter", hwioToOHWI(pw)), Bias: frozen(prefix+"/bias", bias)}
	return &nn.Sequential{Layers: []nn.Layer{d, p}}
}

// denseBlock is face-api's denseBlock4; the first block starts with a plain
// 3×3/2 'same' convolution instead of a separable one.
func (b *builder) denseBlock(prefix string, in, out int, first bool) *denseBlock {
	blk := &denseBlock{}
	if first {
		f := b.get(prefix+"/conv0/filters", 3, 3, in, out)
		bias := b.get(prefix+"/conv0/bias", out)
		// 'same' with stride 2 on the even 112: 0 before, 1 after.
		blk.conv0 = &nn.Conv2d{In: in, Out: out, KH: 3, KW: 3, Stride: 2, PadB: 1, PadR: 1,
			Weight: frozen(prefix+"/conv0/filters", hwioToOHWI(f)), Bias: frozen(prefix+"/conv0/bias", bias)}
	} else {
		blk.conv0 = b.separable(prefix+"/conv0", in, out, 2)
	}
	for i := range blk.sep {
		blk.sep[i] = b.separable(fmt.Sprintf("%s/conv%d", prefix, i+1), out, out, 1)
	}
	return blk
}

// denseBlock computes, with sᵢ the separable convolutions and ReLU r:
//
//	o1 = r(conv0(x)); o2 = s1(o1); o3 = s2(r(o1+o2)); o4 = s3(r(o1+(o2+o3)))
//	y = r(o1+(o2+(o3+o4)))
type denseBlock struct {
	conv0 nn.Layer
	sep   [3]nn.Layer

	o1, in3, in4, y *tensor.Tensor
	g, t3, t2, t1   *tensor.Tensor
	job             ewJob
}

func (d *denseBlock) Params() []*nn.Param {
	ps := d.conv0.Params()
	for _, s := range d.sep {
		ps = append(ps, s.Params()...)
	}
	return ps
}
func (d *denseBlock) Buffers() []*nn.Param { return nil }
func (d *denseBlock) SetTraining(bool)     {}

func (d *denseBlock) run(kind int, out *tensor.Tensor, a, b, c, e *tensor.Tensor) {
	d.job = ewJob{kind: kind, out: out.Data, a: a.Data}
	if b != nil {
		d.job.b = b.Data
	}
	if c != nil {
		d.job.c = c.Data
	}
	if e != nil {
		d.job.d = e.Data
	}
	parallel.For(out.Len(), 8192, &d.job)
}

func (d *denseBlock) Forward(x *tensor.Tensor) *tensor.Tensor {
	a := d.conv0.Forward(x)
	d.o1 = tensor.Ensure(d.o1, a.Shape...)
	d.run(ewRelu, d.o1, a, nil, nil, nil)
	o2 := d.sep[0].Forward(d.o1)
	d.in3 = tensor.Ensure(d.in3, a.Shape...)
	d.run(ewRelu2, d.in3, d.o1, o2, nil, nil)
	o3 := d.sep[1].Forward(d.in3)
	d.in4 = tensor.Ensure(d.in4, a.Shape...)
	d.run(ewRelu3, d.in4, d.o1, o2, o3, nil)
	o4 := d.sep[2].Forward(d.in4)
	d.y = tensor.Ensure(d.y, a.Shape...)
	d.run(ewRelu4, d.y, d.o1, o2, o3, o4)
	return d.y
}

func (d *denseBlock) Backward(dy *tensor.Tensor) *tensor.Tensor {
	shape := d.y.Shape
	d.g = tensor.Ensure(d.g, shape...)
	d.run(ewMask, d.g, dy, nil, d.y, nil) // ∂/∂(o1+o2+o3+o4)
	d4 := d.sep[2].Backward(d.g)
	d.t3 = tensor.Ensure(d.t3, shape...)
	d.run(ewAddMask, d.t3, d.g, d4, d.in4, nil) // ∂/∂o3
	d3 := d.sep[1].Backward(d.t3)
	d.t2 = tensor.Ensure(d.t2, shape...)
	d.run(ewAddMask, d.t2, d.t3, d3, d.in3, nil) // ∂/∂o2
	d2 := d.sep[0].Backward(d.t2)
	d.t1 = tensor.Ensure(d.t1, shape...)
	d.run(ewSumMask, d.t1, d.t2, d2, d.o1, nil) // ∂/∂conv0(x)
	return d.conv0.Backward(d.t1)
}

// Element-wise kernels of the dense block.
const (
	ewRelu    = iota // out = r(a)
	ewRelu2          // out = r(a+b)
	ewRelu3          // out = r(a+(b+c))
	ewRelu4          // out = r(a+(b+(c+d)))
	ewMask           // out = a·[c>0]
	ewAddMask        // out = a + b·[c>0]
	ewSumMask        // out = (a+b)·[c>0]
)

type ewJob struct {
	kind            int
	out, a, b, c, d []float32
}

func (j *ewJob) Do(lo, hi int) {
	a := j.a[lo:hi]
	out := j.out[lo:hi][:len(a)]
	switch j.kind {
	case ewRelu:
		for i, v := range a {
			out[i] = max(v, 0)
		}
	case ewRelu2:
		b := j.b[lo:hi][:len(a)]
		for i, v := range a {
			out[i] = max(v+b[i], 0)
		}
	case ewRelu3:
		b, c := j.b[lo:hi][:len(a)], j.c[lo:hi][:len(a)]
		for i, v := range a {
			out[i] = max(v+(b[i]+c[i]), 0)
		}
	case ewRelu4:
		b, c, d := j.b[lo:hi][:len(a)], j.c[lo:hi][:len(a)], j.d[lo:hi][:len(a)]
		for i, v := range a {
			out[i] = max(v+(b[i]+(c[i]+d[i])), 0)
		}
	case ewMask:
		c := j.c[lo:hi][:len(a)]
		for i, v := range a {
			if c[i] > 0 {
				out[i] = v
			} else {
				out[i] = 0
			}
		}
	case ewAddMask:
		b, c := j.b[lo:hi][:len(a)], j.c[lo:hi][:len(a)]
		for i, v := range a {
			if c[i] > 0 {
				v += b[i]
			}
			out[i] = v
		}
	case ewSumMask:
		b, c := j.b[lo:hi][:len(a)], j.c[lo:hi][:len(a)]
		for i, v := range a {
			if c[i] > 0 {
				out[i] = v + b[i]
			} else {
				out[i] = 0
			}
		}
	}
}

// Forward computes the raw outputs [N,136] for RGB images x [N,H,W,3] with
// values in [0, 255] (padded to a square and resized to 112 as face-api
// does): x₀, y₀, x₁, … in units of the padded square's side. The result is
// owned by the network and valid until its next Forward.
func (l *LandmarkNet) Forward(x *tensor.Tensor) *tensor.Tensor {
	return l.net.Forward(l.prep.Forward(x))
}

// Backward takes the gradient with respect to the last Forward's outputs
// and returns it with respect to that Forward's input pixels.
func (l *LandmarkNet) Backward(dy *tensor.Tensor) *tensor.Tensor {
	return l.prep.Backward(l.net.Backward(dy))
}

// Landmarks returns the 68 landmarks of a face crop in its pixel
// coordinates (relative to img.Bounds().Min).
func (l *LandmarkNet) Landmarks(img image.Image) Landmarks {
	b := img.Bounds()
	if b.Empty() {
		return Landmarks{}
	}
	l.single = tensor.Ensure(l.single, 1, b.Dy(), b.Dx(), 3)
	writeRGB(img, l.single.Data)
	return ToPixels(l.Forward(l.single).Data, b.Dx(), b.Dy())
}

// LandmarksBatch returns the landmarks of several crops computed as one
// batch (each crop padded and resized on its own first).
func (l *LandmarkNet) LandmarksBatch(imgs []image.Image) []Landmarks {
	out := make([]Landmarks, len(imgs))
	if len(imgs) == 0 {
		return out
	}
	y := l.Forward(batchTensor(imgs, LandmarkSize))
	for i, img := range imgs {
		if b := img.Bounds(); !b.Empty() {
			out[i] = ToPixels(y.Data[i*136:(i+1)*136], b.Dx(), b.Dy())
		}
	}
	return out
}

// ToPixels maps one image's raw network outputs (136 values, see Forward)
// to pixel coordinates of the width×height input, as face-api's
// postProcess and FaceLandmarks do (in their order of float32 operations):
// x = (o·112 − padX)/w′ · width with w′ = width·112/max(width, height) and
// padX = (h′ − w′)/2 when the image is taller than wide; likewise for y.
func ToPixels(out []float32, width, height int) Landmarks {
	scale := float64(LandmarkSize) / float64(max(width, height))
	w, h := float64(width)*scale, float64(height)*scale
	var padX, padY float64
	if w < h {
		padX = (h - w) / 2
	} else if h < w {
		padY = (w - h) / 2
	}
	var lm Landmarks
	for i := range lm {
		x := (out[2*i]*LandmarkSize - float32(padX)) / float32(w)
		y := (out[2*i+1]*LandmarkSize - float32(padY)) / float32(h)
		lm[i] = [2]float32{float32(float64(x) * float64(width)), float32(float64(y) * float64(height))}
	}
	return lm
}
