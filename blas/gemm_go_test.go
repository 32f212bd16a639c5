package blas

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	gblas "gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// withKernel runs f with goSgemm forced onto micro-kernel mk.
func withKernel(mk *microKernel, f func()) {
	saved := kernel
	kernel = mk
	defer func() { kernel = saved }()
	f()
}

// gemmCase is one randomly filled Sgemm problem with padded strides.
type gemmCase struct {
	ta, tb        bool
	m, n, k       int
	alpha, beta   float32
	a, b, c       []float32
	lda, ldb, ldc int
}

func newCase(r *rand.Rand, ta, tb bool, m, n, k int, alpha, beta float32) *gemmCase {
	g := &gemmCase{ta: ta, tb: tb, m: m, n: n, k: k, alpha: alpha, beta: beta}
	ar, ac, br, bc := m, k, k, n
	if ta {
		ar, ac = k, m
	}
	if tb {
		br, bc = n, k
	}
	g.lda, g.ldb, g.ldc = ac+3, bc+5, n+7
	g.a, g.b, g.c = randSlice(r, ar*g.lda), randSlice(r, br*g.ldb), randSlice(r, m*g.ldc)
	return g
}

func (g *gemmCase) run(f gemmFunc, c []float32) {
	f(g.ta, g.tb, g.m, g.n, g.k, g.alpha, g.a, g.lda, g.b, g.ldb, g.beta, c, g.ldc)
}

// reference computes g in float64 from the textbook triple loop. tol bounds
// the error of float32 summation: (k+2)·2⁻²³ times the sum of the magnitudes
// of the terms.
func (g *gemmCase) reference() (want, tol []float64) {
	want, tol = make([]float64, g.m*g.n), make([]float64, g.m*g.n)
	for i := 0; i < g.m; i++ {
		for j := 0; j < g.n; j++ {
			var s, mag float64
			for p := 0; p < g.k; p++ {
				ai, bi := i*g.lda+p, p*g.ldb+j
				if g.ta {
					ai = p*g.lda + i
				}
				if g.tb {
					bi = j*g.ldb + p
				}
				ab := float64(g.a[ai]) * float64(g.b[bi])
				s += ab
				mag += math.Abs(ab)
			}
			old := float64(g.c[i*g.ldc+j])
			if g.beta == 0 {
				old = 0 // BLAS: C is not read, NaNs included
			}
			want[i*g.n+j] = float64(g.alpha)*s + float64(g.beta)*old
			tol[i*g.n+j] = float64(g.k+2) * 0x1p-23 * (math.Abs(float64(g.alpha))*mag + math.Abs(float64(g.beta)*old))
		}
	}
	return want, tol
}

// check runs goSgemm on a copy of g's C and compares it with want ± tol.
func (g *gemmCase) check(t *testing.T, name string, want, tol []float64) {
	t.Helper()
	c := append([]float32(nil), g.c...)
	g.run(goSgemm, c)
	for i := 0; i < g.m; i++ {
		for j := 0; j < g.n; j++ {
			if got := float64(c[i*g.ldc+j]); !(math.Abs(got-want[i*g.n+j]) <= tol[i*g.n+j]) {
				t.Fatalf("%s: %dx%dx%d ta=%v tb=%v alpha=%v beta=%v: C[%d,%d]=%v want %v (tol %.3g)",
					name, g.m, g.n, g.k, g.ta, g.tb, g.alpha, g.beta, i, j, got, want[i*g.n+j], tol[i*g.n+j])
			}
		}
	}
	// Nothing outside the m×n window of C may change.
	for i := range c {
		if i%g.ldc >= g.n && math.Float32bits(c[i]) != math.Float32bits(g.c[i]) {
			t.Fatalf("%s: %dx%dx%d wrote C[%d] in the stride padding", name, g.m, g.n, g.k, i)
		}
	}
}

// checkAll checks g on every micro-kernel the CPU supports.
func (g *gemmCase) checkAll(t *testing.T) {
	t.Helper()
	want, tol := g.reference()
	for _, mk := range supportedKernels() {
		withKernel(mk, func() { g.check(t, mk.name, want, tol) })
	}
}

