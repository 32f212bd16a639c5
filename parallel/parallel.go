// Package parallel spreads loops over the machine's cores.
//
// forger's layers do their element-wise work (im2col, batch norm, activations,
// optimiser updates) through For, so that both cores of a small machine are
// busy between matrix multiplications. For is built so that a training step
// allocates nothing: the workers are started once and reused, and the work is
// a Job value that callers build once (see Func).
//
// The split of [0,n) into chunks depends only on n, the grain and the number
// of workers, never on timing, so code whose chunks write disjoint outputs is
// deterministic.
package parallel

import (
	"runtime"
	"sync"
)

// A Job does the part [lo,hi) of a loop. Do must not call For itself (a nested
// call runs serially, which is correct but slow).
type Job interface {
	Do(lo, hi int)
}

// Func adapts a function to a Job. Build it once (for instance in a layer's
// constructor) and reuse it: converting a closure on every call allocates.
type Func func(lo, hi int)

// Do calls f(lo, hi).
func (f Func) Do(lo, hi int) { f(lo, hi) }

type task struct {
	job    Job
	lo, hi int
}

type pool struct {
	mu    sync.Mutex // held by the one For call that owns the workers
	tasks []chan task
	done  []chan struct{}
}

var (
	poolOnce sync.Once
	thePool  *pool
)

func getPool() *pool {
	poolOnce.Do(func() {
		n := runtime.GOMAXPROCS(0)
		p := &pool{tasks: make([]chan task, n), done: make([]chan struct{}, n)}
		for i := 1; i < n; i++ {
			p.tasks[i] = make(chan task)
			p.done[i] = make(chan struct{})
			go worker(p.tasks[i], p.done[i])
		}
		thePool = p
	})
	return thePool
}

func worker(tasks <-chan task, done chan<- struct{}) {
	for t := range tasks {
		t.job.Do(t.lo, t.hi)
		done <- struct{}{}
	}
}

// Workers is the number of goroutines For uses: GOMAXPROCS at first use.
func Workers() int { return len(getPool().tasks) }

// For runs j over [0,n), split into at most Workers() contiguous chunks of at
// least grain items each. It returns when all chunks are done. When the
// workers are busy with another For call (from another goroutine, or nested),
// the loop runs on the calling goroutine instead of waiting.
func For(n, grain int, j Job) {
	if n <= 0 {
		return
	}
	p := getPool()
	chunks := len(p.tasks)
	if grain < 1 {
		grain = 1
	}
	if c := n / grain; c < chunks {
		chunks = c
	}
	if chunks <= 1 || !p.mu.TryLock() {
		j.Do(0, n)
		return
	}
	defer p.mu.Unlock()
	for i := 1; i < chunks; i++ {
		p.tasks[i] <- task{j, i * n / chunks, (i + 1) * n / chunks}
	}
	j.Do(0, n/chunks)
	for i := 1; i < chunks; i++ {
		<-p.done[i]
	}
}
