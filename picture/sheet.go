package picture

import (
	"image"
	"image/color"
	"image/draw"
	"math"
)

// A contact sheet shows pairs side by side, SheetCols to a row: a photo's
// thumbnail, with an outline and marks drawn on it, beside what was made
// of it (forger face align: the photo with the crop's square and the eyes,
// beside the crop).
const (
	SheetTile = 128 // side of a thumbnail
	SheetGap  = 4   // between the two tiles of a pair
	SheetCols = 4   // pairs per row
)

// The contact sheet's colours.
var (
	SheetBackground = color.RGBA{32, 32, 32, 255}
	SheetOK         = color.RGBA{64, 224, 64, 255}   // the outline of a photo whose crop was made
	SheetSkipped    = color.RGBA{232, 48, 48, 255}   // the outline and the cross of one skipped
	SheetMark       = color.RGBA{255, 224, 0, 255}   // the marks on the photo
	SheetGuide      = color.RGBA{0, 224, 255, 255}   // the guides on the crop
	sheetUnread     = color.RGBA{72, 72, 72, 255}    // a photo that could not be read
	sheetUnreadX    = color.RGBA{140, 140, 140, 255} // and its cross
	sheetNoCrop     = color.RGBA{88, 24, 24, 255}    // no crop
)

// SheetPair is one pair of a contact sheet. Points are in tile pixels
// ((0, 0) the top-left corner, SheetTile the side).
type SheetPair struct {
	// Photo is the photo's SheetTile×SheetTile thumbnail (at (0, 0)), nil
	// when it could not be read (a gray tile, crossed).
	Photo image.Image
	// Outline is a closed polygon drawn on the photo, green with a Crop and
	// red without; Marks are 3×3 dots on it.
	Outline [][2]float64
	Marks   [][2]float64
	// Crop is the SheetTile×SheetTile result (at (0, 0)), nil when the photo
	// was skipped (a dark red tile, crossed).
	Crop image.Image
	// Guides are line segments drawn on the crop.
	Guides [][2][2]float64
}

// Sheet collects a contact sheet's pairs, up to Max of them; it counts
// those beyond in Dropped.
type Sheet struct {
	Max     int
	Dropped int
	pairs   []image.Image
}

// Len is the number of pairs on the sheet.
func (s *Sheet) Len() int { return len(s.pairs) }

// Add draws a pair onto the sheet (or counts it as dropped).
func (s *Sheet) Add(p SheetPair) {
	if len(s.pairs) >= s.Max {
		s.Dropped++
		return
	}
	pair := image.NewRGBA(image.Rect(0, 0, 2*SheetTile+SheetGap, SheetTile))
	draw.Draw(pair, pair.Rect, image.NewUniform(SheetBackground), image.Point{}, draw.Src)
	before := image.Rect(0, 0, SheetTile, SheetTile)
	after := before.Add(image.Pt(SheetTile+SheetGap, 0))
	if p.Photo == nil {
		draw.Draw(pair, before, image.NewUniform(sheetUnread), image.Point{}, draw.Src)
		Cross(pair, before, sheetUnreadX)
	} else {
		draw.Draw(pair, before, p.Photo, image.Point{}, draw.Src)
		col := SheetSkipped
		if p.Crop != nil {
			col = SheetOK
		}
		for i := range p.Outline {
			Line(pair, before, p.Outline[i], p.Outline[(i+1)%len(p.Outline)], col)
		}
		for _, m := range p.Marks {
			Dot(pair, before, m, SheetMark)
		}
	}
	if p.Crop != nil {
		draw.Draw(pair, after, p.Crop, image.Point{}, draw.Src)
		for _, g := range p.Guides {
			Line(pair, after, g[0], g[1], SheetGuide)
		}
	} else {
		draw.Draw(pair, after, image.NewUniform(sheetNoCrop), image.Point{}, draw.Src)
		Cross(pair, after, SheetSkipped)
	}
	s.pairs = append(s.pairs, pair)
}

// Image lays the pairs out, SheetCols to a row (an empty pair's space when
// there are none).
func (s *Sheet) Image() image.Image {
	if len(s.pairs) == 0 {
		m := image.NewRGBA(image.Rect(0, 0, 2*SheetTile+SheetGap+12, SheetTile+12))
		draw.Draw(m, m.Rect, image.NewUniform(SheetBackground), image.Point{}, draw.Src)
		return m
	}
	return Grid(s.pairs, SheetCols, 6, SheetBackground)
}

// BoxShrink averages f×f blocks of src (the last partial ones dropped):
// a cheap first step of a large reduction.
func BoxShrink(src *image.RGBA, f int) *image.RGBA {
	if f <= 1 {
		return src
	}
	w, h := src.Rect.Dx()/f, src.Rect.Dy()/f
	dst := image.NewRGBA(image.Rect(0, 0, max(w, 1), max(h, 1)))
	n := uint32(f * f)
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var s [4]uint32
			for yy := y * f; yy < y*f+f; yy++ {
				row := src.Pix[src.PixOffset(x*f, yy):][:4*f]
				for i := 0; i < len(row); i += 4 {
					s[0] += uint32(row[i])
					s[1] += uint32(row[i+1])
					s[2] += uint32(row[i+2])
					s[3] += uint32(row[i+3])
				}
			}
			o := dst.PixOffset(x, y)
			for c := range s {
				dst.Pix[o+c] = uint8((s[c] + n/2) / n)
			}
		}
	}
	return dst
}

// Line draws a 1-pixel line from a to b (coordinates inside the tile r of
// m), clipped to r.
func Line(m *image.RGBA, r image.Rectangle, a, b [2]float64, c color.RGBA) {
	n := int(math.Ceil(math.Max(math.Abs(b[0]-a[0]), math.Abs(b[1]-a[1])))) + 1
	for i := 0; i <= n; i++ {
		t := float64(i) / float64(n)
		p := image.Pt(r.Min.X+int(math.Floor(a[0]+t*(b[0]-a[0]))), r.Min.Y+int(math.Floor(a[1]+t*(b[1]-a[1]))))
		if p.In(r) {
			m.SetRGBA(p.X, p.Y, c)
		}
	}
}

// Dot draws a 3×3 dot centred on p (coordinates inside the tile r of m).
func Dot(m *image.RGBA, r image.Rectangle, p [2]float64, c color.RGBA) {
	x, y := r.Min.X+int(math.Floor(p[0])), r.Min.Y+int(math.Floor(p[1]))
	for dy := -1; dy <= 1; dy++ {
		for dx := -1; dx <= 1; dx++ {
			if q := image.Pt(x+dx, y+dy); q.In(r) {
				m.SetRGBA(q.X, q.Y, c)
			}
		}
	}
}

// Cross draws the diagonals of the tile r of m.
func Cross(m *image.RGBA, r image.Rectangle, c color.RGBA) {
	t := float64(r.Dx() - 1)
	Line(m, r, [2]float64{0, 0}, [2]float64{t, t}, c)
	Line(m, r, [2]float64{t, 0}, [2]float64{0, t}, c)
}
