package latent

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// plantedScores makes n latents and a classifier's probabilities that
// follow a planted unit direction u: p = σ(a·(z·u) + b + noise).
func plantedScores(n, nz int, a, b float64) (z []float32, probs []float64, u []float64) {
	rng := rand.New(rand.NewPCG(7, 7))
	u = make([]float64, nz)
	var s float64
	for i := range u {
		u[i] = rng.NormFloat64()
		s += u[i] * u[i]
	}
	for i := range u {
		u[i] /= math.Sqrt(s)
	}
	z = make([]float32, n*nz)
	probs = make([]float64, n)
	for i := 0; i < n; i++ {
		var p float64
		for j := 0; j < nz; j++ {
			v := rng.NormFloat64()
			z[i*nz+j] = float32(v)
			p += v * u[j]
		}
		probs[i] = 1 / (1 + math.Exp(-(a*p + b + 0.3*rng.NormFloat64())))
	}
	return z, probs, u
}

// A young model rarely draws the attribute: nearly every probability is
// below 0.5, so labels alone cannot fit a direction; the scores still can
// (issue 23, item 5).
func TestFitDirectionFromScoresWhenOneLabelIsMissing(t *testing.T) {
	const n, nz = 600, 32
	z, probs, u := plantedScores(n, nz, 1, -6) // p > 0.5 needs z·u > 6: never, for N(0,1)
	y := make([]bool, n)
	pos := 0
	for i, p := range probs {
		y[i] = p > 0.5
		if y[i] {
			pos++
		}
	}
	if pos >= minSide {
		t.Fatalf("%d positives: the case is not lopsided", pos)
	}
	if _, err := FitDirection(z, y, 0); err == nil {
		t.Fatal("labels without positives fitted a direction")
	}
	d, err := FitDirectionScores(z, probs, 0)
	if err != nil {
		t.Fatal(err)
	}
	if cos := dot(d.Direction, u); cos < 0.9 {
		t.Errorf("cosine with the planted direction %.3f, want > 0.9", cos)
	}
	if d.Method != MethodScores || d.Samples != n || d.Positives != pos || math.Abs(d.ScoreFraction-ScoreFraction) > 1e-9 || d.Accuracy < 0.9 {
		t.Errorf("direction %+v", *d)
	}
}

// With both labels present, the scores change nothing: the labels' fit.
func TestFitDirectionScoresKeepsLabelsWhenBothArePresent(t *testing.T) {
	z, probs, u := plantedScores(2000, 32, 3, 0.5)
	d, err := FitDirectionScores(z, probs, 0)
	if err != nil {
		t.Fatal(err)
	}
	y := make([]bool, len(probs))
	for i, p := range probs {
		y[i] = p > 0.5
	}
	want, _ := FitDirection(z, y, 0)
	if d.Method != MethodLabels || dot(d.Direction, want.Direction) < 1-1e-12 || dot(d.Direction, u) < 0.95 {
		t.Errorf("method %q, cosine with the labels' fit %g, with the planted %g", d.Method, dot(d.Direction, want.Direction), dot(d.Direction, u))
	}
}

// Scores that do not vary: the one error left.
func TestFitDirectionScoresFlat(t *testing.T) {
	z, probs, _ := plantedScores(600, 32, 1, 0)
	for i := range probs {
		probs[i] = 1e-12 // saturated: every logit is the clamp
	}
	if _, err := FitDirectionScores(z, probs, 0); !errors.Is(err, ErrScoresFlat) {
		t.Fatalf("flat scores: %v", err)
	}
}
