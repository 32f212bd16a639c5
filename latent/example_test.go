package latent_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"forger/gan"
	"forger/latent"
)

// Slerp moves along the great circle between two latents and interpolates
// their lengths; Lerp cuts the corner.
func ExampleSlerp() {
	a, b := []float32{2, 0}, []float32{0, 2}
	mid := make([]float32, 2)
	latent.Slerp(mid, a, b, 0.5)
	fmt.Printf("slerp %.4f\n", mid)
	latent.Lerp(mid, a, b, 0.5)
	fmt.Printf("lerp  %.4f\n", mid)
	// Output:
	// slerp [1.4142 1.4142]
	// lerp  [1.0000 1.0000]
}

// A morph is a path of codes through waypoints: seeds, latent files or
// projected photos.
func ExamplePath() {
	cfg := gan.Config{Arch: gan.DCGAN, Size: 28, Channels: 1, NZ: 4, NGF: 8, NDF: 8}
	from, to := latent.FromSeed(cfg, 1, 0), latent.FromSeed(cfg, 2, 0)
	frames, err := latent.Path([]latent.Code{from, to}, 5, true)
	if err != nil {
		panic(err)
	}
	fmt.Println(len(frames), frames[0].Z[0] == from.Z[0], frames[4].Z[3] == to.Z[3])
	// Output: 5 true true
}

// Project finds the latent of an image: here one the generator drew, from
// seed 7, which a few hundred steps from z = 0 reconstruct closely.
// Projection.Options are the options the run used, defaults filled in.
func ExampleProject() {
	cfg := gan.Config{Arch: gan.DCGAN, Size: 28, Channels: 1, NZ: 8, NGF: 8, NDF: 8}
	g, err := gan.NewGenerator(cfg, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		panic(err)
	}
	gan.RecalibrateBN(g) // batch-norm statistics that fit the random weights
	target := latent.Render(g, []latent.Code{latent.FromSeed(cfg, 7, 0)}).Clone()
	start := []latent.Code{{Z: make([]float32, cfg.NZ)}} // z = 0
	res, err := latent.Project(context.Background(), g, target, start, latent.ProjectOptions{Noise: latent.DefaultNoise})
	if err != nil {
		panic(err)
	}
	first, best := res.Loss[0][0], res.Best[0]
	fmt.Println(res.Options.Steps, res.Options.Loss, best < first/10)
	// Output: 300 pixel true
}
