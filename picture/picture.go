// Package picture turns generator output into pictures people look at:
// single samples, grids of samples, animations of training progress, and
// plots of loss curves.
//
// Images in forger are float32 slices in NHWC order (row-major, channels
// interleaved) with C = 1 or 3 and values in [-1, 1], the range of the
// generator's tanh output. FromTensor and ToFloats convert between that
// form and the standard library's image types; the Write functions store
// results atomically (see forger/internal/atomicfile), so a browser or
// dashboard watching a file during training never sees a half-written one.
//
// Load, Decode and DecodeBytes are forger's image loader, for commands and
// the studio's uploads alike: PNG, JPEG, GIF or WebP, pixel and
// decode-memory limits checked from the header before decoding (Limits,
// DecodeMemory), an optional shrink, and the picture turned the way its
// EXIF orientation says it is viewed (Orientation, Orient).
package picture

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
)

// FromTensor converts one size×size image with the given number of
// channels (1 or 3) from forger's float form to an image: an *image.Gray
// for 1 channel and an opaque *image.NRGBA for 3.
//
// Values are mapped linearly from [-1, 1] to [0, 255] with rounding;
// values outside [-1, 1] are clipped and NaN becomes 0 (black), so an
// unstable generator still yields a picture rather than garbage.
//
// FromTensor panics if size or channels is invalid or if len(pix) is not
// size*size*channels; those are programming errors.
func FromTensor(pix []float32, size, channels int) image.Image {
	if size <= 0 {
		panic(fmt.Sprintf("picture: FromTensor: invalid size %d", size))
	}
	if channels != 1 && channels != 3 {
		panic(fmt.Sprintf("picture: FromTensor: channels = %d, want 1 or 3", channels))
	}
	if want := size * size * channels; len(pix) != want {
		panic(fmt.Sprintf("picture: FromTensor: len(pix) = %d, want %d×%d×%d = %d",
			len(pix), size, size, channels, want))
	}
	r := image.Rect(0, 0, size, size)
	if channels == 1 {
		m := image.NewGray(r)
		for i, v := range pix {
			m.Pix[i] = toByte(v)
		}
		return m
	}
	m := image.NewNRGBA(r)
	for i, j := 0, 0; i < len(pix); i, j = i+3, j+4 {
		m.Pix[j+0] = toByte(pix[i+0])
		m.Pix[j+1] = toByte(pix[i+1])
		m.Pix[j+2] = toByte(pix[i+2])
		m.Pix[j+3] = 0xff
	}
	return m
}

// toByte maps v from [-1, 1] to [0, 255], rounding to nearest and
// clipping; NaN maps to 0.
func toByte(v float32) uint8 {
	x := (float64(v) + 1) * 127.5
	switch {
	case !(x > 0): // also catches NaN
		return 0
	case x >= 255:
		return 255
	}
	return uint8(x + 0.5)
}

// toFloat is the inverse of toByte: it maps b from [0, 255] to [-1, 1].
func toFloat(b uint8) float32 {
	return float32(b)/127.5 - 1
}

// ToFloats writes img into dst in forger's float form: H×W×channels,
// row-major, values in [-1, 1]. It is the inverse of FromTensor up to
// quantization (at most 1/255 per value) and works for any image type.
//
// With channels == 1 colour images are reduced to luminance (as by
// color.GrayModel); with channels == 3 gray images are replicated into
// all three channels. Transparent pixels are composited over black. The
// image must already have the size the model expects; ToFloats does not
// resample.
//
// ToFloats panics if channels is not 1 or 3 or if len(dst) is not
// width*height*channels.
func ToFloats(img image.Image, channels int, dst []float32) {
	if channels != 1 && channels != 3 {
		panic(fmt.Sprintf("picture: ToFloats: channels = %d, want 1 or 3", channels))
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if want := w * h * channels; len(dst) != want {
		panic(fmt.Sprintf("picture: ToFloats: len(dst) = %d, want %d×%d×%d = %d",
			len(dst), h, w, channels, want))
	}
	i := 0
	switch m := img.(type) {
	case *image.Gray:
		for y := b.Min.Y; y < b.Max.Y; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, y):][:w]
			for _, p := range row {
				f := toFloat(p)
				for range channels {
					dst[i] = f
					i++
				}
			}
		}
		return
	case *image.NRGBA:
		if channels == 3 {
			for y := b.Min.Y; y < b.Max.Y; y++ {
				row := m.Pix[m.PixOffset(b.Min.X, y):][:4*w]
				for j := 0; j < len(row); j += 4 {
					r, g, b := row[j], row[j+1], row[j+2]
					if a := row[j+3]; a != 0xff {
						r, g, b = overBlack(color.NRGBA{r, g, b, a})
					}
					dst[i+0] = toFloat(r)
					dst[i+1] = toFloat(g)
					dst[i+2] = toFloat(b)
					i += 3
				}
			}
			return
		}
	}
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := img.At(x, y)
			if channels == 1 {
				dst[i] = toFloat(color.GrayModel.Convert(c).(color.Gray).Y)
				i++
				continue
			}
			r, g, bl := overBlack(c)
			dst[i+0] = toFloat(r)
			dst[i+1] = toFloat(g)
			dst[i+2] = toFloat(bl)
			i += 3
		}
	}
}

// Upscale enlarges img by an integer factor using nearest-neighbour
// sampling, so that each source pixel becomes a factor×factor block.
// Small samples (28×28 digits) are unreadable at their native size;
// nearest-neighbour keeps them crisp instead of blurring them.
//
// The result has its origin at (0, 0). It is an *image.Gray if img is
// one and an *image.NRGBA otherwise. A factor of 1 returns img itself.
// Upscale panics if factor < 1.
func Upscale(img image.Image, factor int) image.Image {
	if factor < 1 {
		panic(fmt.Sprintf("picture: Upscale: invalid factor %d", factor))
	}
	if factor == 1 {
		return img
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	r := image.Rect(0, 0, w*factor, h*factor)
	if m, ok := img.(*image.Gray); ok {
		d := image.NewGray(r)
		upscale(d.Pix, d.Stride, m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], m.Stride, w, h, 1, factor)
		return d
	}
	m, ok := img.(*image.NRGBA)
	if !ok {
		m = image.NewNRGBA(image.Rect(0, 0, w, h))
		draw.Draw(m, m.Bounds(), img, b.Min, draw.Src)
		b = m.Bounds()
	}
	d := image.NewNRGBA(r)
	upscale(d.Pix, d.Stride, m.Pix[m.PixOffset(b.Min.X, b.Min.Y):], m.Stride, w, h, 4, factor)
	return d
}

// upscale replicates each bpp-byte pixel of the w×h source into a
// factor×factor block of the destination.
func upscale(dst []uint8, dstStride int, src []uint8, srcStride, w, h, bpp, factor int) {
	rowBytes := w * factor * bpp
	for y := range h {
		srow := src[y*srcStride:][:w*bpp]
		first := dst[y*factor*dstStride:][:rowBytes]
		// Build the first output row by repeating each pixel...
		o := 0
		for x := 0; x < len(srow); x += bpp {
			px := srow[x : x+bpp]
			for range factor {
				o += copy(first[o:], px)
			}
		}
		// ...then repeat that row.
		for k := 1; k < factor; k++ {
			copy(dst[(y*factor+k)*dstStride:][:rowBytes], first)
		}
	}
}
