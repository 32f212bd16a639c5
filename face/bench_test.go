package face

import (
	"slices"
	"testing"
	"time"
)

// benchCalls times f per call and reports, besides the mean (ns/op), the
// median and the minimum: on a shared machine the minimum is the figure
// closest to the cost of a call on an idle one.
func benchCalls(b *testing.B, f func()) {
	f() // warm: buffers allocated, weights in cache
	var times []time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		f()
		times = append(times, time.Since(t0))
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(times[0].Microseconds())/1000, "min-ms")
}

// BenchmarkEmbed is one 150×150 crop's descriptor (no resize).
func BenchmarkEmbed(b *testing.B) {
	d := loadDescriptor(b)
	img := noiseImage(150, 150, 1)
	benchCalls(b, func() { d.Embed(img) })
}

// BenchmarkLandmarks is one 150×150 crop's landmarks (resized to 112).
func BenchmarkLandmarks(b *testing.B) {
	l := loadLandmarks(b)
	img := noiseImage(150, 150, 2)
	benchCalls(b, func() { l.Landmarks(img) })
}

// BenchmarkDescriptorGradient is one forward and backward pass of a
// 150×150 image through the frozen descriptor net (a perceptual loss step).
func BenchmarkDescriptorGradient(b *testing.B) {
	d := loadDescriptor(b)
	x := ImageTensor(noiseImage(150, 150, 3))
	dy := x.Clone()
	dy.Data = dy.Data[:128]
	dy.Shape = []int{1, 128}
	benchCalls(b, func() { d.Forward(x); d.Backward(dy) })
}
