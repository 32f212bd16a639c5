package ppl

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"forger/gan"
	"forger/judge"
	"forger/nn"
	"forger/stylegan"
	"forger/tensor"
)

// waveGen is a generator built for the test: pixel p of the image of z is
// sin(freq·⟨a_p, z⟩) for fixed random directions a_p, so its images change
// with z at a rate that freq sets.
type waveGen struct {
	cfg  gan.Config
	freq float64
	a    []float32 // [pixels, nz]
	out  *tensor.Tensor
}

func newWave(freq float64) *waveGen {
	cfg := gan.Config{Arch: gan.DCGAN, Size: 32, Channels: 3, NZ: 8, NGF: 1, NDF: 1}
	g := &waveGen{cfg: cfg, freq: freq, a: make([]float32, 32*32*3*8)}
	rng := rand.New(rand.NewPCG(11, 12))
	for i := range g.a {
		g.a[i] = float32(rng.NormFloat64() / math.Sqrt(8))
	}
	return g
}

func (g *waveGen) ModelConfig() gan.Config { return g.cfg }
func (g *waveGen) Params() []*nn.Param     { return nil }
func (g *waveGen) Buffers() []*nn.Param    { return nil }
func (g *waveGen) SetTraining(bool)        {}
func (g *waveGen) Forward(z *tensor.Tensor, _ []int32) *tensor.Tensor {
	n, nz, px := z.Shape[0], g.cfg.NZ, 32*32*3
	g.out = tensor.Ensure(g.out, n, 32, 32, 3)
	for i := range n {
		zi := z.Data[i*nz : (i+1)*nz]
		for p := range px {
			var s float64
			for k, v := range zi {
				s += float64(g.a[p*nz+k]) * float64(v)
			}
			g.out.Data[i*px+p] = float32(math.Sin(g.freq * s))
		}
	}
	return g.out
}
func (g *waveGen) Backward(*tensor.Tensor) *tensor.Tensor { return nil }
func (g *waveGen) Tensors(string) []tensor.Named          { return nil }
func (g *waveGen) Load(*tensor.File, string) error        { return nil }

func testJudge(t *testing.T, channels int) *JudgeSpace {
	t.Helper()
	j, err := judge.New(judge.Config{Size: 32, Channels: channels, Classes: []string{"a", "b"}}, 3)
	if err != nil {
		t.Fatal(err)
	}
	return NewJudgeSpace(j, "an untrained judge's features")
}

// A generator whose images change slowly along z has a lower path length
// than one that changes fast; a seed gives one number, another seed a
// different one near it.
func TestSmoothBelowRough(t *testing.T) {
	sp := testJudge(t, 3)
	ctx := context.Background()
	o := Options{Pairs: 200, Seed: 1}
	smooth, err := Measure(ctx, newWave(0.3), sp, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	rough, err := Measure(ctx, newWave(3), sp, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !(smooth.PPL > 0) || !(rough.PPL > 10*smooth.PPL) {
		t.Fatalf("ppl smooth %g, rough %g: want the rough one above 10× the smooth one", smooth.PPL, rough.PPL)
	}
	if smooth.Pairs != 200 || smooth.Space != "slerp in z, distance in an untrained judge's features" {
		t.Fatalf("result %+v", smooth)
	}
	again, err := Measure(ctx, newWave(0.3), sp, Options{Pairs: 200, Seed: 1, Batch: 7}, nil)
	if err != nil || again.PPL != smooth.PPL {
		t.Fatalf("same seed, another batch size: %g, want %g (%v)", again.PPL, smooth.PPL, err)
	}
	other, err := Measure(ctx, newWave(0.3), sp, Options{Pairs: 200, Seed: 2}, nil)
	if err != nil || other.PPL == smooth.PPL || math.Abs(other.PPL-smooth.PPL) > 0.5*smooth.PPL {
		t.Fatalf("seed 2: %g, seed 1: %g", other.PPL, smooth.PPL)
	}
}

// dcgan, vae and stylegan generators all measure; a grey generator is
// measured by a colour judge; a size the judge does not read is ErrSize;
// a cancelled context stops the measurement.
func TestGeneratorsAndErrors(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	dc, err := gan.NewGenerator(gan.Config{Arch: gan.VAE, Size: 32, Channels: 1, NZ: 8, NGF: 8, NDF: 8}, rng)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Measure(ctx, dc, testJudge(t, 3), Options{Pairs: 20, Seed: 1}, nil)
	if err != nil || !(r.PPL > 0) || math.IsInf(r.PPL, 0) {
		t.Fatalf("vae decoder: %+v, %v", r, err)
	}
	sc := stylegan.DefaultConfig(32, 3)
	sc.ZDim, sc.WDim, sc.MappingLayers, sc.ChannelBase, sc.ChannelMax = 16, 16, 2, 64, 16
	sg, err := gan.NewStyleGenerator(gan.StyleConfig(sc), rng)
	if err != nil {
		t.Fatal(err)
	}
	done := 0
	r, err = Measure(ctx, sg, testJudge(t, 3), Options{Pairs: 20, Seed: 1, Batch: 8}, func(d int) { done += d })
	if err != nil || !(r.PPL > 0) || r.Space != "lerp in w, distance in an untrained judge's features" || done != 20 {
		t.Fatalf("stylegan: %+v, %v, progress %d", r, err, done)
	}
	big, _ := gan.NewGenerator(gan.Config{Arch: gan.DCGAN, Size: 64, Channels: 3, NZ: 8, NGF: 4, NDF: 4}, rng)
	if _, err := Measure(ctx, big, testJudge(t, 3), Options{Pairs: 20}, nil); !errors.Is(err, ErrSize) {
		t.Fatalf("64×64 generator, 32×32 judge: %v, want ErrSize", err)
	}
	var oe *OptionError
	if _, err := Measure(ctx, dc, testJudge(t, 3), Options{Pairs: 2}, nil); !errors.As(err, &oe) || oe.Option != "Pairs" {
		t.Fatalf("2 pairs: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Measure(cctx, dc, testJudge(t, 3), Options{Pairs: 20}, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

func TestTrimmedMean(t *testing.T) {
	d := make([]float64, 101)
	for i := range d {
		d[i] = float64(i)
	}
	if m := TrimmedMean(d); m != 50 {
		t.Fatalf("trimmed mean of 0..100: %g, want 50 (1..99)", m)
	}
	d[100], d[0] = 1e12, -1e12
	if m := TrimmedMean(d); m != 50 {
		t.Fatalf("with outliers: %g, want 50", m)
	}
}
