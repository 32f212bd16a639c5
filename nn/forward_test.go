package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"forger/tensor"
)

// naiveConv is the direct seven-loop convolution, NHWC input, [O,KH,KW,C] weight.
func naiveConv(x *tensor.Tensor, l *Conv2d) *tensor.Tensor {
	n, h, w, c := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	ho, wo := l.OutSize(h, w)
	y := tensor.New(n, ho, wo, l.Out)
	for b := 0; b < n; b++ {
		for oy := 0; oy < ho; oy++ {
			for ox := 0; ox < wo; ox++ {
				for o := 0; o < l.Out; o++ {
					var s float64
					if l.Bias != nil {
						s = float64(l.Bias.Value.Data[o])
					}
					for ky := 0; ky < l.KH; ky++ {
						for kx := 0; kx < l.KW; kx++ {
							iy, ix := oy*l.Stride-l.PadT+ky, ox*l.Stride-l.PadL+kx
							if iy < 0 || iy >= h || ix < 0 || ix >= w {
								continue
							}
							for ci := 0; ci < c; ci++ {
								s += float64(x.Data[((b*h+iy)*w+ix)*c+ci]) * float64(l.Weight.Value.Data[((o*l.KH+ky)*l.KW+kx)*c+ci])
							}
						}
					}
					y.Data[((b*ho+oy)*wo+ox)*l.Out+o] = float32(s)
				}
			}
		}
	}
	return y
}

// naiveConvT scatters every input pixel through the kernel, the textbook
// definition of the transposed convolution.
func naiveConvT(x *tensor.Tensor, l *ConvTranspose2d) *tensor.Tensor {
	n, h, w, c := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	ho, wo := (h-1)*l.Stride-2*l.Pad+l.K, (w-1)*l.Stride-2*l.Pad+l.K
	acc := make([]float64, n*ho*wo*l.Out)
	for b := 0; b < n; b++ {
		for iy := 0; iy < h; iy++ {
			for ix := 0; ix < w; ix++ {
				for ky := 0; ky < l.K; ky++ {
					for kx := 0; kx < l.K; kx++ {
						oy, ox := iy*l.Stride-l.Pad+ky, ix*l.Stride-l.Pad+kx
						if oy < 0 || oy >= ho || ox < 0 || ox >= wo {
							continue
						}
						for ci := 0; ci < c; ci++ {
							xv := float64(x.Data[((b*h+iy)*w+ix)*c+ci])
							for o := 0; o < l.Out; o++ {
								acc[((b*ho+oy)*wo+ox)*l.Out+o] += xv * float64(l.Weight.Value.Data[((ci*l.K+ky)*l.K+kx)*l.Out+o])
							}
						}
					}
				}
			}
		}
	}
	y := tensor.New(n, ho, wo, l.Out)
	for i := range acc {
		if l.Bias != nil {
			acc[i] += float64(l.Bias.Value.Data[i%l.Out])
		}
		y.Data[i] = float32(acc[i])
	}
	return y
}

