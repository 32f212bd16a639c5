package stylegan

import (
	"fmt"
	"math/rand/v2"

	"forger/nn"
	"forger/tensor"
)

// Mapping is StyleGAN's mapping network z → w: z normalised to its second
// moment, then fully connected layers with leaky ReLU (gain √2) and the
// learning-rate multiplier of Config.MappingLRMul. It keeps the running
// average of w (WAvg), the centre of truncation.
type Mapping struct {
	ZDim, WDim int
	Beta       float32
	Norm       *nn.PixelNorm
	Layers     []*nn.EqualLinear
	WAvg       *nn.Param // buffer [WDim]
}

// NewMapping returns the mapping network of cfg.
func NewMapping(cfg Config, rng *rand.Rand) *Mapping {
	m := &Mapping{ZDim: cfg.ZDim, WDim: cfg.WDim, Beta: cfg.WAvgBeta, Norm: &nn.PixelNorm{}}
	in := cfg.ZDim
	for i := 0; i < cfg.MappingLayers; i++ {
		l := nn.NewEqualLinear(in, cfg.WDim, true, 0, cfg.MappingLRMul, true, rng)
		nn.Prefix(fmt.Sprintf("mapping.fc%d", i), l.Params())
		m.Layers = append(m.Layers, l)
		in = cfg.WDim
	}
	m.WAvg = &nn.Param{Name: "mapping.w_avg", Value: tensor.New(cfg.WDim)}
	return m
}

// Params returns the trainable parameters.
func (m *Mapping) Params() []*nn.Param {
	var ps []*nn.Param
	for _, l := range m.Layers {
		ps = append(ps, l.Params()...)
	}
	return ps
}

// Forward maps z [M, ZDim] to w [M, WDim]. It does not touch WAvg.
func (m *Mapping) Forward(z *tensor.Tensor) *tensor.Tensor {
	if len(z.Shape) != 2 || z.Shape[1] != m.ZDim {
		panic(fmt.Sprintf("stylegan.Mapping: z %v, want [N,%d]", z.Shape, m.ZDim))
	}
	x := m.Norm.Forward(z)
	for _, l := range m.Layers {
		x = l.Forward(x)
	}
	return x
}

// Backward takes dL/dw and returns dL/dz, accumulating the gradients.
func (m *Mapping) Backward(dw *tensor.Tensor) *tensor.Tensor {
	for i := len(m.Layers) - 1; i >= 0; i-- {
		dw = m.Layers[i].Backward(dw)
	}
	return m.Norm.Backward(dw)
}

// UpdateWAvg moves WAvg towards the mean of the rows of w:
// WAvg ← mean + Beta·(WAvg − mean), as StyleGAN2 does on every training
// step of G.
func (m *Mapping) UpdateWAvg(w *tensor.Tensor) {
	rows := w.Rows()
	for j := range m.WAvg.Value.Data {
		var s float64
		for r := 0; r < rows; r++ {
			s += float64(w.Data[r*m.WDim+j])
		}
		mean := float32(s / float64(rows))
		m.WAvg.Value.Data[j] = mean + m.Beta*(m.WAvg.Value.Data[j]-mean)
	}
}

// Truncate pulls ws [N, numWs, WDim] towards WAvg in place, w ← WAvg +
// psi·(w − WAvg), for the first cutoff layers (all when cutoff ≤ 0): the
// truncation trick, trading variety for typical images.
func (m *Mapping) Truncate(ws *tensor.Tensor, psi float32, cutoff int) {
	n, numWs := ws.Shape[0], ws.Shape[1]
	if cutoff <= 0 || cutoff > numWs {
		cutoff = numWs
	}
	avg := m.WAvg.Value.Data
	for i := 0; i < n; i++ {
		for j := 0; j < cutoff; j++ {
			row := ws.Data[(i*numWs+j)*m.WDim:][:m.WDim]
			for k, v := range row {
				row[k] = avg[k] + psi*(v-avg[k])
			}
		}
	}
}

// Broadcast writes w [N, WDim] into every layer of dst [N, numWs, WDim]
// (reallocated when nil or of another shape) and returns it.
func Broadcast(dst, w *tensor.Tensor, numWs int) *tensor.Tensor {
	return Mix(dst, w, w, numWs, numWs)
}

// Mix returns the W+ latents of style mixing: layers [0, crossover) from w1
// and [crossover, numWs) from w2, both [N, WDim]. The generator's coarse
// layers (low resolutions) come first.
func Mix(dst, w1, w2 *tensor.Tensor, numWs, crossover int) *tensor.Tensor {
	if !tensor.SameShape(w1.Shape, w2.Shape) || len(w1.Shape) != 2 {
		panic(fmt.Sprintf("stylegan.Mix: w %v and %v, want two [N,WDim]", w1.Shape, w2.Shape))
	}
	n, d := w1.Shape[0], w1.Shape[1]
	dst = tensor.Ensure(dst, n, numWs, d)
	for i := 0; i < n; i++ {
		for j := 0; j < numWs; j++ {
			src := w1
			if j >= crossover {
				src = w2
			}
			copy(dst.Data[(i*numWs+j)*d:][:d], src.Data[i*d:(i+1)*d])
		}
	}
	return dst
}

// SumLayers is the adjoint of Mix: it sums dws [N, numWs, WDim] over layers
// [lo, hi) into dst [N, WDim] (reallocated when nil or of another shape).
func SumLayers(dst, dws *tensor.Tensor, lo, hi int) *tensor.Tensor {
	n, numWs, d := dws.Shape[0], dws.Shape[1], dws.Shape[2]
	dst = tensor.Ensure(dst, n, d)
	dst.Zero()
	for i := 0; i < n; i++ {
		out := dst.Data[i*d : (i+1)*d]
		for j := lo; j < hi && j < numWs; j++ {
			for k, v := range dws.Data[(i*numWs+j)*d:][:d] {
				out[k] += v
			}
		}
	}
	return dst
}

// Crossover draws StyleGAN2's mixing point: with probability prob a layer
// in [1, numWs), otherwise numWs (no mixing).
func Crossover(rng *rand.Rand, numWs int, prob float64) int {
	if numWs > 1 && rng.Float64() < prob {
		return 1 + rng.IntN(numWs-1)
	}
	return numWs
}
