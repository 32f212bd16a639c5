package augment

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"forger/tensor"
)

func randomImages(rng *rand.Rand, n, side, c int) *tensor.Tensor {
	x := tensor.New(n, side, side, c)
	x.FillUniform(rng, -1, 1)
	return x
}

// TestBackwardIsTranspose checks that Backward is the exact adjoint of the
// linear part of Forward, for the same random operations: ⟨F(x₁) − F(x₀), g⟩
// = ⟨x₁ − x₀, Fᵀg⟩, so generators get the right gradient through it.
func TestBackwardIsTranspose(t *testing.T) {
	for _, c := range []int{1, 3} {
		for _, p := range []float64{0.3, 1} {
			for _, policy := range []string{DiffAugment, ADA} {
				checkTranspose(t, For(policy, p), c)
			}
		}
	}
}

// checkTranspose checks one augmenter as TestBackwardIsTranspose says, and
// that it augmented (with Geometry, moved) at least one of 16 images.
func checkTranspose(t *testing.T, a *Augmenter, c int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, uint64(c)))
	x0, x1, g := randomImages(rng, 16, 12, c), randomImages(rng, 16, 12, c), randomImages(rng, 16, 12, c)
	y0 := a.Forward(x0, rand.New(rand.NewPCG(7, 7))).Clone()
	y1 := a.Forward(x1, rand.New(rand.NewPCG(7, 7))).Clone()
	dx := a.Backward(g)
	var lhs, rhs float64
	for i := range y0.Data {
		lhs += float64(y1.Data[i]-y0.Data[i]) * float64(g.Data[i])
		rhs += float64(x1.Data[i]-x0.Data[i]) * float64(dx.Data[i])
	}
	if math.Abs(lhs-rhs) > 1e-4*math.Abs(lhs) {
		t.Errorf("channels %d, p %g, geometry %v: ⟨ΔF, g⟩ = %.6g, ⟨Δx, Fᵀg⟩ = %.6g", c, a.P, a.Geometry, lhs, rhs)
	}
	moved := 0
	for _, o := range a.ops {
		if o.geom {
			moved++
		}
	}
	if a.Applied() == 0 || a.Geometry && moved == 0 {
		t.Errorf("channels %d, p %g, geometry %v: %.2f of the images augmented, %d moved", c, a.P, a.Geometry, a.Applied(), moved)
	}
}

// TestProbability checks that P = 0 leaves images as they are, P = 1 changes
// every one, and a middle P augments about that share of the images.
func TestProbability(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	x := randomImages(rng, 400, 8, 3)
	for _, a := range []*Augmenter{New(0), For(ADA, 0)} {
		y := a.Forward(x, rng)
		for i := range x.Data {
			if y.Data[i] != x.Data[i] {
				t.Fatalf("P = 0 changed value %d (geometry %v)", i, a.Geometry)
			}
		}
	}
	a := New(1)
	a.Forward(x, rng)
	if a.Applied() != 1 {
		t.Fatalf("P = 1 augmented %.2f of the images", a.Applied())
	}
	a.P = 0.2
	a.Forward(x, rng)
	// Three operations, each with P = 0.2: 1 − 0.8³ = 0.488 of the images.
	if got := a.Applied(); math.Abs(got-0.488) > 0.08 {
		t.Fatalf("P = 0.2 augmented %.3f of the images, want about 0.488", got)
	}
}

