package gan

import (
	"errors"
	"math"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"forger/optim"
	"forger/stylegan"
	"forger/tensor"
)

// smallStyle is a stylegan small enough for tests: 16×16, widths 16.
func smallStyle() Config {
	sc := stylegan.DefaultConfig(16, 3)
	sc.ZDim, sc.WDim, sc.MappingLayers, sc.ChannelBase, sc.ChannelMax = 16, 16, 2, 64, 16
	return StyleConfig(sc)
}

func newStyleTrainer(t *testing.T, cfg Config, seed uint64) *Trainer {
	t.Helper()
	g, d, err := NewNets(cfg, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return &Trainer{G: g, D: d, Loss: LossBCE, R1: 0.05, R1Every: 2, GRegEvery: 2,
		OptG: optim.NewAdam(g.Params(), 0.0025, 0, 0.99), OptD: optim.NewAdam(d.Params(), 0.0025, 0, 0.99),
		EMA: optim.NewEMA(g.Params(), 0.99)}
}

func fixedReal(n int, seed uint64) *tensor.Tensor {
	x := tensor.New(n, 16, 16, 3)
	rng := rand.New(rand.NewPCG(seed, 9))
	for i := range x.Data {
		x.Data[i] = float32(math.Tanh(rng.NormFloat64()))
	}
	return x
}

func finite(t *testing.T, what string, ps []*tensor.Tensor) {
	t.Helper()
	for _, p := range ps {
		for _, v := range p.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("%s: not finite", what)
			}
		}
	}
}

// TestStyleGANSteps runs the StyleGAN2 recipe (R1, path length, mixing,
// EMA) for a few steps: everything stays finite, both regularisers run,
// w_avg moves, and D's loss on a fixed real batch and fixed fakes falls.
func TestStyleGANSteps(t *testing.T) {
	tr := newStyleTrainer(t, smallStyle(), 1)
	sg := tr.G.(*StyleGenerator)
	real := fixedReal(8, 1)
	rng := rand.New(rand.NewPCG(3, 4))
	var st Stats
	var first, last float64
	sawR1, sawPL := false, false
	for i := 0; i < 6; i++ {
		tr.StepD(real, nil, rng, &st)
		if i == 0 {
			first = st.LossD
		}
		last = st.LossD
		tr.StepG(&st)
		sawR1, sawPL = sawR1 || st.R1 > 0, sawPL || st.GReg > 0
		if math.IsNaN(st.LossD) || math.IsNaN(st.LossG) || math.IsNaN(st.GReg) || math.IsNaN(st.R1) {
			t.Fatalf("step %d: %+v", i, st)
		}
	}
	var vals []*tensor.Tensor
	for _, p := range append(tr.G.Params(), tr.D.Params()...) {
		vals = append(vals, p.Value)
	}
	finite(t, "parameters", vals)
	if !sawR1 || !sawPL {
		t.Fatalf("R1 seen %v, path length seen %v", sawR1, sawPL)
	}
	if sg.PL.Mean == 0 {
		t.Fatal("path length's running mean did not move")
	}
	var avg float64
	for _, v := range sg.Mapping.WAvg.Value.Data {
		avg += math.Abs(float64(v))
	}
	if avg == 0 {
		t.Fatal("w_avg did not move")
	}
	if !(last < first) {
		t.Fatalf("D's loss did not fall: %.4f → %.4f", first, last)
	}
}

