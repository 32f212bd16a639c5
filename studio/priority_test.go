package studio

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"forger/internal/priority"
	"forger/store"
)

// steppingPipeline is testPipeline whose Render is a loop of background
// steps, each after a priority checkpoint, as lookalike's projection is.
// The loop runs at least minSteps steps and then until the gate has paused
// a checkpoint pauses times (or ctx ends).
type steppingPipeline struct {
	testPipeline
	minSteps int
	pauses   int64
	steps    atomic.Int64
	gateSeen atomic.Pointer[priority.Gate]
}

func (p *steppingPipeline) Render(ctx context.Context, face *Face, m *Match, out *Results) error {
	g := priority.FromContext(ctx)
	p.gateSeen.Store(g)
	for i := 0; ; i++ {
		if err := priority.Checkpoint(ctx); err != nil {
			return err
		}
		p.steps.Add(1)
		if i >= p.minSteps && g.Stats().Paused >= p.pauses {
			break
		}
		time.Sleep(time.Millisecond) // the step's "compute"
	}
	return p.testPipeline.Render(ctx, face, m, out)
}

func uploadJob(t *testing.T, h *harness) string {
	t.Helper()
	status, body := h.upload("/api/jobs", photoJPEG(t, 64, 48, 0))
	var res struct{ ID string }
	if status != 201 || json.Unmarshal(body, &res) != nil || res.ID == "" {
		t.Fatalf("POST /api/jobs: %d %s", status, body)
	}
	return res.ID
}

// A job's steps wait while generates are being made: with generates
// served throughout the job, its checkpoints pause (and, with no
// starvation guard, none runs while a generate holds the gate), and every
// picture request holds the gate.
func TestJobStepsPauseDuringGenerates(t *testing.T) {
	gate := priority.New(-1) // no guard: only a generate's end lets a step go on
	pipe := &steppingPipeline{minSteps: 20, pauses: 3}
	h := newHarness(t, harnessOptions{gate: gate, makePipeline: func(*store.Store, string) Pipeline { return pipe }})
	id := uploadJob(t, h)

	stop := make(chan struct{})
	var served atomic.Int64
	var wg sync.WaitGroup
	for c := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				var res struct{ Images []generatedImage }
				if status, _ := h.json("POST", "/api/generate", map[string]any{"model": "tiny", "n": 4, "seed": 1000*c + i}, &res); status != 200 {
					t.Errorf("generate: %d", status)
					return
				}
				served.Add(1)
			}
		}()
	}
	j, seen := h.waitJob(id, 30*time.Second)
	close(stop)
	wg.Wait()
	if j.Status != store.StatusDone {
		t.Fatalf("job %s (seen %v)", j.Status, seen)
	}
	if pipe.gateSeen.Load() != gate {
		t.Fatal("the pipeline's context does not carry the Runner's gate")
	}
	st := gate.Stats()
	t.Logf("%d generates, %d job steps; gate %+v", served.Load(), pipe.steps.Load(), st)
	if st.Paused < pipe.pauses || st.Forced != 0 {
		t.Fatalf("gate %+v: want at least %d checkpoints paused by generates, none forced", st, pipe.pauses)
	}
	if st.Checkpoints < pipe.steps.Load() {
		t.Fatalf("%d checkpoints for %d steps", st.Checkpoints, pipe.steps.Load())
	}
	if st.Foreground < served.Load() {
		t.Fatalf("%d foreground sections for %d generates: a generate did not hold the gate", st.Foreground, served.Load())
	}
	if st.Active != 0 || st.Waiting != 0 {
		t.Fatalf("gate %+v after everything finished: a section or a wait was left open", st)
	}

	// Every kind of picture request holds the gate (and lets go of it); the
	// seed is one the generates above never draw, so no cached image answers.
	before := gate.Stats().Foreground
	for _, path := range []string{"/api/image?model=tiny&seed=900001", "/api/morph?model=tiny&from=1&to=2&frames=3"} {
		if status, _, body := h.do("GET", path, "", nil); status != 200 {
			t.Fatalf("%s: %d %s", path, status, body)
		}
	}
	if st := gate.Stats(); st.Foreground != before+2 || st.Active != 0 {
		t.Fatalf("gate %+v after an image and a morph (foreground %d before)", st, before)
	}
}

// Under interactive compute that never ends, the starvation guard still
// lets a job finish.
func TestJobFinishesUnderEndlessForeground(t *testing.T) {
	gate := priority.New(5 * time.Millisecond)
	pipe := &steppingPipeline{minSteps: 10}
	h := newHarness(t, harnessOptions{gate: gate, makePipeline: func(*store.Store, string) Pipeline { return pipe }})
	done := gate.Foreground()
	defer done()
	id := uploadJob(t, h)
	if j, seen := h.waitJob(id, 30*time.Second); j.Status != store.StatusDone {
		t.Fatalf("job %s (seen %v)", j.Status, seen)
	}
	if st := gate.Stats(); st.Forced < int64(pipe.minSteps) || st.Paused != 0 {
		t.Fatalf("gate %+v: want every step of the job let through by the guard", st)
	}
}
