package gan_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"

	"forger/gan"
	"forger/optim"
	"forger/tensor"
)

// A generator draws images from latent vectors; a seed names one vector,
// so the same seed gives the same image on every run.
func Example() {
	cfg := gan.Config{Arch: gan.DCGAN, Size: 32, Channels: 3, NZ: 16, NGF: 8, NDF: 8}
	g, err := gan.NewGenerator(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		panic(err)
	}
	g.SetTraining(false) // batch norm's running statistics, as when generating
	draw := func(seed int64) []float32 {
		z := tensor.New(1, cfg.NZ)
		gan.LatentForSeed(seed, 1, z.Data)
		return slices.Clone(g.Forward(z, nil).Data)
	}
	a, b, c := draw(42), draw(42), draw(43)
	lo, hi := slices.Min(a), slices.Max(a)
	fmt.Println(len(a) == 32*32*3, slices.Equal(a, b), slices.Equal(a, c), lo >= -1 && hi <= 1)
	// Output: true true false true
}

// A checkpoint holds both networks, the optimisers and the configuration;
// LoadGenerator reads back the generator, ready to draw.
func ExampleLoadGenerator() {
	cfg := gan.Config{Arch: gan.CDCGAN, Size: 28, Channels: 1, NZ: 8, NGF: 8, NDF: 8, Classes: []string{"shirt", "shoe"}}
	rng := rand.New(rand.NewPCG(3, 4))
	g, err := gan.NewGenerator(cfg, rng)
	if err != nil {
		panic(err)
	}
	d, err := gan.NewDiscriminator(cfg, rng)
	if err != nil {
		panic(err)
	}
	dir, err := os.MkdirTemp("", "gan-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.safetensors")
	ck := &gan.Checkpoint{Config: cfg, G: g, D: d, TrainState: "{}",
		OptG: optim.NewAdam(g.Params(), 2e-4, 0.5, 0.999), OptD: optim.NewAdam(d.Params(), 2e-4, 0.5, 0.999)}
	if err := ck.Save(path); err != nil {
		panic(err)
	}
	loaded, err := gan.LoadGenerator(path)
	if err != nil {
		panic(err)
	}
	z := tensor.New(2, cfg.NZ)
	gan.SampleZ(z, rand.New(rand.NewPCG(5, 6)))
	imgs := loaded.Forward(z, []int32{0, 1}) // a shirt and a shoe
	fmt.Println(loaded.Cfg.Arch, loaded.Cfg.Classes, imgs)
	// Output: cdcgan [shirt shoe] Tensor[2 28 28 1]
}

// Validate names the field it refuses in an *OptionError, which a command
// line turns into its own flag.
func ExampleConfig_Validate() {
	cfg := gan.Config{Arch: gan.DCGAN, Size: 48, Channels: 3, NZ: 100, NGF: 64, NDF: 64}
	err := cfg.Validate()
	var oe *gan.OptionError
	if errors.As(err, &oe) {
		fmt.Println(oe.Option, oe.Value)
		fmt.Println(oe.Text("--size"))
	}
	// Output:
	// Size 48
	// --size 48 is not supported (use 28, 32, 64 or 128)
}
