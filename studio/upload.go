package studio

import (
	"errors"
	"fmt"
	"image"
	"io"
	"net/http"
	"strings"

	"forger/picture"
)

// Upload limits.
const (
	MaxUploadBytes = 10 << 20   // the photo file
	MaxPixels      = 40_000_000 // width × height, read from the header
	// MaxDecodeBytes bounds the memory one photo's decoding may take,
	// estimated from its header before anything is decoded (see
	// picture.DecodeMemory): 40 megapixels at 8 bits per channel, half that at 16
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

// decodePhoto checks and decodes an uploaded photo (see readPhotoForm)
// through picture, within the upload limits, and returns it with its type
// as http.DetectContentType sniffs it.
func decodePhoto(data []byte) (image.Image, string, error) {
	if len(data) == 0 {
		return nil, "", badUpload(http.StatusBadRequest, "the photo is empty")
	}
	typ := http.DetectContentType(data)
	switch typ {
	case "image/jpeg", "image/png", "image/gif", "image/webp":
	default:
		return nil, "", badUpload(http.StatusUnsupportedMediaType, "not a JPEG, PNG, GIF or WebP image (the content looks like %s)", strings.SplitN(typ, ";", 2)[0])
	}
	// Shrunk to StoredMaxSide, then turned: at most one full-size picture,
	// the decoded one, is ever in memory. Stored photos are 8 bits per
	// channel.
	img, err := picture.DecodeBytes(data, picture.Limits{MaxPixels: MaxPixels, MaxDecodeBytes: MaxDecodeBytes, MaxSide: StoredMaxSide})
	var large *picture.TooLargeError
	var heavy *picture.TooMuchMemoryError
	switch {
	case err == nil:
		return img, typ, nil
	case errors.As(err, &large):
		return nil, "", badUpload(http.StatusRequestEntityTooLarge, "the image is %d×%d pixels; at most %d megapixels are accepted", large.Width, large.Height, MaxPixels/1_000_000)
	case errors.As(err, &heavy):
		return nil, "", badUpload(http.StatusRequestEntityTooLarge, "the image is %d×%d pixels and would take %d MB of memory to decode; at most %d MB are allowed (a smaller or 8-bit photo will do)", heavy.Width, heavy.Height, heavy.Bytes>>20, MaxDecodeBytes>>20)
	case errors.Is(err, picture.ErrEmpty):
		return nil, "", badUpload(http.StatusBadRequest, "the image has no pixels")
	}
	return nil, "", badUpload(http.StatusBadRequest, "the %s image could not be decoded (truncated or damaged file?)", typ)
}
