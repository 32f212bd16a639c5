package face

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"math"
	"runtime"
	"testing"
)

// FuzzOrientation: the EXIF orientation of any bytes (JPEG, PNG, WebP or
// none) is 1–8, never a panic, and Orient turns a picture by it without
// losing a pixel.
func FuzzOrientation(f *testing.F) {
	img := image.NewRGBA(image.Rect(0, 0, 5, 3))
	for i := range img.Pix {
		img.Pix[i] = uint8(i)
	}
	for o := uint16(1); o <= 8; o++ {
		f.Add(exifJPEG(f, img, o, o%2 == 0))
	}
	f.Add(pngWithExif(f, img, 6))
	webp := []byte("RIFF\x00\x00\x00\x00WEBPEXIF")
	tiff := []byte("II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x04\x00\x01\x00\x00\x00\x06\x00\x00\x00\x00\x00\x00\x00")
	webp = binary.LittleEndian.AppendUint32(webp, uint32(len(tiff)))
	f.Add(append(webp, tiff...))
	f.Fuzz(func(t *testing.T, data []byte) {
		o := Orientation(data)
		if o < 1 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
		out := Orient(img, o)
		want := image.Pt(5, 3)
		if o >= 5 {
			want = image.Pt(3, 5)
		}
		if got := out.Bounds().Size(); got != want {
			t.Fatalf("orientation %d: %v, want %v", o, got, want)
		}
		seen := map[color.RGBA]bool{}
		for y := 0; y < want.Y; y++ {
			for x := 0; x < want.X; x++ {
				seen[color.RGBAModel.Convert(out.At(x, y)).(color.RGBA)] = true
			}
		}
		if len(seen) != 15 {
			t.Fatalf("orientation %d: %d distinct pixels of 15", o, len(seen))
		}
	})
}

// FuzzParseTFJS: any manifest and shard are decoded or refused with an
// error, never a panic, and every weight decoded has as many values as
// its shape says.
func FuzzParseTFJS(f *testing.F) {
	f.Add([]byte(`[{"paths":["s"],"weights":[{"name":"w","shape":[2],"dtype":"float32"}]}]`), make([]byte, 8))
	f.Add([]byte(`[{"paths":["s"],"weights":[{"name":"q","shape":[2,1],"dtype":"float32","quantization":{"dtype":"uint8","scale":0.5,"min":-1}},{"name":"i","shape":[],"dtype":"int32"}]}]`), []byte{1, 2, 0, 0, 0, 7})
	f.Add([]byte(`[{"paths":["s","s"],"weights":[{"name":"h","shape":[2],"dtype":"float32","quantization":{"dtype":"float16"}},{"name":"b","shape":[1],"dtype":"bool"}]}]`), []byte{0, 0x3c, 1})
	f.Add([]byte(`[{"paths":["s"],"weights":[{"name":"u","shape":[1],"dtype":"int32","quantization":{"dtype":"uint16","scale":2,"min":0}}]}]`), []byte{3, 0})
	f.Add([]byte(`[{"paths":[],"weights":[]}]`), []byte{})
	f.Fuzz(func(t *testing.T, manifest, shard []byte) {
		reads := 0
		w, err := ParseTFJS(manifest, "fuzz", func(string) ([]byte, error) {
			reads++
			return shard, nil
		})
		if err != nil {
			return
		}
		if len(w.Names) != len(w.tensors) {
			t.Fatalf("%d names for %d weights", len(w.Names), len(w.tensors))
		}
		for _, name := range w.Names {
			tt := w.tensors[name]
			n := 1
			for _, d := range tt.Shape {
				n *= d
			}
			if n != len(tt.Data) {
				t.Fatalf("weight %q: shape %v for %d values", name, tt.Shape, len(tt.Data))
			}
			if w.Dtypes[name] == "bool" {
				for _, v := range tt.Data {
					if v != 0 && v != 1 || math.IsNaN(float64(v)) {
						t.Fatalf("bool weight %q holds %v", name, v)
					}
				}
			}
		}
	})
}

// FuzzDecodeImage: any bytes are decoded into a non-empty picture or
// refused with ErrNotImage or a TooLargeError, never a panic.
func FuzzDecodeImage(f *testing.F) {
	img := image.NewRGBA(image.Rect(0, 0, 5, 3))
	f.Add(exifJPEG(f, img, 6, false))
	f.Add(pngWithExif(f, img, 8))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, err := DecodeImage(data)
		if err != nil {
			var tl *TooLargeError
			if !errors.Is(err, ErrNotImage) && !errors.As(err, &tl) {
				t.Fatalf("error %v", err)
			}
			return
		}
		if out.Bounds().Empty() {
			t.Fatal("an empty picture")
		}
	})
}

// A picture whose header claims more than MaxImagePixels is refused before
// anything is decoded.
func TestDecodeImageTooLarge(t *testing.T) {
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	data := b.Bytes()
	binary.BigEndian.PutUint32(data[16:], 20000) // IHDR width and height
	binary.BigEndian.PutUint32(data[20:], 20000)
	binary.BigEndian.PutUint32(data[29:], crc32.ChecksumIEEE(data[12:29]))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := DecodeImage(data)
	runtime.ReadMemStats(&after)
	var tl *TooLargeError
	if !errors.As(err, &tl) || tl.Width != 20000 {
		t.Errorf("a 400-megapixel header: %v", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
		t.Errorf("refusing it allocated %d MB", grew>>20)
	}
}
