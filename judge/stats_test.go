package judge

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func gaussian(mu []float64, sigma []float64) Gaussian {
	return Gaussian{Mu: mu, Sigma: mat.NewSymDense(len(mu), sigma), N: 2}
}

func near(a, b, tol float64) bool { return math.Abs(a-b) <= tol*math.Max(1, math.Abs(b)) }

// TestFrechetHandCases checks the distance against values worked out by
// hand.
func TestFrechetHandCases(t *testing.T) {
	cases := []struct {
		name string
		a, b Gaussian
		want float64
	}{
		// 1-D: (μ1-μ2)² + (s1-s2)² with s the standard deviations:
		// (1-4)² + (2-3)² = 10.
		{"1-D", gaussian([]float64{1}, []float64{4}), gaussian([]float64{4}, []float64{9}), 10},
		// Diagonal: Σ (μ1-μ2)² + Σ (√v1 - √v2)²:
		// means (0,0) vs (1,2): 5; variances (1,4) vs (4,16): (1-2)² + (2-4)² = 5.
		{"diagonal", gaussian([]float64{0, 0}, []float64{1, 0, 0, 4}), gaussian([]float64{1, 2}, []float64{4, 0, 0, 16}), 10},
		// Equal Gaussians: 0.
		{"equal", gaussian([]float64{3, -1}, []float64{2, 1, 1, 2}), gaussian([]float64{3, -1}, []float64{2, 1, 1, 2}), 0},
		// Covariances that do not commute. Σ1 = [[2,1],[1,2]], Σ2 =
		// diag(1,4): Σ1Σ2 = [[2,4],[1,8]], trace 10, determinant
		// det Σ1 · det Σ2 = 3·4 = 12. For a 2×2 matrix with eigenvalues
		// λ1, λ2 ≥ 0, tr √M = √λ1 + √λ2 = √(tr M + 2√det M) = √(10 + 2√12).
		// fd = tr Σ1 + tr Σ2 - 2 tr √(Σ1Σ2) = 4 + 5 - 2√(10+4√3), plus the
		// squared mean difference 1² = 1.
		{"non-commuting", gaussian([]float64{0, 1}, []float64{2, 1, 1, 2}), gaussian([]float64{0, 0}, []float64{1, 0, 0, 4}),
			1 + 9 - 2*math.Sqrt(10+4*math.Sqrt(3))},
		// A singular covariance (all mass on a line) against the identity:
		// Σ1 = [[1,1],[1,1]] has eigenvalues 2, 0; Σ1·I = Σ1, tr √Σ1 = √2.
		// fd = 2 + 2 - 2√2.
		{"singular", gaussian([]float64{0, 0}, []float64{1, 1, 1, 1}), gaussian([]float64{0, 0}, []float64{1, 0, 0, 1}), 4 - 2*math.Sqrt2},
	}
	for _, c := range cases {
		got, err := FrechetDistance(c.a, c.b)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if !near(got, c.want, 1e-9) {
			t.Errorf("%s: fd = %.12g, want %.12g", c.name, got, c.want)
		}
		back, _ := FrechetDistance(c.b, c.a)
		if !near(back, got, 1e-9) {
			t.Errorf("%s: fd is not symmetric: %.12g vs %.12g", c.name, got, back)
		}
	}
}

// TestFit checks the mean and the unbiased covariance of points worked out
// by hand.
func TestFit(t *testing.T) {
	// The corners of a 2×2 square: mean (1,1); each coordinate is 0 or 2
	// twice, so its variance is 4·1/(4-1) = 4/3; the coordinates are
	// independent, so the covariance is 0. A third coordinate = x+y has
	// variance 8/3 and covariance 4/3 with each.
	pts := []float32{0, 0, 0, 2, 0, 2, 0, 2, 2, 2, 2, 4}
	g, err := Fit(pts, 3)
	if err != nil {
		t.Fatal(err)
	}
	wantMu := []float64{1, 1, 2}
	wantSigma := [][]float64{{4. / 3, 0, 4. / 3}, {0, 4. / 3, 4. / 3}, {4. / 3, 4. / 3, 8. / 3}}
	for i := range 3 {
		if !near(g.Mu[i], wantMu[i], 1e-12) {
			t.Errorf("mu[%d] = %v, want %v", i, g.Mu[i], wantMu[i])
		}
		for j := range 3 {
			if !near(g.Sigma.At(i, j), wantSigma[i][j], 1e-12) {
				t.Errorf("sigma[%d][%d] = %v, want %v", i, j, g.Sigma.At(i, j), wantSigma[i][j])
			}
		}
	}
	if _, err := Fit(pts[:3], 3); err == nil {
		t.Error("a fit of one vector should fail")
	}
}

// TestFrechetSamples checks that the distance between two large samples of
// known Gaussians approaches the closed form.
func TestFrechetSamples(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	const n, d = 100000, 4
	a, b := make([]float32, n*d), make([]float32, n*d)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			a[i*d+j] = float32(rng.NormFloat64())       // N(0, I)
			b[i*d+j] = float32(1 + 2*rng.NormFloat64()) // N(1, 4I)
		}
	}
	ga, _ := Fit(a, d)
	gb, _ := Fit(b, d)
	got, err := FrechetDistance(ga, gb)
	if err != nil {
		t.Fatal(err)
	}
	// d·1² + d·(1-2)² = 8.
	if math.Abs(got-8) > 0.12 {
		t.Errorf("fd of samples = %v, want about 8", got)
	}
}

// Features that barely vary (a collapsed generator) give covariance blocks
// near 1e-130, where gonum's dsterf panics ("insufficient length of a"):
// FrechetDistance must return a number, and a NaN covariance an error.
func TestFrechetDistanceTinyAndNaNCovariances(t *testing.T) {
	const d = 8
	fit := func(tiny float64) Gaussian {
		s := mat.NewSymDense(d, nil)
		for i := 0; i < d; i++ {
			s.SetSym(i, i, 1)
		}
		for i := 4; i < d; i++ {
			for j := i; j < d; j++ {
				s.SetSym(i, j, tiny*float64(1+i+j))
			}
		}
		return Gaussian{Mu: make([]float64, d), Sigma: s, N: 100}
	}
	one := fit(0)
	for _, tiny := range []float64{1e-125, 1e-200} {
		fd, err := FrechetDistance(fit(tiny), one)
		if err != nil || math.IsNaN(fd) || math.Abs(fd) > 1e-9 {
			t.Errorf("tiny block %g: fd %v, %v; want 0", tiny, fd, err)
		}
		fd, err = FrechetDistance(one, fit(tiny))
		if err != nil || math.Abs(fd) > 1e-9 {
			t.Errorf("tiny block %g, other side: fd %v, %v; want 0", tiny, fd, err)
		}
	}
	if _, err := FrechetDistance(fit(math.NaN()), one); !errors.Is(err, ErrDegenerate) {
		t.Errorf("NaN covariance: %v, want ErrDegenerate", err)
	}
}