func TestConv2dHandWorked(t *testing.T) {
	// 3×3 image 1..9, 2×2 kernel of ones, stride 1, no padding: the sums of
	// each 2×2 window are 1+2+4+5=12, 16, 24, 28.
	l := &Conv2d{In: 1, Out: 1, KH: 2, KW: 2, Stride: 1, Weight: newParam("w", 1, 2, 2, 1)}
	l.Weight.Value.Fill(1)
	x := tensor.FromData([]float32{1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 3, 3, 1)
	y := l.Forward(x)
	want := []float32{12, 16, 24, 28}
	for i, v := range want {
		if y.Data[i] != v {
			t.Fatalf("conv = %v, want %v", y.Data, want)
		}
	}
	// Padding 1, stride 2 on the same image: windows at (-1,-1), (-1,1),
	// (1,-1), (1,1): 1, 2+3, 4+7, 5+6+8+9.
	l.PadT, l.PadL, l.PadB, l.PadR, l.Stride = 1, 1, 1, 1, 2
	y = l.Forward(x)
	want = []float32{1, 5, 11, 28}
	for i, v := range want {
		if y.Data[i] != v {
			t.Fatalf("padded conv = %v, want %v", y.Data, want)
		}
	}
}

func TestConvTransposeHandWorked(t *testing.T) {
	// A 1×2 input [1, 2] through a 2×2 kernel [[1,2],[3,4]] with stride 2
	// places one scaled copy of the kernel per pixel, side by side.
	l := &ConvTranspose2d{In: 1, Out: 1, K: 2, Stride: 2, Weight: newParam("w", 1, 2, 2, 1)}
	copy(l.Weight.Value.Data, []float32{1, 2, 3, 4})
	y := l.Forward(tensor.FromData([]float32{1, 2}, 1, 1, 2, 1))
	want := []float32{1, 2, 2, 4, 3, 4, 6, 8}
	if !tensor.SameShape(y.Shape, []int{1, 2, 4, 1}) {
		t.Fatalf("shape %v", y.Shape)
	}
	for i, v := range want {
		if y.Data[i] != v {
			t.Fatalf("convT = %v, want %v", y.Data, want)
		}
	}
}

func TestConvMatchesNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 0))
	for _, c := range []struct{ in, out, k, s, p, h, w int }{{3, 8, 4, 2, 1, 16, 16}, {5, 7, 3, 1, 1, 9, 11}, {64, 32, 4, 2, 1, 8, 8}, {2, 3, 1, 1, 0, 5, 5}} {
		l := NewConv2d(c.in, c.out, c.k, c.s, c.p, true, rng)
		x := randTensor(rng, 3, c.h, c.w, c.in)
		if d := tensor.MaxAbsDiff(l.Forward(x), naiveConv(x, l)); d > 1e-4 {
			t.Errorf("conv %+v differs from naive by %g", c, d)
		}
		lt := NewConvTranspose2d(c.in, c.out, c.k, c.s, c.p, true, rng)
		if d := tensor.MaxAbsDiff(lt.Forward(x), naiveConvT(x, lt)); d > 1e-4 {
			t.Errorf("convT %+v differs from naive by %g", c, d)
		}
	}
}

func TestBatchNormHandWorked(t *testing.T) {
	b := NewBatchNorm(2)
	// Channel 0: 1,2,3,4 (mean 2.5, variance 1.25); channel 1: constant 7.
	x := tensor.FromData([]float32{1, 7, 2, 7, 3, 7, 4, 7}, 4, 2)
	y := b.Forward(x)
	s := math.Sqrt(1.25 + 1e-5)
	for i, v := range []float64{1, 2, 3, 4} {
		if got := float64(y.Data[2*i]); math.Abs(got-(v-2.5)/s) > 1e-6 {
			t.Fatalf("y[%d] = %v, want %v", i, got, (v-2.5)/s)
		}
		if y.Data[2*i+1] != 0 {
			t.Fatalf("constant channel gives %v, want 0", y.Data[2*i+1])
		}
	}
	// Running statistics: momentum 0.1, unbiased variance 5/3.
	if m := b.RunMean.Value.Data[0]; math.Abs(float64(m)-0.25) > 1e-6 {
		t.Fatalf("running mean %v, want 0.25", m)
	}
	if v := b.RunVar.Value.Data[0]; math.Abs(float64(v)-(0.9+0.1*5.0/3)) > 1e-6 {
		t.Fatalf("running var %v", v)
	}
	b.SetTraining(false)
	y = b.Forward(x)
	want := (1 - 0.25) / math.Sqrt(0.9+0.1*5.0/3+1e-5)
	if math.Abs(float64(y.Data[0])-want) > 1e-6 {
		t.Fatalf("inference y = %v, want %v", y.Data[0], want)
	}
}