// TestMicroKernels checks each kernel on one tile, for both layouts of A
// and the k of every path through its unrolled loop.
func TestMicroKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(17, 18))
	for _, mk := range supportedKernels() {
		mr, nr := mk.mr, mk.nr
		for _, k := range []int{1, 2, 3, 4, 5, 7, 8, 9, 16, 33} {
			for _, rowMajor := range []bool{false, true} {
				for _, beta := range []float32{0, 1, -0.5} {
					ars, acs := 1, mr+2
					if rowMajor {
						ars, acs = k+3, 1
					}
					a := randSlice(r, (mr-1)*ars+(k-1)*acs+1)
					b := randSlice(r, k*nr)
					ldc := nr + 5
					c := randSlice(r, mr*ldc)
					got := append([]float32(nil), c...)
					mk.run(k, a, ars, acs, b, got, ldc, 1.5, beta)
					for i := range mr {
						for j := range ldc {
							if j >= nr {
								if got[i*ldc+j] != c[i*ldc+j] {
									t.Fatalf("%s k=%d: wrote C[%d][%d] outside the tile", mk.name, k, i, j)
								}
								continue
							}
							var s, mag float64
							for p := range k {
								ab := float64(a[i*ars+p*acs]) * float64(b[p*nr+j])
								s += ab
								mag += math.Abs(ab)
							}
							want := 1.5*s + float64(beta)*float64(c[i*ldc+j])
							tol := float64(k+2) * 0x1p-23 * (1.5*mag + math.Abs(float64(beta)*float64(c[i*ldc+j])))
							if d := math.Abs(float64(got[i*ldc+j]) - want); !(d <= tol) {
								t.Fatalf("%s k=%d rowMajor=%v beta=%v: C[%d][%d]=%v want %v", mk.name, k, rowMajor, beta, i, j, got[i*ldc+j], want)
							}
						}
					}
				}
			}
		}
	}
}

// TestGoSgemmKernels checks every micro-kernel the CPU supports (including
// the generic Go one when assembly is available) on large odd shapes that
// have edge tiles in both directions, several k blocks and several tasks.
func TestGoSgemmKernels(t *testing.T) {
	shapes := [][3]int{{1000, 37, 513}, {37, 1000, 513}, {67, 45, 1100}, {301, 250, 40}, {9, 700, 3}}
	if testing.Short() {
		shapes = shapes[2:]
	}
	r := rand.New(rand.NewPCG(7, 8))
	for _, s := range shapes {
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for _, ab := range [][2]float32{{1, 0}, {-0.75, 1.5}} {
					newCase(r, ta, tb, s[0], s[1], s[2], ab[0], ab[1]).checkAll(t)
				}
			}
		}
	}
}

// TestGoSgemmSmall sweeps small shapes around the tile sizes of each kernel,
// and the tiny ones that smallSgemm computes.
func TestGoSgemmSmall(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, mk := range supportedKernels() {
		for _, m := range []int{1, 2, mk.mr - 1, mk.mr, mk.mr + 1, 2*mk.mr + 3} {
			for _, n := range []int{1, 3, mk.nr - 1, mk.nr, mk.nr + 1, 2*mk.nr + 5} {
				for _, k := range []int{1, 2, 5, 9, 70} {
					ta, tb := r.IntN(2) == 1, r.IntN(2) == 1
					newCase(r, ta, tb, m, n, k, 1.25, 0.5).checkAll(t)
				}
			}
		}
	}
}

// TestGoSgemmBetaZero checks that beta = 0 overwrites C, NaNs included, and
// that alpha = 0 does not read A or B.
func TestGoSgemmBetaZero(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	g := newCase(r, false, true, 70, 90, 33, 1, 0)
	for i := range g.c {
		if i%g.ldc < g.n {
			g.c[i] = float32(math.NaN())
		}
	}
	g.checkAll(t)
	a := []float32{float32(math.NaN())}
	c := []float32{2, 3}
	goSgemm(false, false, 1, 2, 1, 0, a, 1, []float32{1, 1}, 2, 0.5, c, 2)
	if c[0] != 1 || c[1] != 1.5 {
		t.Fatalf("alpha=0: C=%v, want [1 1.5]", c)
	}
}

// TestGoSgemmThreadCount checks that the result does not depend on
// GOMAXPROCS, which changes the task layout, nor on other calls running at
// the same time.
func TestGoSgemmThreadCount(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	g := newCase(r, true, false, 517, 301, 700, 0.5, -1)
	ref := append([]float32(nil), g.c...)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	g.run(goSgemm, ref)
	for _, procs := range []int{2, 3, 8} {
		runtime.GOMAXPROCS(procs)
		var wg sync.WaitGroup
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := append([]float32(nil), g.c...)
				g.run(goSgemm, c)
				for i := range c {
					if math.Float32bits(c[i]) != math.Float32bits(ref[i]) {
						t.Errorf("GOMAXPROCS=%d: C[%d]=%v, with 1 thread %v", procs, i, c[i], ref[i])
						return
					}
				}
			}()
		}
		wg.Wait()
	}
}

// raceEnabled is set by gemm_go_race_test.go under the race detector.
var raceEnabled bool

