// Package face is forger's port of face-api.js's face networks
// (@vladmandic/face-api 1.7.15, MIT): the 68-point landmark network
// (face_landmark_68_model) and the 128-D face descriptor network
// (face_recognition_model, dlib's ResNet-34-like face recogniser), running on
// forger's tensor engine with face-api's own weights and giving face-api's
// results (descriptors within 0.001 in Euclidean distance, landmarks within
// 0.05 px; see the equivalence tests).
//
// Inputs are RGB images; like face-api's tensor path (toNetInput →
// NetInput.toBatchTensor) a non-square input is padded with black to a
// square, centred (the odd pixel after), then resized with TensorFlow's
// legacy bilinear sampling to the network's size: 150 for descriptors, 112
// for landmarks.
//
// Every step has a backward pass, so that a descriptor can serve as a
// perceptual (identity) loss: DescriptorNet.Forward and Backward work on
// image tensors and give the gradient with respect to the pixels.
//
// A network is not safe for concurrent use; it reuses its buffers from call
// to call. Load one per goroutine.
//
// Above the networks: detection (Detector), alignment of a photo
// (AlignLayout) or a folder of them (AlignFolder, with its report and
// ContactSheet: forger face align), and
// look-alike search (Gallery; face/facedb stores an index).
package face

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"
	"os"
	"path/filepath"

	"forger/internal/home"
	"forger/nn"
	"forger/tensor"
)

// Model file names in the models folder.
const (
	DescriptorManifest = "face_recognition_model-weights_manifest.json"
	LandmarkManifest   = "face_landmark_68_model-weights_manifest.json"
)

// ErrModelsMissing is wrapped by the loaders' error when the model files are
// not installed.
var ErrModelsMissing = errors.New("face models are missing")

// DefaultDir is where `forger models get face` installs the models:
// ${FORGER_HOME:-$HOME/.forger}/models/face.
func DefaultDir() string { return filepath.Join(home.ModelsDir(), "face") }

// loadManifest loads dir/name, turning a missing file into ErrModelsMissing
// with the command that installs it.
func loadManifest(dir, name string) (*Weights, error) {
	p := filepath.Join(dir, name)
	if _, err := os.Stat(p); errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s: run 'forger models get face'", ErrModelsMissing, dir)
	}
	return LoadTFJS(p)
}

// Descriptor is a face's 128-D descriptor; faces of one person are closer
// than about 0.6 in Euclidean distance.
type Descriptor [128]float32

// Distance is the Euclidean distance between two descriptors.
func (d Descriptor) Distance(e Descriptor) float64 {
	var s float64
	for i := range d {
		v := float64(d[i]) - float64(e[i])
		s += v * v
	}
	return math.Sqrt(s)
}

// Landmarks are the 68 points (x, y) of the iBUG 300-W scheme in the input
// image's pixel coordinates: jaw 0–16, eyebrows 17–26, nose 27–35, eyes
// 36–47, mouth 48–67.
type Landmarks [68][2]float32

// ImageTensor converts img to a [1,H,W,3] tensor of RGB values in [0, 255],
// as TensorFlow's image decoders give them: gray is replicated, alpha is
// dropped (colours are not composited), 16-bit channels keep their high
// byte. PNG pixels are exact; a JPEG decoded by Go may differ from libjpeg's
// decoding (which tfjs-node uses) by a level or two.
func ImageTensor(img image.Image) *tensor.Tensor {
	b := img.Bounds()
	t := tensor.New(1, b.Dy(), b.Dx(), 3)
	writeRGB(img, t.Data)
	return t
}

func writeRGB(img image.Image, dst []float32) {
	b := img.Bounds()
	w := b.Dx()
	i := 0
	switch m := img.(type) {
	case *image.NRGBA:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, y):][:4*w]
			for j := 0; j < len(row); j += 4 {
				dst[i], dst[i+1], dst[i+2] = float32(row[j]), float32(row[j+1]), float32(row[j+2])
				i += 3
			}
		}
		return
	case *image.RGBA:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, y):][:4*w]
			for j := 0; j < len(row); j += 4 {
				if a := row[j+3]; a != 0xff {
					c := color.NRGBAModel.Convert(color.RGBA{row[j], row[j+1], row[j+2], a}).(color.NRGBA)
					dst[i], dst[i+1], dst[i+2] = float32(c.R), float32(c.G), float32(c.B)
				} else {
					dst[i], dst[i+1], dst[i+2] = float32(row[j]), float32(row[j+1]), float32(row[j+2])
				}
				i += 3
			}
		}
		return
	case *image.YCbCr: // JPEG
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				yi, ci := m.YOffset(x, y), m.COffset(x, y)
				r, g, bb := color.YCbCrToRGB(m.Y[yi], m.Cb[ci], m.Cr[ci])
				dst[i], dst[i+1], dst[i+2] = float32(r), float32(g), float32(bb)
				i += 3
			}
		}
		return
	case *image.Gray:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for _, p := range m.Pix[m.PixOffset(b.Min.X, y):][:w] {
				dst[i], dst[i+1], dst[i+2] = float32(p), float32(p), float32(p)
				i += 3
			}
		}
		return
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBA64Model.Convert(img.At(x, y)).(color.NRGBA64)
			dst[i], dst[i+1], dst[i+2] = float32(c.R>>8), float32(c.G>>8), float32(c.B>>8)
			i += 3
		}
	}
}

