package nn

import (
	"fmt"
	"math"

	"forger/tensor"
)

// MinibatchStd appends one channel to its input [N, …, C]: the standard
// deviation of each feature across a group of samples, averaged over all
// features (Karras et al., "Progressive growing of GANs"; StyleGAN2's
// discriminator). A discriminator that sees it can tell a batch of
// look-alike fakes from a varied batch of real images, which pushes the
// generator towards variety.
//
// The batch is split into groups of Group samples as StyleGAN does: sample n
// belongs to group n mod (N/Group). When Group does not divide N the largest
// divisor of N not above it is used (1: the channel is 0).
type MinibatchStd struct {
	stateless
	Group int

	x, y, dx *tensor.Tensor
	g, m, f  int       // group size, groups, features per sample
	mean     []float64 // [m·f]
	std      []float64 // [m·f]
	shape    []int
}

// NewMinibatchStd returns the layer with groups of group samples (4 in
// StyleGAN).
func NewMinibatchStd(group int) *MinibatchStd {
	if group < 1 {
		panic("nn.NewMinibatchStd: group must be at least 1")
	}
	return &MinibatchStd{Group: group}
}

const mbstdEps = 1e-8

func (l *MinibatchStd) Forward(x *tensor.Tensor) *tensor.Tensor {
	if len(x.Shape) < 2 {
		panic(fmt.Sprintf("nn.MinibatchStd: input %v needs a batch axis and features", x.Shape))
	}
	n := x.Shape[0]
	g := min(l.Group, n)
	for n%g != 0 {
		g--
	}
	f := x.Len() / n
	c := x.Dim(-1)
	l.x, l.g, l.m, l.f = x, g, n/g, f
	if cap(l.mean) < l.m*f {
		l.mean, l.std = make([]float64, l.m*f), make([]float64, l.m*f)
	}
	l.mean, l.std = l.mean[:l.m*f], l.std[:l.m*f]
	l.shape = append(l.shape[:0], x.Shape...)
	l.shape[len(l.shape)-1] = c + 1
	l.y = tensor.Ensure(l.y, l.shape...)

	for m := 0; m < l.m; m++ {
		var sum float64
		for j := 0; j < f; j++ {
			var mu float64
			for k := 0; k < g; k++ {
				mu += float64(x.Data[(k*l.m+m)*f+j])
			}
			mu /= float64(g)
			var v float64
			for k := 0; k < g; k++ {
				d := float64(x.Data[(k*l.m+m)*f+j]) - mu
				v += d * d
			}
			s := math.Sqrt(v/float64(g) + mbstdEps)
			l.mean[m*f+j], l.std[m*f+j] = mu, s
			sum += s
		}
		avg := float32(sum / float64(f))
		for k := 0; k < g; k++ {
			i := k*l.m + m
			src := x.Data[i*f : (i+1)*f]
			dst := l.y.Data[i*(f+f/c) : (i+1)*(f+f/c)]
			for p := 0; p < f/c; p++ {
				copy(dst[p*(c+1):p*(c+1)+c], src[p*c:(p+1)*c])
				dst[p*(c+1)+c] = avg
			}
		}
	}
	return l.y
}

func (l *MinibatchStd) Backward(dy *tensor.Tensor) *tensor.Tensor {
	x := l.x
	if dy.Len() != l.y.Len() {
		panic(fmt.Sprintf("nn.MinibatchStd: gradient %v does not match output %v", dy.Shape, l.y.Shape))
	}
	c := x.Dim(-1)
	f, g := l.f, l.g
	pix := f / c
	l.dx = tensor.Ensure(l.dx, x.Shape...)
	for m := 0; m < l.m; m++ {
		// dL/d(average std) of the group: the appended channel's gradient,
		// summed over its samples and positions.
		var ds float64
		for k := 0; k < g; k++ {
			i := k*l.m + m
			row := dy.Data[i*(f+pix) : (i+1)*(f+pix)]
			for p := 0; p < pix; p++ {
				ds += float64(row[p*(c+1)+c])
			}
		}
		ds /= float64(f)
		for k := 0; k < g; k++ {
			i := k*l.m + m
			row := dy.Data[i*(f+pix) : (i+1)*(f+pix)]
			out := l.dx.Data[i*f : (i+1)*f]
			for p := 0; p < pix; p++ {
				for ch := 0; ch < c; ch++ {
					j := p*c + ch
					// d std / d x = (x − mean) / (g·std)
					d := ds * (float64(x.Data[i*f+j]) - l.mean[m*f+j]) / (float64(g) * l.std[m*f+j])
					out[j] = row[p*(c+1)+ch] + float32(d)
				}
			}
		}
	}
	return l.dx
}
