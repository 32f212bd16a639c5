package studio

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"os"
	"testing"
)

// FuzzDecodePhoto: any bytes sent as a photo are decoded into a picture
// of at most StoredMaxSide a side, or refused with a 4xx uploadError —
// never a panic, never another error.
func FuzzDecodePhoto(f *testing.F) {
	f.Add(photoJPEG(f, 40, 20, 6))
	f.Add(photoJPEG(f, 9, 7, 3))
	f.Add(photoJPEG(f, 16, 16, 0))
	f.Add(flatPNG(f))
	g16 := image.NewRGBA64(image.Rect(0, 0, 6, 4))
	for i := range g16.Pix {
		g16.Pix[i] = uint8(i * 7)
	}
	f.Add(photoPNG(f, g16))
	gray := image.NewGray(image.Rect(0, 0, 3, 5))
	f.Add(photoPNG(f, gray))
	var gb bytes.Buffer
	pal := image.NewPaletted(image.Rect(0, 0, 4, 4), color.Palette{color.Black, color.White})
	if err := gif.Encode(&gb, pal, nil); err != nil {
		f.Fatal(err)
	}
	f.Add(gb.Bytes())
	webp, err := os.ReadFile("../dataset/testdata/gopher.webp")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(webp)
	f.Fuzz(func(t *testing.T, data []byte) {
		img, typ, err := decodePhoto(data)
		if err != nil {
			var ue *uploadError
			if !errors.As(err, &ue) || ue.status < 400 || ue.status > 499 {
				t.Fatalf("error %v (%T) is not a 4xx uploadError", err, err)
			}
			return
		}
		b := img.Bounds()
		if b.Empty() || b.Dx() > StoredMaxSide || b.Dy() > StoredMaxSide {
			t.Fatalf("%s decoded to %v", typ, b)
		}
		switch typ {
		case "image/jpeg", "image/png", "image/gif", "image/webp":
		default:
			t.Fatalf("type %q", typ)
		}
	})
}
