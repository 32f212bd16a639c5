package main

// The contact sheet of `forger face align`: for each report row, the photo
// (with the crop's outline and the eye centres) beside the crop.

import (
	"image"
	"image/color"
	"image/draw"
	"math"

	"forger/face"
	"forger/picture"
)

const (
	sheetTile = 128 // side of a thumbnail
	sheetGap  = 4   // between a photo and its crop
	sheetCols = 4   // pairs per row
)

var (
	sheetBG      = color.RGBA{32, 32, 32, 255}
	sheetOK      = color.RGBA{64, 224, 64, 255}
	sheetSkipped = color.RGBA{232, 48, 48, 255}
	sheetEye     = color.RGBA{255, 224, 0, 255}
	sheetGuide   = color.RGBA{0, 224, 255, 255}
)

// contactSheet collects before/after pairs, up to max of them.
type contactSheet struct {
	max     int
	pairs   []image.Image
	dropped int
}

func newContactSheet(max int) *contactSheet { return &contactSheet{max: max} }

// add adds a pair: img (nil when it could not be read) with face f's crop
// outline (nil: no face), and the crop (nil: skipped).
func (s *contactSheet) add(img image.Image, f *face.Face, crop *image.RGBA) {
	if len(s.pairs) >= s.max {
		s.dropped++
		return
	}
	pair := image.NewRGBA(image.Rect(0, 0, 2*sheetTile+sheetGap, sheetTile))
	draw.Draw(pair, pair.Rect, image.NewUniform(sheetBG), image.Point{}, draw.Src)
	before := image.Rect(0, 0, sheetTile, sheetTile)
	after := before.Add(image.Pt(sheetTile+sheetGap, 0))
	ok := crop != nil
	if img == nil {
		draw.Draw(pair, before, image.NewUniform(color.RGBA{72, 72, 72, 255}), image.Point{}, draw.Src)
		sheetCross(pair, before, color.RGBA{140, 140, 140, 255})
	} else {
		thumb, toThumb := sheetThumb(img)
		draw.Draw(pair, before, thumb, image.Point{}, draw.Src)
		if f != nil {
			col := sheetSkipped
			if ok {
				col = sheetOK
			}
			// The crop's square, mapped back into the photo, then the thumbnail.
			back := face.AlignTransform(f.LeftEye, f.RightEye, sheetTile).Invert()
			var c [4]face.Point
			for i, p := range []face.Point{{0, 0}, {sheetTile, 0}, {sheetTile, sheetTile}, {0, sheetTile}} {
				c[i] = toThumb.Apply(back.Apply(p))
			}
			for i := range c {
				sheetLine(pair, before, c[i], c[(i+1)%4], col)
			}
			for _, e := range []face.Point{f.LeftEye, f.RightEye} {
				p := toThumb.Apply(e)
				sheetDot(pair, before, p, sheetEye)
			}
		}
	}
	if ok {
		k := float64(sheetTile) / float64(crop.Rect.Dx())
		small := face.Warp(crop, face.Similarity{Scale: k}, sheetTile, sheetTile, face.EdgeReplicate)
		draw.Draw(pair, after, small, image.Point{}, draw.Src)
		// Ticks on the borders where the eyes should be.
		t := float64(sheetTile)
		ey := face.AlignEyeY * t
		for _, x := range []float64{face.AlignLeftX * t, face.AlignRightX * t} {
			sheetLine(pair, after, face.Point{x, 0}, face.Point{x, 5}, sheetGuide)
			sheetLine(pair, after, face.Point{x, t - 6}, face.Point{x, t - 1}, sheetGuide)
		}
		sheetLine(pair, after, face.Point{0, ey}, face.Point{5, ey}, sheetGuide)
		sheetLine(pair, after, face.Point{t - 6, ey}, face.Point{t - 1, ey}, sheetGuide)
	} else {
		draw.Draw(pair, after, image.NewUniform(color.RGBA{88, 24, 24, 255}), image.Point{}, draw.Src)
		sheetCross(pair, after, sheetSkipped)
	}
	s.pairs = append(s.pairs, pair)
}

// image lays the pairs out, sheetCols to a row.
func (s *contactSheet) image() image.Image {
	if len(s.pairs) == 0 {
		m := image.NewRGBA(image.Rect(0, 0, 2*sheetTile+sheetGap+12, sheetTile+12))
		draw.Draw(m, m.Rect, image.NewUniform(sheetBG), image.Point{}, draw.Src)
		return m
	}
	return picture.Grid(s.pairs, sheetCols, 6, sheetBG)
}

// sheetThumb fits img into a sheetTile square (letterboxed in black) and
// returns it with the mapping from img's pixels to the thumbnail's.
func sheetThumb(img image.Image) (*image.RGBA, face.Similarity) {
	b := img.Bounds()
	src := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(src, src.Rect, img, b.Min, draw.Src)
	// Shrink by an integer factor with a box filter first, so that the
	// Catmull-Rom pass has a short kernel.
	f := max(1, min(b.Dx(), b.Dy())/(2*sheetTile), max(b.Dx(), b.Dy())/(4*sheetTile))
	small := sheetShrink(src, f)
	w, h := float64(b.Dx()), float64(b.Dy())
	k := float64(sheetTile) / math.Max(w, h)
	toThumb := face.Similarity{Scale: k, Tx: (sheetTile - w*k) / 2, Ty: (sheetTile - h*k) / 2}
	fromSmall := face.Similarity{Scale: k * float64(f), Tx: toThumb.Tx, Ty: toThumb.Ty}
	return face.Warp(small, fromSmall, sheetTile, sheetTile, face.EdgeBlack), toThumb
}

// sheetShrink averages f×f blocks (the last partial ones dropped).
func sheetShrink(src *image.RGBA, f int) *image.RGBA {
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

// sheetLine draws a 1-pixel line from a to b (coordinates inside the tile r),
// clipped to r.
func sheetLine(m *image.RGBA, r image.Rectangle, a, b face.Point, c color.RGBA) {
	n := int(math.Ceil(math.Max(math.Abs(b[0]-a[0]), math.Abs(b[1]-a[1])))) + 1
	for i := 0; i <= n; i++ {
		t := float64(i) / float64(n)
		p := image.Pt(r.Min.X+int(math.Floor(a[0]+t*(b[0]-a[0]))), r.Min.Y+int(math.Floor(a[1]+t*(b[1]-a[1]))))
		if p.In(r) {
			m.SetRGBA(p.X, p.Y, c)
		}
	}
}

// sheetDot draws a 3×3 dot centred on p (tile coordinates).
func sheetDot(m *image.RGBA, r image.Rectangle, p face.Point, c color.RGBA) {
	x, y := r.Min.X+int(math.Floor(p[0])), r.Min.Y+int(math.Floor(p[1]))
	for dy := -1; dy <= 1; dy++ {
		for dx := -1; dx <= 1; dx++ {
			if q := image.Pt(x+dx, y+dy); q.In(r) {
				m.SetRGBA(q.X, q.Y, c)
			}
		}
	}
}

// sheetCross draws the tile's diagonals.
func sheetCross(m *image.RGBA, r image.Rectangle, c color.RGBA) {
	t := float64(r.Dx() - 1)
	sheetLine(m, r, face.Point{0, 0}, face.Point{t, t}, c)
	sheetLine(m, r, face.Point{t, 0}, face.Point{0, t}, c)
}
