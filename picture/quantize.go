package picture

import (
	"cmp"
	"image"
	"image/color"
	"math"
	"slices"
)

// This file builds one GIF palette shared by all frames of an animation.
//
// A shared palette matters for training-progress animations: if every
// frame were quantized on its own, the same colour would land on
// different palette entries from frame to frame and the animation would
// shimmer. Building the palette from the colours actually present (rather
// than a fixed web palette such as palette.Plan9) keeps the subtle tones
// of generated images.

// rgb is a colour packed as 0xRRGGBB.
type rgb uint32

func packRGB(r, g, b uint8) rgb { return rgb(r)<<16 | rgb(g)<<8 | rgb(b) }

func (c rgb) unpack() (r, g, b uint8) { return uint8(c >> 16), uint8(c >> 8), uint8(c) }

// eachRGB calls f for every pixel of m in row-major order with the
// pixel's colour composited over black, which is how GIF (having no
// partial transparency) shows it.
func eachRGB(m image.Image, f func(i int, r, g, b uint8)) {
	bd := m.Bounds()
	w := bd.Dx()
	i := 0
	switch m := m.(type) {
	case *image.Gray:
		for y := bd.Min.Y; y < bd.Max.Y; y++ {
			for _, v := range m.Pix[m.PixOffset(bd.Min.X, y):][:w] {
				f(i, v, v, v)
				i++
			}
		}
	case *image.NRGBA:
		for y := bd.Min.Y; y < bd.Max.Y; y++ {
			row := m.Pix[m.PixOffset(bd.Min.X, y):][:4*w]
			for j := 0; j < len(row); j += 4 {
				r, g, b, a := row[j], row[j+1], row[j+2], row[j+3]
				if a != 0xff {
					r, g, b = overBlack(color.NRGBA{r, g, b, a})
				}
				f(i, r, g, b)
				i++
			}
		}
	case *image.RGBA: // already premultiplied, i.e. composited over black
		for y := bd.Min.Y; y < bd.Max.Y; y++ {
			row := m.Pix[m.PixOffset(bd.Min.X, y):][:4*w]
			for j := 0; j < len(row); j += 4 {
				f(i, row[j], row[j+1], row[j+2])
				i++
			}
		}
	default:
		for y := bd.Min.Y; y < bd.Max.Y; y++ {
			for x := bd.Min.X; x < bd.Max.X; x++ {
				r, g, b := overBlack(m.At(x, y))
				f(i, r, g, b)
				i++
			}
		}
	}
}

// overBlack returns c composited over black as 8-bit channels: its
// alpha-premultiplied colour.
func overBlack(c color.Color) (r, g, b uint8) {
	r16, g16, b16, _ := c.RGBA()
	return uint8(r16 >> 8), uint8(g16 >> 8), uint8(b16 >> 8)
}

// grayPalette is the 256-entry palette in which entry i is gray level i,
// so gray frames are stored exactly and indexed without a search.
var grayPalette = func() color.Palette {
	p := make(color.Palette, 256)
	for i := range p {
		p[i] = color.Gray{Y: uint8(i)}
	}
	return p
}()

// Colours of frames with many colours are first counted in bins holding
// the top binBits bits of each channel. Median cut and the final mapping
// then work on at most numBins bins rather than on up to millions of
// distinct colours, which keeps a long animation of noisy early-training
// samples fast. Each bin remembers the exact sum of its colours, so
// palette entries are still precise averages; the only approximation is
// that all colours of one bin (a 4×4×4 cube) map to the same entry, an
// error far below the spacing of a 256-colour palette.
const (
	binBits  = 6
	binShift = 8 - binBits
	numBins  = 1 << (3 * binBits)
)

// binOf returns the bin of colour (r, g, b).
func binOf(r, g, b uint8) int {
	return int(r>>binShift)<<(2*binBits) | int(g>>binShift)<<binBits | int(b>>binShift)
}

