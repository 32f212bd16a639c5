package loadtest

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"forger/gan"
	"forger/optim"
	"forger/studio"
)

// makeModel saves an untrained checkpoint for cfg at path.
func makeModel(t testing.TB, path string, cfg gan.Config) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	g, err := gan.NewGenerator(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	d, err := gan.NewDiscriminator(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	ck := &gan.Checkpoint{Config: g.Cfg, G: g, D: d, OptG: optim.NewAdam(g.Params(), 1e-4, 0.5, 0.9),
		OptD: optim.NewAdam(d.Params(), 1e-4, 0.5, 0.9), TrainState: `{"epoch":3,"images":1200}`}
	if err := ck.Save(path); err != nil {
		t.Fatal(err)
	}
}

func TestLoadTest(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tiny64.safetensors")
	makeModel(t, path, gan.Config{Arch: gan.DCGAN, Size: 64, Channels: 3, NZ: 8, NGF: 8, NDF: 8})
	for _, fetch := range []bool{false, true} {
		var progress int
		r, err := LoadTest(context.Background(), LoadTestOptions{Model: path, Requests: 10, Concurrency: 5, N: 3,
			Single: 3, FetchImages: fetch, Timeout: time.Minute, Progress: func() { progress++ }})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("fetch %v: %+v", fetch, r)
		if r.Requests != 10 || r.Concurrency != 5 || r.N != 3 || r.OK != 10 || progress != 10 || r.SingleRequests != 3 {
			t.Errorf("fetch %v: counts: %+v, progress %d", fetch, r, progress)
		}
		if r.Errors != 0 || r.FirstError != "" || r.TimedOut {
			t.Errorf("fetch %v: %d errors, first %q", fetch, r.Errors, r.FirstError)
		}
		if r.Model != "tiny64" || r.Size != 64 || r.Channels != 3 || r.NGF != 8 || r.Gemm == "" || r.PeakRSSBytes <= 0 || r.FetchImages != fetch {
			t.Errorf("fetch %v: description: %+v", fetch, r)
		}
		if !(r.SingleP50Ms > 0 && r.P50Ms > 0 && r.P50Ms <= r.P90Ms && r.P90Ms <= r.P99Ms && r.P99Ms <= r.MaxMs) {
			t.Errorf("fetch %v: latencies out of order: single %v, p50 %v p90 %v p99 %v max %v", fetch, r.SingleP50Ms, r.P50Ms, r.P90Ms, r.P99Ms, r.MaxMs)
		}
		if !(r.APIP50Ms > 0 && r.APIP50Ms <= r.APIP99Ms && r.APIP99Ms <= r.MaxMs) || (!fetch && r.APIP50Ms != r.P50Ms) {
			t.Errorf("fetch %v: POST latencies: p50 %v p99 %v (whole p50 %v, max %v)", fetch, r.APIP50Ms, r.APIP99Ms, r.P50Ms, r.MaxMs)
		}
		if r.RequestsPerSec <= 0 || r.ImagesPerSec != 3*r.RequestsPerSec {
			t.Errorf("fetch %v: throughput %v requests/s, %v images/s", fetch, r.RequestsPerSec, r.ImagesPerSec)
		}
	}
}

func TestLoadTestTimeoutAndBadOptions(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "tiny64.safetensors")
	makeModel(t, path, gan.Config{Arch: gan.DCGAN, Size: 64, Channels: 3, NZ: 8, NGF: 8, NDF: 8})
	for _, o := range []LoadTestOptions{
		{Model: path, N: studio.MaxGenerate + 1},
		{Model: path, Concurrency: MaxLoadConcurrency + 1},
		{Model: path, Requests: -1},
		{Model: filepath.Join(dir, "missing.safetensors")},
	} {
		if _, err := LoadTest(context.Background(), o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	// A cancelled test stops by itself and counts what it did not do.
	ctx, cancel := context.WithCancel(context.Background())
	var done int
	r, err := LoadTest(ctx, LoadTestOptions{Model: path, Requests: 50, Concurrency: 2, N: 1, Single: -1,
		Progress: func() {
			if done++; done == 4 {
				cancel()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	if !r.TimedOut || r.Errors < 40 || r.OK+r.Errors != 50 || r.FirstError == "" || r.SingleRequests != 0 {
		t.Errorf("cancelled: %+v", r)
	}
}
