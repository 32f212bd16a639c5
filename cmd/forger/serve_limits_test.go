package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"forger/gan"
	"forger/loadtest"
	"forger/store"
	"forger/studio"
)

// forger serve sets the Go memory limit and sizes its image cache, and
// logs both.
func TestServeMemoryFlags(t *testing.T) {
	models := t.TempDir()
	_, _, log := startServe(t, "--models", models, "--data", t.TempDir(), "--workers", "0",
		"--memory-limit-mb", "700", "--image-cache-mb", "33")
	if s := log.String(); !strings.Contains(s, "memory limit") || !strings.Contains(s, "mb=700") || !strings.Contains(s, "image_cache_mb=33") {
		t.Errorf("the log does not show the limits: %s", s)
	}
	// Without --memory-limit-mb the limit follows the cache: 1024 + 2×100.
	_, _, log = startServeEnv(t, []string{"GOMEMLIMIT="}, "--models", models, "--data", t.TempDir(), "--workers", "0",
		"--image-cache-mb", "100")
	if s := log.String(); !strings.Contains(s, "mb=1224") || !strings.Contains(s, "image_cache_mb=100") {
		t.Errorf("the log does not show the default limit for a 100 MB cache: %s", s)
	}
}

// SIGTERM drains: jobs running when forger worker (or serve) is told to
// stop finish within --grace, in their first attempt, and the process
// exits cleanly; with a grace period too short, they are cancelled and
// left queued for a retry, never lost.
func TestGracefulStop(t *testing.T) {
	for _, c := range []struct {
		name  string
		args  []string
		grace string
		done  bool
	}{
		{"worker", []string{"worker"}, "20s", true},
		{"serve", []string{"serve", "--addr", "127.0.0.1:0", "--rate", "0"}, "20s", true},
		{"worker, short grace", []string{"worker"}, "300ms", false},
	} {
		t.Run(c.name, func(t *testing.T) { testGracefulStop(t, c.args, c.grace, c.done) })
	}
}

func testGracefulStop(t *testing.T, args []string, grace string, wantDone bool) {
	ctx := context.Background()
	data := t.TempDir()
	dbURL := "sqlite:" + filepath.Join(data, "forger.db")
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
	ids := make([]string, 2)
	for i := range ids {
		id := store.NewID()
		ids[i] = id
		f, _ := os.Create(filepath.Join(mkdir(t, filepath.Join(data, "uploads")), id+".png"))
		png.Encode(f, image.NewGray(image.Rect(0, 0, 8, 8)))
		f.Close()
		if err := st.CreateJob(ctx, &store.Job{ID: id, Kind: studio.LookalikeArgs{}.Kind(), Upload: id + ".png"}, func(ctx context.Context, tx *store.Tx) error {
			return q.Enqueue(ctx, tx, id)
		}); err != nil {
			t.Fatal(err)
		}
	}
	args = append(args, "--db", dbURL, "--data", data, "--workers", "2", "--grace", grace)
	if args[0] == "serve" {
		args = append(args, "--models", t.TempDir())
	}
	cmd := exec.Command(os.Args[0], args...)
	var log bytes.Buffer
	cmd.Stdout, cmd.Stderr = &log, &log
	cmd.Env = append(os.Environ(), "FORGER_TEST_AS_FORGER=1", "FORGER_TEST_STEP_DELAY=1s", "FORGER_GEMM=go", "FORGER_HOME="+t.TempDir())
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	// Wait until both jobs are in their first step, then SIGTERM.
	deadline := time.Now().Add(30 * time.Second)
	for {
		running := 0
		for _, id := range ids {
			if j, err := st.Job(ctx, id); err == nil && j.Status == store.StatusAligning {
				running++
			}
		}
		if running == len(ids) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the jobs did not start:\n%s", log.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("exit after SIGTERM: %v\n%s", err, log.String())
		}
	case <-time.After(40 * time.Second):
		t.Fatalf("no exit 40 s after SIGTERM:\n%s", log.String())
	}
	for _, id := range ids {
		j, err := st.Job(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case wantDone && (j.Status != store.StatusDone || j.Attempts != 1):
			t.Errorf("job %s after SIGTERM: %s, %d attempts (%s)\n%s", id, j.Status, j.Attempts, j.Reason, log.String())
		case !wantDone && j.Status != store.StatusQueued:
			t.Errorf("job %s cancelled at the end of the grace period: %s (%s), want queued for a retry", id, j.Status, j.Reason)
		}
	}
}

// A short admin token, or a trusted proxy that is no address, stops forger
// serve with one line before anything starts.
func TestServeRefusesShortAdminToken(t *testing.T) {
	base := []string{"serve", "--models", t.TempDir(), "--data", t.TempDir()}
	for _, c := range []struct {
		args []string
		env  []string
		want string
	}{
		{append(base, "--admin-token", "s3cret"), nil, "at least 16 characters"},
		{base, []string{"FORGER_ADMIN_TOKEN=fifteen-chars!!"}, "at least 16 characters"},
		{append(base, "--trusted-proxy", "10.0.0.0/99"), nil, "--trusted-proxy"},
		{append(base, "--rate", "NaN"), nil, "--rate"},
	} {
		_, stderr, code := forger(t, c.env, c.args...)
		if lines := strings.Split(strings.TrimSpace(stderr), "\n"); code != 2 || len(lines) != 1 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v %v: exit %d, %q", c.env, c.args[len(base):], code, stderr)
		}
	}
}

// forger bench serve --soak drives a running forger serve and reports
// what it met, with the server's RSS and disk use over time.
func TestBenchServeSoak(t *testing.T) {
	models, data := t.TempDir(), t.TempDir()
	saveModel(t, filepath.Join(models, "small.safetensors"), gan.Config{Arch: gan.DCGAN, Size: 32, Channels: 3, NZ: 8, NGF: 8, NDF: 8})
	url, serve, _ := startServe(t, "--models", models, "--data", data, "--workers", "0", "--rate", "0")
	plot := filepath.Join(t.TempDir(), "soak.png")
	stdout, stderr, code := forger(t, nil, "bench", "serve", "--soak", "3s", "--url", url, "--rate", "4", "--slow-uploaders", "1",
		"--pid", fmt.Sprint(serve.Process.Pid), "--data", data, "--every", "500ms", "--plot", plot, "--json")
	if code != 0 {
		t.Fatalf("bench serve --soak: %d %s", code, stderr)
	}
	var r loadtest.SoakResult
	if err := json.Unmarshal([]byte(stdout), &r); err != nil {
		t.Fatalf("%v: %s", err, stdout)
	}
	if g := r.Kinds[loadtest.KindGenerate]; g.OK == 0 || g.Errors5xx != 0 || r.PeakRSSBytes <= 0 || r.PeakDiskBytes <= 0 || len(r.Samples) < 5 {
		t.Errorf("soak result: %s", stdout)
	}
	if _, err := os.Stat(plot); err != nil {
		t.Error(err)
	}
	if _, stderr, code := forger(t, nil, "bench", "serve", "--soak", "1s"); code != 2 || !strings.Contains(stderr, "--url") {
		t.Errorf("--soak without --url: %d %s", code, stderr)
	}
}
