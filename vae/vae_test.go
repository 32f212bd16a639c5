package vae

import (
	"math"
	"math/rand/v2"
	"testing"

	"forger/gan"
	"forger/optim"
	"forger/tensor"
)

func randn(rng *rand.Rand, n int, std float64) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(std * rng.NormFloat64())
	}
	return v
}

// close reports whether an analytic gradient a matches a finite difference
// f within a relative tolerance (absolute for tiny values).
func close(a, f, tol float64) bool {
	return math.Abs(a-f) <= tol*math.Max(0.1, math.Max(math.Abs(a), math.Abs(f)))
}

func TestKLGradientMatchesFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n, nz := 3, 5
	mu, lv := randn(rng, n*nz, 1), randn(rng, n*nz, 1)
	dmu, dlv := make([]float32, n*nz), make([]float32, n*nz)
	const scale = 0.7
	KL(mu, lv, n, dmu, dlv, scale)
	scratchA, scratchB := make([]float32, n*nz), make([]float32, n*nz)
	f := func() float64 { return scale * KL(mu, lv, n, scratchA, scratchB, 1) }
	const h = 1e-2
	for _, x := range []struct {
		name string
		v, g []float32
	}{{"mu", mu, dmu}, {"logvar", lv, dlv}} {
		for i := range x.v {
			old := x.v[i]
			x.v[i] = old + h
			up := f()
			x.v[i] = old - h
			down := f()
			x.v[i] = old
			fd := (up - down) / (2 * h)
			if !close(float64(x.g[i]), fd, 1e-3) {
				t.Errorf("d KL/d %s[%d] = %g, finite difference %g", x.name, i, x.g[i], fd)
			}
		}
	}
	// KL is 0 exactly at the prior.
	zero, dz := make([]float32, nz), make([]float32, nz)
	if kl := KL(zero, zero, 1, dz, make([]float32, nz), 1); kl != 0 {
		t.Errorf("KL(N(0, I) ‖ N(0, I)) = %g, want 0", kl)
	}
}

func TestReparameterizeGradientMatchesFiniteDifferences(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	m := 12
	mu, lv, eps, c := randn(rng, m, 1), randn(rng, m, 1), randn(rng, m, 1), randn(rng, m, 1)
	z := make([]float32, m)
	// L = Σ c·z, so dL/dz = c.
	loss := func() float64 {
		Reparameterize(z, mu, lv, eps)
		var s float64
		for i := range z {
			s += float64(c[i]) * float64(z[i])
		}
		return s
	}
	loss()
	dmu, dlv := make([]float32, m), make([]float32, m)
	ReparameterizeBackward(c, lv, eps, dmu, dlv)
	const h = 1e-2
	for _, x := range []struct {
		name string
		v, g []float32
	}{{"mu", mu, dmu}, {"logvar", lv, dlv}} {
		for i := range x.v {
			old := x.v[i]
			x.v[i] = old + h
			up := loss()
			x.v[i] = old - h
			down := loss()
			x.v[i] = old
			fd := (up - down) / (2 * h)
			if !close(float64(x.g[i]), fd, 2e-3) {
				t.Errorf("dL/d %s[%d] = %g, finite difference %g", x.name, i, x.g[i], fd)
			}
		}
	}
	// A draw with ε = 0 is the mean.
	Reparameterize(z, mu, lv, make([]float32, m))
	for i := range z {
		if z[i] != mu[i] {
			t.Fatalf("z[%d] = %g with ε = 0, want μ = %g", i, z[i], mu[i])
		}
	}
}

func tiny(t *testing.T) (*Trainer, *tensor.Tensor) {
	t.Helper()
	cfg := gan.Config{Arch: gan.VAE, Size: 32, Channels: 1, NZ: 4, NGF: 4, NDF: 4}
	rng := rand.New(rand.NewPCG(5, 6))
	dec, err := gan.NewGenerator(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := NewEncoder(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	tr := &Trainer{Enc: enc, Dec: dec, KLWeight: 1,
		OptE: optim.NewAdam(enc.Params(), 1e-3, 0.9, 0.999), OptG: optim.NewAdam(dec.Params(), 1e-3, 0.9, 0.999)}
	x := tensor.New(4, 32, 32, 1)
	for i := range x.Data {
		x.Data[i] = float32(math.Tanh(rng.NormFloat64()))
	}
	return tr, x
}

// The whole chain — encoder, reparameterisation, decoder, loss — against
// finite differences of the loss in a few weights of the encoder's first
// and last convolutions and of the decoder.
func TestLossGradientMatchesFiniteDifferences(t *testing.T) {
	tr, x := tiny(t)
	rng := rand.New(rand.NewPCG(7, 8))
	eps := tensor.New(4, 4)
	gan.SampleZ(eps, rng)
	tr.gradients(x, eps)
	encPs, decPs := tr.Enc.Params(), tr.Dec.Params()
	type pick struct {
		name string
		p    []float32
		g    []float32
	}
	var picks []pick
	for _, p := range []struct {
		name string
		i    int
		enc  bool
	}{{"enc first", 0, true}, {"enc head", len(encPs) - 2, true}, {"dec first", 0, false}} {
		ps := decPs
		if p.enc {
			ps = encPs
		}
		picks = append(picks, pick{p.name, ps[p.i].Value.Data, append([]float32(nil), ps[p.i].Grad.Data...)})
	}
	loss := func() float64 {
		for _, p := range append(encPs, decPs...) {
			p.Grad.Zero()
		}
		return tr.gradients(x, eps).Loss
	}
	checked := 0
	for _, pk := range picks {
		for k := 0; k < 4; k++ {
			i := (k*7919 + 3) % len(pk.p)
			old := pk.p[i]
			const h = 1e-4 // small enough that no ReLU flips
			pk.p[i] = old + h
			up := loss()
			pk.p[i] = old - h
			down := loss()
			pk.p[i] = old
			fd := (up - down) / (2 * h)
			if !close(float64(pk.g[i]), fd, 0.05) {
				t.Errorf("%s weight %d: gradient %g, finite difference %g", pk.name, i, pk.g[i], fd)
			}
			checked++
		}
	}
	if checked != 12 {
		t.Fatalf("checked %d weights", checked)
	}
}

// Training lowers the loss of a fixed batch, and its KL stays finite.
func TestStepLowersLoss(t *testing.T) {
	tr, x := tiny(t)
	rng := rand.New(rand.NewPCG(9, 10))
	var st Stats
	tr.Step(x, rng, &st)
	first := st.Loss
	for range 60 {
		tr.Step(x, rng, &st)
	}
	if !(st.Loss < 0.85*first) || math.IsNaN(st.KL) || st.KL < 0 {
		t.Fatalf("loss %g after 60 steps from %g (KL %g): want below 85%%", st.Loss, first, st.KL)
	}
}
