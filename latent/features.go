package latent

import (
	"forger/face"
	"forger/gan"
	"forger/judge"
	"forger/nn"
	"forger/tensor"
)

// Features is a frozen network whose activations define a perceptual
// distance between images: Forward maps images [N, S, S, C] in [-1, 1] to
// one or more feature maps ("taps"), Backward maps the gradients of the
// taps back to the images. Like layers, a Features owns what it returns.
type Features interface {
	Name() string
	Forward(img *tensor.Tensor) []*tensor.Tensor
	Backward(dtaps []*tensor.Tensor) *tensor.Tensor
}

// Names of the feature networks.
const (
	FeatDisc  = "disc"  // the checkpoint's discriminator trunk
	FeatJudge = "judge" // a judge's (or attribute classifier's) body
	FeatFace  = "face"  // face-api's 128-D face descriptor network
)

// tapped runs a list of layers and reports the outputs of some of them.
type tapped struct {
	name   string
	layers []nn.Layer
	taps   []int // layer indices, increasing
	outs   []*tensor.Tensor
	sum    *tensor.Tensor
}

func (t *tapped) Name() string { return t.name }

func (t *tapped) Forward(x *tensor.Tensor) []*tensor.Tensor {
	t.outs = t.outs[:0]
	last := t.taps[len(t.taps)-1]
	k := 0
	for i, l := range t.layers[:last+1] {
		x = l.Forward(x)
		if k < len(t.taps) && t.taps[k] == i {
			t.outs = append(t.outs, x)
			k++
		}
	}
	return t.outs
}

func (t *tapped) Backward(d []*tensor.Tensor) *tensor.Tensor {
	k := len(t.taps) - 1
	var dy *tensor.Tensor
	for i := t.taps[k]; i >= 0; i-- {
		if k >= 0 && t.taps[k] == i {
			if dy == nil {
				t.sum = tensor.Ensure(t.sum, d[k].Shape...)
				copy(t.sum.Data, d[k].Data)
				dy = t.sum
			} else {
				for j, v := range d[k].Data {
					dy.Data[j] += v
				}
			}
			k--
		}
		dy = t.layers[i].Backward(dy)
	}
	return dy
}

// DiscFeatures returns the activations after each block of the
// discriminator's trunk as features. The discriminator is put in inference
// mode and frozen.
func DiscFeatures(d *gan.Discriminator) Features {
	d.SetTraining(false)
	d.SetInputGrad(true)
	nn.Freeze(d.Params(), true)
	t := &tapped{name: FeatDisc, layers: d.Trunk.Layers}
	for i, l := range d.Trunk.Layers {
		switch l := l.(type) {
		case *nn.Activation:
			t.taps = append(t.taps, i)
		case *nn.BatchNorm:
			if l.Fused {
				t.taps = append(t.taps, i)
			}
		}
	}
	return t
}

// StyleDiscFeatures returns the activations of a stylegan discriminator
// after its fromRGB layer and each residual block (before the minibatch
// stddev, which mixes the batch) as features. The discriminator is put in
// inference mode and frozen.
func StyleDiscFeatures(d *gan.StyleDiscriminator) Features {
	d.SetTraining(false)
	d.SetInputGrad(true)
	nn.Freeze(d.Params(), true)
	t := &tapped{name: FeatDisc, layers: d.Net.Layers, taps: []int{0}}
	for i, l := range d.Net.Layers {
		if _, ok := l.(*nn.Residual); ok {
			t.taps = append(t.taps, i)
		}
	}
	return t
}

// JudgeFeatures returns the activations after each ReLU of a judge's body
// (the last is its 128 features) as features.
func JudgeFeatures(j *judge.Judge) Features {
	j.SetTraining(false)
	nn.Freeze(j.Params(), true)
	t := &tapped{name: FeatJudge, layers: j.Body.Layers}
	for i, l := range j.Body.Layers {
		if a, ok := l.(*nn.Activation); ok && a.Kind == nn.ReLU {
			t.taps = append(t.taps, i)
		}
	}
	return t
}

// faceFeatures is face-api's descriptor network on images in [-1, 1]:
// gray images are replicated to RGB, values scaled to [0, 255].
type faceFeatures struct {
	d        *face.DescriptorNet
	channels int
	x, dimg  *tensor.Tensor
	out      []*tensor.Tensor
}

// FaceFeatures returns the 128-D face descriptor as a feature.
func FaceFeatures(d *face.DescriptorNet, channels int) Features {
	return &faceFeatures{d: d, channels: channels}
}

func (f *faceFeatures) Name() string { return FeatFace }

func (f *faceFeatures) Forward(img *tensor.Tensor) []*tensor.Tensor {
	n, h, w := img.Shape[0], img.Shape[1], img.Shape[2]
	f.x = tensor.Ensure(f.x, n, h, w, 3)
	for p := 0; p < n*h*w; p++ {
		for c := 0; c < 3; c++ {
			v := img.Data[p*f.channels+min(c, f.channels-1)]
			f.x.Data[p*3+c] = (v + 1) * 127.5
		}
	}
	f.out = append(f.out[:0], f.d.Forward(f.x))
	return f.out
}

func (f *faceFeatures) Backward(d []*tensor.Tensor) *tensor.Tensor {
	dx := f.d.Backward(d[0])
	n, h, w := dx.Shape[0], dx.Shape[1], dx.Shape[2]
	f.dimg = tensor.Ensure(f.dimg, n, h, w, f.channels)
	for p := 0; p < n*h*w; p++ {
		if f.channels == 3 {
			for c := 0; c < 3; c++ {
				f.dimg.Data[p*3+c] = 127.5 * dx.Data[p*3+c]
			}
		} else {
			f.dimg.Data[p] = 127.5 * (dx.Data[p*3] + dx.Data[p*3+1] + dx.Data[p*3+2])
		}
	}
	return f.dimg
}