// TestStyleGANCheckpointAndGenerate saves a trained stylegan, loads its
// averaged generator and checks that seeds are deterministic, that
// truncation 0 gives w_avg's image for every z, and that the mixing grid
// takes its coarse styles from one side and its fine ones from the other.
func TestStyleGANCheckpointAndGenerate(t *testing.T) {
	tr := newStyleTrainer(t, smallStyle(), 2)
	real := fixedReal(8, 2)
	rng := rand.New(rand.NewPCG(5, 6))
	var st Stats
	for i := 0; i < 3; i++ {
		tr.StepD(real, nil, rng, &st)
		tr.StepG(&st)
	}
	path := filepath.Join(t.TempDir(), "sg.safetensors")
	c := &Checkpoint{Config: tr.G.ModelConfig(), G: tr.G, D: tr.D, OptG: tr.OptG, OptD: tr.OptD, EMA: tr.EMA, TrainState: "{}"}
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadGenerator(path); err == nil {
		t.Fatal("LoadGenerator took a stylegan")
	}
	info, err := ReadInfo(path)
	if err != nil || info.Arch != StyleGAN || info.Size != 16 {
		t.Fatalf("info %+v, %v", info, err)
	}
	gn, err := LoadGeneratorNet(path)
	if err != nil {
		t.Fatal(err)
	}
	g := gn.(*StyleGenerator)
	gn2, _ := LoadGeneratorNet(path)
	z := tensor.New(3, 16)
	for i := 0; i < 3; i++ {
		LatentForSeed(int64(i), 1, z.Data[i*16:(i+1)*16])
	}
	a := g.Forward(z, nil).Clone()
	if d := tensor.MaxAbsDiff(gn2.Forward(z, nil), a); d != 0 {
		t.Fatalf("two loads render a seed differently: %g", d)
	}
	if d := tensor.MaxAbsDiff(g.Forward(z, nil), a); d != 0 {
		t.Fatalf("a seed renders differently twice: %g", d)
	}
	if d := tensor.MaxAbsDiff(g.Truncated(z, 1), a); d != 0 {
		t.Fatalf("truncation 1 differs from none: %g", d)
	}
	t0 := g.Truncated(z, 0).Clone()
	per := t0.Len() / 3
	for i := 1; i < 3; i++ {
		for j := 0; j < per; j++ {
			if t0.Data[i*per+j] != t0.Data[j] {
				t.Fatalf("truncation 0: image %d differs from image 0", i)
			}
		}
	}
	if tensor.MaxAbsDiff(t0, a) == 0 {
		t.Fatal("truncation 0 changed nothing")
	}
	// Mixing: crossover NumWs is all coarse (row) styles, 0 all fine.
	zr, zc := z.Clone(), tensor.New(3, 16)
	for i := 0; i < 3; i++ {
		LatentForSeed(int64(10+i), 1, zc.Data[i*16:(i+1)*16])
	}
	if d := tensor.MaxAbsDiff(g.MixGrid(zr, zc, g.NumWs(), 1), a); d != 0 {
		t.Fatalf("mixing with every layer coarse differs from the row's image: %g", d)
	}
	fine := g.Forward(zc, nil).Clone()
	if d := tensor.MaxAbsDiff(g.MixGrid(zr, zc, 0, 1), fine); d != 0 {
		t.Fatalf("mixing with every layer fine differs from the column's image: %g", d)
	}
	mid := g.MixGrid(zr, zc, 2, 1)
	if tensor.MaxAbsDiff(mid, a) == 0 || tensor.MaxAbsDiff(mid, fine) == 0 {
		t.Fatal("a crossover in the middle gives one of its sources")
	}
}

// TestStyleGANDiscriminatorChoice: a stylegan's DArch chooses its
// discriminator — StyleGAN2's residual one by default, DCGAN's for dcgan
// and deep — and each builder refuses the other's; an unknown DArch, and
// DCGAN's at a size DCGAN's networks do not have, are refused.
func TestStyleGANDiscriminatorChoice(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, darch := range []string{"", DArchResidual} {
		cfg := smallStyle()
		cfg.DArch = darch
		if _, d, err := NewNets(cfg, rng); err != nil {
			t.Fatalf("DArch %q: %v", darch, err)
		} else if _, ok := d.(*StyleDiscriminator); !ok {
			t.Fatalf("DArch %q: %T, want StyleGAN2's discriminator", darch, d)
		}
		if _, err := NewDiscriminator(cfg, rng); !errors.Is(err, ErrNotDCGAN) {
			t.Fatalf("DArch %q: NewDiscriminator %v, want ErrNotDCGAN", darch, err)
		}
	}
	sc := stylegan.DefaultConfig(32, 3)
	sc.ZDim, sc.WDim, sc.MappingLayers, sc.ChannelBase, sc.ChannelMax = 16, 16, 2, 64, 16
	cfg := StyleConfig(sc)
	cfg.DArch, cfg.NDF, cfg.DNoNorm, cfg.DBias, cfg.MinibatchStd = DArchDCGAN, 8, true, true, true
	_, d, err := NewNets(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	dd, ok := d.(*Discriminator)
	if !ok {
		t.Fatalf("%T, want DCGAN's discriminator", d)
	}
	if c := dd.first; c.Out != 8 || c.Bias == nil {
		t.Fatalf("first convolution %d wide, bias %v: want ndf 8 with a bias", c.Out, c.Bias != nil)
	}
	img := tensor.New(4, 32, 32, 3)
	img.FillUniform(rng, -1, 1)
	if y := d.Forward(img, nil); y.Len() != 4 {
		t.Fatalf("logits %v, want 4", y.Shape)
	}
	if _, err := NewStyleDiscriminator(cfg, rng); err == nil {
		t.Fatal("NewStyleDiscriminator built StyleGAN2's discriminator for DArch dcgan")
	}
	bad := cfg
	bad.DArch = "bogus"
	var oe *OptionError
	if err := bad.Validate(); !errors.As(err, &oe) || oe.Option != "DArch" {
		t.Fatalf("DArch bogus: %v, want an *OptionError naming DArch", err)
	}
	small := smallStyle() // 16×16: no DCGAN networks of that size
	small.DArch, small.NDF = DArchDCGAN, 8
	if err := small.Validate(); !errors.As(err, &oe) || oe.Option != "Size" {
		t.Fatalf("16×16 with DCGAN's D: %v, want an *OptionError naming Size", err)
	}
	dc := Config{Arch: DCGAN, Size: 32, Channels: 3, NZ: 16, NGF: 8, NDF: 8, DArch: DArchResidual}
	if err := dc.Validate(); !errors.As(err, &oe) || oe.Option != "DArch" {
		t.Fatalf("a dcgan with the residual D: %v, want an *OptionError naming DArch", err)
	}
}
