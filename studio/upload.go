package studio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"strings"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/webp"

	"forger/picture"
)

// Upload limits.
const (
	MaxUploadBytes = 10 << 20   // the photo file
	MaxPixels      = 40_000_000 // width × height, read from the header
	// MaxDecodeBytes bounds the memory one photo's decoding may take,
	// estimated from its header before anything is decoded (see
	// decodeBytes): 40 megapixels at 8 bits per channel, half that at 16
	// bits, a progressive JPEG of about 20 (4:2:0) or 10 (4:4:4).
	MaxDecodeBytes = 160 << 20
	// StoredMaxSide is the longest side of a stored photo: larger photos are
	// scaled down when stored (a face needs far fewer pixels).
	StoredMaxSide = 2048
	maxFieldBytes = 1 << 10 // a text field of the form
	formOverhead  = 64 << 10
)

// uploadError is a refused upload: the status (4xx) and a message.
type uploadError struct {
	status int
	msg    string
}

func (e *uploadError) Error() string { return e.msg }

func badUpload(status int, format string, args ...any) error {
	return &uploadError{status, fmt.Sprintf(format, args...)}
}

// photoForm is what a photo upload form carried: the photo's bytes (data),
// then, once decoded, the picture.
type photoForm struct {
	data   []byte
	photo  image.Image
	format string
	fields map[string]string
}

// readPhotoForm reads a multipart form with one file field "photo" and the
// text fields named in fields, streaming it with every limit checked as it
// goes: the body is capped (http.MaxBytesReader), the photo at
// MaxUploadBytes, its type sniffed from its first bytes (the name and
// Content-Type the client sent are ignored), its size read from its header
// and refused beyond MaxPixels or MaxDecodeBytes before anything is
// decoded; then it is decoded, scaled down to StoredMaxSide and turned
// upright by its EXIF orientation. EXIF and any other metadata are not
// kept: the caller re-encodes the pixels.
//
// The form is read in full before one of the server's decoding slots is
// taken, so that a client sending slowly holds no slot; a client gone by
// the time a slot is free has nothing decoded for it.
func (s *Server) readPhotoForm(w http.ResponseWriter, r *http.Request, fields ...string) (*photoForm, error) {
	form, err := readPhotoParts(w, r, fields...)
	if err != nil {
		return nil, err
	}
	if !s.acquireDecode(r.Context()) {
		return nil, r.Context().Err()
	}
	defer s.releaseDecode()
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	fg := s.gate.Foreground() // a visitor waits for the decode; jobs do not
	form.photo, form.format, err = decodePhoto(form.data)
	fg()
	form.data = nil
	if err != nil {
		return nil, err
	}
	return form, nil
}

// readPhotoParts reads readPhotoForm's form, undecoded.
func readPhotoParts(w http.ResponseWriter, r *http.Request, fields ...string) (*photoForm, error) {
	r.Body = http.MaxBytesReader(w, r.Body, MaxUploadBytes+formOverhead)
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, badUpload(http.StatusBadRequest, "send the photo as multipart/form-data with a file field named photo")
	}
	out := &photoForm{fields: map[string]string{}}
	var data []byte
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, formErr(err)
		}
		name := part.FormName()
		switch {
		case name == "photo":
			if data != nil {
				return nil, badUpload(http.StatusBadRequest, "send one photo")
			}
			data, err = io.ReadAll(io.LimitReader(part, MaxUploadBytes+1))
			if err != nil {
				return nil, formErr(err)
			}
			if len(data) > MaxUploadBytes {
				return nil, badUpload(http.StatusRequestEntityTooLarge, "the photo is larger than %d MB", MaxUploadBytes>>20)
			}
		case contains(fields, name):
			v, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
			if err != nil {
				return nil, formErr(err)
			}
			if len(v) > maxFieldBytes {
				return nil, badUpload(http.StatusBadRequest, "the field %s is too long", name)
			}
			out.fields[name] = strings.TrimSpace(string(v))
		default:
			if _, err := io.Copy(io.Discard, part); err != nil {
				return nil, formErr(err)
			}
		}
		part.Close()
	}
	if data == nil {
		return nil, badUpload(http.StatusBadRequest, "no photo: send a file field named photo")
	}
	out.data = data
	return out, nil
}