// colorBin accumulates the pixels that fall in one bin.
type colorBin struct {
	n       uint64
	r, g, b uint64 // sums of the channel values
}

// mean returns the bin's average colour.
func (b *colorBin) mean() [3]float64 {
	n := float64(b.n)
	return [3]float64{float64(b.r) / n, float64(b.g) / n, float64(b.b) / n}
}

// lloydIterations is how many k-means (Lloyd) refinement passes follow
// median cut. Each pass moves every palette entry to the mean of the
// colours nearest to it. Median cut alone lands close to a k-means local
// optimum; four passes take off a further 5-8% of the squared error on
// gradients and noisy samples, and more passes gain little.
const lloydIterations = 4

// quantizer maps the colours of a set of frames onto a shared palette.
type quantizer struct {
	palette color.Palette
	search  *searcher

	// Exactly one of the following modes applies.
	gray  bool          // palette is grayPalette; index is the gray level
	exact map[rgb]uint8 // palette holds every colour; colour -> index
	lut   []uint8       // bin -> index, for other colour frames
}

// newQuantizer builds a palette of at most maxColors (<= 256) entries for
// frames.
//
// Frames that are entirely gray get grayPalette. Otherwise, if the frames
// hold at most maxColors distinct colours the palette is exactly those
// colours, and if they hold more it is chosen by median cut over the
// colour histogram of all frames together (see medianCut), refined by a
// few k-means passes.
func newQuantizer(frames []image.Image, maxColors int) *quantizer {
	allGrayType := true
	for _, f := range frames {
		if _, ok := f.(*image.Gray); !ok {
			allGrayType = false
			break
		}
	}
	if allGrayType {
		return &quantizer{palette: grayPalette, gray: true}
	}

	bins := make([]colorBin, numBins)
	distinct := make(map[rgb]struct{}, maxColors+1)
	gray := true
	for _, f := range frames {
		eachRGB(f, func(_ int, r, g, b uint8) {
			bin := &bins[binOf(r, g, b)]
			bin.n++
			bin.r += uint64(r)
			bin.g += uint64(g)
			bin.b += uint64(b)
			gray = gray && r == g && g == b
			// Track distinct colours only while they could still fit
			// the palette exactly.
			if len(distinct) <= maxColors {
				distinct[packRGB(r, g, b)] = struct{}{}
			}
		})
	}
	if gray {
		return &quantizer{palette: grayPalette, gray: true}
	}

	if len(distinct) <= maxColors {
		cs := make([]rgb, 0, len(distinct))
		for c := range distinct {
			cs = append(cs, c)
		}
		// Map iteration order is random; sort so the palette, and so
		// the output file, is deterministic.
		slices.Sort(cs)
		q := &quantizer{palette: make(color.Palette, len(cs)), exact: make(map[rgb]uint8, len(cs))}
		for i, c := range cs {
			r, g, b := c.unpack()
			q.palette[i] = color.RGBA{r, g, b, 0xff}
			q.exact[c] = uint8(i)
		}
		q.search = newSearcher(q.palette)
		return q
	}

	var colors []colorCount
	var used []int // bin numbers, parallel to colors
	for i := range bins {
		if bins[i].n == 0 {
			continue
		}
		m := bins[i].mean()
		colors = append(colors, colorCount{
			c: [3]uint8{uint8(m[0] + 0.5), uint8(m[1] + 0.5), uint8(m[2] + 0.5)},
			n: int(bins[i].n),
		})
		used = append(used, i)
	}
	pal := medianCut(colors, maxColors)
	pal = refine(pal, bins, used, lloydIterations)

	q := &quantizer{palette: pal, search: newSearcher(pal), lut: make([]uint8, numBins)}
	for _, i := range used {
		m := bins[i].mean()
		q.lut[i] = uint8(q.search.nearest(int32(m[0]+0.5), int32(m[1]+0.5), int32(m[2]+0.5)))
	}
	return q
}

