// Package testimg makes the pictures that tests of image loading need: a
// phone photo whose EXIF orientation says how to show it.
package testimg

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
)

// Stripes is a w×h picture, red in its top quarter and blue below: after
// a turn, where the red lands tells which way it went.
func Stripes(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := color.RGBA{20, 20, 230, 255}
			if y < h/4 {
				c = color.RGBA{230, 20, 20, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

// WithOrientation returns img as a JPEG carrying an APP1 Exif segment,
// right after the SOI marker, whose IFD0 has Orientation o, in the TIFF
// byte order given (cameras write both).
func WithOrientation(img image.Image, o uint16, order binary.AppendByteOrder) ([]byte, error) {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		return nil, err
	}
	tiff := []byte("II*\x00\x08\x00\x00\x00") // little-endian, IFD0 at 8
	if order == binary.BigEndian {
		tiff = []byte("MM\x00*\x00\x00\x00\x08")
	}
	tiff = order.AppendUint16(tiff, 1)
	tiff = order.AppendUint16(tiff, 0x0112) // Orientation
	tiff = order.AppendUint16(tiff, 3)      // SHORT
	tiff = order.AppendUint32(tiff, 1)
	tiff = order.AppendUint16(tiff, o)
	tiff = append(tiff, 0, 0, 0, 0, 0, 0) // padding, no next IFD
	seg := append([]byte("Exif\x00\x00"), tiff...)
	app1 := binary.BigEndian.AppendUint16([]byte{0xFF, 0xE1}, uint16(2+len(seg)))
	data := b.Bytes()
	out := append([]byte{}, data[:2]...) // SOI
	out = append(append(out, app1...), seg...)
	return append(out, data[2:]...), nil
}
