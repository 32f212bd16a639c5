package latent

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

// phoneJPEG is a 48×32 JPEG, red in its stored top quarter and blue below,
// with an APP1 Exif segment saying orientation 6: a phone held upright
// stores it turned, and a viewer turns it 90° clockwise, so the red stripe
// is on the right of a 32×48 picture.
func phoneJPEG(t *testing.T) []byte {
	t.Helper()
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
	out := append([]byte{}, data[:2]...) // SOI
	out = append(append(out, app1...), seg...)
	return append(out, data[2:]...)
}

// forger project phone.jpg projects the photo upright: LoadPhoto turns a
// JPEG by its EXIF orientation before taking the centre square, so the red
// stripe is the right-hand columns of the model's input, not its top rows.
func TestLoadPhotoEXIFOrientation6(t *testing.T) {
	path := filepath.Join(t.TempDir(), "phone.jpg")
	if err := os.WriteFile(path, phoneJPEG(t), 0o644); err != nil {
		t.Fatal(err)
	}
	const size = 16
	x, err := LoadPhoto(path, size, 3)
	if err != nil {
		t.Fatal(err)
	}
	red := func(px, py int) bool {
		p := x[(py*size+px)*3:]
		return p[0] > 0.2 && p[2] < -0.2 // [-1, 1]
	}
	for _, y := range []int{0, size / 2, size - 1} {
		if !red(size-1, y) {
			t.Errorf("row %d: the right-hand pixel is not red %v", y, x[(y*size+size-1)*3:][:3])
		}
		if red(0, y) {
			t.Errorf("row %d: the left-hand pixel is red", y)
		}
	}
	if red(size/2, 0) {
		t.Error("the top row is red: the photo was not turned")
	}
}
