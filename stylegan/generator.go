package stylegan

import (
	"fmt"
	"math/rand/v2"

	"forger/nn"
	"forger/tensor"
)

// Generator is StyleGAN2's generator: the mapping network and the synthesis
// network. Forward and Backward are the training path (z, optionally
// style-mixed, to images); generation and projection call Mapping,
// Mapping.Truncate and Synthesis directly, and Synthesis.Backward gives the
// gradient of W+.
type Generator struct {
	Config    Config
	Mapping   *Mapping
	Synthesis *Synthesis
	// Noise is the source of the layers' random noise; its state
	// (MarshalBinary) is what a resumable run saves.
	Noise *rand.PCG

	training     bool
	n, crossover int
	mixed        bool
	zz, ws       *tensor.Tensor
	genWs        *tensor.Tensor // Generate's W+
	w1, w2       tensor.Tensor  // views of the mapping's output
	dw           *tensor.Tensor
	dw1, dw2     tensor.Tensor
}

// NewGenerator returns a generator of cfg with StyleGAN2's initialisation
// (weights N(0,1), affine biases 1, noise strengths 0), random noise from
// rng's stream.
func NewGenerator(cfg Config, rng *rand.Rand) (*Generator, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	g := &Generator{Config: cfg, Mapping: NewMapping(cfg, rng), Synthesis: NewSynthesis(cfg, rng)}
	g.Noise = rand.NewPCG(rng.Uint64(), rng.Uint64())
	g.Synthesis.SetNoise(nn.NoiseRandom, rand.New(g.Noise))
	return g, nil
}

// NumWs is the number of w vectors of W+.
func (g *Generator) NumWs() int { return g.Config.NumWs() }

// Params returns the trainable parameters, mapping first.
func (g *Generator) Params() []*nn.Param {
	return append(g.Mapping.Params(), g.Synthesis.Params()...)
}

// Buffers returns w_avg and the constant noise images.
func (g *Generator) Buffers() []*nn.Param {
	return append([]*nn.Param{g.Mapping.WAvg}, g.Synthesis.Buffers()...)
}

// SetTraining sets whether Forward updates w_avg. The noise mode is set
// apart (Synthesis.SetNoise).
func (g *Generator) SetTraining(t bool) { g.training = t }

// Forward maps z [N, ZDim] to images [N, Size, Size, Channels]. With z2 not
// nil and crossover < NumWs it mixes styles: layers before crossover take
// z's w, the rest z2's (StyleGAN2's mixing regularisation, see Crossover);
// both go through the mapping network as one batch. In training mode the
// running average of w is updated from z's w.
func (g *Generator) Forward(z, z2 *tensor.Tensor, crossover int) *tensor.Tensor {
	numWs := g.NumWs()
	n := z.Shape[0]
	g.n = n
	g.mixed = z2 != nil && crossover < numWs
	if crossover > numWs || crossover < 0 {
		panic(fmt.Sprintf("stylegan.Generator: crossover %d outside [0, %d]", crossover, numWs))
	}
	g.crossover = crossover
	var w *tensor.Tensor
	if g.mixed {
		if !tensor.SameShape(z.Shape, z2.Shape) {
			panic(fmt.Sprintf("stylegan.Generator: z %v and z2 %v differ", z.Shape, z2.Shape))
		}
		g.zz = tensor.Ensure(g.zz, 2*n, z.Shape[1])
		copy(g.zz.Data, z.Data)
		copy(g.zz.Data[len(z.Data):], z2.Data)
		w = g.Mapping.Forward(g.zz)
	} else {
		g.crossover = numWs
		w = g.Mapping.Forward(z)
	}
	d := g.Config.WDim
	g.w1 = tensor.Tensor{Data: w.Data[:n*d], Shape: append(g.w1.Shape[:0], n, d)}
	g.w2 = g.w1
	if g.mixed {
		g.w2 = tensor.Tensor{Data: w.Data[n*d : 2*n*d], Shape: append(g.w2.Shape[:0], n, d)}
	}
	if g.training {
		g.Mapping.UpdateWAvg(&g.w1)
	}
	g.ws = Mix(g.ws, &g.w1, &g.w2, numWs, g.crossover)
	return g.Synthesis.Forward(g.ws)
}

// Ws returns the W+ latents of the last Forward, [N, NumWs, WDim].
func (g *Generator) Ws() *tensor.Tensor { return g.ws }

// Backward takes the gradient of the images, accumulates every parameter's
// gradient and returns the gradient of z (rows of z, then of z2 when mixed).
func (g *Generator) Backward(dimg *tensor.Tensor) *tensor.Tensor {
	return g.BackwardWs(g.Synthesis.Backward(dimg))
}

// BackwardWs takes a gradient of the last Forward's W+ and takes it through
// style mixing and the mapping network, accumulating the mapping's
// gradients; it returns the gradient of z (as Backward).
func (g *Generator) BackwardWs(dws *tensor.Tensor) *tensor.Tensor {
	numWs, n, d := g.NumWs(), g.n, g.Config.WDim
	rows := n
	if g.mixed {
		rows = 2 * n
	}
	g.dw = tensor.Ensure(g.dw, rows, d)
	g.dw1 = tensor.Tensor{Data: g.dw.Data[:n*d], Shape: append(g.dw1.Shape[:0], n, d)}
	SumLayers(&g.dw1, dws, 0, g.crossover)
	if g.mixed {
		g.dw2 = tensor.Tensor{Data: g.dw.Data[n*d:], Shape: append(g.dw2.Shape[:0], n, d)}
		SumLayers(&g.dw2, dws, g.crossover, numWs)
	}
	return g.Mapping.Backward(g.dw)
}