// squarePad returns face-api's padToSquare(…, isCenterImage = true) for an
// h×w image: the short side gets round(diff/2) zero rows or columns after
// and the rest before.
func squarePad(h, w int) (top, bottom, left, right int) {
	diff := h - w
	if diff < 0 {
		diff = -diff
	}
	after := (diff + 1) / 2 // Math.round(diff·0.5) rounds halves up
	before := diff - after
	if h > w {
		return 0, 0, before, after
	}
	return before, after, 0, 0
}

// prep is face-api's toBatchTensor as differentiable layers: pad to a
// square, resize to Size, normalise ((x − mean RGB) / 255).
type prep struct {
	Size   int
	pad    nn.ZeroPad
	resize *nn.ResizeBilinear
	norm   normalize
	padded bool
	sized  bool
}

func newPrep(size int) *prep {
	return &prep{Size: size, resize: nn.NewResizeBilinear(size, size)}
}

func (p *prep) Forward(x *tensor.Tensor) *tensor.Tensor {
	if len(x.Shape) != 4 || x.Shape[3] != 3 || x.Shape[1] < 1 || x.Shape[2] < 1 {
		panic(fmt.Sprintf("face: input %v, want [N,H,W,3] RGB", x.Shape))
	}
	h, w := x.Shape[1], x.Shape[2]
	p.padded = h != w
	if p.padded {
		p.pad.Top, p.pad.Bottom, p.pad.Left, p.pad.Right = squarePad(h, w)
		x = p.pad.Forward(x)
	}
	p.sized = x.Shape[1] != p.Size
	if p.sized {
		x = p.resize.Forward(x)
	}
	return p.norm.Forward(x)
}

func (p *prep) Backward(dy *tensor.Tensor) *tensor.Tensor {
	dy = p.norm.Backward(dy)
	if p.sized {
		dy = p.resize.Backward(dy)
	}
	if p.padded {
		dy = p.pad.Backward(dy)
	}
	return dy
}

// meanRGB is face-api's mean pixel, subtracted before dividing by 255.
var meanRGB = [3]float32{122.782, 117.001, 104.298}

// normalize is (x − meanRGB) / 255 in float32, in that order, as face-api's
// normalize(…).div(255).
type normalize struct {
	y, dx *tensor.Tensor
}

func (n *normalize) Forward(x *tensor.Tensor) *tensor.Tensor {
	n.y = tensor.Ensure(n.y, x.Shape...)
	for i, v := range x.Data {
		n.y.Data[i] = (v - meanRGB[i%3]) / 255
	}
	return n.y
}

func (n *normalize) Backward(dy *tensor.Tensor) *tensor.Tensor {
	n.dx = tensor.Ensure(n.dx, dy.Shape...)
	for i, v := range dy.Data {
		n.dx.Data[i] = v / 255
	}
	return n.dx
}

// frozen wraps a loaded weight as a parameter that gets no gradient.
func frozen(name string, t *tensor.Tensor) *nn.Param {
	return &nn.Param{Name: name, Value: t, Frozen: true}
}

// hwioToOHWI converts a TensorFlow filter [kh,kw,in,out] to forger's Conv2d
// layout [out,kh,kw,in].
func hwioToOHWI(t *tensor.Tensor) *tensor.Tensor {
	kh, kw, in, out := t.Shape[0], t.Shape[1], t.Shape[2], t.Shape[3]
	r := tensor.New(out, kh, kw, in)
	for y := 0; y < kh; y++ {
		for x := 0; x < kw; x++ {
			for i := 0; i < in; i++ {
				for o := 0; o < out; o++ {
					r.Data[((o*kh+y)*kw+x)*in+i] = t.Data[((y*kw+x)*in+i)*out+o]
				}
			}
		}
	}
	return r
}

// transpose2 returns the transpose of a [r,c] matrix.
func transpose2(t *tensor.Tensor) *tensor.Tensor {
	r, c := t.Shape[0], t.Shape[1]
	out := tensor.New(c, r)
	for i := 0; i < r; i++ {
		for j := 0; j < c; j++ {
			out.Data[j*r+i] = t.Data[i*c+j]
		}
	}
	return out
}
