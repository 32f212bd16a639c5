package main

import (
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"forger/gan"
	"forger/loadtest"
)

// forger bench serve --soak with the server's command: the soak starts the
// server, kills it with SIGKILL and stops it with SIGTERM in the middle of
// look-alike jobs, starts it again each time, and finds every job created
// finished, once — the test pipeline's jobs take 3 × 200 ms. (No slow
// uploader: one would hold the SIGTERM's stop for its 10 s, and the soak
// would have few uploads left.)
func TestBenchServeSoakRestarts(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about a minute")
	}
	models, data := t.TempDir(), t.TempDir()
	saveModel(t, filepath.Join(models, "small.safetensors"), gan.Config{Arch: gan.DCGAN, Size: 32, Channels: 3, NZ: 8, NGF: 8, NDF: 8})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	out, serverLog := filepath.Join(t.TempDir(), "soak.json"), filepath.Join(t.TempDir(), "serve.log")
	plot := filepath.Join(t.TempDir(), "soak.png")
	stdout, stderr, code := forger(t, []string{"FORGER_TEST_AS_FORGER=1", "FORGER_TEST_STEP_DELAY=200ms"},
		"bench", "serve", "--soak", "12s", "--url", "http://"+addr, "--rate", "10", "--uploads", "--slow-uploaders", "0",
		"--clients", "20", "--data", data, "--every", "500ms", "--kill-at", "4s", "--term-at", "8s", "--drain", "90s",
		"--server-log", serverLog, "--plot", plot, "--out", out, "--",
		os.Args[0], "serve", "--addr", addr, "--models", models, "--data", data, "--workers", "2",
		"--trusted-proxy", "127.0.0.1", "--job-timeout", "3s", "--rescue-after", "4s", "--grace", "5s")
	logb, _ := os.ReadFile(serverLog)
	if code != 0 {
		t.Fatalf("bench serve --soak: exit %d\n%s\n%s\nserver:\n%s", code, stdout, stderr, logb)
	}
	t.Logf("%s", stdout)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r loadtest.SoakResult
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	var whats []string
	for _, e := range r.Events {
		whats = append(whats, e.What)
	}
	if got := strings.Join(whats, ","); got != "started,ready,kill -9,exited,started,ready,SIGTERM,exited,started,ready,SIGTERM,exited" {
		t.Errorf("events %s", got)
	}
	if r.Events[3].Detail == "" || !strings.Contains(r.Events[3].Detail, "killed") {
		t.Errorf("the kill: %+v", r.Events[3])
	}
	if !strings.Contains(r.Events[7].Detail, "exit status 0") {
		t.Errorf("SIGTERM's exit: %+v", r.Events[7])
	}
	j := r.Jobs
	if j.Created < 2 || j.Done != j.Created || len(j.Lost) != 0 || !j.CheckedDB || j.Records < j.Created ||
		len(j.Unfinished) != 0 || len(j.Duplicated) != 0 || len(j.NotQueued) != 0 {
		t.Errorf("jobs %+v\nserver:\n%s", j, logb)
	}
	for _, k := range []string{loadtest.KindGenerate, loadtest.KindMorph, loadtest.KindUpload, loadtest.KindPoll} {
		if r.Kinds[k].OK == 0 || r.Kinds[k].Errors5xx != 0 {
			t.Errorf("%s: %+v", k, r.Kinds[k])
		}
	}
	// The made-up clients kept the per-address limits from refusing the
	// soak's own rate.
	if g := r.Kinds[loadtest.KindGenerate]; g.Refused > g.Requests/10 {
		t.Errorf("generate: %d of %d refused", g.Refused, g.Requests)
	}
	if r.PeakRSSBytes <= 0 || len(r.Checks) == 0 {
		t.Errorf("peak RSS %d, checks %+v", r.PeakRSSBytes, r.Checks)
	}
	for _, p := range []string{plot, strings.TrimSuffix(plot, ".png") + "-latency.png"} {
		if _, err := os.Stat(p); err != nil {
			t.Error(err)
		}
	}
	// Restarts need the server's command; arguments need --soak.
	if _, stderr, code := forger(t, nil, "bench", "serve", "--soak", "1s", "--url", "http://"+addr, "--kill-at", "500ms"); code != 2 || !strings.Contains(stderr, "after --") {
		t.Errorf("--kill-at without a command: %d %s", code, stderr)
	}
	if _, stderr, code := forger(t, nil, "bench", "serve", "--model", "x", "--", "true"); code != 2 || !strings.Contains(stderr, "no arguments") {
		t.Errorf("a command without --soak: %d %s", code, stderr)
	}
}
