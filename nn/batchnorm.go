package nn

import (
	"fmt"
	"math"

	"forger/parallel"
	"forger/tensor"
)

// BatchNorm normalises each channel (the last axis) over all other axes, as
// PyTorch's BatchNorm1d/BatchNorm2d do: in training with the batch's
// statistics, updating running estimates (momentum 0.1, unbiased variance);
// in inference with the running estimates.
//
// It can apply a ReLU or LeakyReLU to its output in the same pass (see
// NewBatchNormAct): the pair that follows every convolution in a DCGAN, fused
// to save one activation-sized buffer in each direction and two passes over
// memory.
type BatchNorm struct {
	C        int
	Eps      float64
	Momentum float64
	Act      ActKind // ReLU or LeakyReLU when Fused
	Slope    float32 // LeakyReLU's negative slope
	Fused    bool
	Gamma    *Param // [C], scale
	Beta     *Param // [C], shift
	RunMean  *Param // buffer [C]
	RunVar   *Param // buffer [C]
	training bool

	// Per-call state, reused.
	x, y, dx     *tensor.Tensor
	mean, invstd []float32
	sumDy, sumDx []float32 // Σdy and Σdy·x̂ per channel (backward)
	// Per-channel coefficients, so that the per-element loops are one
	// multiply-add: forward y = x·ca + cb; backward dx = d·ca + x·cb + cc.
	ca, cb, cc []float32
	stats      bnStats
	norm       bnNorm
	red        bnReduce
	grad       bnGrad
}

// NewBatchNorm returns a batch norm over c channels with γ=1, β=0.
func NewBatchNorm(c int) *BatchNorm {
	b := &BatchNorm{C: c, Eps: 1e-5, Momentum: 0.1, training: true,
		Gamma: newParam("weight", c), Beta: newParam("bias", c),
		RunMean: newBuffer("running_mean", c), RunVar: newBuffer("running_var", c),
		mean: make([]float32, c), invstd: make([]float32, c),
		sumDy: make([]float32, c), sumDx: make([]float32, c),
		ca: make([]float32, c), cb: make([]float32, c), cc: make([]float32, c)}
	b.Gamma.Value.Fill(1)
	b.RunVar.Value.Fill(1)
	b.stats.b, b.norm.b, b.red.b, b.grad.b = b, b, b, b
	return b
}

// NewBatchNormAct returns a batch norm followed by a ReLU (kind ReLU) or a
// LeakyReLU with the given slope, computed as one layer.
func NewBatchNormAct(c int, kind ActKind, slope float32) *BatchNorm {
	if kind != ReLU && kind != LeakyReLU {
		panic("nn.NewBatchNormAct: only ReLU and LeakyReLU fuse with batch norm")
	}
	b := NewBatchNorm(c)
	b.Fused, b.Act, b.Slope = true, kind, slope
	if kind == ReLU {
		b.Slope = 0
	}
	return b
}

func (b *BatchNorm) Params() []*Param   { return []*Param{b.Gamma, b.Beta} }
func (b *BatchNorm) Buffers() []*Param  { return []*Param{b.RunMean, b.RunVar} }
func (b *BatchNorm) SetTraining(t bool) { b.training = t }

func (b *BatchNorm) Forward(x *tensor.Tensor) *tensor.Tensor {
	if x.Dim(-1) != b.C {
		panic(fmt.Sprintf("nn.BatchNorm: input %v, want %d channels", x.Shape, b.C))
	}
	b.x = x
	b.y = tensor.Ensure(b.y, x.Shape...)
	if b.training {
		if x.Rows() < 2 {
			panic("nn.BatchNorm: training needs more than one value per channel")
		}
		parallel.For(b.C, 8, &b.stats)
	} else {
		for c := 0; c < b.C; c++ {
			b.mean[c] = b.RunMean.Value.Data[c]
			b.invstd[c] = float32(1 / math.Sqrt(float64(b.RunVar.Value.Data[c])+b.Eps))
		}
	}
	g, be := b.Gamma.Value.Data, b.Beta.Value.Data
	for c := range b.ca {
		b.ca[c] = b.invstd[c] * g[c]
		b.cb[c] = be[c] - b.mean[c]*b.ca[c]
	}
	parallel.For(x.Rows(), rowGrain, &b.norm)
	return b.y
}

// bnStats computes each channel's batch mean and variance (in float64, one
// fixed order per channel) and updates the running estimates.
type bnStats struct{ b *BatchNorm }

