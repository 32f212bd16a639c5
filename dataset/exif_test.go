package dataset

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"
)

// A folder's photos load the way a viewer shows them (picture.Load's EXIF
// orientation): a 48×32 JPEG, red in its stored top quarter, with EXIF
// orientation 6 is a 32×48 picture with the red on the right.
func TestFolderHonoursEXIFOrientation(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 48, 32))
	for y := range 32 {
		for x := range 48 {
			c := color.RGBA{20, 20, 230, 255}
			if y < 8 {
				c = color.RGBA{230, 20, 20, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	tiff := []byte("II*\x00\x08\x00\x00\x00") // little-endian, IFD0 at 8
	tiff = binary.LittleEndian.AppendUint16(tiff, 1)
	tiff = binary.LittleEndian.AppendUint16(tiff, 0x0112) // Orientation
	tiff = binary.LittleEndian.AppendUint16(tiff, 3)      // SHORT
	tiff = binary.LittleEndian.AppendUint32(tiff, 1)
	tiff = binary.LittleEndian.AppendUint16(tiff, 6)
	tiff = append(tiff, 0, 0, 0, 0, 0, 0)
	seg := append([]byte("Exif\x00\x00"), tiff...)
	app1 := binary.BigEndian.AppendUint16([]byte{0xFF, 0xE1}, uint16(2+len(seg)))
	data := b.Bytes()
	photo := append([]byte{}, data[:2]...) // SOI
	photo = append(append(photo, app1...), seg...)
	photo = append(photo, data[2:]...)

	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "phone.jpg"), photo, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Open(dir, Options{Size: 32, Channels: 3})
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 1 || s.Skipped != 0 {
		t.Fatalf("%d images, %d skipped", s.Len(), s.Skipped)
	}
	px := func(x, y int) (r, b float32) {
		p := s.Image(0)[(y*32+x)*3:]
		return p[0], p[2]
	}
	if r, b := px(30, 16); !(r > 0.5 && b < 0) {
		t.Errorf("right edge: red %.2f, blue %.2f, want red (the stripe turned to the right)", r, b)
	}
	if r, b := px(2, 2); !(b > 0.5 && r < 0) {
		t.Errorf("top left: red %.2f, blue %.2f, want blue (not the stored top stripe)", r, b)
	}
}
