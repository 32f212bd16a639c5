package picture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// withOrientation returns img as a JPEG carrying an APP1 Exif segment whose
// IFD0 has Orientation o (big-endian TIFF), right after the SOI marker.
func withOrientation(t *testing.T, img image.Image, o uint16) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	tiff := []byte("MM\x00*\x00\x00\x00\x08") // big-endian, IFD0 at 8
	tiff = binary.BigEndian.AppendUint16(tiff, 1)
	tiff = binary.BigEndian.AppendUint16(tiff, 0x0112) // Orientation
	tiff = binary.BigEndian.AppendUint16(tiff, 3)      // SHORT
	tiff = binary.BigEndian.AppendUint32(tiff, 1)
	tiff = binary.BigEndian.AppendUint16(tiff, o)
	tiff = append(tiff, 0, 0, 0, 0, 0, 0) // padding, no next IFD
	seg := append([]byte("Exif\x00\x00"), tiff...)
	app1 := binary.BigEndian.AppendUint16([]byte{0xFF, 0xE1}, uint16(2+len(seg)))
	data := b.Bytes()
	return append(append(append([]byte{}, data[:2]...), append(app1, seg...)...), data[2:]...)
}

// stripes is a w×h picture, red in its top quarter and blue below.
func stripes(w, h int) *image.RGBA {
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

func isRed(c color.Color) bool {
	r, _, b, _ := c.RGBA()
	return r>>8 > 150 && b>>8 < 100
}

// A JPEG with EXIF orientation 6 (turn 90° clockwise to view) loads turned:
// the stored top stripe is the right-hand one, and width and height swap;
// from a file (Load), bytes (DecodeBytes) and a reader (Decode) alike.
func TestLoadEXIFOrientation6(t *testing.T) {
	data := withOrientation(t, stripes(48, 32), 6)
	if o := Orientation(data); o != 6 {
		t.Fatalf("Orientation = %d, want 6", o)
	}
	path := filepath.Join(t.TempDir(), "phone.jpg")
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	fromFile, err := Load(path, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	fromReader, err := Decode(bytes.NewReader(data), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for name, img := range map[string]image.Image{"Load": fromFile, "Decode": fromReader} {
		if got := img.Bounds().Size(); got != image.Pt(32, 48) {
			t.Fatalf("%s: %v, want 32×48 (turned)", name, got)
		}
		if !isRed(img.At(31, 24)) || isRed(img.At(0, 24)) || isRed(img.At(16, 0)) {
			t.Errorf("%s: the red stripe is not on the right: right %v, left %v, top %v", name, img.At(31, 24), img.At(0, 24), img.At(16, 0))
		}
	}
	// Orientation 1 is as stored.
	img, err := DecodeBytes(withOrientation(t, stripes(48, 32), 1), Limits{})
	if err != nil || img.Bounds().Size() != image.Pt(48, 32) || !isRed(img.At(24, 0)) {
		t.Errorf("orientation 1: %v, %v", img.Bounds(), err)
	}
}

// Limits are checked from the header: a picture over them is refused with a
// *TooLargeError before its pixels are decoded (a header claiming 400
// megapixels, followed by no pixel data at all, is refused as too large,
// not as damaged).
func TestLoadLimits(t *testing.T) {
	var b bytes.Buffer
	if err := png.Encode(&b, stripes(20, 10)); err != nil {
		t.Fatal(err)
	}
	var tl *TooLargeError
	if _, err := DecodeBytes(b.Bytes(), Limits{MaxPixels: 199}); !errors.As(err, &tl) || tl.Width != 20 || tl.Height != 10 || tl.MaxPixels != 199 {
		t.Errorf("20×10 with MaxPixels 199: %v", err)
	}
	if _, err := DecodeBytes(b.Bytes(), Limits{MaxPixels: 200}); err != nil {
		t.Errorf("20×10 with MaxPixels 200: %v", err)
	}
	data := b.Bytes()[:33] // signature and IHDR only
	binary.BigEndian.PutUint32(data[16:], 20000)
	binary.BigEndian.PutUint32(data[20:], 20000)
	binary.BigEndian.PutUint32(data[29:], crc32.ChecksumIEEE(data[12:29]))
	if _, err := DecodeBytes(data, Limits{}); !errors.As(err, &tl) || tl.MaxPixels != DefaultMaxPixels {
		t.Errorf("a 400-megapixel header with the default limits: %v", err)
	}
	if _, err := Decode(bytes.NewReader([]byte("not an image")), Limits{}); !errors.Is(err, ErrNotImage) {
		t.Errorf("text: %v, want ErrNotImage", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "missing.jpg"), Limits{}); err == nil || errors.Is(err, ErrNotImage) {
		t.Errorf("a missing file: %v", err)
	}
}
