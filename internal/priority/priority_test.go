package priority

import (
	"context"
	"errors"
	"testing"
	"time"
)

// waitFor polls cond until it holds (or fails the test after a long time:
// the conditions here are reached in microseconds).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestWaitWithoutForegroundReturnsAtOnce(t *testing.T) {
	g := New(-1)
	for range 3 {
		if err := g.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if s := g.Stats(); s.Checkpoints != 3 || s.Paused != 0 || s.Forced != 0 {
		t.Fatalf("stats %+v, want 3 checkpoints, none paused", s)
	}
}

// A background loop's step waits while a foreground section is open and
// proceeds when the last one closes.
func TestStepWaitsForForeground(t *testing.T) {
	g := New(-1) // no starvation guard: only the end of the foreground releases it
	done1 := g.Foreground()
	done2 := g.Foreground()
	steps := make(chan int, 10)
	errc := make(chan error, 1)
	go func() {
		for i := range 3 {
			if err := g.Wait(context.Background()); err != nil {
				errc <- err
				return
			}
			steps <- i
		}
		errc <- nil
	}()
	waitFor(t, "the first checkpoint waits", func() bool { return g.Stats().Waiting == 1 })
	done1()
	done1() // twice: harmless, and must not close the second section
	if s := g.Stats(); s.Active != 1 || s.Waiting != 1 || len(steps) != 0 {
		t.Fatalf("after one of two sections closed: %+v, %d steps ran; want the step still waiting", s, len(steps))
	}
	done2()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if len(steps) != 3 {
		t.Fatalf("%d steps ran, want 3", len(steps))
	}
	if s := g.Stats(); s.Paused != 1 || s.Forced != 0 || s.Checkpoints != 3 || s.Foreground != 2 || s.Active != 0 {
		t.Fatalf("stats %+v, want 3 checkpoints of which 1 paused, 2 foreground sections", s)
	}

	// A new section pauses the loop again (the idle channel is renewed).
	done3 := g.Foreground()
	go func() { errc <- g.Wait(context.Background()) }()
	waitFor(t, "the checkpoint waits for the new section", func() bool { return g.Stats().Waiting == 1 })
	done3()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if s := g.Stats(); s.Paused != 2 {
		t.Fatalf("stats %+v, want 2 paused", s)
	}
}

// The starvation guard lets a step through after MaxWait while the
// foreground is still open.
func TestStarvationGuard(t *testing.T) {
	const maxWait = 30 * time.Millisecond
	g := New(maxWait)
	defer g.Foreground()() // open throughout
	for range 2 {
		t0 := time.Now()
		if err := g.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(t0); d < maxWait {
			t.Fatalf("the step ran after %v, before the guard's %v", d, maxWait)
		}
	}
	if s := g.Stats(); s.Forced != 2 || s.Paused != 0 || s.Active != 1 {
		t.Fatalf("stats %+v, want 2 forced", s)
	}
}

// Cancelling the context stops a waiting step with the context's error.
func TestCancelStopsWaitingStep(t *testing.T) {
	g := New(-1)
	done := g.Foreground()
	defer done()
	ctx, cancel := context.WithCancel(NewContext(context.Background(), g))
	errc := make(chan error, 1)
	go func() { errc <- Checkpoint(ctx) }()
	waitFor(t, "the checkpoint waits", func() bool { return g.Stats().Waiting == 1 })
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("Checkpoint = %v, want context.Canceled", err)
	}
	if err := Checkpoint(ctx); !errors.Is(err, context.Canceled) { // already cancelled: at once
		t.Fatalf("Checkpoint after cancel = %v, want context.Canceled", err)
	}
	if s := g.Stats(); s.Paused != 0 || s.Forced != 0 || s.Waiting != 0 {
		t.Fatalf("stats %+v: a cancelled wait counts as neither paused nor forced", s)
	}
}

func TestNilGateAndNoGateInContext(t *testing.T) {
	var g *Gate
	g.Foreground()()
	if err := g.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := Checkpoint(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Checkpoint(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Checkpoint = %v, want context.Canceled", err)
	}
	if Default() != Default() || Default().MaxWait() != DefaultMaxWait {
		t.Fatal("Default is not one gate with DefaultMaxWait")
	}
}
