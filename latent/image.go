package latent

import (
	"errors"
	"fmt"
	"image"
	"io/fs"

	"golang.org/x/image/draw"

	"forger/picture"
)

// LoadPhoto reads an image file (picture.Load: PNG, JPEG, GIF or WebP,
// turned upright by its EXIF orientation, the default size limit checked
// before decoding) and returns it in the model's form: the centre square,
// resized to size×size (Catmull-Rom), gray when channels is 1, values in
// [-1, 1].
func LoadPhoto(path string, size, channels int) ([]float32, error) {
	img, err := picture.Load(path, picture.Limits{})
	if err != nil {
		if pe := (*fs.PathError)(nil); errors.As(err, &pe) { // the file, not its contents
			return nil, fmt.Errorf("reading photo: %w", err)
		}
		return nil, err
	}
	return ImageFloats(img, size, channels), nil
}

// ImageFloats converts an image to the model's form (see LoadPhoto).
func ImageFloats(img image.Image, size, channels int) []float32 {
	b := img.Bounds()
	side := min(b.Dx(), b.Dy())
	sq := image.Rect(0, 0, side, side).Add(b.Min).Add(image.Pt((b.Dx()-side)/2, (b.Dy()-side)/2))
	var src image.Image = img
	if side != size || sq != b {
		dst := image.NewNRGBA(image.Rect(0, 0, size, size))
		draw.CatmullRom.Scale(dst, dst.Bounds(), img, sq, draw.Src, nil)
		src = dst
	}
	out := make([]float32, size*size*channels)
	picture.ToFloats(src, channels, out)
	return out
}

// upscaleFor returns the integer factor that brings a size×size image to
// at least want pixels.
func upscaleFor(size, want int) int { return max(1, (want+size-1)/size) }

// Picture returns image i of a batch [N, S, S, C] as an image, upscaled to
// at least minSide pixels.
func Picture(imgs []float32, i, size, channels, minSide int) image.Image {
	per := size * size * channels
	img := picture.FromTensor(imgs[i*per:(i+1)*per], size, channels)
	return picture.Upscale(img, upscaleFor(size, minSide))
}
