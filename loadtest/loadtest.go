// Package loadtest measures the studio from outside, as its visitors use
// it. LoadTest (forger bench serve) is a bounded load test of generation:
// the studio is started in this process on 127.0.0.1 with an ephemeral
// port, a temporary data folder and SQLite, and a fixed number of POST
// /api/generate requests are sent to it — first one at a time, then many
// at once — under an overall timeout. Soak (forger bench serve --soak)
// sends mixed traffic to a running studio for a while and records how its
// memory, disk and latencies hold.
package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"forger/blas"
	"forger/gan"
	"forger/runfolder"
	"forger/store"
	"forger/studio"
)

// LoadTestOptions configures LoadTest.
type LoadTestOptions struct {
	Model       string // a checkpoint file, or a run folder (its latest checkpoint)
	Requests    int    // generate requests under load (default 200)
	Concurrency int    // of them in flight at once (default 200)
	N           int    // images per request (1–MaxGenerate, default 10)
	// Single is how many requests are timed one after another, alone,
	// before the load (default 20; negative: none).
	Single int
	// FetchImages also GETs every image URL a generate request returns, as
	// the visitor's browser does, and counts it in the request's latency.
	FetchImages bool
	// Generators is the studio's GeneratorsPerModel (default 1, as forger
	// serve).
	Generators int
	// Timeout bounds the whole test (default 5 minutes); requests not
	// finished by then count as errors.
	Timeout  time.Duration
	Progress func() // called after each request under load, one call at a time; may be nil
	Log      *slog.Logger
}

// LoadTest limits.
const (
	MaxLoadRequests    = 100_000
	MaxLoadConcurrency = 1000
	// browserFetches is how many images of one answer are fetched at once,
	// as a browser does over HTTP/1.1 (six connections per host).
	browserFetches = 6
)

// LoadTestResult is what forger bench serve prints; its JSON names are a
// contract with scripts.
type LoadTestResult struct {
	Model       string `json:"model"`
	Size        int    `json:"size"`
	Channels    int    `json:"channels"`
	NGF         int    `json:"ngf"`
	Requests    int    `json:"requests"`
	Concurrency int    `json:"concurrency"`
	N           int    `json:"n"`
	Generators  int    `json:"generators"`
	FetchImages bool   `json:"fetch_images"`
	// Measures says what one request's latency covers.
	Measures string `json:"measures"`

	SingleRequests int     `json:"single_requests"`
	SingleP50Ms    float64 `json:"single_p50_ms"`

	OK             int     `json:"ok"`
	Errors         int     `json:"errors"`
	FirstError     string  `json:"first_error,omitempty"`
	TimedOut       bool    `json:"timed_out,omitempty"`
	Seconds        float64 `json:"seconds"`
	P50Ms          float64 `json:"p50_ms"`
	P90Ms          float64 `json:"p90_ms"`
	P99Ms          float64 `json:"p99_ms"`
	MaxMs          float64 `json:"max_ms"`
	APIP50Ms       float64 `json:"api_p50_ms"` // the POST alone
	APIP99Ms       float64 `json:"api_p99_ms"`
	RequestsPerSec float64 `json:"requests_per_sec"`
	ImagesPerSec   float64 `json:"images_per_sec"`

	Gemm          string  `json:"gemm"`
	Threads       int     `json:"threads"`
	PeakRSSBytes  int64   `json:"peak_rss_bytes"`
	LoadAvgBefore float64 `json:"load_avg_before"` // 1-minute load average of the machine
	LoadAvgAfter  float64 `json:"load_avg_after"`
}

