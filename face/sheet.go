package face

// The contact sheet of an alignment (forger face align): for each row, the
// photo (with the crop's outline and the eye centres) beside the crop.
// picture draws it; this file maps the face's geometry onto its tiles.

import (
	"image"
	"image/draw"
	"math"

	"forger/picture"
)

const sheetTile = picture.SheetTile

// ContactSheet collects before/after pairs, up to max of them; Image
// (picture.Sheet's) lays them out.
type ContactSheet struct{ picture.Sheet }

// NewContactSheet returns a sheet of at most max pairs (later ones are
// counted as dropped).
func NewContactSheet(max int) *ContactSheet { return &ContactSheet{picture.Sheet{Max: max}} }

// add adds a pair: img (nil when it could not be read) with face f's crop
// outline (nil: no face), and the crop (nil: skipped).
func (s *ContactSheet) Add(img image.Image, f *Face, crop *image.RGBA) {
	if s.Len() >= s.Max { // dropped: no thumbnail to make
		s.Dropped++
		return
	}
	var p picture.SheetPair
	if img != nil {
		thumb, toThumb := sheetThumb(img)
		p.Photo = thumb
		if f != nil {
			// The crop's square, mapped back into the photo, then the thumbnail.
			back := AlignTransform(f.LeftEye, f.RightEye, sheetTile).Invert()
			for _, c := range []Point{{0, 0}, {sheetTile, 0}, {sheetTile, sheetTile}, {0, sheetTile}} {
				p.Outline = append(p.Outline, toThumb.Apply(back.Apply(c)))
			}
			for _, e := range []Point{f.LeftEye, f.RightEye} {
				p.Marks = append(p.Marks, toThumb.Apply(e))
			}
		}
	}
	if crop != nil {
		k := float64(sheetTile) / float64(crop.Rect.Dx())
		p.Crop = Warp(crop, Similarity{Scale: k}, sheetTile, sheetTile, EdgeReplicate)
		// Ticks on the borders where the eyes should be.
		t := float64(sheetTile)
		ey := AlignEyeY * t
		for _, x := range []float64{AlignLeftX * t, AlignRightX * t} {
			p.Guides = append(p.Guides, [2][2]float64{{x, 0}, {x, 5}}, [2][2]float64{{x, t - 6}, {x, t - 1}})
		}
		p.Guides = append(p.Guides, [2][2]float64{{0, ey}, {5, ey}}, [2][2]float64{{t - 6, ey}, {t - 1, ey}})
	}
	s.Sheet.Add(p)
}

// sheetThumb fits img into a sheetTile square (letterboxed in black) and
// returns it with the mapping from img's pixels to the thumbnail's.
func sheetThumb(img image.Image) (*image.RGBA, Similarity) {
	b := img.Bounds()
	src := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(src, src.Rect, img, b.Min, draw.Src)
	// Shrink by an integer factor with a box filter first, so that the
	// Catmull-Rom pass has a short kernel.
	f := max(1, min(b.Dx(), b.Dy())/(2*sheetTile), max(b.Dx(), b.Dy())/(4*sheetTile))
	small := picture.BoxShrink(src, f)
	w, h := float64(b.Dx()), float64(b.Dy())
	k := float64(sheetTile) / math.Max(w, h)
	toThumb := Similarity{Scale: k, Tx: (sheetTile - w*k) / 2, Ty: (sheetTile - h*k) / 2}
	fromSmall := Similarity{Scale: k * float64(f), Tx: toThumb.Tx, Ty: toThumb.Ty}
	return Warp(small, fromSmall, sheetTile, sheetTile, EdgeBlack), toThumb
}