// refine improves pal by k-means (Lloyd) passes over the occupied bins
// used, weighting each bin by its pixel count. Entries that attract no
// bins are kept as they are.
func refine(pal color.Palette, bins []colorBin, used []int, passes int) color.Palette {
	for range passes {
		s := newSearcher(pal)
		acc := make([]colorBin, len(pal))
		for _, i := range used {
			b := &bins[i]
			m := b.mean()
			k := s.nearest(int32(m[0]+0.5), int32(m[1]+0.5), int32(m[2]+0.5))
			acc[k].n += b.n
			acc[k].r += b.r
			acc[k].g += b.g
			acc[k].b += b.b
		}
		next := make(color.Palette, len(pal))
		for k := range pal {
			if acc[k].n == 0 {
				next[k] = pal[k]
				continue
			}
			m := acc[k].mean()
			next[k] = color.RGBA{uint8(m[0] + 0.5), uint8(m[1] + 0.5), uint8(m[2] + 0.5), 0xff}
		}
		pal = next
	}
	return pal
}

// index returns the palette index for colour (r, g, b), one that occurs in
// the frames the quantizer was built from.
func (q *quantizer) index(r, g, b uint8) uint8 {
	switch {
	case q.gray:
		return r
	case q.exact != nil:
		return q.exact[packRGB(r, g, b)]
	}
	return q.lut[binOf(r, g, b)]
}

// paletted converts m, one of the frames the quantizer was built from, to
// a paletted image with origin (0, 0).
func (q *quantizer) paletted(m image.Image) *image.Paletted {
	b := m.Bounds()
	p := image.NewPaletted(image.Rect(0, 0, b.Dx(), b.Dy()), q.palette)
	if g, ok := m.(*image.Gray); ok && q.gray {
		for y := range b.Dy() {
			copy(p.Pix[y*p.Stride:][:b.Dx()], g.Pix[g.PixOffset(b.Min.X, b.Min.Y+y):])
		}
		return p
	}
	// p.Stride == b.Dx(), so the row-major pixel number is the offset.
	eachRGB(m, func(i int, r, g, b uint8) { p.Pix[i] = q.index(r, g, b) })
	return p
}

// dithered is like paletted but applies Floyd–Steinberg error diffusion:
// each pixel's quantization error is passed on to its unvisited
// neighbours (7/16 right, 3/16 below left, 5/16 below, 1/16 below right),
// so that areas average to the right colour. Gray and exactly represented
// frames have no error, so for them it is the same as paletted.
func (q *quantizer) dithered(m image.Image) *image.Paletted {
	if q.lut == nil {
		return q.paletted(m)
	}
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	p := image.NewPaletted(image.Rect(0, 0, w, h), q.palette)
	src := make([]uint8, 3*w*h)
	eachRGB(m, func(i int, r, g, b uint8) {
		src[3*i], src[3*i+1], src[3*i+2] = r, g, b
	})
	ents := make([][3]int32, len(q.palette))
	for i, c := range q.palette {
		r, g, b, _ := c.RGBA()
		ents[i] = [3]int32{int32(r >> 8), int32(g >> 8), int32(b >> 8)}
	}
	// Errors in sixteenths for the current and the next row, with one
	// spare element at each end so neighbours need no bounds checks.
	cur := make([][3]int32, w+2)
	next := make([][3]int32, w+2)
	for y := range h {
		for x := range w {
			var v [3]int32
			for k := range 3 {
				v[k] = min(max(int32(src[3*(y*w+x)+k])+(cur[x+1][k]+8)>>4, 0), 255)
			}
			idx := q.search.nearest(v[0], v[1], v[2])
			p.Pix[y*p.Stride+x] = uint8(idx)
			for k := range 3 {
				e := v[k] - ents[idx][k]
				cur[x+2][k] += 7 * e
				next[x][k] += 3 * e
				next[x+1][k] += 5 * e
				next[x+2][k] += e
			}
		}
		cur, next = next, cur
		clear(next)
	}
	return p
}