// LoadTest runs the load test described by o. It returns an error only when
// the test could not be set up; failed requests are counted in the result.
func LoadTest(ctx context.Context, o LoadTestOptions) (LoadTestResult, error) {
	if o.Requests == 0 {
		o.Requests = 200
	}
	if o.Concurrency == 0 {
		o.Concurrency = 200
	}
	if o.N == 0 {
		o.N = studio.MaxGenerate
	}
	if o.Single == 0 {
		o.Single = 20
	}
	o.Single = max(o.Single, 0)
	if o.Generators == 0 {
		o.Generators = 1
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Minute
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	switch {
	case o.Model == "":
		return LoadTestResult{}, errors.New("no model")
	case o.Requests < 1 || o.Requests > MaxLoadRequests:
		return LoadTestResult{}, fmt.Errorf("requests must be between 1 and %d", MaxLoadRequests)
	case o.Concurrency < 1 || o.Concurrency > MaxLoadConcurrency:
		return LoadTestResult{}, fmt.Errorf("concurrency must be between 1 and %d", MaxLoadConcurrency)
	case o.N < 1 || o.N > studio.MaxGenerate:
		return LoadTestResult{}, fmt.Errorf("n must be between 1 and %d", studio.MaxGenerate)
	case o.Generators < 1:
		return LoadTestResult{}, errors.New("generators must be at least 1")
	case o.Timeout < 0:
		return LoadTestResult{}, errors.New("the timeout must be positive")
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()

	path := runfolder.Resolve(o.Model)
	mi, err := gan.ReadInfo(path)
	if err != nil {
		return LoadTestResult{}, err
	}

	// The studio, as forger serve runs it, with the rate limit off.
	data, err := os.MkdirTemp("", "forger-loadtest-")
	if err != nil {
		return LoadTestResult{}, err
	}
	defer os.RemoveAll(data)
	st, err := store.Open(ctx, "", data, o.Log)
	if err != nil {
		return LoadTestResult{}, err
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		return LoadTestResult{}, err
	}
	srv, err := studio.New(studio.Config{DataDir: data, GeneratorsPerModel: o.Generators, Log: o.Log}, st, nil)
	if err != nil {
		return LoadTestResult{}, err
	}
	srv.ServeOnly(mi) // this checkpoint alone, not a scan of its folder
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return LoadTestResult{}, err
	}
	sctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln) }()
	defer func() {
		stop()
		<-served
	}()

	c := newLoadClient(ln.Addr().String(), mi, o)
	defer c.http.CloseIdleConnections()

	r := LoadTestResult{Model: mi.Name, Size: mi.Size, Channels: mi.Channels, Requests: o.Requests,
		Concurrency: o.Concurrency, N: o.N, Generators: o.Generators, FetchImages: o.FetchImages,
		Gemm: blas.Backend(), Threads: runtime.GOMAXPROCS(0)}
	if o.FetchImages {
		r.Measures = fmt.Sprintf("POST /api/generate (renders and PNG-encodes the %d images) + GET of each image URL, %d at a time (served from the studio's memory): what a visitor waits for", o.N, browserFetches)
	} else {
		r.Measures = fmt.Sprintf("POST /api/generate alone (renders and PNG-encodes the %d images; their URLs are not fetched)", o.N)
	}

	// Warm up: load the model, every generator instance the pool may make.
	var wg sync.WaitGroup
	warm := make([]error, min(o.Generators, o.Concurrency))
	for i := range warm {
		wg.Go(func() { _, _, warm[i] = c.request(ctx, int64(i*o.N)) })
	}
	wg.Wait()
	if err := errors.Join(warm...); err != nil {
		return r, fmt.Errorf("warming up: %w", err)
	}
	if cfg, err := gan.ReadConfig(path); err == nil {
		r.NGF = cfg.NGF
	}
	seed := int64(1_000_000)

	// One request alone, several times in a row.
	var single []time.Duration
	for i := 0; i < o.Single; i++ {
		d, _, err := c.request(ctx, seed)
		seed += int64(o.N)
		if err != nil {
			return r, fmt.Errorf("a request alone: %w", err)
		}
		single = append(single, d)
	}
	r.SingleRequests = len(single)
	r.SingleP50Ms = ms(percentile(single, 50))

	// The load: Requests requests, Concurrency of them in flight.
	r.LoadAvgBefore = loadAvg()
	type outcome struct {
		total, api time.Duration
		err        error
	}
	outs := make([]outcome, o.Requests)
	var next atomic.Int64
	next.Store(-1)
	var progressMu sync.Mutex
	start := time.Now()
	for range min(o.Concurrency, o.Requests) {
		wg.Go(func() {
			for {
				i := int(next.Add(1))
				if i >= o.Requests {
					return
				}
				if ctx.Err() != nil {
					outs[i].err = fmt.Errorf("not sent: %w", ctx.Err())
				} else {
					outs[i].total, outs[i].api, outs[i].err = c.request(ctx, seed+int64(i*o.N))
				}
				if o.Progress != nil {
					progressMu.Lock()
					o.Progress()
					progressMu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	el := time.Since(start)
	r.LoadAvgAfter = loadAvg()
	r.TimedOut = ctx.Err() != nil

	var total, api []time.Duration
	for _, out := range outs {
		if out.err != nil {
			if r.Errors == 0 {
				r.FirstError = out.err.Error()
			}
			r.Errors++
			continue
		}
		total = append(total, out.total)
		api = append(api, out.api)
	}
	r.OK = len(total)
	r.Seconds = el.Seconds()
	r.P50Ms, r.P90Ms = ms(percentile(total, 50)), ms(percentile(total, 90))
	r.P99Ms, r.MaxMs = ms(percentile(total, 99)), ms(percentile(total, 100))
	r.APIP50Ms, r.APIP99Ms = ms(percentile(api, 50)), ms(percentile(api, 99))
	r.RequestsPerSec = float64(r.OK) / el.Seconds()
	r.ImagesPerSec = r.RequestsPerSec * float64(o.N)
	r.PeakRSSBytes = peakRSS()
	return r, nil
}

// loadClient sends the test's requests to the studio at addr, and nowhere
// else: every connection is dialled to addr, a loopback address.
type loadClient struct {
	base  string
	model gan.ModelInfo
	o     LoadTestOptions
	http  *http.Client
}

func newLoadClient(addr string, mi gan.ModelInfo, o LoadTestOptions) *loadClient {
	d := &net.Dialer{Timeout: 10 * time.Second}
	conns := o.Concurrency
	if o.FetchImages {
		conns *= browserFetches
	}
	tr := &http.Transport{
		Proxy: nil, // never through a proxy, whatever the environment says
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, addr)
		},
		MaxIdleConns:        conns,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
	}
	return &loadClient{base: "http://" + addr, model: mi, o: o, http: &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// request makes one generate request of seeds seed… and, with FetchImages,
// fetches its images; it returns the whole time and the POST's alone.
func (c *loadClient) request(ctx context.Context, seed int64) (total, api time.Duration, err error) {
	body, _ := json.Marshal(map[string]any{"model": c.model.Name, "n": c.o.N, "seed": seed})
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/generate", bytes.NewReader(body))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	b, err := c.do(req, "application/json")
	if err != nil {
		return 0, 0, fmt.Errorf("POST /api/generate: %w", err)
	}
	var out struct {
		Images []struct {
			Seed int64  `json:"seed"`
			URL  string `json:"url"`
		} `json:"images"`
	}
	if err := json.Unmarshal(b, &out); err != nil {
		return 0, 0, fmt.Errorf("POST /api/generate: %w", err)
	}
	if len(out.Images) != c.o.N {
		return 0, 0, fmt.Errorf("POST /api/generate: %d images, want %d", len(out.Images), c.o.N)
	}
	for i, img := range out.Images {
		// Only paths of this server are followed.
		if !strings.HasPrefix(img.URL, "/api/image?") || img.Seed != seed+int64(i) {
			return 0, 0, fmt.Errorf("POST /api/generate: image %d is seed %d at %q", i, img.Seed, img.URL)
		}
	}
	api = time.Since(start)
	if !c.o.FetchImages {
		return api, api, nil
	}
	sem := make(chan struct{}, browserFetches)
	errs := make([]error, len(out.Images))
	var wg sync.WaitGroup
	for i, img := range out.Images {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			errs[i] = c.fetchImage(ctx, img.URL)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return 0, 0, err
	}
	return time.Since(start), api, nil
}

func (c *loadClient) fetchImage(ctx context.Context, path string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return err
	}
	b, err := c.do(req, "image/png")
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	// Not picture.Load: the check is that the server answered with a PNG
	// (of the model's size), so only a PNG header will do.
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	if cfg.Width != c.model.Size || cfg.Height != c.model.Size {
		return fmt.Errorf("GET %s: a %d×%d picture, want %d×%d", path, cfg.Width, cfg.Height, c.model.Size, c.model.Size)
	}
	return nil
}

// do sends req and returns the body of a 200 answer of type ctype.
func (c *loadClient) do(req *http.Request, ctype string) ([]byte, error) {
	res, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 16<<20))
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		json.Unmarshal(b, &e)
		return nil, fmt.Errorf("%s: %s", res.Status, e.Error)
	}
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, ctype) {
		return nil, fmt.Errorf("Content-Type %q, want %s", ct, ctype)
	}
	return b, nil
}

// percentile returns the p-th percentile (nearest rank) of ds; 100 is the
// maximum. ds is sorted in place.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	k := int(math.Ceil(p / 100 * float64(len(ds))))
	return ds[min(max(k, 1), len(ds))-1]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// peakRSS is the process's peak resident set size (Linux reports KiB).
func peakRSS() int64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return int64(ru.Maxrss) * 1024
}

// loadAvg is the machine's 1-minute load average (0 where /proc has none).
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}
