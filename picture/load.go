package picture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/draw"
	_ "image/gif" // decoders for image.Decode
	_ "image/jpeg"
	_ "image/png"
	"io"
	"os"

	_ "golang.org/x/image/webp"
)

// ErrNotImage is wrapped by Load and Decode's error for data that is not a
// PNG, JPEG, GIF or WebP image (or is a damaged one).
var ErrNotImage = errors.New("not a PNG, JPEG, GIF or WebP image")

// ErrEmpty is wrapped, beside ErrNotImage, by the error for no data or an
// image without pixels.
var ErrEmpty = errors.New("the image is empty")

// DefaultMaxPixels is the largest picture Load decodes when Limits leaves
// MaxPixels 0: 150 megapixels, well beyond any camera's photo, and about
// 600 MB decoded.
const DefaultMaxPixels = 150_000_000

// Limits bound what Load and Decode accept, checked from the image's
// header before anything is decoded. The zero value is DefaultMaxPixels.
type Limits struct {
	// MaxPixels is the largest width × height; 0 means DefaultMaxPixels.
	MaxPixels int64
	// MaxDecodeBytes, when positive, bounds the memory decoding may take,
	// as DecodeMemory estimates it from the header: a 16-bit or
	// progressive picture takes more than its pixels.
	MaxDecodeBytes int64
	// MaxSide, when positive, scales a larger picture down (Shrink) so
	// that its longer side is at most MaxSide, before it is turned, and
	// makes the result 8 bits per channel: only the decoded picture is
	// ever held at full size.
	MaxSide int
}

func (l Limits) maxPixels() int64 {
	if l.MaxPixels <= 0 {
		return DefaultMaxPixels
	}
	return l.MaxPixels
}

// TooLargeError is Load and Decode's error for a picture whose header
// says it has more than MaxPixels pixels.
type TooLargeError struct {
	Width, Height int
	MaxPixels     int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("the image is %d×%d pixels, more than %d megapixels", e.Width, e.Height, e.MaxPixels/1_000_000)
}

// Load reads a PNG, JPEG, GIF or WebP file and decodes it as Decode does:
// within lim, turned the way its EXIF orientation says it is displayed.
// Errors name the file.
func Load(path string, lim Limits) (image.Image, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	img, err := DecodeBytes(data, lim)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return img, nil
}

// Decode reads a PNG, JPEG, GIF or WebP image from r and decodes it as
// DecodeBytes does.
func Decode(r io.Reader, lim Limits) (image.Image, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	return DecodeBytes(data, lim)
}

// DecodeBytes decodes a PNG, JPEG, GIF or WebP image and applies its EXIF
// orientation (JPEG APP1 "Exif", PNG eXIf chunk, WebP EXIF chunk), so that
// the result is the picture as a viewer shows it. A picture of more than
// lim's pixels is refused (*TooLargeError), as is one whose decoding
// would take more than lim.MaxDecodeBytes (*TooMuchMemoryError), before it
// is decoded; data that is not an image, or an empty one, gives an error
// wrapping ErrNotImage (and ErrEmpty).
func DecodeBytes(data []byte, lim Limits) (image.Image, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("%w: %w", ErrNotImage, ErrEmpty)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotImage, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, fmt.Errorf("%w: %w", ErrNotImage, ErrEmpty)
	}
	if most := lim.maxPixels(); int64(cfg.Width)*int64(cfg.Height) > most {
		return nil, &TooLargeError{cfg.Width, cfg.Height, most}
	}
	if lim.MaxDecodeBytes > 0 {
		if need := DecodeMemory(format, cfg, data); need > lim.MaxDecodeBytes {
			return nil, &TooMuchMemoryError{cfg.Width, cfg.Height, need, lim.MaxDecodeBytes}
		}
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotImage, err)
	}
	if img.Bounds().Empty() {
		return nil, fmt.Errorf("%w: %w", ErrNotImage, ErrEmpty)
	}
	if lim.MaxSide > 0 {
		img = to8Bit(Shrink(img, lim.MaxSide))
	}
	return Orient(img, Orientation(data)), nil
}

// Orientation returns the EXIF orientation (1–8) stored in a JPEG, PNG or
// WebP file's bytes, or 1 (as stored) when there is none or it cannot be
// read:
//
//	1 as stored           2 mirrored left-right   3 turned 180°
//	4 mirrored top-bottom 5 transposed            6 to turn 90° clockwise
//	7 transversed         8 to turn 90° counter-clockwise
func Orientation(data []byte) int {
	var tiff []byte
	switch {
	case len(data) > 4 && data[0] == 0xFF && data[1] == 0xD8:
		tiff = jpegExif(data)
	case bytes.HasPrefix(data, []byte("\x89PNG\r\n\x1a\n")):
		tiff = pngExif(data)
	case len(data) > 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		tiff = webpExif(data)
	}
	o := tiffOrientation(bytes.TrimPrefix(tiff, []byte("Exif\x00\x00")))
	if o < 1 || o > 8 {
		return 1
	}
	return o
}

