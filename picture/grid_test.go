package picture

import (
	"image"
	"image/color"
	"testing"
)

func TestGridLayout(t *testing.T) {
	const w, h, pad, cols = 4, 3, 2, 3
	var tiles []image.Image
	for i := range 7 {
		m := image.NewGray(image.Rect(0, 0, w, h))
		for j := range m.Pix {
			m.Pix[j] = uint8(10 * (i + 1))
		}
		tiles = append(tiles, m)
	}
	// Mark one pixel of tile 4 (row 1, column 1).
	tiles[4].(*image.Gray).SetGray(1, 2, color.Gray{Y: 250})
	bg := color.NRGBA{1, 2, 3, 255}

	g := Grid(tiles, cols, pad, bg)
	// 3 columns, 3 rows (7 tiles).
	if want := image.Rect(0, 0, cols*w+(cols+1)*pad, 3*h+4*pad); g.Bounds() != want {
		t.Fatalf("bounds = %v, want %v", g.Bounds(), want)
	}
	x0, y0 := pad+1*(w+pad), pad+1*(h+pad) // tile 4's top-left corner
	if got := g.NRGBAAt(x0+1, y0+2); got != (color.NRGBA{250, 250, 250, 255}) {
		t.Errorf("marked pixel = %v, want gray 250", got)
	}
	if got := g.NRGBAAt(x0, y0); got != (color.NRGBA{50, 50, 50, 255}) {
		t.Errorf("tile 4 corner = %v, want gray 50", got)
	}
	// Padding and the empty cells of the last row are background.
	for _, p := range []image.Point{{0, 0}, {x0 - 1, y0}, {x0, y0 - 1}, {g.Bounds().Dx() - 1, g.Bounds().Dy() - 1}} {
		if got := g.NRGBAAt(p.X, p.Y); got != bg {
			t.Errorf("%v = %v, want background", p, got)
		}
	}
}

func TestGridColourAndSubImages(t *testing.T) {
	a := image.NewNRGBA(image.Rect(0, 0, 2, 2))
	b := image.NewRGBA(image.Rect(0, 0, 4, 4))
	for i := range a.Pix {
		a.Pix[i] = 255
	}
	b.Set(3, 3, color.RGBA{0, 255, 0, 255})
	tiles := []image.Image{a, b.SubImage(image.Rect(2, 2, 4, 4))}
	g := Grid(tiles, 0, 1, nil) // cols 0: near-square -> 2 columns
	if want := image.Rect(0, 0, 2*2+3, 2+2); g.Bounds() != want {
		t.Fatalf("bounds = %v, want %v", g.Bounds(), want)
	}
	if got := g.NRGBAAt(1, 1); got != (color.NRGBA{255, 255, 255, 255}) {
		t.Errorf("tile 0 = %v, want white", got)
	}
	// Sub-image pixel (3,3) is its (1,1): tile 1 at x=4, so (5,2).
	if got := g.NRGBAAt(5, 2); got != (color.NRGBA{0, 255, 0, 255}) {
		t.Errorf("tile 1 pixel = %v, want green", got)
	}
	// A transparent tile pixel shows the (nil -> black) background.
	if got := g.NRGBAAt(4, 1); got != (color.NRGBA{0, 0, 0, 255}) {
		t.Errorf("transparent pixel = %v, want black background", got)
	}
}

func TestGridEdgeCases(t *testing.T) {
	if g := Grid(nil, 4, 2, nil); !g.Bounds().Empty() {
		t.Errorf("no tiles: bounds = %v, want empty", g.Bounds())
	}
	tile := image.NewGray(image.Rect(0, 0, 5, 5))
	// More columns than tiles: a single row just wide enough.
	if g := Grid([]image.Image{tile, tile}, 10, 0, nil); g.Bounds() != image.Rect(0, 0, 10, 5) {
		t.Errorf("cols > n: bounds = %v", g.Bounds())
	}
	defer func() {
		if recover() == nil {
			t.Error("mismatched tile sizes did not panic")
		}
	}()
	Grid([]image.Image{tile, image.NewGray(image.Rect(0, 0, 4, 5))}, 2, 0, nil)
}

// TableGrid heads the cells with a row of top tiles and a column of left
// ones, with a blank corner.
func TestTableGrid(t *testing.T) {
	tile := func(v uint8) image.Image {
		m := image.NewGray(image.Rect(0, 0, 4, 3))
		for i := range m.Pix {
			m.Pix[i] = v
		}
		return m
	}
	g := TableGrid([]image.Image{tile(10), tile(20)}, []image.Image{tile(30)}, [][]image.Image{{tile(40), tile(50)}}, 1, color.White)
	if g.Bounds() != image.Rect(0, 0, 3*4+4*1, 2*3+3*1) {
		t.Fatalf("bounds %v", g.Bounds())
	}
	for _, c := range []struct {
		x, y int
		want uint8
	}{{1, 1, 255}, {6, 1, 10}, {11, 1, 20}, {1, 5, 30}, {6, 5, 40}, {11, 5, 50}} {
		if got := color.GrayModel.Convert(g.At(c.x, c.y)).(color.Gray).Y; got != c.want {
			t.Errorf("(%d, %d) = %d, want %d", c.x, c.y, got, c.want)
		}
	}
}
