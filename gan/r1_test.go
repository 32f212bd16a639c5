package gan

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"forger/augment"
	"forger/nn"
	"forger/optim"
	"forger/tensor"
)

// r1Value is (gamma/2)·(1/N)·Σᵢ‖∇ₓᵢD(x)‖², computed with D's weights frozen
// and spectral norm's power iteration held still; with held masks, the
// leaky ReLUs keep the masks they were given (the region of the weights
// where double backward's derivative lives).
func r1Value(d *Discriminator, x *tensor.Tensor, labels []int32, gamma float64) float64 {
	ps := d.Params()
	nn.Freeze(ps, true)
	defer nn.Freeze(ps, false)
	for _, sn := range d.spectralNorms() {
		sn.SetTraining(false)
		defer sn.SetTraining(true)
	}
	d.SetInputGrad(true)
	n := x.Shape[0]
	ones := tensor.New(n, 1)
	ones.Fill(1)
	d.Forward(x, labels)
	g := d.Backward(ones)
	var ss float64
	for _, v := range g.Data {
		ss += float64(v) * float64(v)
	}
	return gamma / 2 * ss / float64(n)
}

// TestR1GradientMatchesDerivative checks the finite-difference
// Hessian-vector product of addR1Grad against the derivative of the
// penalty itself along random directions in weight space, for the
// spectrally normalised discriminators forger trains: plain, with
// minibatch stddev, and a conditional projection discriminator. The
// derivative of the penalty is taken with the leaky ReLUs' masks held at
// the base weights, as double backward takes it (a mask flip is a jump of
// the penalty, not a slope).
func TestR1GradientMatchesDerivative(t *testing.T) {
	cases := []struct {
		name string
		c    Config
	}{
		{"spectral-norm", Config{Arch: DCGAN, Size: 32, Channels: 3, NZ: 8, NGF: 8, NDF: 8, SpectralNorm: true}},
		{"deep", Config{Arch: DCGAN, Size: 32, Channels: 3, NZ: 8, NGF: 8, NDF: 8, SpectralNorm: true, DArch: DArchDeep}},
		{"no-norm", Config{Arch: DCGAN, Size: 32, Channels: 3, NZ: 8, NGF: 8, NDF: 8, DNoNorm: true, MinibatchStd: true}},
		{"mbstd", Config{Arch: DCGAN, Size: 32, Channels: 3, NZ: 8, NGF: 8, NDF: 8, SpectralNorm: true, MinibatchStd: true}},
		{"projection", Config{Arch: CDCGAN, Size: 28, Channels: 1, NZ: 8, NGF: 8, NDF: 8, SpectralNorm: true, Classes: []string{"a", "b", "c"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			d, err := NewDiscriminator(tc.c, rng)
			if err != nil {
				t.Fatal(err)
			}
			// Larger weights than DCGAN's N(0, 0.02), so that the input
			// gradient is far from zero and its square has curvature.
			for _, p := range d.Params() {
				for i := range p.Value.Data {
					p.Value.Data[i] *= 5
				}
			}
			n := 8
			x := tensor.New(n, tc.c.Size, tc.c.Size, tc.c.Channels)
			x.FillUniform(rng, -1, 1)
			var labels []int32
			if tc.c.Conditional() {
				labels = []int32{0, 1, 2, 0, 1, 2, 0, 1}
			}
			d.SetTraining(true)
			// One forward in training mode so spectral norm's u settles a
			// little, as in training.
			d.Forward(x, labels)
			tr := &Trainer{D: d}
			const gamma = 10.0
			for _, p := range d.Params() {
				p.Grad.Zero()
			}
			pen := tr.addR1Grad(x, labels, gamma)
			if want := r1Value(d, x, labels, 2); math.Abs(pen-want) > 1e-6*math.Max(1, want) {
				t.Fatalf("penalty %g, want E‖∇D‖² = %g", pen, want)
			}
			ps := d.Params()
			grads := make([][]float32, len(ps))
			for i, p := range ps {
				grads[i] = append([]float32(nil), p.Grad.Data...)
				p.Grad.Zero()
			}
			for trial := range 3 {
				// A random direction, scaled like each weight tensor.
				dir := make([][]float32, len(ps))
				var analytic float64
				for i, p := range ps {
					var s float64
					for _, v := range p.Value.Data {
						s += float64(v) * float64(v)
					}
					scale := math.Sqrt(s/float64(p.Value.Len())) + 1e-3
					dir[i] = make([]float32, p.Value.Len())
					for k := range dir[i] {
						dir[i][k] = float32(scale * rng.NormFloat64())
						analytic += float64(dir[i][k]) * float64(grads[i][k])
					}
				}
				move := func(h float64) {
					for i, p := range ps {
						for k := range p.Value.Data {
							p.Value.Data[k] += float32(h) * dir[i][k]
						}
					}
				}
				const h = 1e-3
				// The base point's masks, with spectral norm's u and v as
				// addR1Grad used them.
				for _, sn := range d.spectralNorms() {
					sn.SetTraining(false)
				}
				d.Forward(x, labels)
				d.holdMasks(true)
				move(h)
				up := r1Value(d, x, labels, gamma)
				move(-2 * h)
				down := r1Value(d, x, labels, gamma)
				move(h)
				d.holdMasks(false)
				for _, sn := range d.spectralNorms() {
					sn.SetTraining(true)
				}
				numeric := (up - down) / (2 * h)
				if rel := math.Abs(analytic-numeric) / math.Max(math.Abs(numeric), 1e-9); rel > 0.01 {
					t.Errorf("trial %d: ⟨∇R1, u⟩ = %.6g by the finite-difference HVP, %.6g by differencing the penalty (relative error %.3g)", trial, analytic, numeric, rel)
				}
			}
		})
	}
}

// TestR1Lazy checks that StepD adds the penalty on every R1Every-th step
// only, and reports it.
func TestR1Lazy(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	c := Config{Arch: DCGAN, Size: 32, Channels: 3, NZ: 8, NGF: 4, NDF: 4, SpectralNorm: true}
	g, _ := NewGenerator(c, rng)
	d, _ := NewDiscriminator(c, rng)
	tr := &Trainer{G: g, D: d, Loss: LossHinge, R1: 1, R1Every: 4,
		OptG: optim.NewAdam(g.Params(), 2e-4, 0.5, 0.999), OptD: optim.NewAdam(d.Params(), 2e-4, 0.5, 0.999)}
	x := tensor.New(4, 32, 32, 3)
	x.FillUniform(rng, -1, 1)
	for step := 1; step <= 8; step++ {
		var st Stats
		tr.StepD(x, nil, rng, &st)
		if (st.R1 > 0) != (step%4 == 0) {
			t.Fatalf("step %d: R1 %g; want a value on every 4th step only", step, st.R1)
		}
		tr.StepG(&st)
	}
}

// TestR1MatchesPyTorch compares addR1Grad with PyTorch's double backward on
// the same weights and images (gan/testdata/r1-torch.safetensors, made by
// scripts/r1-reference.py): a spectrally normalised discriminator, and one
// without normalisation with minibatch stddev.
func TestR1MatchesPyTorch(t *testing.T) {
	fh, err := os.Open(filepath.Join("testdata", "r1-torch.safetensors"))
	if err != nil {
		t.Fatalf("%v (make it with: /usr/bin/python3 scripts/r1-reference.py gan/testdata/r1-torch.safetensors)", err)
	}
	defer fh.Close()
	f, err := tensor.ReadSafetensors(fh)
	if err != nil {
		t.Fatal(err)
	}
	gamma, err := strconv.ParseFloat(f.Metadata["gamma"], 64)
	if err != nil {
		t.Fatal(err)
	}
	x := f.Tensors["x"]
	cases := strings.Split(f.Metadata["cases"], ",")
	if len(cases) < 2 {
		t.Fatalf("cases %q", f.Metadata["cases"])
	}
	for _, name := range cases {
		t.Run(name, func(t *testing.T) {
			var c Config
			if err := json.Unmarshal([]byte(f.Metadata["config."+name]), &c); err != nil {
				t.Fatal(err)
			}
			d, err := NewDiscriminator(c, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range append(d.Params(), d.Buffers()...) {
				src, err := f.Lookup(name+"."+p.Name, p.Value.Shape...)
				if err != nil {
					t.Fatal(err)
				}
				p.Value.CopyFrom(src)
			}
			d.SetTraining(true)
			tr := &Trainer{D: d}
			pen := tr.addR1Grad(x, nil, gamma)
			want, _ := strconv.ParseFloat(f.Metadata["penalty."+name], 64)
			if math.Abs(pen-want) > 1e-4*want {
				t.Errorf("E‖∇D‖² = %.7g, PyTorch %.7g", pen, want)
			}
			for _, p := range d.Params() {
				ref, err := f.Lookup(name+".grad."+p.Name, p.Value.Shape...)
				if err != nil {
					t.Fatal(err)
				}
				var diff, norm float64
				for i, v := range ref.Data {
					e := float64(p.Grad.Data[i]) - float64(v)
					diff += e * e
					norm += float64(v) * float64(v)
				}
				if rel := math.Sqrt(diff / norm); rel > 1e-3 || norm == 0 {
					t.Errorf("%s: gradient differs from PyTorch's double backward by %.3g (relative, L2)", p.Name, rel)
				} else {
					t.Logf("%s: relative L2 difference %.2g", p.Name, rel)
				}
			}
		})
	}
}

// TestR1OnAugmentedImages checks that with augmentation the penalty is
// taken at the real images as D saw them in that step, not as they were.
func TestR1OnAugmentedImages(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	c := Config{Arch: DCGAN, Size: 32, Channels: 3, NZ: 8, NGF: 4, NDF: 4, DNoNorm: true, MinibatchStd: true}
	g, _ := NewGenerator(c, rng)
	d, _ := NewDiscriminator(c, rng)
	x := tensor.New(4, 32, 32, 3)
	x.FillUniform(rng, -1, 1)

	// Replay StepD's draws: z, then the real batch's augmentation.
	replay := rand.New(rand.NewPCG(9, 10))
	SampleZ(tensor.New(4, c.NZ), replay)
	seen := augment.New(1).Forward(x, replay)
	want := r1Value(d, seen, nil, 2)
	plain := r1Value(d, x, nil, 2)

	tr := &Trainer{G: g, D: d, Loss: LossHinge, R1: 1, R1Every: 1, Augment: augment.New(1),
		OptG: optim.NewAdam(g.Params(), 2e-4, 0.5, 0.999), OptD: optim.NewAdam(d.Params(), 2e-4, 0.5, 0.999)}
	var st Stats
	tr.StepD(x, nil, rand.New(rand.NewPCG(9, 10)), &st)
	if math.Abs(st.R1-want) > 1e-4*want {
		t.Fatalf("R1 %g; want %g, its value at the augmented images (at the images as they are: %g)", st.R1, want, plain)
	}
	if math.Abs(plain-want) < 1e-3*want {
		t.Fatalf("the augmentation left the penalty unchanged (%g): the test cannot tell the two apart", want)
	}
}
