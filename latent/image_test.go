package latent

import (
	"encoding/binary"
	"forger/internal/testimg"
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
	b, err := testimg.WithOrientation(testimg.Stripes(48, 32), 6, binary.LittleEndian)
	if err != nil {
		t.Fatal(err)
	}
	return b
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