func (j *bnStats) Do(lo, hi int) {
	b := j.b
	x, C := b.x.Data, b.C
	rows := len(x) / C
	var sbuf, qbuf [256]float64
	s, q := sbuf[:0], qbuf[:0]
	if hi-lo <= len(sbuf) {
		s, q = sbuf[:hi-lo], qbuf[:hi-lo]
	} else {
		s, q = make([]float64, hi-lo), make([]float64, hi-lo)
	}
	for r := 0; r < rows; r++ {
		row := x[r*C+lo : r*C+hi]
		for i, v := range row {
			s[i] += float64(v)
		}
	}
	for i := range s {
		s[i] /= float64(rows)
	}
	for r := 0; r < rows; r++ {
		row := x[r*C+lo : r*C+hi]
		for i, v := range row {
			d := float64(v) - s[i]
			q[i] += d * d
		}
	}
	m := b.Momentum
	for i := range s {
		c := lo + i
		v := q[i] / float64(rows)
		b.mean[c] = float32(s[i])
		b.invstd[c] = float32(1 / math.Sqrt(v+b.Eps))
		rm, rv := b.RunMean.Value.Data, b.RunVar.Value.Data
		rm[c] = float32((1-m)*float64(rm[c]) + m*s[i])
		rv[c] = float32((1-m)*float64(rv[c]) + m*q[i]/float64(rows-1))
	}
}

// bnNorm applies y = γ·(x-μ)·invstd + β row by row.
type bnNorm struct{ b *BatchNorm }

func (j *bnNorm) Do(lo, hi int) {
	b := j.b
	C := b.C
	affineAct(b.y.Data[lo*C:hi*C], b.x.Data[lo*C:hi*C], b.ca[:C], b.cb[:C], C, b.Slope, b.Fused)
}

func (b *BatchNorm) Backward(dy *tensor.Tensor) *tensor.Tensor {
	if dy.Len() != b.x.Len() {
		panic(fmt.Sprintf("nn.BatchNorm: gradient %v does not match input %v", dy.Shape, b.x.Shape))
	}
	b.dx = tensor.Ensure(b.dx, b.x.Shape...)
	b.red.dy, b.grad.dy = dy.Data, dy.Data
	parallel.For(b.C, 8, &b.red)
	if !b.Gamma.Frozen {
		for c := range b.sumDx {
			b.Gamma.Grad.Data[c] += b.sumDx[c]
		}
	}
	if !b.Beta.Frozen {
		for c := range b.sumDy {
			b.Beta.Grad.Data[c] += b.sumDy[c]
		}
	}
	n := float32(b.x.Rows())
	g := b.Gamma.Value.Data
	for c := range b.ca {
		a := g[c] * b.invstd[c]
		if !b.training {
			b.ca[c], b.cb[c], b.cc[c] = a, 0, 0
			continue
		}
		// dx = a·(d − Σd/n − x̂·Σd·x̂/n) with x̂ = (x−μ)·invstd.
		k := a * b.invstd[c] * b.sumDx[c] / n
		b.ca[c] = a
		b.cb[c] = -k
		b.cc[c] = -a*b.sumDy[c]/n + k*b.mean[c]
	}
	parallel.For(b.x.Rows(), rowGrain, &b.grad)
	return b.dx
}

// bnReduce sums dy and dy·x̂ per channel.
type bnReduce struct {
	b  *BatchNorm
	dy []float32
}

func (j *bnReduce) Do(lo, hi int) {
	b := j.b
	x, C := b.x.Data, b.C
	rows := len(x) / C
	var sbuf, qbuf [256]float64
	var s32buf, q32buf [256]float32
	s, q := sbuf[:0], qbuf[:0]
	s32, q32 := s32buf[:0], q32buf[:0]
	if hi-lo <= len(sbuf) {
		s, q, s32, q32 = sbuf[:hi-lo], qbuf[:hi-lo], s32buf[:hi-lo], q32buf[:hi-lo]
	} else {
		s, q = make([]float64, hi-lo), make([]float64, hi-lo)
		s32, q32 = make([]float32, hi-lo), make([]float32, hi-lo)
	}
	// Σd and Σd·x, in float32 over blocks of rows folded into float64, which
	// keeps float64's accuracy at float32's speed; Σd·x̂ follows from them.
	const block = 64
	for r0 := 0; r0 < rows; r0 += block {
		off := r0*C + lo
		var y []float32
		if b.Fused {
			y = b.y.Data[off:]
		}
		bnReduceRows(s32, q32, x[off:], j.dy[off:], y, min(block, rows-r0), C, b.Slope, b.Fused)
		for i := range s32 {
			s[i] += float64(s32[i])
			q[i] += float64(q32[i])
		}
	}
	for i := range s {
		c := lo + i
		b.sumDy[c] = float32(s[i])
		b.sumDx[c] = float32((q[i] - float64(b.mean[c])*s[i]) * float64(b.invstd[c]))
	}
}

// bnGrad computes the input gradient. In training the batch statistics depend
// on x: dx = γ·invstd·(dy - mean(dy) - x̂·mean(dy·x̂)); in inference they are
// constants: dx = γ·invstd·dy.
type bnGrad struct {
	b  *BatchNorm
	dy []float32
}

func (j *bnGrad) Do(lo, hi int) {
	b := j.b
	C := b.C
	var y []float32
	if b.Fused {
		y = b.y.Data[lo*C : hi*C]
	}
	bnGradRows(b.dx.Data[lo*C:hi*C], j.dy[lo*C:hi*C], b.x.Data[lo*C:hi*C], y, b.ca[:C], b.cb[:C], b.cc[:C], C, b.Slope, b.Fused)
}