// searcher finds the nearest palette entry in Euclidean RGB distance (the
// measure color.Palette.Index uses). Entries are sorted by green, the
// channel that varies most in typical palettes, so a search can start at
// the query's green value and stop once the green difference alone
// exceeds the best distance found.
type searcher struct {
	e   [][3]int32 // entries sorted by green
	idx []int      // palette index of each entry
}

func newSearcher(pal color.Palette) *searcher {
	s := &searcher{e: make([][3]int32, len(pal)), idx: make([]int, len(pal))}
	for i := range pal {
		s.idx[i] = i
	}
	ents := make([][3]int32, len(pal))
	for i, c := range pal {
		r, g, b, _ := c.RGBA()
		ents[i] = [3]int32{int32(r >> 8), int32(g >> 8), int32(b >> 8)}
	}
	slices.SortStableFunc(s.idx, func(a, b int) int { return cmp.Compare(ents[a][1], ents[b][1]) })
	for i, k := range s.idx {
		s.e[i] = ents[k]
	}
	return s
}

// nearest returns the palette index of the entry closest to (r, g, b).
func (s *searcher) nearest(r, g, b int32) int {
	start, _ := slices.BinarySearchFunc(s.e, g, func(e [3]int32, g int32) int { return cmp.Compare(e[1], g) })
	best, bestD := -1, int32(1<<31-1)
	try := func(i int) bool { // reports whether the search may go on
		e := s.e[i]
		dg := e[1] - g
		if dg*dg >= bestD {
			return false
		}
		dr, db := e[0]-r, e[2]-b
		if d := dr*dr + dg*dg + db*db; d < bestD {
			best, bestD = i, d
		}
		return true
	}
	up, down := start, start-1
	for up < len(s.e) || down >= 0 {
		if up < len(s.e) {
			if try(up) {
				up++
			} else {
				up = len(s.e)
			}
		}
		if down >= 0 {
			if try(down) {
				down--
			} else {
				down = -1
			}
		}
	}
	return s.idx[best]
}

// colorCount is a distinct colour and how many pixels have it.
type colorCount struct {
	c [3]uint8
	n int
}

// cbox is a box of the median-cut algorithm: a run of colours together
// with the statistics used to decide which box to split next.
type cbox struct {
	colors []colorCount
	sse    float64 // sum of squared distances of all pixels to the mean
	stuck  bool    // cannot be split: all its colours are equal
}

// stats returns the pixel count, per-channel sums and sum of squared
// channel values of colors.
func stats(colors []colorCount) (n float64, sum [3]float64, sq float64) {
	for _, cc := range colors {
		w := float64(cc.n)
		n += w
		for k, v := range cc.c {
			fv := float64(v)
			sum[k] += w * fv
			sq += w * fv * fv
		}
	}
	return n, sum, sq
}

// sse returns the sum of squared errors for a cluster with the given
// statistics: Σ n|c|² − |Σ n c|² / N.
func sse(n float64, sum [3]float64, sq float64) float64 {
	if n == 0 {
		return 0
	}
	return sq - (sum[0]*sum[0]+sum[1]*sum[1]+sum[2]*sum[2])/n
}

