package picture

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
)

// Grid lays tiles out in rows of cols, left to right and top to bottom,
// with pad pixels of bg between neighbouring tiles and around the outside.
// It is the usual way to show a batch of generator samples at a glance.
//
// All tiles must have the same size. If cols <= 0 Grid picks
// ceil(sqrt(len(tiles))) columns, giving a near-square grid; cols larger
// than len(tiles) is reduced to len(tiles). A short last row is filled
// with bg. A nil bg means black. With no tiles the result is an empty
// image.
//
// For cols columns and rows rows of w×h tiles the result is
// cols*w + (cols+1)*pad pixels wide and rows*h + (rows+1)*pad tall, and
// tile i has its top-left corner at
// (pad + (i%cols)*(w+pad), pad + (i/cols)*(h+pad)).
//
// Grid panics if pad is negative or the tiles differ in size.
func Grid(tiles []image.Image, cols, pad int, bg color.Color) *image.NRGBA {
	if pad < 0 {
		panic(fmt.Sprintf("picture: Grid: negative pad %d", pad))
	}
	n := len(tiles)
	if n == 0 {
		return image.NewNRGBA(image.Rectangle{})
	}
	if cols <= 0 {
		cols = int(math.Ceil(math.Sqrt(float64(n))))
	}
	cols = min(cols, n)
	rows := (n + cols - 1) / cols

	size := tiles[0].Bounds().Size()
	for i, t := range tiles {
		if s := t.Bounds().Size(); s != size {
			panic(fmt.Sprintf("picture: Grid: tile %d is %dx%d, tile 0 is %dx%d",
				i, s.X, s.Y, size.X, size.Y))
		}
	}

	dst := image.NewNRGBA(image.Rect(0, 0,
		cols*size.X+(cols+1)*pad,
		rows*size.Y+(rows+1)*pad))
	if bg == nil {
		bg = color.Black
	}
	draw.Draw(dst, dst.Bounds(), image.NewUniform(bg), image.Point{}, draw.Src)

	for i, t := range tiles {
		at := image.Pt(pad+(i%cols)*(size.X+pad), pad+(i/cols)*(size.Y+pad))
		drawTile(dst, at, t)
	}
	return dst
}

// drawTile draws t onto dst with its top-left corner at at, compositing
// any transparency over what is already there. Opaque *image.Gray and
// *image.NRGBA tiles, which is what FromTensor produces, take a fast path
// that copies bytes instead of converting every pixel.
func drawTile(dst *image.NRGBA, at image.Point, t image.Image) {
	b := t.Bounds()
	w := b.Dx()
	switch m := t.(type) {
	case *image.Gray:
		for y := range b.Dy() {
			src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:w]
			out := dst.Pix[dst.PixOffset(at.X, at.Y+y):][:4*w]
			for x, v := range src {
				out[4*x+0] = v
				out[4*x+1] = v
				out[4*x+2] = v
				out[4*x+3] = 0xff
			}
		}
		return
	case *image.NRGBA:
		if m.Opaque() {
			for y := range b.Dy() {
				copy(dst.Pix[dst.PixOffset(at.X, at.Y+y):][:4*w],
					m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):][:4*w])
			}
			return
		}
	}
	draw.Draw(dst, image.Rectangle{at, at.Add(b.Size())}, t, b.Min, draw.Over)
}

// TableGrid lays cells out as a table headed by top (one tile per column)
// and left (one per row), with a bg tile in the corner: StyleGAN's
// style-mixing figure. cells[r] has len(top) tiles; all tiles have the
// same size (see Grid, which it calls with pad and bg).
func TableGrid(top, left []image.Image, cells [][]image.Image, pad int, bg color.Color) *image.NRGBA {
	if len(top) == 0 {
		return Grid(nil, 0, pad, bg)
	}
	b := top[0].Bounds()
	corner := image.NewUniform(bg)
	if bg == nil {
		corner = image.NewUniform(color.Black)
	}
	blank := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(blank, blank.Rect, corner, image.Point{}, draw.Src)
	tiles := append([]image.Image{blank}, top...)
	for r, row := range cells {
		tiles = append(tiles, left[r])
		tiles = append(tiles, row...)
	}
	return Grid(tiles, len(top)+1, pad, bg)
}
