// Package optim updates parameters from their gradients: Adam, and an
// exponential moving average of weights (the smoothed generator that GAN
// practice samples from).
package optim

import (
	"fmt"
	"math"

	"forger/nn"
	"forger/parallel"
	"forger/tensor"
)

// Adam is the Adam optimiser (Kingma & Ba) with bias correction. WeightDecay
// adds WeightDecay·w to the gradient, as torch.optim.Adam does.
type Adam struct {
	LR, Beta1, Beta2, Eps, WeightDecay float64
	Params                             []*nn.Param
	M, V                               []*tensor.Tensor // first and second moments
	Steps                              int

	job adamJob
}

// NewAdam returns Adam over params with the given learning rate and betas.
func NewAdam(params []*nn.Param, lr, beta1, beta2 float64) *Adam {
	a := &Adam{LR: lr, Beta1: beta1, Beta2: beta2, Eps: 1e-8, Params: params}
	for _, p := range params {
		a.M = append(a.M, tensor.New(p.Value.Shape...))
		a.V = append(a.V, tensor.New(p.Value.Shape...))
	}
	return a
}

type adamJob struct {
	w, g, m, v                  []float32
	lr, b1, b2, eps, wd, c1, c2 float32
}

func (j *adamJob) Do(lo, hi int) {
	for i := lo; i < hi; i++ {
		g := j.g[i] + j.wd*j.w[i]
		m := j.b1*j.m[i] + (1-j.b1)*g
		v := j.b2*j.v[i] + (1-j.b2)*g*g
		j.m[i], j.v[i] = m, v
		j.w[i] -= j.lr * (m / j.c1) / (float32(math.Sqrt(float64(v/j.c2))) + j.eps)
	}
}

// Step applies one update to every parameter that is not frozen, then
// clears the gradients.
func (a *Adam) Step() {
	a.Steps++
	c1 := 1 - math.Pow(a.Beta1, float64(a.Steps))
	c2 := 1 - math.Pow(a.Beta2, float64(a.Steps))
	for i, p := range a.Params {
		if p.Frozen {
			continue
		}
		a.job = adamJob{w: p.Value.Data, g: p.Grad.Data, m: a.M[i].Data, v: a.V[i].Data,
			lr: float32(a.LR), b1: float32(a.Beta1), b2: float32(a.Beta2), eps: float32(a.Eps),
			wd: float32(a.WeightDecay), c1: float32(c1), c2: float32(c2)}
		parallel.For(p.Value.Len(), 16384, &a.job)
		p.Grad.Zero()
	}
}

// State returns the optimiser's moments named after their parameters
// (prefix.m.NAME, prefix.v.NAME), for checkpoints.
func (a *Adam) State(prefix string) []tensor.Named {
	out := make([]tensor.Named, 0, 2*len(a.Params))
	for i, p := range a.Params {
		out = append(out, tensor.Named{Name: prefix + ".m." + p.Name, Tensor: a.M[i]}, tensor.Named{Name: prefix + ".v." + p.Name, Tensor: a.V[i]})
	}
	return out
}

// LoadState restores the moments written by State.
func (a *Adam) LoadState(prefix string, f *tensor.File, steps int) error {
	for i, p := range a.Params {
		for _, mv := range []struct {
			kind string
			t    *tensor.Tensor
		}{{"m", a.M[i]}, {"v", a.V[i]}} {
			src, err := f.Lookup(prefix+"."+mv.kind+"."+p.Name, p.Value.Shape...)
			if err != nil {
				return fmt.Errorf("optimiser state: %w", err)
			}
			mv.t.CopyFrom(src)
		}
	}
	a.Steps = steps
	return nil
}

// EMA keeps an exponential moving average of parameters:
// shadow = d·shadow + (1-d)·value after each Update, where d is Decay once
// warmed up and (1+n)/(10+n) before, n counting updates (as in TensorFlow's
// ExponentialMovingAverage with num_updates): early averages do not drag
// the random initial weights along.
type EMA struct {
	Decay   float64
	Params  []*nn.Param
	Shadow  []*tensor.Tensor
	Updates int
}

// NewEMA starts the average at the parameters' current values.
func NewEMA(params []*nn.Param, decay float64) *EMA {
	e := &EMA{Decay: decay, Params: params}
	for _, p := range params {
		e.Shadow = append(e.Shadow, p.Value.Clone())
	}
	return e
}

// Update folds the current values into the average.
func (e *EMA) Update() {
	d := float32(min(e.Decay, float64(1+e.Updates)/float64(10+e.Updates)))
	e.Updates++
	for i, p := range e.Params {
		s := e.Shadow[i].Data
		for j, v := range p.Value.Data {
			s[j] = d*s[j] + (1-d)*v
		}
	}
}

// Swap exchanges the parameters' values with the averages; calling it twice
// restores them. Sampling from the averaged network is Swap, forward, Swap.
func (e *EMA) Swap() {
	for i, p := range e.Params {
		s := e.Shadow[i].Data
		for j, v := range p.Value.Data {
			p.Value.Data[j], s[j] = s[j], v
		}
	}
}
