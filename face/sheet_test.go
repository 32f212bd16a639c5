package face

import (
	"image"
	"image/color"
	"testing"
)

// A contact sheet holds up to its maximum of pairs, counts the rest as
// dropped, and draws the photo's thumbnail with the crop beside it.
func TestContactSheet(t *testing.T) {
	photo := image.NewRGBA(image.Rect(0, 0, 400, 300))
	for i := range photo.Pix {
		photo.Pix[i] = 200
	}
	f := &Face{LeftEye: Point{150, 120}, RightEye: Point{250, 120}}
	crop := AlignLayout(photo, f.LeftEye, f.RightEye, 64, DefaultLayout, EdgeReplicate)
	s := NewContactSheet(2)
	s.Add(photo, f, crop)
	s.Add(nil, nil, nil) // an unreadable photo still takes a row
	s.Add(photo, f, crop)
	if s.Len() != 2 || s.Dropped != 1 {
		t.Fatalf("%d pairs, %d dropped; want 2 and 1", s.Len(), s.Dropped)
	}
	img := s.Image()
	b := img.Bounds()
	if b.Dx() < 4*sheetTile || b.Dy() < sheetTile { // two pairs of two tiles side by side
		t.Fatalf("sheet of %v for two pairs of %d-pixel tiles", b, sheetTile)
	}
	bright := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if g := color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y; g > 150 && g < 250 {
				bright++
			}
		}
	}
	if bright < sheetTile*sheetTile/2 {
		t.Errorf("only %d pixels of the photo's grey on the sheet", bright)
	}
}
