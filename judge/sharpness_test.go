package judge

import (
	"math"
	"testing"
)

// TestSharpness on Fashion-MNIST's test images: a blur lowers it, pixel
// noise raises it, halving the contrast leaves it, and a flat image counts
// as 0.
func TestSharpness(t *testing.T) {
	_, s := trainedJudge(t)
	test := First(s.Test, 200)
	size, ch := test.Size, test.Channels
	base := Sharpness(test.Images, size, ch)
	if base <= 0 {
		t.Fatalf("sharpness of real images %v, want > 0", base)
	}
	per := size * size * ch
	blurred := append([]float32(nil), test.Images...)
	tmp := make([]float32, per)
	for i := 0; i < len(blurred)/per; i++ {
		gaussianBlur(blurred[i*per:(i+1)*per], tmp, size, size, ch, 1)
	}
	faded := make([]float32, len(test.Images))
	for i, v := range test.Images {
		faded[i] = 0.5*v - 0.3
	}
	noisy := AddNoise(test.Images, 0.1, 1)
	b, f, n := Sharpness(blurred, size, ch), Sharpness(faded, size, ch), Sharpness(noisy, size, ch)
	t.Logf("sharpness: real %.3f, blurred %.3f, faded %.3f, noisy %.3f", base, b, f, n)
	if b > 0.8*base {
		t.Errorf("a blur of σ 1 kept sharpness %.3f of %.3f", b, base)
	}
	if n < 1.1*base {
		t.Errorf("noise of σ 0.1 gave sharpness %.3f, real %.3f: want higher", n, base)
	}
	if math.Abs(f-base) > 1e-3*base {
		t.Errorf("halving the contrast moved sharpness from %.4f to %.4f", base, f)
	}
	if v := Sharpness(make([]float32, 3*per), size, ch); v != 0 {
		t.Errorf("flat images: %v, want 0", v)
	}
}
