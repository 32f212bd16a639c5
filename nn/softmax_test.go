package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"forger/tensor"
)

func TestSoftmaxCrossEntropyGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 0))
	logits := randTensor(rng, 5, 7)
	for i := range logits.Data {
		logits.Data[i] *= 3
	}
	labels := []int32{0, 6, 3, 3, 1}
	grad := tensor.New(5, 7)
	SoftmaxCrossEntropy(logits, labels, grad)
	scratch := tensor.New(5, 7)
	const eps = 1e-2
	for i := range logits.Data {
		old := logits.Data[i]
		logits.Data[i] = old + eps
		lp, _ := SoftmaxCrossEntropy(logits, labels, scratch)
		logits.Data[i] = old - eps
		lm, _ := SoftmaxCrossEntropy(logits, labels, scratch)
		logits.Data[i] = old
		num := (lp - lm) / (2 * eps)
		if math.Abs(num-float64(grad.Data[i])) > 1e-4 {
			t.Errorf("grad[%d] = %.6g, finite difference %.6g", i, grad.Data[i], num)
		}
	}
	// Each row's gradient sums to zero (softmax sums to one).
	for r := 0; r < 5; r++ {
		var s float64
		for _, v := range grad.Data[r*7 : (r+1)*7] {
			s += float64(v)
		}
		if math.Abs(s) > 1e-6 {
			t.Errorf("row %d gradient sums to %g", r, s)
		}
	}
}

func TestSoftmaxCrossEntropyValues(t *testing.T) {
	// Equal logits: loss ln K whatever the label; ties count for class 0.
	z := tensor.New(2, 4)
	g := tensor.New(2, 4)
	loss, correct := SoftmaxCrossEntropy(z, []int32{0, 2}, g)
	if math.Abs(loss-math.Log(4)) > 1e-12 || correct != 1 {
		t.Fatalf("uniform logits: loss %v correct %d, want ln 4 and 1", loss, correct)
	}
	// Huge logits must not overflow: a confident right answer costs ~0, a
	// confident wrong one costs the margin.
	big := tensor.FromData([]float32{1000, 0, 0, 1000}, 2, 2)
	loss, correct = SoftmaxCrossEntropy(big, []int32{0, 0}, tensor.New(2, 2))
	if math.IsNaN(loss) || math.Abs(loss-500) > 1e-6 || correct != 1 {
		t.Fatalf("large logits: loss %v correct %d, want 500 and 1", loss, correct)
	}
	p := tensor.New(2, 2)
	Softmax(big, p)
	if p.Data[0] != 1 || p.Data[1] != 0 || p.Data[3] != 1 {
		t.Fatalf("softmax of large logits: %v", p.Data)
	}
}
