package picture

import (
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/draw"

	xdraw "golang.org/x/image/draw"
)

// TooMuchMemoryError is DecodeBytes's error for a picture whose decoding
// would take more than Limits.MaxDecodeBytes (DecodeMemory's estimate).
type TooMuchMemoryError struct {
	Width, Height   int
	Bytes, MaxBytes int64
}

func (e *TooMuchMemoryError) Error() string {
	return fmt.Sprintf("the image is %d×%d pixels and would take %d MB of memory to decode, more than %d MB", e.Width, e.Height, e.Bytes>>20, e.MaxBytes>>20)
}

// DecodeMemory estimates, from an image's header, the memory its decoder
// will allocate: the decoded pixels, plus what the decoder keeps besides
// (a progressive JPEG's coefficients, an interlaced PNG's passes, a
// lossless WebP's transforms). format and cfg are image.DecodeConfig's.
func DecodeMemory(format string, cfg image.Config, data []byte) int64 {
	px := int64(cfg.Width) * int64(cfg.Height)
	switch format {
	case "jpeg":
		if n, ok := jpegDecodeBytes(data); ok {
			return n
		}
		return px * 3 * 5 // no frame header found: the worst case
	case "png":
		n := px * bytesPerPixel(cfg.ColorModel)
		if len(data) > 28 && data[28] == 1 { // Adam7: passes decoded apart, then merged
			n *= 2
		}
		return n
	case "webp":
		if cfg.ColorModel == color.NRGBAModel { // lossless: ARGB words and transforms besides
			return px * 12
		}
	}
	return px * bytesPerPixel(cfg.ColorModel)
}

// bytesPerPixel is the size of a pixel of the image a decoder returns for
// color model m.
func bytesPerPixel(m color.Model) int64 {
	if _, ok := m.(color.Palette); ok {
		return 1
	}
	switch m {
	case color.GrayModel, color.AlphaModel:
		return 1
	case color.Gray16Model, color.Alpha16Model:
		return 2
	case color.YCbCrModel:
		return 3
	case color.RGBA64Model, color.NRGBA64Model:
		return 8
	}
	return 4 // RGBA, NRGBA, NYCbCrA, CMYK
}

// jpegDecodeBytes reads a JPEG's frame header: every component's plane,
// padded to whole MCUs as image/jpeg allocates it, 4 bytes more per sample
// for a progressive JPEG's coefficients; 4 more per pixel for CMYK, and a
// 4:4:4 copy for subsampled chroma the decoder converts.
func jpegDecodeBytes(data []byte) (int64, bool) {
	if len(data) < 4 || data[0] != 0xFF || data[1] != 0xD8 {
		return 0, false
	}
	for p := 2; p+4 <= len(data); {
		if data[p] != 0xFF {
			return 0, false
		}
		marker := data[p+1]
		if marker == 0xD8 || marker >= 0xD0 && marker <= 0xD7 || marker == 0x01 || marker == 0xFF {
			p++
			continue
		}
		if marker == 0xDA || marker == 0xD9 {
			return 0, false
		}
		n := int(binary.BigEndian.Uint16(data[p+2:]))
		if n < 2 || p+2+n > len(data) {
			return 0, false
		}
		seg := data[p+4 : p+2+n]
		if marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC {
			return sofBytes(seg, marker == 0xC2 || marker == 0xC6 || marker == 0xCA || marker == 0xCE)
		}
		p += 2 + n
	}
	return 0, false
}

// sofBytes is jpegDecodeBytes for a start-of-frame segment's contents.
func sofBytes(seg []byte, progressive bool) (int64, bool) {
	if len(seg) < 6 {
		return 0, false
	}
	h, w, nc := int64(binary.BigEndian.Uint16(seg[1:])), int64(binary.BigEndian.Uint16(seg[3:])), int(seg[5])
	if nc < 1 || len(seg) < 6+3*nc {
		return 0, false
	}
	var hmax, vmax int64 = 1, 1
	for i := 0; i < nc; i++ {
		hmax = max(hmax, int64(seg[7+3*i]>>4))
		vmax = max(vmax, int64(seg[7+3*i]&15))
	}
	mcusX, mcusY := (w+8*hmax-1)/(8*hmax), (h+8*vmax-1)/(8*vmax)
	var samples int64
	flex := false
	for i := 0; i < nc; i++ {
		hi, vi := max(int64(seg[7+3*i]>>4), 1), max(int64(seg[7+3*i]&15), 1)
		samples += mcusX * 8 * hi * mcusY * 8 * vi
		flex = flex || i > 0 && (hi != 1 || vi != 1)
	}
	n := samples
	if progressive {
		n += 4 * samples
	}
	if nc == 4 {
		n += 4 * w * h
	}
	if flex {
		n += 3 * w * h
	}
	return n, true
}

// to8Bit returns img with 8 bits per channel: as it is when it has them,
// else converted to RGBA (a decoded JPEG's YCbCr would otherwise be
// stored as a 16-bit PNG, 20 times the bytes).
func to8Bit(img image.Image) image.Image {
	switch img.(type) {
	case *image.NRGBA, *image.RGBA, *image.Gray, *image.Paletted:
		return img
	}
	b := img.Bounds()
	dst := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(dst, dst.Bounds(), img, b.Min, draw.Src)
	return dst
}

// Shrink scales img down (bilinear, into an *image.RGBA) so that its
// longer side is at most side; a smaller img is returned as it is.
func Shrink(img image.Image, side int) image.Image {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= side && h <= side {
		return img
	}
	if w >= h {
		h, w = max(1, h*side/w), side
	} else {
		w, h = max(1, w*side/h), side
	}
	// RGBA, not NRGBA: x/image/draw scales a JPEG's YCbCr into RGBA
	// directly, and into NRGBA only pixel by pixel through interfaces (an
	// allocation each).
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	xdraw.ApproxBiLinear.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
	return dst
}