// jpegExif returns the TIFF data of a JPEG's APP1 Exif segment ("Exif\0\0"
// and all), or nil.
func jpegExif(b []byte) []byte {
	i := 2
	for i+4 <= len(b) {
		if b[i] != 0xFF {
			return nil
		}
		marker := b[i+1]
		switch {
		case marker == 0xFF: // fill byte
			i++
			continue
		case marker == 0xD8 || marker >= 0xD0 && marker <= 0xD7 || marker == 0x01:
			i += 2 // no length
			continue
		case marker == 0xDA || marker == 0xD9: // start of scan, end of image
			return nil
		}
		n := int(binary.BigEndian.Uint16(b[i+2:]))
		if n < 2 || i+2+n > len(b) {
			return nil
		}
		seg := b[i+4 : i+2+n]
		if marker == 0xE1 && bytes.HasPrefix(seg, []byte("Exif\x00\x00")) {
			return seg
		}
		i += 2 + n
	}
	return nil
}

// pngExif returns the contents of a PNG's eXIf chunk, or nil.
func pngExif(b []byte) []byte {
	for i := 8; i+8 <= len(b); {
		n := int(binary.BigEndian.Uint32(b[i:]))
		if n < 0 || n > len(b)-i-12 {
			return nil
		}
		typ := string(b[i+4 : i+8])
		if typ == "eXIf" {
			return b[i+8 : i+8+n]
		}
		if typ == "IEND" {
			return nil
		}
		i += 12 + n
	}
	return nil
}

// webpExif returns the contents of a WebP's EXIF chunk, or nil.
func webpExif(b []byte) []byte {
	for i := 12; i+8 <= len(b); {
		n := int(binary.LittleEndian.Uint32(b[i+4:]))
		if n < 0 || n > len(b)-i-8 {
			return nil
		}
		if string(b[i:i+4]) == "EXIF" {
			return b[i+8 : i+8+n]
		}
		i += 8 + n + n&1
	}
	return nil
}

// tiffOrientation reads tag 0x0112 (Orientation) of IFD0 of TIFF data, or
// returns 0.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 0
	}
	off := int(bo.Uint32(t[4:]))
	if off < 8 || off+2 > len(t) {
		return 0
	}
	n := int(bo.Uint16(t[off:]))
	for e := 0; e < n; e++ {
		p := off + 2 + 12*e
		if p+12 > len(t) {
			return 0
		}
		if bo.Uint16(t[p:]) != 0x0112 {
			continue
		}
		switch typ := bo.Uint16(t[p+2:]); typ {
		case 3: // SHORT
			return int(bo.Uint16(t[p+8:]))
		case 4: // LONG, seen in some writers
			return int(bo.Uint32(t[p+8:]))
		}
		return 0
	}
	return 0
}

// Orient returns img as displayed under EXIF orientation o (see
// Orientation): img itself for 1 or an unknown value, else a new image
// with bounds at (0, 0).
func Orient(img image.Image, o int) image.Image {
	if o < 2 || o > 8 {
		return img
	}
	src := RGBA(img)
	w, h := src.Rect.Dx(), src.Rect.Dy()
	ow, oh := w, h
	if o >= 5 {
		ow, oh = h, w
	}
	dst := image.NewRGBA(image.Rect(0, 0, ow, oh))
	for y := 0; y < oh; y++ {
		row := dst.Pix[y*dst.Stride:][:4*ow]
		for x := 0; x < ow; x++ {
			var sx, sy int
			switch o {
			case 2:
				sx, sy = w-1-x, y
			case 3:
				sx, sy = w-1-x, h-1-y
			case 4:
				sx, sy = x, h-1-y
			case 5:
				sx, sy = y, x
			case 6:
				sx, sy = y, h-1-x
			case 7:
				sx, sy = w-1-y, h-1-x
			case 8:
				sx, sy = w-1-y, x
			}
			copy(row[4*x:4*x+4], src.Pix[sy*src.Stride+4*sx:])
		}
	}
	return dst
}

// RGBA returns img as an *image.RGBA with bounds at (0, 0) (img itself
// when it already is one). Transparency is composited over black.
func RGBA(img image.Image) *image.RGBA {
	if m, ok := img.(*image.RGBA); ok && m.Rect.Min == (image.Point{}) {
		return m
	}
	b := img.Bounds()
	m := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(m, m.Rect, image.Black, image.Point{}, draw.Src)
	draw.Draw(m, m.Rect, img, b.Min, draw.Over)
	return m
}