// TestGoSgemmAllocs checks that calls do not allocate once the buffers and
// helpers exist.
func TestGoSgemmAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("sync.Pool drops items under the race detector")
	}
	r := rand.New(rand.NewPCG(15, 16))
	for _, s := range [][3]int{{512, 384, 600}, {40, 50, 60}} {
		g := newCase(r, false, false, s[0], s[1], s[2], 1, 0)
		c := make([]float32, len(g.c))
		g.run(goSgemm, c)
		if n := testing.AllocsPerRun(20, func() { g.run(goSgemm, c) }); n != 0 {
			t.Errorf("%v: %v allocations per call", s, n)
		}
	}
}

// TestMakePlan checks the task grid covers C with whole tiles.
func TestMakePlan(t *testing.T) {
	for _, s := range [][3]int{{4096, 128, 1600}, {2048, 2048, 2048}, {16384, 128, 1024}, {65536, 64, 48}, {1024, 4096, 256}, {64, 8192, 100}, {1, 1, 1}, {1000, 37, 513}} {
		for _, threads := range []int{1, 2, 3, 16} {
			for _, mk := range supportedKernels() {
				p := makePlan(mk, s[0], s[1], s[2], threads)
				if p.rows%mk.mr != 0 || p.cols%mk.nr != 0 || p.tm*p.rows < s[0] || (p.tm-1)*p.rows >= s[0] ||
					p.tn*p.cols < s[1] || (p.tn-1)*p.cols >= s[1] || p.threads < 1 || p.threads > threads || p.kc > kcMax ||
					4*p.kc*p.cols > max(bBlockBytes, 4*p.kc*mk.nr) {
					t.Errorf("%v on %d threads, %s: bad plan %+v", s, threads, mk.name, p)
				}
			}
		}
	}
}

// benchShapes are the row-major M×N×K products forger's layers make.
var benchShapes = [][3]int{{4096, 128, 1600}, {2048, 2048, 2048}, {16384, 128, 1024}, {65536, 64, 48}, {1024, 4096, 256}, {64, 8192, 100}}

func gonumSgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	ta, tb := gblas.NoTrans, gblas.NoTrans
	if transA {
		ta = gblas.Trans
	}
	if transB {
		tb = gblas.Trans
	}
	gonum.Implementation{}.Sgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

type namedGemm struct {
	name string
	f    gemmFunc
}

// benchImpls lists goSgemm with each supported kernel, then OpenBLAS if it
// loads, after the extra implementations given.
func benchImpls(b *testing.B, extra ...namedGemm) []namedGemm {
	impls := extra
	for _, mk := range supportedKernels() {
		impls = append(impls, namedGemm{"go-" + mk.name, func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			withKernel(mk, func() { goSgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc) })
		}})
	}
	if f, err := loadOpenBLAS(runtime.GOMAXPROCS(0)); err == nil {
		impls = append(impls, namedGemm{"openblas", f})
	} else {
		b.Logf("no OpenBLAS: %v", err)
	}
	return impls
}

// BenchmarkSgemm compares gonum, goSgemm (with each supported kernel) and
// OpenBLAS on benchShapes, in GFLOP/s.
func BenchmarkSgemm(b *testing.B) {
	impls := benchImpls(b, namedGemm{"gonum", gonumSgemm})
	for _, s := range benchShapes {
		for _, im := range impls {
			b.Run(fmt.Sprintf("%dx%dx%d/%s", s[0], s[1], s[2], im.name), func(b *testing.B) {
				benchGemm(b, im.f, s[0], s[1], s[2])
			})
		}
	}
}

// BenchmarkSgemmTrans runs benchShapes with a transposed operand, as
// forger's layers do: NT is a forward pass (C = X·Wᵀ), TN a weight gradient
// (C = Dᵀ·X, accumulated with beta = 1).
func BenchmarkSgemmTrans(b *testing.B) {
	impls := benchImpls(b)
	for _, s := range benchShapes {
		m, n, k := s[0], s[1], s[2]
		for _, tt := range []struct {
			name   string
			ta, tb bool
			beta   float32
		}{{"NT", false, true, 0}, {"TN", true, false, 1}} {
			for _, im := range impls {
				b.Run(fmt.Sprintf("%dx%dx%d/%s/%s", m, n, k, tt.name, im.name), func(b *testing.B) {
					r := rand.New(rand.NewPCG(5, 6))
					x, y, z := randSlice(r, m*k), randSlice(r, k*n), make([]float32, m*n)
					lda, ldb := k, n
					if tt.ta {
						lda = m
					}
					if tt.tb {
						ldb = k
					}
					b.ResetTimer()
					for range b.N {
						im.f(tt.ta, tt.tb, m, n, k, 1, x, lda, y, ldb, tt.beta, z, n)
					}
					b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
				})
			}
		}
	}
}
