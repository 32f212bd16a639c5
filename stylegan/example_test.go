package stylegan_test

import (
	"fmt"
	"math/rand/v2"

	"forger/nn"
	"forger/stylegan"
	"forger/tensor"
)

// Generate two images with truncation, mix their styles, and score them with
// the discriminator; then take the gradient of W+ that projection follows.
func Example() {
	cfg := stylegan.DefaultConfig(32, 3)
	cfg.ChannelBase, cfg.ChannelMax = 256, 32 // a small network for the example
	rng := rand.New(rand.NewPCG(1, 2))
	g, err := stylegan.NewGenerator(cfg, rng)
	if err != nil {
		panic(err)
	}
	d, err := stylegan.NewDiscriminator(cfg, rng)
	if err != nil {
		panic(err)
	}
	g.Synthesis.SetNoise(nn.NoiseConst, nil) // the same image for the same w

	z := tensor.New(2, cfg.ZDim)
	z.FillNormal(rng, 0, 1)
	w := g.Mapping.Forward(z)                     // [2, WDim]
	ws := stylegan.Broadcast(nil, w, cfg.NumWs()) // W+: one w per layer
	g.Mapping.Truncate(ws, 0.7, 0)                // towards the average w
	img := g.Synthesis.Forward(ws)                // [2, 32, 32, 3], NHWC
	logits := d.Forward(img)                      // [2, 1]
	fmt.Println("images", img.Shape, "logits", logits.Shape, "W+", ws.Shape)

	// Coarse styles (layers 0-3) of the first image, fine ones of the second.
	w1 := tensor.FromData(w.Data[:cfg.WDim], 1, cfg.WDim)
	w2 := tensor.FromData(w.Data[cfg.WDim:], 1, cfg.WDim)
	mixed := g.Synthesis.Forward(stylegan.Mix(nil, w1, w2, cfg.NumWs(), 4))
	fmt.Println("mixed", mixed.Shape)

	// Gradient of Σ image with respect to W+: what a projection descends.
	dimg := tensor.New(mixed.Shape...)
	dimg.Fill(1)
	dws := g.Synthesis.Backward(dimg)
	fmt.Println("dW+", dws.Shape)
	// Output:
	// images [2 32 32 3] logits [2 1] W+ [2 8 256]
	// mixed [1 32 32 3]
	// dW+ [1 8 256]
}
