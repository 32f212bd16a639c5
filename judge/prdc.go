package judge

import (
	"fmt"
	"math"

	"forger/blas"
	"forger/parallel"
)

// NeighbourK is the k of the k-nearest-neighbour balls of precision and
// recall, as in Kynkäänniemi et al. (2019).
const NeighbourK = 3

// distBlock is the number of rows of a distance matrix computed at once:
// 512 rows × 10,000 columns of float32 is 20 MB.
const distBlock = 512

// distTol is the relative rounding allowed in a float32 squared distance.
const distTol = 1e-5

// PrecisionRecall is the improved precision and recall of Kynkäänniemi et
// al. (2019) between real and generated feature vectors (row-major, d
// values each). The real manifold is the union of balls around every real
// vector with the radius of its k-th nearest real neighbour (itself
// excluded); precision is the fraction of generated vectors inside it.
// Recall swaps the roles: the fraction of real vectors inside the
// generated manifold. Precision says how many samples look real; recall
// how much of the real variety the generator covers, so a generator that
// collapses to a few good images scores high precision and low recall.
//
// Distances are computed by brute force in float32 as ‖a‖² + ‖b‖² - 2a·b,
// the products by blas.Sgemm in blocks of rows.
func PrecisionRecall(real, fake []float32, d, k int) (precision, recall float64, err error) {
	if d < 1 || len(real)%d != 0 || len(fake)%d != 0 {
		return 0, 0, fmt.Errorf("judge: feature vectors of %d values expected", d)
	}
	nr, nf := len(real)/d, len(fake)/d
	if nr <= k || nf <= k {
		return 0, 0, fmt.Errorf("judge: precision and recall with k=%d need more than %d vectors on each side (got %d real, %d generated)", k, k, nr, nf)
	}
	radR := kthNeighbour(real, d, k)
	radF := kthNeighbour(fake, d, k)
	normR, normF := sqNorms(real, d), sqNorms(fake, d)

	fakeIn := make([]bool, nf) // generated vector inside the real manifold
	realIn := make([]bool, nr) // real vector inside the generated manifold
	// Rows of a block are split across the cores; a row's realIn updates
	// are only ever set to true, so concurrent writes of the same value are
	// harmless in effect, but the race detector would flag them: each
	// chunk therefore collects its own flags, merged after the block.
	workers := parallel.Workers()
	realInPart := make([][]bool, workers)
	for i := range realInPart {
		realInPart[i] = make([]bool, nr)
	}
	dist := make([]float32, distBlock*nr)
	for lo := 0; lo < nf; lo += distBlock {
		hi := min(nf, lo+distBlock)
		rows := hi - lo
		blas.Sgemm(false, true, rows, nr, d, -2, fake[lo*d:hi*d], d, real, d, 0, dist, nr)
		chunk := (rows + workers - 1) / workers
		parallel.For(workers, 1, parallel.Func(func(a, b int) {
			for w := a; w < b; w++ {
				part := realInPart[w]
				for i := w * chunk; i < min(rows, (w+1)*chunk); i++ {
					f := lo + i
					row := dist[i*nr : (i+1)*nr]
					nf2, rf := normF[f], radF[f]
					in := false
					for r, v := range row {
						// Rounding of ‖a‖²+‖b‖²-2a·b in float32 is of the
						// order ε·(‖a‖²+‖b‖²): allow that much, so that
						// a vector and its exact copy count as neighbours.
						s := nf2 + normR[r]
						dd := v + s - distTol*s
						if dd <= radR[r] {
							in = true
						}
						if dd <= rf {
							part[r] = true
						}
					}
					fakeIn[f] = in
				}
			}
		}))
	}
	for _, part := range realInPart {
		for r, v := range part {
			realIn[r] = realIn[r] || v
		}
	}
	return fraction(fakeIn), fraction(realIn), nil
}

func fraction(b []bool) float64 {
	n := 0
	for _, v := range b {
		if v {
			n++
		}
	}
	return float64(n) / float64(len(b))
}

func sqNorms(x []float32, d int) []float32 {
	n := len(x) / d
	out := make([]float32, n)
	for i := range out {
		var s float64
		for _, v := range x[i*d : (i+1)*d] {
			s += float64(v) * float64(v)
		}
		out[i] = float32(s)
	}
	return out
}

// kthNeighbour returns, for every vector of x, the squared distance to its
// k-th nearest other vector of x (by index: a duplicate of a vector is
// another vector, at distance 0).
func kthNeighbour(x []float32, d, k int) []float32 {
	n := len(x) / d
	norms := sqNorms(x, d)
	out := make([]float32, n)
	dist := make([]float32, distBlock*n)
	workers := parallel.Workers()
	for lo := 0; lo < n; lo += distBlock {
		hi := min(n, lo+distBlock)
		rows := hi - lo
		blas.Sgemm(false, true, rows, n, d, -2, x[lo*d:hi*d], d, x, d, 0, dist, n)
		chunk := (rows + workers - 1) / workers
		parallel.For(workers, 1, parallel.Func(func(a, b int) {
			best := make([]float32, k)
			for w := a; w < b; w++ {
				for i := w * chunk; i < min(rows, (w+1)*chunk); i++ {
					self := lo + i
					for t := range best {
						best[t] = float32(math.Inf(1))
					}
					row := dist[i*n : (i+1)*n]
					ni := norms[self]
					for j, v := range row {
						if j == self {
							continue
						}
						dd := max(v+ni+norms[j], 0)
						if dd >= best[k-1] {
							continue
						}
						// Insert into the sorted list of the k smallest.
						t := k - 1
						for t > 0 && best[t-1] > dd {
							best[t] = best[t-1]
							t--
						}
						best[t] = dd
					}
					out[self] = best[k-1]
				}
			}
		}))
	}
	return out
}
