package latent

import (
	"context"
	"errors"
	"math"
	"slices"

	"forger/tensor"

	"gonum.org/v1/gonum/optimize"
)

// errStopped ends a target's L-BFGS run when the budget of evaluations is
// spent or the context is done.
var errStopped = errors.New("latent: projection stopped")

// lbfgsRequest is a target's call for the loss and gradient at x.
type lbfgsRequest struct {
	row int
	x   []float64
}

// lbfgsAnswer is the loss (with the prior) and gradient at a requested x;
// stop says the budget is spent.
type lbfgsAnswer struct {
	f    float64
	grad []float64
	stop bool
}

// projectLBFGS is Project with gonum's L-BFGS (Wolfe line search) on each
// target's code. One goroutine per target runs the method; each round
// gathers the points the targets ask for and evaluates them in one batch
// through the generator. A round is a step: every target gets o.Steps + 1
// evaluations at most, as many as the Adam loop makes. Noise, if > 0, is
// added to the start once (L-BFGS needs a deterministic function).
func projectLBFGS(ctx context.Context, g codeNet, obj *Objective, z *tensor.Tensor, o ProjectOptions, res *Projection) error {
	n, nz := z.Shape[0], z.Shape[1]
	if o.Noise > 0 {
		for i := range n {
			rng := rowRNG(o.NoiseSeed, i)
			for j := range nz {
				z.Data[i*nz+j] += float32(o.Noise * rng.NormFloat64())
			}
		}
	}
	requests := make(chan lbfgsRequest)
	finished := make(chan int)
	answers := make([]chan lbfgsAnswer, n)
	for i := range answers {
		answers[i] = make(chan lbfgsAnswer)
	}
	for i := range n {
		x0 := make([]float64, nz)
		for j := range x0 {
			x0[j] = float64(z.Data[i*nz+j])
		}
		go func() {
			defer func() { finished <- i }()
			var (
				at      []float64 // the point of f and grad
				f       float64
				grad    = make([]float64, nz)
				stopped bool
			)
			eval := func(x []float64) {
				if stopped || slices.Equal(at, x) {
					return // gonum asks for Func and Grad at the same point
				}
				requests <- lbfgsRequest{i, slices.Clone(x)}
				a := <-answers[i]
				if a.stop {
					stopped, f = true, math.Inf(1)
					return
				}
				at, f = append(at[:0], x...), a.f
				copy(grad, a.grad)
			}
			p := optimize.Problem{
				Func: func(x []float64) float64 { eval(x); return f },
				Grad: func(gr, x []float64) { eval(x); copy(gr, grad) },
				Status: func() (optimize.Status, error) {
					if stopped {
						return optimize.Failure, errStopped
					}
					return optimize.NotTerminated, nil
				},
			}
			// The run ends when the budget is spent (errStopped) or the
			// method can go no further; either way the best point seen is
			// in res, so its result and error are not needed.
			_, _ = optimize.Minimize(p, x0, &optimize.Settings{Converger: optimize.NeverTerminate{}}, &optimize.LBFGS{GradStopThreshold: 1e-9})
		}()
	}

	running := n
	pending := make([]*lbfgsRequest, n)
	// grads[i] carries target i's gradient; it copies it before asking
	// again, so one buffer per target serves every round.
	grads := make([][]float64, n)
	for i := range grads {
		grads[i] = make([]float64, nz)
	}
	waiting := 0
	var ctxErr error
	step := 0
	for running > 0 {
		select {
		case r := <-requests:
			pending[r.row] = &r
			waiting++
		case <-finished:
			running--
		}
		if waiting < running || waiting == 0 {
			continue
		}
		// Every running target waits for an answer: one round.
		if ctxErr == nil {
			ctxErr = ctx.Err()
		}
		if step > o.Steps || ctxErr != nil {
			for i, r := range pending {
				if r != nil {
					pending[i] = nil
					answers[i] <- lbfgsAnswer{stop: true}
				}
			}
			waiting = 0
			continue
		}
		for i, r := range pending {
			if r != nil {
				for j, v := range r.x {
					z.Data[i*nz+j] = float32(v)
				}
			}
		}
		img := g.forward(z)
		obj.Eval(img, true)
		dz := g.backward(obj.Grad())
		for i := range n {
			l := obj.Last[i]
			res.Loss[i] = append(res.Loss[i], l)
			if pending[i] == nil {
				continue // finished early: its loss stays that of its last point
			}
			if l < res.Best[i] {
				res.Best[i] = l
				copy(res.Codes[i].Z, z.Data[i*nz:(i+1)*nz])
			}
		}
		if o.FrameEvery > 0 && (step%o.FrameEvery == 0 || step == o.Steps) {
			res.Frames = append(res.Frames, append([]float32(nil), img.Data...))
			res.FrameSteps = append(res.FrameSteps, step)
		}
		for i, r := range pending {
			if r == nil {
				continue
			}
			zi := z.Data[i*nz : (i+1)*nz]
			p, c := prior(o.Prior, zi)
			gr := grads[i]
			for j, v := range zi {
				gr[j] = float64(dz.Data[i*nz+j]) + c*float64(v)
			}
			pending[i] = nil
			answers[i] <- lbfgsAnswer{f: obj.Last[i] + p, grad: gr}
		}
		waiting = 0
		if o.Progress != nil && step > 0 {
			o.Progress(step, meanOf(obj.Last))
		}
		step++
	}
	if ctxErr != nil {
		return ctxErr
	}
	if o.FrameEvery > 0 && step <= o.Steps {
		// Every method ended early: the last frame is the best codes.
		for i, c := range res.Codes {
			copy(z.Data[i*nz:(i+1)*nz], c.Z)
		}
		res.Frames = append(res.Frames, append([]float32(nil), g.forward(z).Data...))
		res.FrameSteps = append(res.FrameSteps, o.Steps)
	}
	// Targets whose method ended early keep their last loss to the end.
	for i, l := range res.Loss {
		for len(l) < o.Steps+1 {
			l = append(l, l[len(l)-1])
		}
		res.Loss[i] = l
	}
	return nil
}

func meanOf(v []float64) float64 {
	var m float64
	for _, x := range v {
		m += x
	}
	return m / float64(len(v))
}
