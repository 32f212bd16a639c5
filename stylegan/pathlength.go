package stylegan

import (
	"math"
	"math/rand/v2"

	"forger/nn"
	"forger/tensor"
)

// PathLength is StyleGAN2's path-length regulariser: for images x = G(w)
// and an image y of N(0,1)/√(H·W) noise, the length L = ‖Jᵀy‖ of the
// gradient of x·y with respect to W+ (the mean over layers of the squared
// norms, square-rooted) is pulled towards its running mean a:
// penalty Weight·E(L − a)². A fixed-size step in W then changes the image
// by a fixed amount, which makes W smoother (lower perceptual path length).
//
// The penalty's gradient needs second derivatives (PyTorch's double
// backward). As for gan's lazy R1, forger takes them as a central finite
// difference, a Hessian-vector product: with g = ∇_ws(x·y) and v = dP/dg
// held fixed, ∇(g·v) = d/dε ∇(x(ws + εv)·y) at ε = 0, for the parameters
// and ws alike. The two passes run with the synthesis network's leaky ReLU
// masks held and its noise fixed, so that it is smooth along the step and
// the difference is exact up to rounding and O(ε²).
type PathLength struct {
	Weight float64 // StyleGAN2: 2
	Decay  float64 // of the running mean: 0.01
	Mean   float64 // the running mean a of L; a run saves it

	y       *tensor.Tensor // the last noise image (fixedY in tests)
	fixedY  *tensor.Tensor
	gr, v   *tensor.Tensor
	wsStep  *tensor.Tensor
	dy      *tensor.Tensor
	dws     *tensor.Tensor
	frozen  []bool
	modes   []nn.NoiseMode
	given   []*tensor.Tensor
	lengths []float64
}

// NewPathLength returns StyleGAN2's settings: weight 2, decay 0.01.
func NewPathLength() *PathLength { return &PathLength{Weight: 2, Decay: 0.01} }

// PathLengthStep is the root-mean-square change of the ws entries in the
// finite difference.
const PathLengthStep = 1e-3

// AddGrad runs g on z (z2 and crossover as Generator.Forward), updates
// Mean and accumulates gain × the penalty's gradient into every parameter
// of g (mapping included, through ws). It returns the penalty (times
// Weight, before gain) and the mean path length. rng draws y.
func (p *PathLength) AddGrad(g *Generator, z, z2 *tensor.Tensor, crossover int, rng *rand.Rand, gain float64) (penalty, meanLength float64) {
	img := g.Forward(z, z2, crossover)
	ws := g.Ws()
	n, numWs := ws.Shape[0], ws.Shape[1]

	// Fix the noise of this pass for the two finite-difference passes.
	noise := g.Synthesis.Noise()
	p.modes = p.modes[:0]
	for i, l := range noise {
		p.modes = append(p.modes, l.Mode)
		if len(p.given) <= i {
			p.given = append(p.given, nil)
		}
		if l.Mode == nn.NoiseRandom {
			p.given[i] = tensor.Ensure(p.given[i], l.Noise().Shape...)
			p.given[i].CopyFrom(l.Noise())
			l.Given, l.Mode = p.given[i], nn.NoiseGiven
		}
	}
	defer func() {
		for i, l := range noise {
			l.Mode = p.modes[i]
		}
	}()

	p.y = p.fixedY
	if p.y == nil {
		p.y = tensor.Ensure(p.y, img.Shape...)
		p.y.FillNormal(rng, 0, 1/math.Sqrt(float64(img.Shape[1]*img.Shape[2])))
	}

	// g = ∇_ws (x·y), with the parameters frozen so that nothing accumulates.
	params := g.Params()
	if cap(p.frozen) < len(params) {
		p.frozen = make([]bool, len(params))
	}
	p.frozen = p.frozen[:len(params)]
	for i, q := range params {
		p.frozen[i], q.Frozen = q.Frozen, true
	}
	p.gr = tensor.Ensure(p.gr, ws.Shape...)
	p.gr.CopyFrom(g.Synthesis.Backward(p.y))
	for i, q := range params {
		q.Frozen = p.frozen[i]
	}

	// L, the running mean, the penalty and v = d(gain·penalty)/dg.
	d := ws.Shape[2]
	p.lengths = p.lengths[:0]
	var sum float64
	for i := 0; i < n; i++ {
		var ss float64
		for _, v := range p.gr.Data[i*numWs*d : (i+1)*numWs*d] {
			ss += float64(v) * float64(v)
		}
		l := math.Sqrt(ss / float64(numWs))
		p.lengths = append(p.lengths, l)
		sum += l
	}
	meanLength = sum / float64(n)
	p.Mean += p.Decay * (meanLength - p.Mean)
	p.v = tensor.Ensure(p.v, ws.Shape...)
	var vv float64
	for i, l := range p.lengths {
		penalty += (l - p.Mean) * (l - p.Mean)
		c := 0.0
		if l > 0 {
			c = gain * p.Weight * 2 / float64(n) * (l - p.Mean) / (l * float64(numWs))
		}
		row := p.v.Data[i*numWs*d : (i+1)*numWs*d]
		for k, v := range p.gr.Data[i*numWs*d : (i+1)*numWs*d] {
			row[k] = float32(c * float64(v))
			vv += float64(row[k]) * float64(row[k])
		}
	}
	penalty *= p.Weight / float64(n)
	if vv == 0 {
		return penalty, meanLength
	}
	eps := PathLengthStep / math.Sqrt(vv/float64(p.v.Len()))

	// ∇(g·v) ≈ (∇(x(ws+εv)·y) − ∇(x(ws−εv)·y)) / 2ε, masks held.
	g.Synthesis.HoldMasks(true)
	defer g.Synthesis.HoldMasks(false)
	p.wsStep = tensor.Ensure(p.wsStep, ws.Shape...)
	p.dws = tensor.Ensure(p.dws, ws.Shape...)
	p.dws.Zero()
	p.dy = tensor.Ensure(p.dy, p.y.Shape...)
	for _, side := range []float64{1, -1} {
		for i, v := range ws.Data {
			p.wsStep.Data[i] = v + float32(side*eps)*p.v.Data[i]
		}
		g.Synthesis.Forward(p.wsStep)
		f := float32(side / (2 * eps))
		for i, v := range p.y.Data {
			p.dy.Data[i] = v * f
		}
		for i, v := range g.Synthesis.Backward(p.dy).Data {
			p.dws.Data[i] += v
		}
	}
	g.BackwardWs(p.dws)
	return penalty, meanLength
}
