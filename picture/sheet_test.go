package picture

import (
	"image"
	"image/color"
	"testing"
)

// A sheet lays its pairs out SheetCols to a row, keeps at most Max and
// counts the rest; a skipped photo's outline is red, a cropped one's green,
// and a missing photo or crop is crossed.
func TestSheet(t *testing.T) {
	photo := image.NewRGBA(image.Rect(0, 0, SheetTile, SheetTile))
	crop := image.NewRGBA(image.Rect(0, 0, SheetTile, SheetTile))
	square := [][2]float64{{10, 10}, {100, 10}, {100, 100}, {10, 100}}
	s := &Sheet{Max: 5}
	s.Add(SheetPair{Photo: photo, Outline: square, Marks: [][2]float64{{50, 50}}, Crop: crop, Guides: [][2][2]float64{{{0, 64}, {5, 64}}}})
	s.Add(SheetPair{Photo: photo, Outline: square})
	s.Add(SheetPair{})
	for range 4 {
		s.Add(SheetPair{})
	}
	if s.Len() != 5 || s.Dropped != 2 {
		t.Fatalf("%d pairs, %d dropped; want 5 and 2", s.Len(), s.Dropped)
	}
	m := s.Image()
	pw := 2*SheetTile + SheetGap
	if b := m.Bounds(); b.Dx() < SheetCols*pw || b.Dy() < 2*SheetTile {
		t.Errorf("sheet %v: want %d pairs to a row, 2 rows", b, SheetCols)
	}
	at := func(pair, x, y int) color.Color { return s.pairs[pair].At(x, y) }
	if at(0, 10, 50) != SheetOK || at(1, 10, 50) != SheetSkipped || at(0, 50, 50) != SheetMark {
		t.Errorf("outline %v / %v, mark %v", at(0, 10, 50), at(1, 10, 50), at(0, 50, 50))
	}
	if at(0, SheetTile+SheetGap+2, 64) != SheetGuide {
		t.Errorf("guide %v", at(0, SheetTile+SheetGap+2, 64))
	}
	if at(1, SheetTile+SheetGap+20, 20) != SheetSkipped || at(2, 20, 20) != sheetUnreadX {
		t.Errorf("crosses %v / %v", at(1, SheetTile+SheetGap+20, 20), at(2, 20, 20))
	}
	if b := (&Sheet{Max: 1}).Image().Bounds(); b.Dx() != pw+12 {
		t.Errorf("empty sheet %v", b)
	}
}
