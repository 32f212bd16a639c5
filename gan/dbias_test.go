package gan

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"forger/dataset"
	"forger/internal/fixture"
	"forger/optim"
	"forger/tensor"
)

// TestDBiasTellsFaintCopies: a discriminator without normalisation is
// trained with BCE to tell Fashion-MNIST images (real) from the same images
// at a third of their contrast around mid-grey (fake), the refuge of the
// grey drift. Without biases D(a·x) = a·D(x), so each faint copy gets the
// sign of its image and D can never pass one half; with DBias it learns
// the task.
func TestDBiasTellsFaintCopies(t *testing.T) {
	if err := dataset.Installed(dataset.FashionMNIST); err != nil {
		fixture.Missing(t, err)
	}
	const n, size = 32, 32
	set, err := dataset.Open(dataset.FashionMNIST, dataset.Options{Size: size, Channels: 1, Limit: 8 * n})
	if err != nil {
		t.Fatal(err)
	}
	for _, withBias := range []bool{false, true} {
		cfg := Config{Arch: DCGAN, Size: size, Channels: 1, NZ: 8, NGF: 8, NDF: 16, DNoNorm: true, MinibatchStd: true, DBias: withBias}
		d, err := NewDiscriminator(cfg, rand.New(rand.NewPCG(1, 2)))
		if err != nil {
			t.Fatal(err)
		}
		opt := optim.NewAdam(d.Params(), 2e-3, 0.5, 0.999)
		per := size * size
		real, faint := tensor.New(n, size, size, 1), tensor.New(n, size, size, 1)
		grad := tensor.New(n, 1)
		// As the trainer does: real and generated images in batches of
		// their own (minibatch stddev mixes the images of a batch).
		pass := func(x *tensor.Tensor, y float64) (hits int, positive []bool) {
			logits := d.Forward(x, nil)
			for i := range n {
				p := 1 / (1 + math.Exp(-float64(logits.Data[i])))
				grad.Data[i] = float32((p - y) / float64(2*n))
				positive = append(positive, logits.Data[i] > 0)
				if (logits.Data[i] > 0) == (y == 1) {
					hits++
				}
			}
			d.Backward(grad)
			return hits, positive
		}
		var acc float64
		agree := 0
		for step := range 300 {
			b := (step % 8) * n
			copy(real.Data, set.Images[b*per:(b+n)*per])
			for i, v := range real.Data {
				faint.Data[i] = v / 3
			}
			hr, pr := pass(real, 1)
			hf, pf := pass(faint, 0)
			opt.Step()
			acc = float64(hr+hf) / float64(2*n)
			agree = 0
			for i := range n {
				if pr[i] == pf[i] {
					agree++
				}
			}
		}
		t.Logf("bias %v: accuracy %.2f at the last step, %d of %d faint copies share their image's sign", withBias, acc, agree, n)
		switch {
		case !withBias && agree != n:
			t.Errorf("without biases %d of %d faint copies changed sign: D is not homogeneous", n-agree, n)
		case withBias && acc < 0.95:
			t.Errorf("with biases D tells faint copies from images at %.2f, want ≥ 0.95", acc)
		}
	}
}

// TestDBiasGradients: every bias of a D without normalisation, with and
// without spectral norm, gets a gradient, the head's the sum of the
// logits' (a logit is its bias plus the rest). The layers' own gradients
// are checked against finite differences in package nn.
func TestDBiasGradients(t *testing.T) {
	for _, spectral := range []bool{false, true} {
		rng := rand.New(rand.NewPCG(3, 3))
		c := Config{Arch: DCGAN, Size: 32, Channels: 3, NZ: 8, NGF: 8, NDF: 8, SpectralNorm: spectral, DNoNorm: !spectral, DBias: true}
		d, err := NewDiscriminator(c, rng)
		if err != nil {
			t.Fatal(err)
		}
		x := tensor.New(2, 32, 32, 3)
		x.FillNormal(rng, 0, 0.5)
		d.Forward(x, nil)
		for _, p := range d.Params() {
			p.Grad.Zero()
		}
		d.Backward(tensor.FromData([]float32{0.7, -1.3}, 2, 1))
		biases := 0
		for _, p := range d.Params() {
			if !strings.HasSuffix(p.Name, ".bias") {
				continue
			}
			biases++
			var norm float64
			for _, g := range p.Grad.Data {
				norm += math.Abs(float64(g))
			}
			if norm == 0 {
				t.Errorf("spectral norm %v: %s has no gradient", spectral, p.Name)
			}
			if p.Name == "head.bias" && math.Abs(float64(p.Grad.Data[0])+0.6) > 1e-6 {
				t.Errorf("spectral norm %v: head.bias gradient %v, want 0.7 - 1.3 = -0.6", spectral, p.Grad.Data[0])
			}
		}
		if biases != 4 {
			t.Errorf("spectral norm %v: %d biases, want 4", spectral, biases)
		}
	}
}