func formErr(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return badUpload(http.StatusRequestEntityTooLarge, "the upload is larger than %d MB", MaxUploadBytes>>20)
	}
	return badUpload(http.StatusBadRequest, "the form could not be read: %v", err)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

type codec struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

// codecs by the type http.DetectContentType sniffs.
var codecs = map[string]codec{
	"image/jpeg": {jpeg.DecodeConfig, jpeg.Decode},
	"image/png":  {png.DecodeConfig, png.Decode},
	"image/gif":  {gif.DecodeConfig, gif.Decode},
	"image/webp": {webp.DecodeConfig, webp.Decode},
}

// decodePhoto checks and decodes an uploaded photo (see readPhotoForm).
func decodePhoto(data []byte) (image.Image, string, error) {
	if len(data) == 0 {
		return nil, "", badUpload(http.StatusBadRequest, "the photo is empty")
	}
	typ := http.DetectContentType(data)
	c, ok := codecs[typ]
	if !ok {
		return nil, "", badUpload(http.StatusUnsupportedMediaType, "not a JPEG, PNG, GIF or WebP image (the content looks like %s)", strings.SplitN(typ, ";", 2)[0])
	}
	cfg, err := c.config(bytes.NewReader(data))
	if err != nil {
		return nil, "", badUpload(http.StatusBadRequest, "the %s header could not be read (truncated or damaged file?)", typ)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, "", badUpload(http.StatusBadRequest, "the image has no pixels")
	}
	if int64(cfg.Width)*int64(cfg.Height) > MaxPixels {
		return nil, "", badUpload(http.StatusRequestEntityTooLarge, "the image is %d×%d pixels; at most %d megapixels are accepted", cfg.Width, cfg.Height, MaxPixels/1_000_000)
	}
	if need := decodeBytes(typ, cfg, data); need > MaxDecodeBytes {
		return nil, "", badUpload(http.StatusRequestEntityTooLarge, "the image is %d×%d pixels and would take %d MB of memory to decode; at most %d MB are allowed (a smaller or 8-bit photo will do)", cfg.Width, cfg.Height, need>>20, MaxDecodeBytes>>20)
	}
	img, err := c.decode(bytes.NewReader(data))
	if err != nil {
		return nil, "", badUpload(http.StatusBadRequest, "the %s image could not be decoded (truncated or damaged file?)", typ)
	}
	// Shrink first, then turn (picture.Orient, the EXIF orientation of a
	// JPEG, PNG or WebP): at most one full-size picture, the decoded one, is
	// ever in memory. Stored photos are 8 bits per channel.
	return picture.Orient(to8Bit(shrink(img, StoredMaxSide)), picture.Orientation(data)), typ, nil
}

// decodeBytes estimates, from a photo's header, the memory its decoder
// will allocate: the decoded pixels, plus what the decoder keeps besides
// (a progressive JPEG's coefficients, an interlaced PNG's passes, a
// lossless WebP's transforms).
func decodeBytes(typ string, cfg image.Config, data []byte) int64 {
	px := int64(cfg.Width) * int64(cfg.Height)
	switch typ {
	case "image/jpeg":
		if n, ok := jpegDecodeBytes(data); ok {
			return n
		}
		return px * 3 * 5 // no frame header found: the worst case
	case "image/png":
		n := px * bytesPerPixel(cfg.ColorModel)
		if len(data) > 28 && data[28] == 1 { // Adam7: passes decoded apart, then merged
			n *= 2
		}
		return n
	case "image/webp":
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

// shrink scales img down so that its longer side is at most side.
func shrink(img image.Image, side int) image.Image {
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
