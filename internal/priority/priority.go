// Package priority lets interactive compute go first and background compute
// fill the gaps.
//
// The studio does two kinds of CPU work in one process: answers to visitors
// who wait for them (generate, image, morph, the edit previews) and
// look-alike jobs that run for seconds in the background. A visitor of the
// generate page notices every extra 100 ms; a job's visitor polls a page
// that says "working" and notices nothing. On a small machine the jobs
// alone can keep every core busy, so without a rule every interactive
// request waits behind job compute.
//
// The rule is a Gate: interactive compute holds it open (Foreground) while
// it runs, and background compute calls Wait at fine-grained checkpoints
// (each projection step, each batch of frames), which blocks while any
// interactive compute is in flight. A step already running is not
// preempted: the checkpoints bound how long an interactive request waits
// for the CPU to that of one step.
//
// Starvation guard: a checkpoint waits at most the gate's MaxWait; then the
// step runs anyway, so that under endless interactive load a job still
// makes one step per MaxWait (and finishes, slower) rather than never.
package priority

import (
	"context"
	"sync"
	"time"
)

// DefaultMaxWait is the starvation guard of New(0) and of Default: how
// long a background checkpoint waits for interactive compute before its
// step runs anyway. It is a fraction of the interactive latency goal (a
// second), so that the steps a guard lets through cost an interactive
// request little, yet long enough that a job rarely runs during a burst.
const DefaultMaxWait = 250 * time.Millisecond

// Gate orders interactive (foreground) before background compute; see the
// package comment. The zero value is not usable; call New. A nil *Gate
// orders nothing: Foreground is a no-op and Wait only checks ctx.
type Gate struct {
	maxWait time.Duration

	mu      sync.Mutex
	active  int           // foreground sections open
	idle    chan struct{} // closed when active returns to 0
	waiting int           // background checkpoints waiting now
	st      Stats
}

// Stats counts what a Gate did, for logs and tests.
type Stats struct {
	// Checkpoints is the number of Wait calls.
	Checkpoints int64
	// Paused is the number of checkpoints that found interactive compute
	// running and waited until it was over.
	Paused int64
	// Forced is the number of checkpoints the starvation guard let through
	// while interactive compute was still running.
	Forced int64
	// Foreground is the number of foreground sections opened.
	Foreground int64
	// Active is the foreground sections open now; Waiting the checkpoints
	// waiting now.
	Active, Waiting int
}

// New returns a gate whose checkpoints wait at most maxWait (0:
// DefaultMaxWait; negative: without limit).
func New(maxWait time.Duration) *Gate {
	if maxWait == 0 {
		maxWait = DefaultMaxWait
	}
	return &Gate{maxWait: maxWait}
}

var (
	defaultOnce sync.Once
	defaultGate *Gate
)

// Default is the process's gate (New(0)): CPU is shared by the whole
// process, so the studio's handlers and job runner use it unless told
// otherwise.
func Default() *Gate {
	defaultOnce.Do(func() { defaultGate = New(0) })
	return defaultGate
}

// MaxWait is the gate's starvation guard (negative: none).
func (g *Gate) MaxWait() time.Duration { return g.maxWait }

// Foreground marks interactive compute as running until done is called.
// Calling done more than once is harmless.
func (g *Gate) Foreground() (done func()) {
	if g == nil {
		return func() {}
	}
	g.mu.Lock()
	if g.active == 0 {
		g.idle = make(chan struct{})
	}
	g.active++
	g.st.Foreground++
	g.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			g.mu.Lock()
			if g.active--; g.active == 0 {
				close(g.idle)
			}
			g.mu.Unlock()
		})
	}
}

// Wait is a background checkpoint: it returns at once when no interactive
// compute is running, else when the last of it ends or after MaxWait,
// whichever comes first. It returns ctx's error when ctx is done (at once
// if it already is, or while waiting).
func (g *Gate) Wait(ctx context.Context) error {
	if err := ctx.Err(); err != nil || g == nil {
		return err
	}
	g.mu.Lock()
	g.st.Checkpoints++
	if g.active == 0 {
		g.mu.Unlock()
		return nil
	}
	idle := g.idle
	g.waiting++
	g.mu.Unlock()
	var timeout <-chan time.Time
	if g.maxWait > 0 {
		t := time.NewTimer(g.maxWait)
		defer t.Stop()
		timeout = t.C
	}
	var err error
	forced := false
	select {
	case <-idle:
	case <-timeout:
		forced = true
	case <-ctx.Done():
		err = ctx.Err()
	}
	g.mu.Lock()
	g.waiting--
	switch {
	case err != nil:
	case forced:
		g.st.Forced++
	default:
		g.st.Paused++
	}
	g.mu.Unlock()
	return err
}

// Stats returns the gate's counts so far.
func (g *Gate) Stats() Stats {
	if g == nil {
		return Stats{}
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.st
	s.Active, s.Waiting = g.active, g.waiting
	return s
}

type ctxKey struct{}

// NewContext returns ctx carrying g, for the background compute it is
// handed to (Checkpoint).
func NewContext(ctx context.Context, g *Gate) context.Context {
	return context.WithValue(ctx, ctxKey{}, g)
}

// FromContext returns the gate ctx carries, or nil.
func FromContext(ctx context.Context) *Gate {
	g, _ := ctx.Value(ctxKey{}).(*Gate)
	return g
}

// Checkpoint is Wait on the gate ctx carries; without one it only reports
// ctx's error. Background compute calls it between its steps.
func Checkpoint(ctx context.Context) error {
	return FromContext(ctx).Wait(ctx)
}
