package loadtest

import (
	"context"
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
