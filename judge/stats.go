package judge

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
)

// Gaussian is the fit of a set of feature vectors: their mean and their
// (unbiased, n-1) covariance, in float64 as FID computes them with numpy.
type Gaussian struct {
	Mu    []float64
	Sigma *mat.SymDense
	N     int
}

// Fit returns the Gaussian fit of n vectors of d values (row-major float32,
// as Judge.Run returns them). It needs n ≥ 2.
func Fit(x []float32, d int) (Gaussian, error) {
	if d < 1 || len(x)%d != 0 {
		return Gaussian{}, fmt.Errorf("judge: %d values are not vectors of %d", len(x), d)
	}
	n := len(x) / d
	if n < 2 {
		return Gaussian{}, fmt.Errorf("judge: a Gaussian fit needs at least 2 vectors, got %d", n)
	}
	data := make([]float64, len(x))
	for i, v := range x {
		data[i] = float64(v)
	}
	m := mat.NewDense(n, d, data)
	g := Gaussian{Mu: make([]float64, d), Sigma: mat.NewSymDense(d, nil), N: n}
	for j := 0; j < d; j++ {
		g.Mu[j] = stat.Mean(mat.Col(nil, j, m), nil)
	}
	stat.CovarianceMatrix(g.Sigma, m, nil)
	return g, nil
}

// FrechetDistance is the squared Fréchet (2-Wasserstein) distance between
// two Gaussians, the formula of FID:
//
//	|μa - μb|² + tr Σa + tr Σb - 2 tr (Σa Σb)^½
//
// The trace of the square root is computed as tr (Σa^½ Σb Σa^½)^½: Σa Σb
// is similar to the symmetric positive semi-definite Σa^½ Σb Σa^½ (they are
// conjugate by Σa^½ when Σa is invertible, and the traces agree in the limit
// otherwise), so both have the same non-negative eigenvalues λ and the trace
// is Σ √λ. Two symmetric eigen-decompositions (LAPACK's dsyev through
// gonum) give it stably. FID's reference code instead takes scipy's sqrtm
// of the non-symmetric Σa Σb (a Schur decomposition), which can return
// complex parts and needs an ε·I retry when a covariance is singular; the
// symmetric route has neither problem. Eigenvalues that rounding makes
// slightly negative are taken as 0, and a result below 0 (rounding, for two
// equal fits) as 0.
func FrechetDistance(a, b Gaussian) (float64, error) {
	d := len(a.Mu)
	if len(b.Mu) != d || a.Sigma.SymmetricDim() != d || b.Sigma.SymmetricDim() != d {
		return 0, fmt.Errorf("judge: Fréchet distance of Gaussians of dimensions %d and %d", d, len(b.Mu))
	}
	var diff2 float64
	for i := range a.Mu {
		x := a.Mu[i] - b.Mu[i]
		diff2 += x * x
	}
	ra, err := sqrtPSD(a.Sigma)
	if err != nil {
		return 0, err
	}
	var tmp, m mat.Dense
	tmp.Mul(ra, b.Sigma)
	m.Mul(&tmp, ra)
	sym := mat.NewSymDense(d, nil)
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			sym.SetSym(i, j, (m.At(i, j)+m.At(j, i))/2)
		}
	}
	var eig mat.EigenSym
	scale, err := factorize(&eig, sym, false)
	if err != nil {
		return 0, err
	}
	var trSqrt float64
	for _, l := range eig.Values(nil) {
		trSqrt += math.Sqrt(max(l*scale, 0))
	}
	fd := diff2 + mat.Trace(a.Sigma) + mat.Trace(b.Sigma) - 2*trSqrt
	return max(fd, 0), nil
}

// sqrtPSD returns the symmetric square root of a symmetric positive
// semi-definite matrix: V diag(√max(λ,0)) Vᵀ.
func sqrtPSD(s *mat.SymDense) (*mat.SymDense, error) {
	var eig mat.EigenSym
	scale, err := factorize(&eig, s, true)
	if err != nil {
		return nil, err
	}
	vals := eig.Values(nil)
	for i := range vals {
		vals[i] *= scale
	}
	var v mat.Dense
	eig.VectorsTo(&v)
	d := len(vals)
	for i := range vals {
		vals[i] = math.Sqrt(max(vals[i], 0))
	}
	out := mat.NewSymDense(d, nil)
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			var s float64
			for k := 0; k < d; k++ {
				s += v.At(i, k) * vals[k] * v.At(j, k)
			}
			out.SetSym(i, j, s)
		}
	}
	return out, nil
}

// ErrDegenerate is returned when a covariance cannot be decomposed: values
// that are not finite (a generator that outputs NaN), or a decomposition
// that fails.
var ErrDegenerate = errors.New("judge: the features' covariance is not finite or cannot be decomposed")

// factorize decomposes s scaled to a largest entry of 1, with entries below
// 1e-30 of it set to 0, and returns the scale to multiply the eigenvalues
// by. The scaling keeps LAPACK's dsterf out of its rescaling branches for
// tiny or huge blocks (gonum's port of which panics on the near-constant
// features of a collapsed generator); what it drops is far below float64
// precision.
func factorize(eig *mat.EigenSym, s *mat.SymDense, vectors bool) (scale float64, err error) {
	d := s.SymmetricDim()
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			v := s.At(i, j)
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return 0, ErrDegenerate
			}
			scale = max(scale, math.Abs(v))
		}
	}
	if scale == 0 {
		scale = 1
	}
	n := mat.NewSymDense(d, nil)
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			v := s.At(i, j) / scale
			if math.Abs(v) < 1e-30 {
				v = 0
			}
			n.SetSym(i, j, v)
		}
	}
	defer func() {
		if recover() != nil {
			scale, err = 0, ErrDegenerate
		}
	}()
	if !eig.Factorize(n, vectors) {
		return 0, ErrDegenerate
	}
	return scale, nil
}
