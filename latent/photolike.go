package latent

import (
	"math"
	"math/rand/v2"
	"slices"
)

// photoLike transforms an image x (size×size×ch in [-1, 1], in place) of a
// data set with a plain background, such as rendered cartoon faces, into a
// rough stand-in for a photograph: the background (the region of the
// border's colour connected to the border) becomes a random colour
// gradient with smooth blotches, the colours get a random cast,
// brightness, contrast and saturation, and the whole is blurred and
// noised. An encoder trained on such images with the image loss learns to
// answer images the generator cannot draw with the nearest one it can, as
// a projection does; without them it has only ever seen the generator's
// own style (latent/README.md measures the difference on photos).
//
// mask and queue are scratch space of size·size elements.
func photoLike(rng *rand.Rand, x []float32, size, ch int, mask []bool, queue []int) {
	n := size * size
	at := func(p, c int) float32 { return x[p*ch+c] }
	backgroundMask(x, size, ch, mask, queue)

	// A new background: a gradient between two random colours along a
	// random direction, plus blotches (random values on a 5×5 grid,
	// bilinearly upsampled).
	if rng.Float64() < 0.9 {
		var c0, c1 [3]float64
		// Muted colours, mostly darker than the cartoon's light gray.
		l0, l1 := 1.8*rng.Float64()-1, 1.8*rng.Float64()-1
		for c := range ch {
			c0[c], c1[c] = l0+0.6*(rng.Float64()-0.5), l1+0.6*(rng.Float64()-0.5)
		}
		angle := 2 * math.Pi * rng.Float64()
		dx, dy := math.Cos(angle), math.Sin(angle)
		amp := 0.4 * rng.Float64()
		var grid [3][5][5]float64
		for c := range ch {
			for i := range 5 {
				for j := range 5 {
					grid[c][i][j] = amp * (2*rng.Float64() - 1)
				}
			}
		}
		for p := range n {
			if !mask[p] {
				continue
			}
			u, v := float64(p%size)/float64(size-1), float64(p/size)/float64(size-1)
			t := min(1, max(0, 0.5+(u-0.5)*dx+(v-0.5)*dy))
			gu, gv := u*4, v*4
			i0, j0 := min(3, int(gv)), min(3, int(gu))
			fv, fu := gv-float64(i0), gu-float64(j0)
			for c := range ch {
				gr := &grid[c]
				blot := (1-fv)*((1-fu)*gr[i0][j0]+fu*gr[i0][j0+1]) + fv*((1-fu)*gr[i0+1][j0]+fu*gr[i0+1][j0+1])
				x[p*ch+c] = float32(c0[c] + t*(c1[c]-c0[c]) + blot)
			}
		}
	}

	// Colour: saturation, per-channel gain, contrast and brightness.
	sat := 0.3 + rng.Float64()
	contrast := 0.6 + 0.7*rng.Float64()
	bright := 0.6 * (rng.Float64() - 0.5)
	var gain [3]float64
	for c := range ch {
		gain[c] = 0.8 + 0.4*rng.Float64()
	}
	for p := range n {
		var gray float64
		for c := range ch {
			gray += float64(at(p, c))
		}
		gray /= float64(ch)
		for c := range ch {
			v := gray + sat*(float64(at(p, c))-gray)
			x[p*ch+c] = float32((v*gain[c])*contrast + bright)
		}
	}

	// Blur: a separable [w, 1−2w, w] kernel, once or twice; then noise.
	if rng.Float64() < 0.8 {
		w := float32(0.25 * rng.Float64())
		for range 1 + rng.IntN(2) {
			blur3(x, size, ch, w)
		}
	}
	sd := 0.05 * rng.Float64()
	for i, v := range x[:n*ch] {
		x[i] = min(1, max(-1, v+float32(sd*rng.NormFloat64())))
	}
}

// backgroundMask sets mask[p] for the pixels of x (size×size×ch) that are
// within 0.12 of the border's median colour in every channel and
// connected to the border through such pixels: the plain background
// around a rendered face, not the light parts inside it.
func backgroundMask(x []float32, size, ch int, mask []bool, queue []int) {
	n := size * size
	at := func(p, c int) float32 { return x[p*ch+c] }
	var bg [3]float32
	border := make([]float32, 0, 4*size)
	for c := range ch {
		border = border[:0]
		for i := range size {
			border = append(border, at(i, c), at((size-1)*size+i, c), at(i*size, c), at(i*size+size-1, c))
		}
		bg[c] = median(border)
	}
	const tol = 0.12
	near := func(p int) bool {
		for c := range ch {
			if d := at(p, c) - bg[c]; d > tol || d < -tol {
				return false
			}
		}
		return true
	}
	clear(mask[:n])
	queue = queue[:0]
	for i := range size {
		for _, p := range []int{i, (size-1)*size + i, i * size, i*size + size - 1} {
			if !mask[p] && near(p) {
				mask[p] = true
				queue = append(queue, p)
			}
		}
	}
	for k := 0; k < len(queue); k++ {
		p := queue[k]
		px, py := p%size, p/size
		for _, d := range [4][2]int{{1, 0}, {-1, 0}, {0, 1}, {0, -1}} {
			qx, qy := px+d[0], py+d[1]
			if qx < 0 || qy < 0 || qx >= size || qy >= size {
				continue
			}
			if q := qy*size + qx; !mask[q] && near(q) {
				mask[q] = true
				queue = append(queue, q)
			}
		}
	}
}

// blur3 convolves x (size×size×ch) with [w, 1−2w, w] along both axes,
// repeating the edge pixels.
func blur3(x []float32, size, ch int, w float32) {
	row := make([]float32, size*ch)
	for pass := range 2 {
		for line := range size {
			// pass 0 blurs along x (a row), pass 1 along y (a column).
			idx := func(k int) int {
				if pass == 0 {
					return (line*size + k) * ch
				}
				return (k*size + line) * ch
			}
			for k := range size {
				copy(row[k*ch:(k+1)*ch], x[idx(k):idx(k)+ch])
			}
			for k := range size {
				l, r := max(0, k-1), min(size-1, k+1)
				for c := range ch {
					x[idx(k)+c] = w*row[l*ch+c] + (1-2*w)*row[k*ch+c] + w*row[r*ch+c]
				}
			}
		}
	}
}

// median returns the median of v, reordering it.
func median(v []float32) float32 {
	slices.Sort(v)
	return v[len(v)/2]
}
