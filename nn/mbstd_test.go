package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestGradMinibatchStd(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 0))
	checkGradients(t, "mbstd group 4", NewMinibatchStd(4), randTensor(rng, 8, 2, 2, 3), 1e-3)
	checkGradients(t, "mbstd group 3 of 6", NewMinibatchStd(4), randTensor(rng, 6, 2, 3), 1e-3)
}

// TestMinibatchStdValue: the appended channel is the mean over features of
// the standard deviation across each group, and the input passes through.
func TestMinibatchStdValue(t *testing.T) {
	rng := rand.New(rand.NewPCG(22, 0))
	x := randTensor(rng, 4, 1, 2, 2) // 4 samples, 2 positions, 2 channels
	l := NewMinibatchStd(2)          // groups {0,2} and {1,3}
	y := l.Forward(x)
	if got := y.Shape; got[3] != 3 {
		t.Fatalf("shape %v, want 3 channels", got)
	}
	for m := 0; m < 2; m++ {
		var want float64
		for j := 0; j < 4; j++ {
			a, b := float64(x.Data[m*4+j]), float64(x.Data[(m+2)*4+j])
			want += math.Sqrt((a-b)*(a-b)/4+1e-8) / 4
		}
		for _, i := range []int{m, m + 2} {
			for p := 0; p < 2; p++ {
				if got := y.Data[i*6+p*3+2]; math.Abs(float64(got)-want) > 1e-6 {
					t.Fatalf("sample %d: std channel %g, want %g", i, got, want)
				}
				if y.Data[i*6+p*3] != x.Data[i*4+p*2] || y.Data[i*6+p*3+1] != x.Data[i*4+p*2+1] {
					t.Fatalf("sample %d: input not passed through", i)
				}
			}
		}
	}
	// Identical samples: the channel is sqrt(eps), about 0.
	x.Fill(0.5)
	if v := l.Forward(x).Data[2]; v > 1e-3 {
		t.Fatalf("identical samples give %g", v)
	}
}