// TestTranslationAndCutout checks the geometry on a constant image: a
// translation leaves a zero border no wider than an eighth of the side, a
// cutout a zero square of half the side (clipped at the borders).
func TestTranslationAndCutout(t *testing.T) {
	const side = 16
	x := tensor.New(1, side, side, 1)
	x.Fill(1)
	rng := rand.New(rand.NewPCG(3, 3))
	for trial := 0; trial < 50; trial++ {
		a := New(1)
		y := a.Forward(x, rng)
		o := a.ops[0]
		if abs(o.dy) > 2 || abs(o.dx) > 2 {
			t.Fatalf("translation (%d, %d) beyond an eighth of %d", o.dy, o.dx, side)
		}
		zeros := 0
		for _, v := range y.Data {
			if v == 0 {
				zeros++
			}
		}
		// Cutout alone removes at most 8×8 = 64 pixels; the translation's
		// border at most 2·16 + 2·16; the colour operations never make 0 of
		// a constant image unless brightness and contrast say so.
		if zeros == 0 || zeros > 64+4*side {
			t.Fatalf("trial %d: %d zero pixels", trial, zeros)
		}
	}
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// TestController checks ADA's adjustment: P rises while D is sure of the
// real images (r_t above the target), falls otherwise, and stays in [0, 1].
func TestController(t *testing.T) {
	a := New(0)
	c := NewController(0.6)
	sure := make([]float32, 64)
	for i := range sure {
		sure[i] = 2 // every real logit positive: r_t = 1
	}
	adjusted := 0
	for range 400 {
		if c.Observe(a, MeanSign(sure), len(sure)) {
			adjusted++
		}
	}
	if adjusted != 100 || c.Rt != 1 {
		t.Fatalf("%d adjustments, r_t %g; want 100 and 1", adjusted, c.Rt)
	}
	// 400 steps of 64 images at 100,000 images from 0 to 1: 0.256.
	if math.Abs(a.P-0.256) > 1e-9 {
		t.Fatalf("P = %g after 25,600 over-confident images, want 0.256", a.P)
	}
	unsure := make([]float32, 64)
	for i := range unsure {
		unsure[i] = float32(i%2)*2 - 1 // r_t = 0
	}
	for range 4000 {
		c.Observe(a, MeanSign(unsure), len(unsure))
	}
	if a.P != 0 || c.Rt != 0 {
		t.Fatalf("P = %g, r_t %g after an unsure discriminator; want 0 and 0", a.P, c.Rt)
	}
}

func TestCheck(t *testing.T) {
	for _, ok := range []string{None, DiffAugment, ADA} {
		if err := Check(ok); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	if err := Check("ada2"); !errors.Is(err, ErrPolicy) {
		t.Errorf("ada2: %v, want ErrPolicy", err)
	}
}

// TestGeometryKeepsConstantImages checks the resampling's weights and
// borders: a constant image stays constant however it is scaled, rotated
// or moved (zero padding or weights that do not sum to 1 would change it).
func TestGeometryKeepsConstantImages(t *testing.T) {
	const side = 16
	src := make([]float32, side*side*3)
	for i := range src {
		src[i] = 0.7
	}
	dst := make([]float32, len(src))
	a := &Augmenter{P: 1, Geometry: true}
	rng := rand.New(rand.NewPCG(5, 5))
	for trial := range 50 {
		m, moved := a.drawGeometry(rng, side, side)
		if !moved {
			continue
		}
		resample(dst, src, side, side, 3, &m)
		for i, v := range dst {
			if math.Abs(float64(v)-0.7) > 1e-5 {
				t.Fatalf("trial %d: pixel %d is %g, want 0.7", trial, i, v)
			}
		}
	}
}

// TestGeometryExactMoves checks that the x-flip mirrors an image exactly and
// that four quarter turns bring it back, while one does not.
func TestGeometryExactMoves(t *testing.T) {
	const h, w, c = 6, 6, 2
	rng := rand.New(rand.NewPCG(6, 6))
	src := randomImages(rng, 1, h, c).Data
	dst := make([]float32, len(src))
	flip := affine{-1, 0, 0, 0, 1, 0}.centred(h, w)
	resample(dst, src, h, w, c, &flip)
	for y := range h {
		for x := range w {
			for k := range c {
				if got, want := dst[(y*w+x)*c+k], src[(y*w+w-1-x)*c+k]; math.Abs(float64(got-want)) > 1e-6 {
					t.Fatalf("flip at (%d, %d, %d): %g, want %g", y, x, k, got, want)
				}
			}
		}
	}
	quarter := rotation(math.Pi/2).centred(h, w)
	img := append([]float32(nil), src...)
	for turn := 1; turn <= 4; turn++ {
		resample(dst, img, h, w, c, &quarter)
		copy(img, dst)
		same := true
		for i := range img {
			if math.Abs(float64(img[i]-src[i])) > 1e-5 {
				same = false
			}
		}
		if same != (turn == 4) {
			t.Fatalf("after %d quarter turns the image is the same: %v", turn, same)
		}
	}
}

// TestReflect checks reflect against walking back and forth along [0, n).
func TestReflect(t *testing.T) {
	for _, n := range []int{1, 2, 5, 16} {
		for i := -40; i <= 40; i++ {
			// Walk from 0 to i one step at a time, turning at the edges.
			pos, dir := 0, 1
			if i < 0 {
				dir = -1
			}
			for range abs(i) {
				if n == 1 {
					break
				}
				if pos+dir < 0 || pos+dir >= n {
					dir = -dir
				}
				pos += dir
			}
			if got := reflect(i, n); got != pos {
				t.Fatalf("reflect(%d, %d) = %d, want %d", i, n, got, pos)
			}
		}
	}
}
