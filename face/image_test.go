package face

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"testing"
)

// For each EXIF orientation, where the stored 3×2 image's pixels end up
// when displayed (the EXIF definitions: row 0 / column 0 of the stored
// image shown at …).
func TestOrient(t *testing.T) {
	// Stored pixels, value = 10·row + col + 1:
	//   1 2 3
	//   11 12 13
	stored := image.NewGray(image.Rect(0, 0, 3, 2))
	for y := 0; y < 2; y++ {
		for x := 0; x < 3; x++ {
			stored.SetGray(x, y, color.Gray{uint8(10*y + x + 1)})
		}
	}
	want := map[int][][]uint8{
		1: {{1, 2, 3}, {11, 12, 13}},
		2: {{3, 2, 1}, {13, 12, 11}},   // mirrored left-right
		3: {{13, 12, 11}, {3, 2, 1}},   // turned 180°
		4: {{11, 12, 13}, {1, 2, 3}},   // mirrored top-bottom
		5: {{1, 11}, {2, 12}, {3, 13}}, // transposed
		6: {{11, 1}, {12, 2}, {13, 3}}, // turned 90° clockwise
		7: {{13, 3}, {12, 2}, {11, 1}}, // transversed
		8: {{3, 13}, {2, 12}, {1, 11}}, // turned 90° counter-clockwise
	}
	for o, rows := range want {
		got := Orient(stored, o)
		b := got.Bounds()
		if b.Dy() != len(rows) || b.Dx() != len(rows[0]) {
			t.Errorf("orientation %d: %dx%d, want %dx%d", o, b.Dx(), b.Dy(), len(rows[0]), len(rows))
			continue
		}
		for y, row := range rows {
			for x, v := range row {
				if r, _, _, _ := got.At(b.Min.X+x, b.Min.Y+y).RGBA(); uint8(r>>8) != v {
					t.Errorf("orientation %d: (%d,%d) = %d, want %d", o, x, y, r>>8, v)
				}
			}
		}
	}
}

func TestOrientationJPEG(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for o := uint16(1); o <= 8; o++ {
		for _, be := range []bool{false, true} {
			if got := Orientation(exifJPEG(t, img, o, be)); got != int(o) {
				t.Errorf("orientation %d (big endian %v): read %d", o, be, got)
			}
		}
	}
	data := exifJPEG(t, img, 6, false)
	for _, c := range []struct {
		name string
		data []byte
		want int
	}{
		{"no exif", data[:2], 1},
		{"truncated", data[:30], 1},
		{"bad value", exifJPEG(t, img, 9, false), 1},
		{"not an image", []byte("hello"), 1},
		{"empty", nil, 1},
	} {
		if got := Orientation(c.data); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
	// Every prefix of a tagged JPEG is read without panicking.
	for i := range data[:200] {
		Orientation(data[:i])
	}
}

// pngWithExif inserts an eXIf chunk after a PNG's IHDR.
func pngWithExif(t testing.TB, img image.Image, orientation uint16) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	tiff := []byte("MM\x00*\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00")
	binary.BigEndian.PutUint16(tiff[18:], orientation)
	chunk := binary.BigEndian.AppendUint32(nil, uint32(len(tiff)))
	body := append([]byte("eXIf"), tiff...)
	chunk = append(chunk, body...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(body))
	ihdrEnd := 8 + 8 + 13 + 4
	return append(append(append([]byte{}, b[:ihdrEnd]...), chunk...), b[ihdrEnd:]...)
}

func TestOrientationPNG(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 4, 2))
	data := pngWithExif(t, img, 8)
	if got := Orientation(data); got != 8 {
		t.Fatalf("orientation %d, want 8", got)
	}
	dec, err := DecodeImage(data)
	if err != nil {
		t.Fatal(err)
	}
	if s := dec.Bounds().Size(); s != image.Pt(2, 4) {
		t.Errorf("decoded %v, want 2x4 (turned)", s)
	}
}

func TestDecodeImageErrors(t *testing.T) {
	if _, err := DecodeImage([]byte("not an image")); !errors.Is(err, ErrNotImage) {
		t.Errorf("error %v, want ErrNotImage", err)
	}
	if _, err := LoadImage("/nonexistent/photo.jpg"); err == nil || errors.Is(err, ErrNotImage) {
		t.Errorf("missing file: error %v", err)
	}
}
