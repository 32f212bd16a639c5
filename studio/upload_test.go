package studio

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"net/http"
	"os"
	"runtime"
	"strings"
	"testing"
)

// allocated returns the bytes f allocates (runtime.MemStats.TotalAlloc).
func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// pngIHDR is a PNG's signature and IHDR for w×h, depth bits per channel,
// colour type ct, interlaced or not, followed by an IDAT of garbage: enough
// for DecodeConfig, not for Decode.
func pngIHDR(w, h uint32, depth, ct byte, interlaced bool) []byte {
	chunk := func(b []byte, typ string, body []byte) []byte {
		b = binary.BigEndian.AppendUint32(b, uint32(len(body)))
		tb := append([]byte(typ), body...)
		b = append(b, tb...)
		return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(tb))
	}
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	il := byte(0)
	if interlaced {
		il = 1
	}
	ihdr = append(ihdr, depth, ct, 0, 0, il)
	b := chunk([]byte("\x89PNG\r\n\x1a\n"), "IHDR", ihdr)
	b = chunk(b, "IDAT", []byte{0x78, 0x9c, 0xff, 0xff, 0, 0})
	return chunk(b, "IEND", nil)
}

// jpegHeader is a JPEG's SOI and frame header (SOF0, or SOF2 when
// progressive) for w×h with the given components' sampling factors
// (H<<4 | V), then EOI: enough for DecodeConfig.
func jpegHeader(w, h uint16, progressive bool, sampling ...byte) []byte {
	sof := []byte{8}
	sof = binary.BigEndian.AppendUint16(sof, h)
	sof = binary.BigEndian.AppendUint16(sof, w)
	sof = append(sof, byte(len(sampling)))
	for i, s := range sampling {
		sof = append(sof, byte(i+1), s, 0)
	}
	marker := byte(0xC0)
	if progressive {
		marker = 0xC2
	}
	b := []byte{0xFF, 0xD8, 0xFF, marker}
	b = binary.BigEndian.AppendUint16(b, uint16(2+len(sof)))
	b = append(b, sof...)
	b = append(b, 0xFF, 0xDA, 0, 8, 1, 1, 0, 0, 63, 0) // start of scan: DecodeConfig stops here
	return append(b, 0xFF, 0xD9)
}

func uploadStatus(err error) int {
	var ue *uploadError
	if errors.As(err, &ue) {
		return ue.status
	}
	return 0
}

// A photo whose pixels fit MaxPixels but whose decoding would take more
// than 1 — a 16-bit PNG, a progressive or CMYK JPEG of 40
// megapixels — is refused with a 413 from its header, before the decoder
// allocates anything; the same sizes at 8 bits, or baseline, are not.
func TestDecodeBudget(t *testing.T) {
	for _, c := range []struct {
		name    string
		data    []byte
		refused bool
	}{
		{"16-bit RGBA PNG 6320²", pngIHDR(6320, 6320, 16, 6, false), true},
		{"16-bit gray PNG 6320²", pngIHDR(6320, 6320, 16, 0, false), false},
		{"8-bit RGBA PNG 6320²", pngIHDR(6320, 6320, 8, 6, false), false},
		{"8-bit RGBA PNG 6320², interlaced", pngIHDR(6320, 6320, 8, 6, true), true},
		{"progressive JPEG 7000×5000 4:2:0", jpegHeader(7000, 5000, true, 0x22, 0x11, 0x11), true},
		{"baseline JPEG 7000×5000 4:2:0", jpegHeader(7000, 5000, false, 0x22, 0x11, 0x11), false},
		{"baseline JPEG 7000×5000 4:4:4", jpegHeader(7000, 5000, false, 0x11, 0x11, 0x11), false},
		{"CMYK JPEG 7000×5000", jpegHeader(7000, 5000, false, 0x11, 0x11, 0x11, 0x11), true},
		{"progressive JPEG 3000×2000 4:2:0", jpegHeader(3000, 2000, true, 0x22, 0x11, 0x11), false},
	} {
		var err error
		grew := allocated(func() { _, _, err = decodePhoto(c.data) })
		got := uploadStatus(err)
		switch {
		case c.refused && (got != http.StatusRequestEntityTooLarge || !strings.Contains(err.Error(), "memory")):
			t.Errorf("%s: %v (status %d), want a 413 about memory", c.name, err, got)
		case !c.refused && got == http.StatusRequestEntityTooLarge:
			t.Errorf("%s: refused: %v", c.name, err)
		case !c.refused && got != http.StatusBadRequest: // the header alone does not decode
			t.Errorf("%s: %v (status %d), want a 400 from the decoder", c.name, err, got)
		}
		if c.refused && grew > 8<<20 {
			t.Errorf("%s: refusing it allocated %d MB", c.name, grew>>20)
		}
	}
}

// A big photo with an EXIF rotation is shrunk before it is turned: the
// decoded JPEG and pictures of the stored size, never a second full-size
// copy.
func TestDecodeShrinksBeforeOrienting(t *testing.T) {
	data := photoJPEG(t, 3000, 2000, 6)
	var err error
	var w, h int
	grew := allocated(func() {
		img, _, e := decodePhoto(data)
		err = e
		if e == nil {
			w, h = img.Bounds().Dx(), img.Bounds().Dy()
		}
	})
	if err != nil || w != StoredMaxSide*2/3 || h != StoredMaxSide {
		t.Fatalf("decoded %d×%d, %v", w, h, err)
	}
	// YCbCr 4:2:0 (1.5 bytes a pixel, 9 MB) + two 2048×1365 RGBA (11 MB
	// each); a full-size RGBA copy alone is 24 MB.
	if grew > 40<<20 {
		t.Errorf("decoding a 3000×2000 photo with orientation 6 allocated %d MB", grew>>20)
	}
}

// Stored uploads are 8-bit PNGs: a JPEG's YCbCr would otherwise be
// encoded with 16 bits per channel.
func TestStoredPhotoIs8Bit(t *testing.T) {
	for _, o := range []int{0, 6} {
		img, _, err := decodePhoto(photoJPEG(t, 40, 20, o))
		if err != nil {
			t.Fatal(err)
		}
		path := t.TempDir() + "/p.png"
		if err := savePNG(path, img); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if depth := b[24]; depth != 8 {
			t.Errorf("orientation %d: stored with %d bits per channel", o, depth)
		}
	}
}
