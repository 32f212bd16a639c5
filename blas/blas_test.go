package blas

import (
	"math"
	"math/rand/v2"
	"testing"

	"forger/internal/fixture"
)

// naive is the textbook triple loop in float64, the reference for both
// back-ends.
func naive(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) []float64 {
	out := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float64
			for p := 0; p < k; p++ {
				var av, bv float32
				if transA {
					av = a[p*lda+i]
				} else {
					av = a[i*lda+p]
				}
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			out[i*n+j] = float64(alpha)*s + float64(beta)*float64(c[i*ldc+j])
		}
	}
	return out
}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

func checkBackend(t *testing.T, name string, f gemmFunc) {
	r := rand.New(rand.NewPCG(1, 2))
	shapes := [][3]int{{1, 1, 1}, {3, 5, 7}, {17, 33, 65}, {64, 48, 130}, {129, 3, 257}, {5, 200, 1}}
	for _, s := range shapes {
		m, n, k := s[0], s[1], s[2]
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, ab := range [][2]float32{{1, 0}, {0.5, 1}, {-2, 0.25}} {
					alpha, beta := ab[0], ab[1]
					lda, ldb, ldc := k+2, n+1, n+3
					if ta {
						lda = m + 2
					}
					if tb {
						ldb = k + 1
					}
					ar, br := m, k
					if ta {
						ar = k
					}
					if tb {
						br = n
					}
					a := randSlice(r, ar*lda)
					b := randSlice(r, br*ldb)
					c := randSlice(r, m*ldc)
					want := naive(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
					f(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
					for i := 0; i < m; i++ {
						for j := 0; j < n; j++ {
							got := float64(c[i*ldc+j])
							if d := math.Abs(got - want[i*n+j]); d > 1e-4*(1+math.Sqrt(float64(k))) {
								t.Fatalf("%s m=%d n=%d k=%d ta=%v tb=%v alpha=%v beta=%v: C[%d,%d]=%v want %v", name, m, n, k, ta, tb, alpha, beta, i, j, got, want[i*n+j])
							}
						}
					}
				}
			}
		}
	}
}

func TestGoSgemm(t *testing.T) { checkBackend(t, "go", goSgemm) }

func TestOpenBLASSgemm(t *testing.T) {
	f, err := loadOpenBLAS(2)
	if err != nil {
		fixture.Missingf(t, "OpenBLAS not available: %v", err)
	}
	checkBackend(t, "openblas", f)
}

func TestGoSgemmDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	m, n, k := 300, 200, 500
	a, b := randSlice(r, m*k), randSlice(r, k*n)
	c1, c2 := make([]float32, m*n), make([]float32, m*n)
	goSgemm(false, false, m, n, k, 1, a, k, b, n, 0, c1, n)
	goSgemm(false, false, m, n, k, 1, a, k, b, n, 0, c2, n)
	for i := range c1 {
		if math.Float32bits(c1[i]) != math.Float32bits(c2[i]) {
			t.Fatalf("run 2 differs at %d: %v vs %v", i, c1[i], c2[i])
		}
	}
}

func TestShortSliceePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("Sgemm accepted a B too short for its shape")
		}
	}()
	Sgemm(false, false, 2, 2, 2, 1, make([]float32, 4), 2, make([]float32, 3), 2, 0, make([]float32, 4), 2)
}

func benchGemm(b *testing.B, f gemmFunc, m, n, k int) {
	r := rand.New(rand.NewPCG(5, 6))
	x, y, z := randSlice(r, m*k), randSlice(r, k*n), make([]float32, m*n)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f(false, false, m, n, k, 1, x, k, y, n, 0, z, n)
	}
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

func BenchmarkGo4096x128x1600(b *testing.B) { benchGemm(b, goSgemm, 4096, 128, 1600) }
func BenchmarkOpenBLAS4096x128x1600(b *testing.B) {
	f, err := loadOpenBLAS(2)
	if err != nil {
		b.Skip(err)
	}
	benchGemm(b, f, 4096, 128, 1600)
}
