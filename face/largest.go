package face

import (
	"errors"
	"forger/picture"
	"image"
)

// ErrNoFace is returned by DescribeLargest for an image without a face.
var ErrNoFace = errors.New("no face found")

// LargestFace returns the largest face of img and the image its
// coordinates are in. A photo that is a tight crop of a face (the cascade
// needs some room around it) is tried again with a border of its edge
// pixels, a quarter of its longer side on each side; the face then comes
// with that bordered copy, whose pixel (p, p) is img's top-left pixel
// (p = Border(img)). It returns nil and img when there is no face.
//
// forger face index, face match and the studio's look-alike pipeline all
// find faces this way, so that a photo gets the same descriptor whichever
// of them describes it.
func (d *Detector) LargestFace(img image.Image) (*Face, image.Image) {
	if faces := d.Detect(img); len(faces) > 0 {
		return &faces[0], img
	}
	b := img.Bounds()
	p := Border(img)
	big := Warp(picture.RGBA(img), Similarity{Scale: 1, Tx: float64(p), Ty: float64(p)}, b.Dx()+2*p, b.Dy()+2*p, EdgeReplicate)
	if faces := d.Detect(big); len(faces) > 0 {
		return &faces[0], big
	}
	return nil, img
}

// Border is the width of the border LargestFace adds around a tight crop.
func Border(img image.Image) int {
	b := img.Bounds()
	return max(b.Dx(), b.Dy()) / 4
}

// DescribeLargest finds the largest face of img (LargestFace) and computes
// its descriptor from face-api's crop of it, taken upright
// (DescriptorNet.EmbedFaceUpright): the descriptor forger face index
// stores and face match compares. The face is returned in img's
// coordinates. The error is ErrNoFace, or says that the eyes were not
// found (the face is then returned too).
func DescribeLargest(det *Detector, net *DescriptorNet, img image.Image) (Descriptor, *Face, error) {
	f, src := det.LargestFace(img)
	if f == nil {
		return Descriptor{}, nil, ErrNoFace
	}
	if src != img { // back to the photo's coordinates
		defer f.Shift(-float64(Border(img)), -float64(Border(img)))
	}
	if !f.EyesOK {
		return Descriptor{}, f, errors.New("eyes not found: " + f.Problem)
	}
	return net.EmbedFaceUpright(src, &f.Landmarks), f, nil
}

// Shift moves the face's coordinates (box, detection, eyes, pupils and
// landmarks) by (dx, dy) pixels.
func (f *Face) Shift(dx, dy float64) {
	f.Box.X += dx
	f.Box.Y += dy
	f.Detection.X += dx
	f.Detection.Y += dy
	for _, p := range []*Point{&f.LeftEye, &f.RightEye, &f.Pupils[0], &f.Pupils[1]} {
		p[0] += dx
		p[1] += dy
	}
	for i := range f.Landmarks {
		f.Landmarks[i][0] += float32(dx)
		f.Landmarks[i][1] += float32(dy)
	}
}
