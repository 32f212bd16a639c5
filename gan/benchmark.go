package gan

import (
	"math/rand/v2"
	"runtime"
	"syscall"
	"time"

	"forger/blas"
	"forger/optim"
	"forger/stylegan"
	"forger/tensor"
)

// BenchOptions sets up a speed measurement on random data.
type BenchOptions struct {
	// Model is DCGAN ("" too), StyleGAN (stylegan.DefaultConfig's
	// networks with z and w of NZ and feature maps min(8·NGF/res, NGF)) or
	// VAE (whose training step vae.BenchTrain times).
	Model                               string
	Size, Channels, Batch, NZ, NGF, NDF int
	// DArch is the discriminator's shape (Config.DArch): for a stylegan
	// DArchDCGAN or DArchDeep time DCGAN's discriminator of NDF without
	// normalisation, with biases and minibatch stddev (train's recipe for
	// it) instead of StyleGAN2's residual one.
	DArch         string
	Steps, Warmup int
	Progress      func(step int) // called after each timed step; may be nil
}

// BenchResult is what `forger bench` prints; its JSON names are a contract
// with bench/compare.sh.
type BenchResult struct {
	Framework      string  `json:"framework"`
	Model          string  `json:"model,omitempty"`
	Mode           string  `json:"mode"`
	Size           int     `json:"size"`
	Channels       int     `json:"channels"`
	Batch          int     `json:"batch"`
	NGF            int     `json:"ngf"`
	NDF            int     `json:"ndf"`
	Steps          int     `json:"steps"`
	ImagesPerSec   float64 `json:"images_per_sec"`
	SecondsPerStep float64 `json:"seconds_per_step"`
	Gemm           string  `json:"gemm"`
	Threads        int     `json:"threads"`
	PeakRSSBytes   int64   `json:"peak_rss_bytes"`
	AllocsPerStep  float64 `json:"allocs_per_step"`
}

func (o BenchOptions) config() Config {
	if o.Model == StyleGAN {
		sc := stylegan.DefaultConfig(o.Size, o.Channels)
		sc.ZDim, sc.WDim, sc.ChannelMax, sc.ChannelBase = o.NZ, o.NZ, o.NGF, 8*o.NGF
		c := StyleConfig(sc)
		if c.DArch = o.DArch; c.DCGANDiscriminator() {
			c.NDF, c.DNoNorm, c.DBias, c.MinibatchStd = o.NDF, true, true, true
		}
		return c
	}
	if o.Model == VAE {
		return Config{Arch: VAE, Size: o.Size, Channels: o.Channels, NZ: o.NZ, NGF: o.NGF, NDF: o.NDF}
	}
	return Config{Arch: DCGAN, Size: o.Size, Channels: o.Channels, NZ: o.NZ, NGF: o.NGF, NDF: o.NDF, DArch: o.DArch}
}

// BenchTrain times the standard DCGAN training step (D on real and fake,
// then G; Adam 2e-4, β1 0.5; BCE) on random images. For a stylegan it is
// the same step with Adam 0.0025 (0, 0.99), random noise and without style
// mixing or the lazy regularisers, the step bench/compare-stylegan.sh
// runs in PyTorch.
func BenchTrain(o BenchOptions) (BenchResult, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	cfg := o.config()
	g, d, err := NewNets(cfg, rng)
	if err != nil {
		return BenchResult{}, err
	}
	lr, b1, b2 := 2e-4, 0.5, 0.999
	if sg, ok := g.(*StyleGenerator); ok {
		sg.MixProb = 0
		lr, b1, b2 = 0.0025, 0, 0.99
	}
	t := &Trainer{G: g, D: d, Loss: LossBCE,
		OptG: optim.NewAdam(g.Params(), lr, b1, b2), OptD: optim.NewAdam(d.Params(), lr, b1, b2)}
	real := tensor.New(o.Batch, o.Size, o.Size, o.Channels)
	real.FillUniform(rng, -1, 1)
	var st Stats
	step := func() {
		t.StepD(real, nil, rng, &st)
		t.StepG(&st)
	}
	return Measure("train", o, step)
}

// BenchGenerate times generation (the generator in inference mode) of one
// batch per step.
func BenchGenerate(o BenchOptions) (BenchResult, error) {
	rng := rand.New(rand.NewPCG(1, 2))
	var g GeneratorNet
	var err error
	if cfg := o.config(); cfg.Arch == StyleGAN {
		g, err = NewStyleGenerator(cfg, rng)
	} else {
		g, err = NewGenerator(cfg, rng)
	}
	if err != nil {
		return BenchResult{}, err
	}
	g.SetTraining(false)
	z := tensor.New(o.Batch, o.NZ)
	step := func() {
		SampleZ(z, rng)
		g.Forward(z, nil)
	}
	return Measure("generate", o, step)
}

// Measure runs step o.Warmup times, then times o.Steps runs of it and
// reports them as mode's result: the one timer of every bench.
func Measure(mode string, o BenchOptions, step func()) (BenchResult, error) {
	for i := 0; i < o.Warmup; i++ {
		step()
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	for i := 0; i < o.Steps; i++ {
		step()
		if o.Progress != nil {
			o.Progress(i + 1)
		}
	}
	el := time.Since(start).Seconds()
	runtime.ReadMemStats(&after)
	r := BenchResult{Framework: "forger", Model: o.Model, Mode: mode, Size: o.Size, Channels: o.Channels, Batch: o.Batch,
		NGF: o.NGF, NDF: o.NDF, Steps: o.Steps, Gemm: blas.Backend(), Threads: runtime.GOMAXPROCS(0),
		ImagesPerSec: float64(o.Batch*o.Steps) / el, SecondsPerStep: el / float64(o.Steps),
		PeakRSSBytes: peakRSS()}
	if o.Steps > 0 {
		r.AllocsPerStep = float64(after.Mallocs-before.Mallocs) / float64(o.Steps)
	}
	return r, nil
}

// peakRSS is the process's peak resident set size (Linux reports KiB).
func peakRSS() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return int64(ru.Maxrss) * 1024
}
