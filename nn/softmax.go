package nn

import (
	"fmt"
	"math"

	"forger/tensor"
)

// SoftmaxCrossEntropy is the mean cross-entropy of softmax(logits) against
// integer class labels, for classifiers: logits are [N, K] (any shape whose
// last axis is the K classes), labels has one class in [0, K) per row.
//
// It writes the gradient of the mean loss with respect to the logits into
// grad (the logits' size): (softmax(row) - onehot(label)) / N. It returns
// the loss and the number of rows whose largest logit is their label (ties
// go to the lower class), so a training loop gets its accuracy for free.
//
// The log-sum-exp is computed in float64 after subtracting the row maximum,
// so large logits neither overflow nor lose the loss to rounding.
func SoftmaxCrossEntropy(logits *tensor.Tensor, labels []int32, grad *tensor.Tensor) (loss float64, correct int) {
	checkGrad(logits, grad)
	k := logits.Dim(-1)
	n := logits.Rows()
	if len(labels) != n {
		panic(fmt.Sprintf("nn.SoftmaxCrossEntropy: %d labels for %d rows of logits %v", len(labels), n, logits.Shape))
	}
	inv := 1 / float64(n)
	for r := 0; r < n; r++ {
		row := logits.Data[r*k : (r+1)*k]
		g := grad.Data[r*k : (r+1)*k]
		y := int(labels[r])
		if y < 0 || y >= k {
			panic(fmt.Sprintf("nn.SoftmaxCrossEntropy: label %d out of range [0,%d)", y, k))
		}
		best := 0
		for i, v := range row {
			if v > row[best] {
				best = i
			}
		}
		if best == y {
			correct++
		}
		m := float64(row[best])
		var s float64
		for _, v := range row {
			s += math.Exp(float64(v) - m)
		}
		lse := m + math.Log(s)
		loss += lse - float64(row[y])
		for i, v := range row {
			p := math.Exp(float64(v) - lse)
			if i == y {
				p--
			}
			g[i] = float32(p * inv)
		}
	}
	return loss * inv, correct
}

// Softmax writes softmax(row) of every row of logits (last axis) into probs,
// which must have the logits' size.
func Softmax(logits, probs *tensor.Tensor) {
	checkGrad(logits, probs)
	k := logits.Dim(-1)
	for r := 0; r < logits.Rows(); r++ {
		row := logits.Data[r*k : (r+1)*k]
		out := probs.Data[r*k : (r+1)*k]
		m := row[0]
		for _, v := range row {
			m = max(m, v)
		}
		var s float64
		for _, v := range row {
			s += math.Exp(float64(v - m))
		}
		for i, v := range row {
			out[i] = float32(math.Exp(float64(v-m)) / s)
		}
	}
}
