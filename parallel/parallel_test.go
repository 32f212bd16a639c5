package parallel

import (
	"sync"
	"sync/atomic"
	"testing"
)

func TestForCoversEveryIndexOnce(t *testing.T) {
	for _, n := range []int{0, 1, 2, 3, 7, 100, 1001} {
		for _, grain := range []int{1, 4, 1000} {
			hits := make([]int32, n)
			For(n, grain, Func(func(lo, hi int) {
				for i := lo; i < hi; i++ {
					atomic.AddInt32(&hits[i], 1)
				}
			}))
			for i, h := range hits {
				if h != 1 {
					t.Fatalf("n=%d grain=%d: index %d visited %d times", n, grain, i, h)
				}
			}
		}
	}
}

func TestForConcurrentCallers(t *testing.T) {
	var wg sync.WaitGroup
	var total atomic.Int64
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < 50; r++ {
				For(1000, 10, Func(func(lo, hi int) { total.Add(int64(hi - lo)) }))
			}
		}()
	}
	wg.Wait()
	if got := total.Load(); got != 8*50*1000 {
		t.Fatalf("covered %d indices, want %d", got, 8*50*1000)
	}
}

func TestForNestedRunsSerially(t *testing.T) {
	var total atomic.Int64
	For(100, 1, Func(func(lo, hi int) {
		For(10, 1, Func(func(a, b int) { total.Add(int64(b - a)) }))
	}))
	if total.Load() != int64(10*min(Workers(), 100)) {
		t.Fatalf("nested total %d", total.Load())
	}
}

func TestForNoAllocs(t *testing.T) {
	var sink [1024]float32
	job := Func(func(lo, hi int) {
		for i := lo; i < hi; i++ {
			sink[i]++
		}
	})
	allocs := testing.AllocsPerRun(100, func() { For(len(sink), 16, job) })
	if allocs != 0 {
		t.Fatalf("For allocated %.1f times per call", allocs)
	}
}