// medianCut reduces colors (distinct colours weighted by pixel count) to
// k representative colours.
//
// It is the variance-based refinement of Heckbert's median cut: it
// repeatedly splits the box with the largest total squared error, along
// the channel with the largest variance, at the position that minimises
// the summed squared error of the two halves (rather than at the plain
// median). Each palette entry is the pixel-weighted mean of its box. The
// result spends entries where pixels actually are, which suits generated
// images: large smooth areas of a few hues plus fine detail.
func medianCut(colors []colorCount, k int) color.Palette {
	n, sum, sq := stats(colors)
	boxes := []cbox{{colors: colors, sse: sse(n, sum, sq)}}
	for len(boxes) < k {
		// Pick the splittable box with the largest error.
		bi := -1
		for i, b := range boxes {
			if len(b.colors) > 1 && !b.stuck && (bi < 0 || b.sse > boxes[bi].sse) {
				bi = i
			}
		}
		if bi < 0 {
			break // every box is a single colour
		}
		lo, hi, ok := split(boxes[bi].colors)
		if !ok {
			boxes[bi].stuck = true
			continue
		}
		boxes[bi] = lo
		boxes = append(boxes, hi)
	}

	pal := make(color.Palette, len(boxes))
	for i, b := range boxes {
		n, sum, _ := stats(b.colors)
		var c [3]uint8
		for k := range c {
			c[k] = uint8(sum[k]/n + 0.5)
		}
		pal[i] = color.RGBA{c[0], c[1], c[2], 0xff}
	}
	return pal
}

// split divides colors into two non-empty boxes. It cuts along the
// channel of largest variance, between two adjacent values of that
// channel, where the two halves' summed squared error is smallest, and
// partitions colors in place accordingly. It reports false, and does
// nothing, if all of colors are the same colour.
//
// Channel values are bytes, so per-value statistics fit in small arrays
// and a split costs O(len(colors)) with no sorting.
func split(colors []colorCount) (lo, hi cbox, ok bool) {
	type bucket struct {
		n   float64
		sum [3]float64
		sq  float64
	}
	var hist [3][256]bucket
	for _, cc := range colors {
		w := float64(cc.n)
		var s [3]float64
		var sq float64
		for k, v := range cc.c {
			fv := float64(v)
			s[k] = w * fv
			sq += w * fv * fv
		}
		for k, v := range cc.c {
			b := &hist[k][v]
			b.n += w
			b.sum[0] += s[0]
			b.sum[1] += s[1]
			b.sum[2] += s[2]
			b.sq += sq
		}
	}
	n, sum, sq := stats(colors)

	// Choose the axis: largest variance among channels that take at
	// least two values (and so can be cut).
	axis, best := -1, -1.0
	for k := range 3 {
		distinct := 0
		for v := range 256 {
			if hist[k][v].n > 0 {
				distinct++
			}
		}
		if distinct < 2 {
			continue
		}
		var sqk float64
		for v := range 256 {
			sqk += hist[k][v].n * float64(v) * float64(v)
		}
		if v := sqk - sum[k]*sum[k]/n; v > best {
			axis, best = k, v
		}
	}
	if axis < 0 {
		return cbox{}, cbox{}, false
	}

	// Scan the cut positions: cut after value v means values <= v go low.
	var (
		l       bucket
		cut     = -1
		bestSSE = math.Inf(1)
		loSSE   float64
		hiSSE   float64
	)
	for v := range 255 {
		b := hist[axis][v]
		if b.n == 0 {
			continue
		}
		l.n += b.n
		l.sq += b.sq
		for k := range 3 {
			l.sum[k] += b.sum[k]
		}
		if l.n == n {
			break // nothing above v
		}
		hsum := [3]float64{sum[0] - l.sum[0], sum[1] - l.sum[1], sum[2] - l.sum[2]}
		ls, hs := sse(l.n, l.sum, l.sq), sse(n-l.n, hsum, sq-l.sq)
		if cut < 0 || ls+hs < bestSSE {
			cut, bestSSE, loSSE, hiSSE = v, ls+hs, ls, hs
		}
	}

	// Partition in place: values <= cut first.
	i, j := 0, len(colors)-1
	for i <= j {
		if int(colors[i].c[axis]) <= cut {
			i++
		} else {
			colors[i], colors[j] = colors[j], colors[i]
			j--
		}
	}
	return cbox{colors: colors[:i], sse: max(loSSE, 0)},
		cbox{colors: colors[i:], sse: max(hiSSE, 0)}, true
}
