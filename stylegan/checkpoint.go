package stylegan

import (
	"encoding/json"

	"forger/nn"
	"forger/tensor"
)

// JSON is the configuration as a checkpoint's metadata holds it.
func (c Config) JSON() string {
	b, _ := json.Marshal(c)
	return string(b)
}

// Tensors returns the generator's parameters and buffers (w_avg, the
// constant noise) named prefix + "." + name, as gan's checkpoints store a
// network ("g.mapping.fc0.weight", "g.synthesis.b4.const", …).
func (g *Generator) Tensors(prefix string) []tensor.Named {
	return nn.AppendNamed(nil, prefix, append(g.Params(), g.Buffers()...))
}

// Load sets the generator's parameters and buffers from f.
func (g *Generator) Load(f *tensor.File, prefix string) error {
	return nn.LoadNamed(f, prefix, append(g.Params(), g.Buffers()...))
}

// Tensors returns the discriminator's parameters, named as Generator.Tensors.
func (d *Discriminator) Tensors(prefix string) []tensor.Named {
	return nn.AppendNamed(nil, prefix, append(d.Params(), d.Buffers()...))
}

// Load sets the discriminator's parameters from f.
func (d *Discriminator) Load(f *tensor.File, prefix string) error {
	return nn.LoadNamed(f, prefix, append(d.Params(), d.Buffers()...))
}

// Generate renders z [N, ZDim] with truncation psi (1: none) towards w_avg,
// with the noise mode the synthesis network is set to (nn.NoiseConst for
// the same image from the same seed). It does not update w_avg.
func (g *Generator) Generate(z *tensor.Tensor, psi float32) *tensor.Tensor {
	g.genWs = Broadcast(g.genWs, g.Mapping.Forward(z), g.NumWs())
	if psi != 1 {
		g.Mapping.Truncate(g.genWs, psi, 0)
	}
	return g.Synthesis.Forward(g.genWs)
}
