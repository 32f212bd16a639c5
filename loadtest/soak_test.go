package loadtest

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"forger/gan"
	"forger/store"
	"forger/studio"
)

// Soak against a studio on loopback: every kind of request is sent and
// timed, the server's RSS and data folder are sampled, and the plots are
// written.
func TestSoak(t *testing.T) {
	models, data := t.TempDir(), t.TempDir()
	makeModel(t, filepath.Join(models, "tiny.safetensors"), gan.Config{Arch: gan.DCGAN, Size: 32, Channels: 3, NZ: 8, NGF: 8, NDF: 8})
	ctx := context.Background()
	st, err := store.Open(ctx, "", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	srv, err := studio.New(studio.Config{ModelsDir: models, DataDir: data}, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln) }()
	defer func() { stop(); <-served }()

	plot := filepath.Join(t.TempDir(), "soak.png")
	r, err := Soak(ctx, SoakOptions{URL: "http://" + ln.Addr().String(), Duration: 3 * time.Second, Rate: 5,
		SlowUploaders: 1, PID: os.Getpid(), DataDir: data, Every: 500 * time.Millisecond, Plot: plot})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", r.Kinds)
	if r.Model != "tiny" || r.Seconds < 3 || len(r.Samples) < 5 {
		t.Errorf("soak of %s for %.1f s, %d samples", r.Model, r.Seconds, len(r.Samples))
	}
	for _, k := range []string{KindGenerate, KindImage, KindMorph} {
		if got := r.Kinds[k]; got.OK == 0 || got.Errors5xx != 0 || got.Errors != 0 || got.P99Ms <= 0 {
			t.Errorf("%s: %+v", k, got)
		}
	}
	if r.PeakRSSBytes <= 0 || r.LastRSSBytes <= 0 || r.PeakDiskBytes <= 0 {
		t.Errorf("RSS peak %d last %d, disk %d", r.PeakRSSBytes, r.LastRSSBytes, r.PeakDiskBytes)
	}
	for _, p := range []string{plot, filepath.Join(filepath.Dir(plot), "soak-latency.png")} {
		if fi, err := os.Stat(p); err != nil || fi.Size() == 0 {
			t.Errorf("plot %s: %v", p, err)
		}
	}
	if _, err := Soak(ctx, SoakOptions{URL: "ftp://x", Duration: time.Second}); err == nil {
		t.Error("an ftp:// URL was accepted")
	}
}

// Requests that meet a window in which the soak had the server down are
// told apart from the server's own failures.
func TestDownWindows(t *testing.T) {
	var d downWindows
	t0 := time.Now()
	if d.overlaps(t0.Add(-time.Second), t0) {
		t.Error("no window yet, but an overlap")
	}
	d.begin()
	w0 := time.Now()
	if !d.overlaps(t0.Add(-time.Second), time.Now()) {
		t.Error("a request ending while the server is down does not overlap")
	}
	time.Sleep(2 * time.Millisecond)
	d.end()
	w1 := time.Now()
	for _, c := range []struct {
		name     string
		from, to time.Time
		want     bool
	}{
		{"before", t0.Add(-2 * time.Second), t0.Add(-time.Second), false},
		{"across the start", t0, w0.Add(time.Millisecond), true},
		{"across the end", w1.Add(-time.Millisecond), w1.Add(time.Second), true},
		{"after", w1.Add(time.Millisecond), w1.Add(time.Second), false},
	} {
		if got := d.overlaps(c.from, c.to); got != c.want {
			t.Errorf("%s: overlaps = %v", c.name, got)
		}
	}
	s := &soak{kinds: map[string]*soakKind{}}
	s.down.begin()
	s.record(KindGenerate, 0, time.Millisecond, errors.New("connection refused"))
	s.record(KindGenerate, 200, time.Millisecond, nil)
	s.down.end()
	time.Sleep(2 * time.Millisecond)
	s.record(KindGenerate, 502, time.Millisecond, errors.New("bad gateway"))
	if k := s.kinds[KindGenerate]; k.DuringRestart != 1 || k.OK != 1 || k.Errors5xx != 1 || k.Errors != 0 {
		t.Errorf("counted %+v", k.SoakKind)
	}
}

// RSS is judged flat on the span after the last restart and the warm-up,
// and each bound is checked.
func TestSoakChecks(t *testing.T) {
	var samples []SoakSample
	for sec := 0.0; sec <= 600; sec += 10 {
		rss := int64(500 << 20)
		if sec >= 300 && sec < 320 {
			rss = 100 << 20 // just restarted
		}
		samples = append(samples, SoakSample{Seconds: sec, RSSBytes: rss + int64(sec)*(1<<10)})
	}
	events := []SoakEvent{{Seconds: 1, What: "ready"}, {Seconds: 300, What: "SIGTERM"}, {Seconds: 310, What: "ready"}}
	first, second := flatRSS(samples, events, 600)
	if first == 0 || second < first || float64(second) > 1.1*float64(first) {
		t.Errorf("flat span peaks %d, %d", first, second)
	}
	if f, s := flatRSS(samples, events, 450); f != 0 || s != 0 {
		t.Errorf("too short a span judged: %d %d", f, s)
	}
	r := SoakResult{PeakRSSBytes: 600 << 20, FlatRSSFirstBytes: 100, FlatRSSSecondBytes: 200, Errors5xx: 1,
		Kinds: map[string]SoakKind{KindGenerate: {OK: 5, P99Ms: 500}, KindUpload: {OK: 5, P99Ms: 2500}},
		Jobs:  SoakJobs{Lost: []string{"a"}, CheckedDB: true, Duplicated: []string{"b"}}}
	got := map[string]bool{}
	for _, c := range soakChecks(SoakOptions{Uploads: true, MaxDiskBytes: 1, DataDir: "x"}, r) {
		got[c.Name] = c.OK
	}
	want := map[string]bool{"peak RSS": true, "RSS flat after warm-up (second half's peak over the first's)": false, "peak data folder": true,
		"generate p99": true, "upload p99": false, "5xx answers": false, "jobs lost (created, unfinished after the drain)": false,
		"job records unfinished after the drain": true, "job records with more than one River job": false, "job records with no River job": true}
	for k, v := range want {
		if ok, found := got[k]; !found || ok != v {
			t.Errorf("check %q: ok %v (found %v), want %v", k, ok, found, v)
		}
	}
}
