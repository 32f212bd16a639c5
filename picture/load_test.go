package picture

import (
	"bytes"
	"encoding/binary"
	"errors"
	"forger/internal/testimg"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// withOrientation is testimg.WithOrientation with a big-endian TIFF.
func withOrientation(t *testing.T, img image.Image, o uint16) []byte {
	t.Helper()
	b, err := testimg.WithOrientation(img, o, binary.BigEndian)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var stripes = testimg.Stripes

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
