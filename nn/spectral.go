package nn

import (
	"math"
	"math/rand/v2"

	"forger/tensor"
)

// Weighted is a layer whose main weight spectral normalisation can wrap.
type Weighted interface {
	Layer
	WeightParam() *Param
}

// SpectralNorm divides a layer's weight by its largest singular value
// (Miyato et al. 2018), estimated by one power iteration per training
// forward pass, as PyTorch's spectral_norm does. The weight is seen as a
// matrix of [first axis, everything else]. The trained parameter is Orig;
// the wrapped layer computes with Orig/σ.
type SpectralNorm struct {
	Inner    Weighted
	Orig     *Param // the raw weight, trained
	U, V     *Param // buffers: the singular vector estimates
	sigma    float64
	training bool
	wu       []float64 // scratch: W·v
}

// NewSpectralNorm wraps l. Its weight's current value becomes Orig.
func NewSpectralNorm(l Weighted, rng *rand.Rand) *SpectralNorm {
	w := l.WeightParam()
	rows := w.Value.Shape[0]
	cols := w.Value.Len() / rows
	s := &SpectralNorm{Inner: l, training: true,
		Orig: &Param{Name: w.Name + "_orig", Value: w.Value.Clone(), Grad: tensor.New(w.Value.Shape...)},
		U:    newBuffer(w.Name+"_u", rows), V: newBuffer(w.Name+"_v", cols)}
	s.U.Value.FillNormal(rng, 0, 1)
	s.V.Value.FillNormal(rng, 0, 1)
	normalize(s.U.Value.Data)
	normalize(s.V.Value.Data)
	s.wu = make([]float64, rows)
	return s
}

func normalize(v []float32) {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	n = math.Sqrt(n) + 1e-12
	for i := range v {
		v[i] = float32(float64(v[i]) / n)
	}
}

// Params returns Orig and the wrapped layer's other parameters.
func (s *SpectralNorm) Params() []*Param {
	ps := []*Param{s.Orig}
	for _, p := range s.Inner.Params() {
		if p != s.Inner.WeightParam() {
			ps = append(ps, p)
		}
	}
	return ps
}

func (s *SpectralNorm) Buffers() []*Param {
	return append([]*Param{s.U, s.V}, s.Inner.Buffers()...)
}

func (s *SpectralNorm) SetTraining(t bool) {
	s.training = t
	s.Inner.SetTraining(t)
}

// Sigma is the spectral norm estimate used by the last Forward.
func (s *SpectralNorm) Sigma() float64 { return s.sigma }

func (s *SpectralNorm) Forward(x *tensor.Tensor) *tensor.Tensor {
	w := s.Orig.Value.Data
	u, v := s.U.Value.Data, s.V.Value.Data
	rows, cols := len(u), len(v)
	if s.training {
		// v = normalize(Wᵀu); u = normalize(W v)
		clear(v)
		for r := 0; r < rows; r++ {
			ur := u[r]
			row := w[r*cols : (r+1)*cols]
			for c, wv := range row {
				v[c] += ur * wv
			}
		}
		normalize(v)
	}
	for r := 0; r < rows; r++ {
		var d float64
		row := w[r*cols : (r+1)*cols]
		for c, wv := range row {
			d += float64(wv) * float64(v[c])
		}
		s.wu[r] = d
	}
	if s.training {
		var n float64
		for _, d := range s.wu {
			n += d * d
		}
		n = math.Sqrt(n) + 1e-12
		for r := range u {
			u[r] = float32(s.wu[r] / n)
		}
	}
	var sigma float64
	for r, d := range s.wu {
		sigma += float64(u[r]) * d
	}
	s.sigma = sigma
	eff := s.Inner.WeightParam().Value.Data
	inv := float32(1 / sigma)
	for i, wv := range w {
		eff[i] = wv * inv
	}
	return s.Inner.Forward(x)
}

// Backward turns the gradient G with respect to W/σ into the gradient with
// respect to W, treating u and v as constants (as PyTorch does):
// dW = (G - ⟨G, W/σ⟩·u·vᵀ)/σ.
func (s *SpectralNorm) Backward(dy *tensor.Tensor) *tensor.Tensor {
	inner := s.Inner.WeightParam()
	inner.Frozen = s.Orig.Frozen
	if !s.Orig.Frozen {
		inner.Grad.Zero()
	}
	dx := s.Inner.Backward(dy)
	if s.Orig.Frozen {
		return dx
	}
	g, eff := inner.Grad.Data, inner.Value.Data
	var dot float64
	for i, gv := range g {
		dot += float64(gv) * float64(eff[i])
	}
	u, v := s.U.Value.Data, s.V.Value.Data
	cols := len(v)
	og := s.Orig.Grad.Data
	for r, ur := range u {
		k := dot * float64(ur)
		for c, vc := range v {
			i := r*cols + c
			og[i] += float32((float64(g[i]) - k*float64(vc)) / s.sigma)
		}
	}
	return dx
}
