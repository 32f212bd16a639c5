package main

// forger worker: the test binary doubles as forger so that a worker can be
// started and killed mid-job.

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"forger/store"
	"forger/store/storetest"
	"forger/studio"
)

// The test binary doubles as forger itself when FORGER_TEST_AS_FORGER=1:
// then it runs forger's real command line (os.Args) with a test-only
// look-alike pipeline installed, so that tests can start — and kill — a
// `forger worker` process that has a pipeline to run.
func init() {
	if os.Getenv("FORGER_TEST_AS_FORGER") != "1" {
		return
	}
	delay, _ := time.ParseDuration(os.Getenv("FORGER_TEST_STEP_DELAY"))
	lookalikePipeline = func(*serveOptions, *store.Store, *slog.Logger) (studio.Pipeline, error) {
		return &stepPipeline{delay: delay}, nil
	}
	main()
	os.Exit(0)
}

// stepPipeline is a test-only look-alike pipeline: each step waits delay
// and writes small pictures.
type stepPipeline struct{ delay time.Duration }

func (p *stepPipeline) sleep(ctx context.Context) error {
	select {
	case <-time.After(p.delay):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *stepPipeline) Align(ctx context.Context, photo image.Image, out *studio.Results) (*studio.Face, error) {
	if err := p.sleep(ctx); err != nil {
		return nil, err
	}
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	return &studio.Face{Aligned: img}, out.PutPNG("aligned", img, "", nil)
}

func (p *stepPipeline) Match(ctx context.Context, f *studio.Face, out *studio.Results) (*studio.Match, error) {
	if err := p.sleep(ctx); err != nil {
		return nil, err
	}
	m := &studio.Match{Best: studio.GalleryMatch{Name: "best", Distance: 0.1}, Worst: studio.GalleryMatch{Name: "worst", Distance: 2}}
	if err := out.PutPNG("best", f.Aligned, m.Best.Name, &m.Best.Distance); err != nil {
		return nil, err
	}
	return m, out.PutPNG("worst", f.Aligned, m.Worst.Name, &m.Worst.Distance)
}

func (p *stepPipeline) Render(ctx context.Context, f *studio.Face, m *studio.Match, out *studio.Results) error {
	if err := p.sleep(ctx); err != nil {
		return err
	}
	if err := out.PutGIF("morph", []image.Image{f.Aligned, f.Aligned}, 2, ""); err != nil {
		return err
	}
	return out.PutPNG("smile", f.Aligned, "", nil)
}

// TestWorkerDurability kills a `forger worker` with SIGKILL in the middle of
// 20 jobs; a second worker finishes them all — the killed runs once River's
// rescuer has found them (after --rescue-after, on the elected leader) —
// and every job ends with exactly one set of results.
func TestWorkerDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about half a minute")
	}
	for _, db := range storetest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) { testWorkerDurability(t, db.URL) })
	}
}

func testWorkerDurability(t *testing.T, dbURL string) {
	ctx := context.Background()
	data := t.TempDir()
	st, err := store.Open(ctx, dbURL, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	q, err := studio.NewQueue(st, studio.QueueConfig{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	ids := make([]string, n)
	photo := image.NewGray(image.Rect(0, 0, 8, 8))
	for i := range ids {
		id := store.NewID()
		ids[i] = id
		f, _ := os.Create(filepath.Join(mkdir(t, filepath.Join(data, "uploads")), id+".png"))
		png.Encode(f, photo)
		f.Close()
		err := st.CreateJob(ctx, &store.Job{ID: id, Kind: studio.LookalikeArgs{}.Kind(), Upload: id + ".png"}, func(ctx context.Context, tx *store.Tx) error {
			return q.Enqueue(ctx, tx, id)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	worker := func() (*exec.Cmd, *bytes.Buffer) {
		cmd := exec.Command(os.Args[0], "worker", "--db", dbURL, "--data", data, "--workers", "2",
			"--job-timeout", "2s", "--rescue-after", "3s")
		var log bytes.Buffer
		cmd.Stdout, cmd.Stderr = &log, &log
		cmd.Env = append(os.Environ(), "FORGER_TEST_AS_FORGER=1", "FORGER_TEST_STEP_DELAY=150ms", "FORGER_GEMM=go")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd, &log
	}
	statuses := func() map[string]string {
		out := map[string]string{}
		for _, id := range ids {
			if j, err := st.Job(ctx, id); err == nil {
				out[id] = j.Status
			}
		}
		return out
	}
	count := func(m map[string]string, pred func(string) bool) int {
		c := 0
		for _, s := range m {
			if pred(s) {
				c++
			}
		}
		return c
	}
	running := func(s string) bool {
		return s == store.StatusAligning || s == store.StatusMatching || s == store.StatusRendering
	}
	done := func(s string) bool { return s == store.StatusDone }

	start := time.Now()
	a, logA := worker()
	var interrupted []string
	for {
		m := statuses()
		if count(m, done) >= 4 && (count(m, running) >= 2 || count(m, running) >= 1 && time.Since(start) > 10*time.Second) {
			if err := a.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			a.Wait()
			for id, s := range statuses() {
				if running(s) {
					interrupted = append(interrupted, id)
				}
			}
			t.Logf("killed worker A after %v: %d done, interrupted %d", time.Since(start).Round(time.Millisecond), count(m, done), len(interrupted))
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("worker A made no progress: %v\n%s", m, logA)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(interrupted) == 0 {
		t.Fatal("no job was running when worker A was killed")
	}
	killedAt := time.Now()
	b, logB := worker()
	for {
		m := statuses()
		if count(m, done) == n {
			break
		}
		if time.Since(killedAt) > 60*time.Second {
			t.Fatalf("not all jobs done 60 s after the kill: %v\nworker B:\n%s", m, logB)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("all %d jobs done %v after the kill", n, time.Since(killedAt).Round(time.Millisecond))
	b.Process.Signal(syscall.SIGTERM)
	b.Wait()

	retried := 0
	for _, id := range ids {
		j, err := st.Job(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Attempts > 1 {
			retried++
		}
		entries, err := os.ReadDir(filepath.Join(data, "results", id))
		if err != nil {
			t.Fatalf("job %s: %v", id, err)
		}
		var files, want []string
		for _, e := range entries {
			files = append(files, e.Name())
		}
		for _, r := range j.Results {
			want = append(want, r.File)
		}
		sort.Strings(files)
		sort.Strings(want)
		if strings.Join(files, ",") != "aligned.png,best.png,morph.gif,smile.png,worst.png" || strings.Join(files, ",") != strings.Join(want, ",") {
			t.Errorf("job %s: files %v, recorded %v", id, files, want)
		}
	}
	if runs, _ := filepath.Glob(filepath.Join(data, "results", ".*")); len(runs) != 0 {
		t.Errorf("run folders left: %v", runs)
	}
	for _, id := range interrupted {
		if j, _ := st.Job(ctx, id); j.Attempts < 2 {
			t.Errorf("interrupted job %s has %d attempts", id, j.Attempts)
		}
	}
	// River agrees: every job completed, none discarded.
	var completed int
	if err := st.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM river_job WHERE state = 'completed'").Scan(&completed); err != nil || completed != n {
		t.Errorf("River: %d completed (%v)", completed, err)
	}
	t.Logf("%d jobs ran more than once", retried)
}
