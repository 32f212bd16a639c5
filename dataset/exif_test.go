package dataset

import (
	"encoding/binary"
	"forger/internal/testimg"
	"os"
	"path/filepath"
	"testing"
)

// A folder's photos load the way a viewer shows them (picture.Load's EXIF
// orientation): a 48×32 JPEG, red in its stored top quarter, with EXIF
// orientation 6 is a 32×48 picture with the red on the right.
func TestFolderHonoursEXIFOrientation(t *testing.T) {
	photo, err := testimg.WithOrientation(testimg.Stripes(48, 32), 6, binary.LittleEndian)
	if err != nil {
		t.Fatal(err)
	}

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
