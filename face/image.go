package face

import (
	"image"

	"forger/picture"
)

// ErrNotImage is wrapped by LoadImage and DecodeImage's error for data that
// is not a PNG, JPEG, GIF or WebP image (or is a damaged one); it is
// picture.ErrNotImage, the one image loader's.
var ErrNotImage = picture.ErrNotImage

// MaxImagePixels is the largest picture DecodeImage decodes, width ×
// height as its header says, checked before decoding (picture's default).
const MaxImagePixels = picture.DefaultMaxPixels

// TooLargeError is DecodeImage's error for a picture of more than
// MaxImagePixels.
type TooLargeError = picture.TooLargeError

// LoadImage reads a PNG, JPEG, GIF or WebP file and turns it the way its
// EXIF orientation tag says it is displayed: picture.Load with the default
// limits.
func LoadImage(path string) (image.Image, error) {
	return picture.Load(path, picture.Limits{})
}

// DecodeImage decodes a PNG, JPEG, GIF or WebP image and applies its EXIF
// orientation: picture.DecodeBytes with the default limits (a picture of
// more than MaxImagePixels is refused before it is decoded).
func DecodeImage(data []byte) (image.Image, error) {
	return picture.DecodeBytes(data, picture.Limits{})
}

// Orientation returns the EXIF orientation (1–8) stored in a JPEG, PNG or
// WebP file's bytes (see picture.Orientation).
func Orientation(data []byte) int { return picture.Orientation(data) }

// Orient returns img as displayed under EXIF orientation o (see
// picture.Orient).
func Orient(img image.Image, o int) image.Image { return picture.Orient(img, o) }
