package picture

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"testing"
)

// DecodeBytes's budgets: no data is ErrEmpty; the memory estimate refuses
// a 16-bit picture that the same pixels at 8 bits would pass; MaxSide
// shrinks to 8 bits per channel.
func TestDecodeBudgets(t *testing.T) {
	if _, err := DecodeBytes(nil, Limits{}); !errors.Is(err, ErrEmpty) || !errors.Is(err, ErrNotImage) {
		t.Errorf("no data: %v, want ErrEmpty and ErrNotImage", err)
	}
	enc := func(img image.Image) []byte {
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	wide16 := enc(image.NewRGBA64(image.Rect(0, 0, 300, 100)))
	wide8 := enc(image.NewRGBA(image.Rect(0, 0, 300, 100)))
	lim := Limits{MaxDecodeBytes: 300 * 100 * 4}
	var heavy *TooMuchMemoryError
	if _, err := DecodeBytes(wide16, lim); !errors.As(err, &heavy) || heavy.Bytes != 300*100*8 || heavy.Width != 300 {
		t.Errorf("16-bit 300×100 within %d bytes: %v", lim.MaxDecodeBytes, err)
	}
	if _, err := DecodeBytes(wide8, lim); err != nil {
		t.Errorf("8-bit 300×100 within %d bytes: %v", lim.MaxDecodeBytes, err)
	}
	img, err := DecodeBytes(wide16, Limits{MaxSide: 60})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := img.(*image.RGBA); !ok || img.Bounds() != image.Rect(0, 0, 60, 20) {
		t.Errorf("MaxSide 60: %T %v, want an *image.RGBA of 60×20", img, img.Bounds())
	}
}
