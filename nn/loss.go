package nn

import (
	"fmt"
	"math"

	"forger/tensor"
)

// Loss functions return the mean loss over the elements of their input and
// write its gradient with respect to that input into grad, which must have
// the input's size (callers keep it between steps).

func checkGrad(x, grad *tensor.Tensor) {
	if grad.Len() != x.Len() {
		panic(fmt.Sprintf("nn: loss gradient buffer %v does not match input %v", grad.Shape, x.Shape))
	}
}

// BCEWithLogits is the binary cross-entropy of sigmoid(x) against target,
// computed stably from the logits x: mean(max(x,0) - x·t + log(1+e^-|x|)).
func BCEWithLogits(x *tensor.Tensor, target float32, grad *tensor.Tensor) float64 {
	checkGrad(x, grad)
	n := float64(x.Len())
	t := float64(target)
	var loss float64
	for i, v := range x.Data {
		z := float64(v)
		loss += math.Max(z, 0) - z*t + math.Log1p(math.Exp(-math.Abs(z)))
		grad.Data[i] = float32((1/(1+math.Exp(-z)) - t) / n)
	}
	return loss / n
}

// HingeReal is the discriminator's hinge loss on real samples: mean(relu(1-x)).
func HingeReal(x, grad *tensor.Tensor) float64 { return hinge(x, grad, 1) }

// HingeFake is the discriminator's hinge loss on fake samples: mean(relu(1+x)).
func HingeFake(x, grad *tensor.Tensor) float64 { return hinge(x, grad, -1) }

func hinge(x, grad *tensor.Tensor, sign float64) float64 {
	checkGrad(x, grad)
	n := float64(x.Len())
	var loss float64
	for i, v := range x.Data {
		m := 1 - sign*float64(v)
		if m > 0 {
			loss += m
			grad.Data[i] = float32(-sign / n)
		} else {
			grad.Data[i] = 0
		}
	}
	return loss / n
}

// NegMean is -mean(x): the generator's loss under the hinge formulation.
func NegMean(x, grad *tensor.Tensor) float64 {
	checkGrad(x, grad)
	n := float64(x.Len())
	var s float64
	for i, v := range x.Data {
		s += float64(v)
		grad.Data[i] = float32(-1 / n)
	}
	return -s / n
}

// MSE is mean((x-target)²); target is a tensor of x's size.
func MSE(x, target, grad *tensor.Tensor) float64 {
	checkGrad(x, grad)
	checkGrad(x, target)
	n := float64(x.Len())
	var loss float64
	for i, v := range x.Data {
		d := float64(v) - float64(target.Data[i])
		loss += d * d
		grad.Data[i] = float32(2 * d / n)
	}
	return loss / n
}

// MSEConst is mean((x-c)²) for a constant target c (least-squares GAN).
func MSEConst(x *tensor.Tensor, c float32, grad *tensor.Tensor) float64 {
	checkGrad(x, grad)
	n := float64(x.Len())
	var loss float64
	for i, v := range x.Data {
		d := float64(v) - float64(c)
		loss += d * d
		grad.Data[i] = float32(2 * d / n)
	}
	return loss / n
}

// L1 is mean(|x-target|); its gradient at 0 is taken as 0.
func L1(x, target, grad *tensor.Tensor) float64 {
	checkGrad(x, grad)
	checkGrad(x, target)
	n := float64(x.Len())
	var loss float64
	for i, v := range x.Data {
		d := float64(v) - float64(target.Data[i])
		loss += math.Abs(d)
		switch {
		case d > 0:
			grad.Data[i] = float32(1 / n)
		case d < 0:
			grad.Data[i] = float32(-1 / n)
		default:
			grad.Data[i] = 0
		}
	}
	return loss / n
}
