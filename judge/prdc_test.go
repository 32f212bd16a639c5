package judge

import (
	"math"
	"math/rand/v2"
	"testing"
)

func cloud(rng *rand.Rand, n, d int, shift float64) []float32 {
	x := make([]float32, n*d)
	for i := range x {
		x[i] = float32(shift + rng.NormFloat64())
	}
	return x
}

func TestKthNeighbourByHand(t *testing.T) {
	// Points on a line at 0, 1, 3, 7, 15 (one coordinate; the second is 0).
	x := []float32{0, 0, 1, 0, 3, 0, 7, 0, 15, 0}
	// Sorted distances from each point to the others:
	// 0: 1 3 7 15;  1: 1 2 6 14;  3: 2 3 4 12;  7: 4 6 7 8;  15: 8 12 14 15.
	want := map[int][]float32{1: {1, 1, 2, 4, 8}, 2: {3, 2, 3, 6, 12}, 3: {7, 6, 4, 7, 14}}
	for k, w := range want {
		got := kthNeighbour(x, 2, k)
		for i := range w {
			if math.Abs(float64(got[i]-w[i]*w[i])) > 1e-4 {
				t.Errorf("k=%d point %d: squared radius %v, want %v", k, i, got[i], w[i]*w[i])
			}
		}
	}
	// Duplicates are other points, at distance 0.
	dup := []float32{5, 5, 5, 5, 9, 9}
	if r := kthNeighbour(dup, 2, 1); r[0] != 0 || r[1] != 0 || math.Abs(float64(r[2])-32) > 1e-3 {
		t.Errorf("radii with a duplicate: %v, want [0 0 32]", r)
	}
}

func TestPrecisionRecallSynthetic(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	const n, d = 1500, 16
	real := cloud(rng, n, d, 0)

	check := func(name string, fake []float32, pLo, pHi, rLo, rHi float64) {
		t.Helper()
		p, r, err := PrecisionRecall(real, fake, d, NeighbourK)
		if err != nil {
			t.Fatal(err)
		}
		if p < pLo || p > pHi || r < rLo || r > rHi {
			t.Errorf("%s: precision %.3f recall %.3f, want precision in [%g,%g] and recall in [%g,%g]", name, p, r, pLo, pHi, rLo, rHi)
		}
	}
	// The same set: every point lies in its own ball.
	check("identical", append([]float32(nil), real...), 1, 1, 1, 1)
	// Another sample of the same distribution: both high.
	check("same distribution", cloud(rng, n, d, 0), 0.6, 1, 0.6, 1)
	// Far away: neither.
	check("disjoint", cloud(rng, n, d, 20), 0, 0, 0, 0)
	// Collapse: every generated point is one of 5 real points plus a
	// little noise. They all look real (high precision) but cover almost
	// none of the real variety (low recall).
	collapsed := make([]float32, n*d)
	for i := 0; i < n; i++ {
		src := real[(i%5)*d : (i%5+1)*d]
		for j := range d {
			collapsed[i*d+j] = src[j] + float32(0.01*rng.NormFloat64())
		}
	}
	check("collapsed", collapsed, 0.95, 1, 0, 0.05)
	// Too few points for k=3.
	if _, _, err := PrecisionRecall(real[:3*d], real, d, NeighbourK); err == nil {
		t.Error("3 real points with k=3 should be an error")
	}
}

// TestPrecisionRecallBlocks runs more generated points than one block of
// the distance matrix, against a brute-force float64 reference.
func TestPrecisionRecallBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 1))
	const d = 5
	real, fake := cloud(rng, 700, d, 0), cloud(rng, distBlock+300, d, 0.3)
	p, r, err := PrecisionRecall(real, fake, d, NeighbourK)
	if err != nil {
		t.Fatal(err)
	}
	dist := func(a, b []float32) float64 {
		var s float64
		for i := range a {
			x := float64(a[i]) - float64(b[i])
			s += x * x
		}
		return s
	}
	radius := func(x []float32) []float64 {
		n := len(x) / d
		out := make([]float64, n)
		for i := range n {
			var ds []float64
			for j := range n {
				if j != i {
					ds = append(ds, dist(x[i*d:(i+1)*d], x[j*d:(j+1)*d]))
				}
			}
			// k-th smallest by selection.
			for k := 0; k < NeighbourK; k++ {
				m := k
				for j := k + 1; j < len(ds); j++ {
					if ds[j] < ds[m] {
						m = j
					}
				}
				ds[k], ds[m] = ds[m], ds[k]
			}
			out[i] = ds[NeighbourK-1]
		}
		return out
	}
	cover := func(a, b []float32) float64 { // fraction of a inside b's balls
		rb := radius(b)
		in := 0
		for i := 0; i < len(a)/d; i++ {
			for j := 0; j < len(b)/d; j++ {
				if dist(a[i*d:(i+1)*d], b[j*d:(j+1)*d]) <= rb[j] {
					in++
					break
				}
			}
		}
		return float64(in) / float64(len(a)/d)
	}
	wp, wr := cover(fake, real), cover(real, fake)
	// Points within float32 rounding of a ball's edge may differ: allow 2.
	if math.Abs(p-wp) > 2.0/float64(len(fake)/d) || math.Abs(r-wr) > 2.0/float64(len(real)/d) {
		t.Errorf("precision %.4f recall %.4f, brute force %.4f %.4f", p, r, wp, wr)
	}
}
