package latent

import (
	"fmt"
	"math"

	"forger/gan"
	"forger/stylegan"
	"forger/tensor"
)

// ToSpace returns the code c of a stylegan in space s: z goes through the
// mapping network to w, and w to W+ by giving every layer the same w (the
// other way round is not defined: W+ and W do not go back). A code already
// in s is returned as it is.
func ToSpace(g gan.GeneratorNet, c Code, s Space) (Code, error) {
	from, to := c.Space.norm(), s.norm()
	if from == to {
		return c, nil
	}
	sg, ok := g.(*gan.StyleGenerator)
	if !ok {
		return Code{}, &SpaceError{Space: to.String(), Reason: fmt.Sprintf("needs a stylegan model (this one is a %s: use z)", g.ModelConfig().Arch)}
	}
	if err := CheckCode(sg.Cfg, c); err != nil {
		return Code{}, err
	}
	if from == SpaceWPlus || (from == SpaceW && to == SpaceZ) {
		return Code{}, &SpaceError{Space: from.String(), Reason: fmt.Sprintf("cannot be taken back to %s", to)}
	}
	w := c.Z
	if from == SpaceZ {
		z := tensor.New(1, len(c.Z))
		copy(z.Data, c.Z)
		w = append([]float32(nil), sg.Mapping.Forward(z).Data...)
	}
	if to == SpaceW {
		return Code{Z: w, Space: SpaceW}, nil
	}
	numWs := sg.NumWs()
	out := make([]float32, 0, numWs*len(w))
	for range numWs {
		out = append(out, w...)
	}
	return Code{Z: out, Space: SpaceWPlus}, nil
}

// ToCommonSpace brings codes to one space: the widest among theirs and at
// (z < W < W+; see ToSpace), so a seed (z) can be morphed or blended with a
// projected W+ code. at "" adds nothing.
func ToCommonSpace(g gan.GeneratorNet, codes []Code, at Space) ([]Code, error) {
	rank := map[Space]int{SpaceZ: 0, SpaceW: 1, SpaceWPlus: 2}
	s := at.norm()
	if at == "" {
		s = SpaceZ
	}
	for _, c := range codes {
		if rank[c.Space.norm()] > rank[s] {
			s = c.Space.norm()
		}
	}
	out := make([]Code, len(codes))
	for i, c := range codes {
		var err error
		if out[i], err = ToSpace(g, c, s); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// AverageCode returns w_avg as a code of space s, W or W+ (every layer
// w_avg): where projections and encoders start. In W it shares w_avg's
// values: clone it before changing it.
func AverageCode(g *gan.StyleGenerator, s Space) (Code, error) {
	return ToSpace(g, Code{Z: g.Mapping.WAvg.Value.Data, Space: SpaceW}, s)
}

// Truncated returns a stylegan's code c pulled towards w_avg by psi
// (1 = off), w_avg + psi·(w − w_avg) in W or in each layer of W+, a code in
// z taken to W first: forger generate's truncation (gan.StyleGenerator.Truncated,
// psi 0 gives the average image), for codes edited or morphed before they
// are truncated. c is not changed.
func Truncated(g *gan.StyleGenerator, c Code, psi float64) (Code, error) {
	if psi == 1 {
		return c, nil
	}
	var err error
	if c.Space.norm() == SpaceZ {
		c, err = ToSpace(g, c, SpaceW) // a new slice
	} else if err = CheckCode(g.Cfg, c); err == nil {
		c = c.Clone()
	}
	if err != nil {
		return Code{}, err
	}
	d := g.Config.WDim
	g.Mapping.Truncate(&tensor.Tensor{Data: c.Z, Shape: []int{1, len(c.Z) / d, d}}, float32(psi), 0)
	return c, nil
}

// renderStyle renders codes of any space of a stylegan through W+.
func renderStyle(g *gan.StyleGenerator, codes []Code) *tensor.Tensor {
	g.SetTraining(false)
	numWs, d := g.NumWs(), g.Config.WDim
	ws := tensor.New(len(codes), numWs, d)
	for i, c := range codes {
		p, err := ToSpace(g, c, SpaceWPlus)
		if err != nil {
			panic("latent.Render: " + err.Error())
		}
		copy(ws.Data[i*numWs*d:], p.Z)
	}
	return g.Synthesis.Forward(ws)
}

// WStd is the spread of a stylegan's w about w_avg, √(E‖w − w_avg‖²) over
// n mapped seeds (StyleGAN2's projector scales its noise by it).
func WStd(g *gan.StyleGenerator, n int) float64 {
	z := tensor.New(n, g.Config.ZDim)
	gan.SampleZ(z, newRNG(0x5eed))
	w := g.Mapping.Forward(z)
	avg := g.Mapping.WAvg.Value.Data
	var s float64
	for i, v := range w.Data {
		d := float64(v) - float64(avg[i%len(avg)])
		s += d * d
	}
	return math.Sqrt(s / float64(n))
}

// codeNet is a frozen generator as a differentiable function of codes of
// one space, [N, dim] → images, as a projection sees it.
type codeNet interface {
	forward(x *tensor.Tensor) *tensor.Tensor
	// backward takes the images' gradient and returns that of the codes.
	backward(dimg *tensor.Tensor) *tensor.Tensor
}

// dcganNet is a DCGAN's z (with fixed labels).
type dcganNet struct {
	g      *gan.Generator
	labels []int32
}

func (n *dcganNet) forward(x *tensor.Tensor) *tensor.Tensor  { return n.g.Forward(x, n.labels) }
func (n *dcganNet) backward(d *tensor.Tensor) *tensor.Tensor { return n.g.Backward(d) }

// styleNet is a stylegan's z, W or W+, with its constant noise.
type styleNet struct {
	g      *gan.StyleGenerator
	space  Space
	ws, dx *tensor.Tensor
}

func (n *styleNet) forward(x *tensor.Tensor) *tensor.Tensor {
	g := n.g
	numWs, d := g.NumWs(), g.Config.WDim
	switch n.space {
	case SpaceZ:
		return g.Generator.Forward(x, nil, numWs)
	case SpaceW:
		n.ws = stylegan.Broadcast(n.ws, x, numWs)
	default:
		n.ws = &tensor.Tensor{Data: x.Data, Shape: []int{x.Shape[0], numWs, d}}
	}
	return g.Synthesis.Forward(n.ws)
}

func (n *styleNet) backward(dimg *tensor.Tensor) *tensor.Tensor {
	g := n.g
	switch n.space {
	case SpaceZ:
		return g.Generator.Backward(dimg)
	case SpaceW:
		dws := g.Synthesis.Backward(dimg)
		n.dx = stylegan.SumLayers(n.dx, dws, 0, g.NumWs())
		return n.dx
	}
	dws := g.Synthesis.Backward(dimg)
	return &tensor.Tensor{Data: dws.Data, Shape: []int{dws.Shape[0], dws.Shape[1] * dws.Shape[2]}}
}

// newCodeNet returns g as a function of codes of space s (labels for a
// conditional DCGAN).
func newCodeNet(g gan.GeneratorNet, s Space, labels []int32) (codeNet, error) {
	switch g := g.(type) {
	case *gan.Generator:
		if s.norm() != SpaceZ {
			return nil, &SpaceError{Space: s.String(), Reason: fmt.Sprintf("needs a stylegan model (this one is a %s: use z)", g.Cfg.Arch)}
		}
		return &dcganNet{g: g, labels: labels}, nil
	case *gan.StyleGenerator:
		return &styleNet{g: g, space: s.norm()}, nil
	}
	return nil, fmt.Errorf("latent: unknown generator %T", g)
}
