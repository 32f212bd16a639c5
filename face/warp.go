package face

import (
	"image"
	"math"

	xdraw "golang.org/x/image/draw"
	"golang.org/x/image/math/f64"
)

// Point is a position in an image, in pixels: x to the right, y down, with
// the image's top-left corner at (0, 0) and pixel (i, j) covering
// [i, i+1)×[j, j+1), the convention of the landmarks and of
// golang.org/x/image/draw (a pixel's centre is at (i+0.5, j+0.5)).
type Point [2]float64

// Similarity is a rotation by Angle radians, a uniform scale and a shift,
// mapping a point p of one image to Scale·R(Angle)·p + (Tx, Ty), where
// R(θ) = [cos θ, −sin θ; sin θ, cos θ]. With y pointing down, a positive
// angle turns clockwise on screen.
type Similarity struct {
	Scale, Angle, Tx, Ty float64
}

// Apply maps p.
func (s Similarity) Apply(p Point) Point {
	c, n := math.Cos(s.Angle)*s.Scale, math.Sin(s.Angle)*s.Scale
	return Point{c*p[0] - n*p[1] + s.Tx, n*p[0] + c*p[1] + s.Ty}
}

// Invert returns the inverse mapping.
func (s Similarity) Invert() Similarity {
	inv := Similarity{Scale: 1 / s.Scale, Angle: -s.Angle}
	t := inv.Apply(Point{s.Tx, s.Ty})
	inv.Tx, inv.Ty = -t[0], -t[1]
	return inv
}

// Aff3 is the mapping as golang.org/x/image/math/f64's row-major 2×3
// matrix.
func (s Similarity) Aff3() f64.Aff3 {
	c, n := math.Cos(s.Angle)*s.Scale, math.Sin(s.Angle)*s.Scale
	return f64.Aff3{c, -n, s.Tx, n, c, s.Ty}
}

// SimilarityFromPairs is the similarity that maps a to a2 and b to b2
// (a ≠ b).
func SimilarityFromPairs(a, b, a2, b2 Point) Similarity {
	dx, dy := b[0]-a[0], b[1]-a[1]
	ex, ey := b2[0]-a2[0], b2[1]-a2[1]
	scale := math.Hypot(ex, ey) / math.Hypot(dx, dy)
	angle := math.Atan2(ey, ex) - math.Atan2(dy, dx)
	s := Similarity{Scale: scale, Angle: angle}
	p := s.Apply(a)
	s.Tx, s.Ty = a2[0]-p[0], a2[1]-p[1]
	return s
}

// Edge says what a warp puts where the output looks outside the source.
type Edge int

const (
	// EdgeBlack fills pixels beyond the source with opaque black.
	EdgeBlack Edge = iota
	// EdgeReplicate repeats the source's border pixels outwards.
	EdgeReplicate
)

// Warp resamples src (bounds starting at (0, 0)) into a new w×h image
// through the similarity src2dst, with Catmull-Rom interpolation (its
// support widened when shrinking, so that a large face is averaged, not
// aliased). Where the output looks beyond src, edge says what it sees.
func Warp(src *image.RGBA, src2dst Similarity, w, h int, edge Edge) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	d2s := src2dst.Invert()
	// The source pixels the output can reach: the output rectangle's
	// footprint, widened by the kernel's support (scaled when shrinking).
	minX, minY := math.Inf(1), math.Inf(1)
	maxX, maxY := math.Inf(-1), math.Inf(-1)
	for _, c := range []Point{{0, 0}, {float64(w), 0}, {0, float64(h)}, {float64(w), float64(h)}} {
		p := d2s.Apply(c)
		minX, maxX = math.Min(minX, p[0]), math.Max(maxX, p[0])
		minY, maxY = math.Min(minY, p[1]), math.Max(maxY, p[1])
	}
	margin := 2*math.Max(1, d2s.Scale) + 2
	r := image.Rect(int(math.Floor(minX-margin)), int(math.Floor(minY-margin)),
		int(math.Ceil(maxX+margin)), int(math.Ceil(maxY+margin)))
	var from *image.RGBA
	if r.In(src.Rect) {
		from = src
	} else {
		from = padRegion(src, r, edge)
	}
	xdraw.CatmullRom.Transform(dst, src2dst.Aff3(), from, r, xdraw.Src, nil)
	return dst
}

// padRegion copies the rectangle r of src (which may reach beyond src)
// into a new image with bounds r, filling what lies outside src by edge.
func padRegion(src *image.RGBA, r image.Rectangle, edge Edge) *image.RGBA {
	m := image.NewRGBA(r)
	sb := src.Rect
	if sb.Empty() {
		return m
	}
	clamp := func(v, lo, hi int) int { return min(max(v, lo), hi-1) }
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := m.Pix[m.PixOffset(r.Min.X, y):][:4*r.Dx()]
		if edge == EdgeBlack && (y < sb.Min.Y || y >= sb.Max.Y) {
			for i := 3; i < len(row); i += 4 {
				row[i] = 0xff
			}
			continue
		}
		sy := clamp(y, sb.Min.Y, sb.Max.Y)
		srow := src.Pix[src.PixOffset(sb.Min.X, sy):][:4*sb.Dx()]
		for x := r.Min.X; x < r.Max.X; x++ {
			o := 4 * (x - r.Min.X)
			if edge == EdgeBlack && (x < sb.Min.X || x >= sb.Max.X) {
				row[o+3] = 0xff
				continue
			}
			s := 4 * (clamp(x, sb.Min.X, sb.Max.X) - sb.Min.X)
			copy(row[o:o+4], srow[s:s+4])
		}
	}
	return m
}
