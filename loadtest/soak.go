package loadtest

// Soak: mixed traffic against a running studio for a while — generates,
// morphs of distinct seeds (each a new picture for the cache), look-alike
// uploads of large and small photos polled until done, and clients that
// trickle an upload in and never finish — sampling the server's memory and
// disk as it goes. Given the command that starts the server, the soak runs
// it itself, kills it (SIGKILL) and stops it (SIGTERM) in the middle,
// starts it again each time, and checks at the end that every job created
// finished once.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	_ "image/png" // face photos may be PNGs
	"io"
	"io/fs"
	"math"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	xdraw "golang.org/x/image/draw"

	"forger/picture"
)

// SoakOptions configures Soak.
type SoakOptions struct {
	// URL is the running studio, e.g. http://127.0.0.1:8080; every request
	// goes to this host and nowhere else.
	URL string
	// Model is the model to generate from and morph ("": the first that
	// /api/models lists).
	Model    string
	Duration time.Duration
	// Rate multiplies the base rates: 1 generate request (4 images) a
	// second, a morph (48 frames, new seeds) every 5 s and an upload every
	// 20 s (default 1).
	Rate float64
	// SlowUploaders is how many clients trickle a photo upload in, at about
	// 1 KB/s, starting over when the server gives up on them (default 2).
	SlowUploaders int
	// Uploads sends look-alike jobs (the server needs a face pipeline).
	Uploads bool
	// PID is the server's process, for its RSS (0: not measured; Linux).
	PID int
	// DataDir is the server's --data folder, for disk use ("": not
	// measured).
	DataDir string
	// Every is how often RSS and disk are sampled (default 5 s).
	Every time.Duration
	// Plot, when not "", is a PNG written with RSS and disk over time;
	// beside it, <name>-latency.png has each kind's p99 per interval.
	Plot string

	// Server, when not empty, is the command (argv) that starts the studio
	// at URL: the soak starts it, waits for /healthz, samples its RSS (PID
	// is ignored) and stops it with SIGTERM at the end. ServerLog is a
	// file for its output ("": discarded).
	Server    []string
	ServerLog string
	// KillAt and TermAt: when, after the traffic began (the server being
	// up), to kill the server it started with SIGKILL, and to stop it
	// with SIGTERM (0: never); it is started
	// again at once each time. Requests cut while it is down count as
	// DuringRestart, not as errors.
	KillAt, TermAt time.Duration
	// Drain is how long, after the traffic, to wait for the jobs not yet
	// finished (default 10 minutes).
	Drain time.Duration
	// DB is the server's database URL for the job check ("": forger.db in
	// DataDir; no check without either).
	DB string
	// Photos are face photos to upload, each as it is (the small upload)
	// and scaled up to 3000 pixels (the large one); none: made-up
	// gradients, which have no face (their jobs fail at the first step).
	Photos []string
	// Clients spreads the requests over this many made-up client
	// addresses, sent as X-Forwarded-For (the server must trust the
	// soak's address: forger serve --trusted-proxy 127.0.0.1), so that
	// the per-address limits meet many visitors rather than one (0: the
	// soak is one client).
	Clients int
	// Bounds for the checks (0: the defaults below; negative: not
	// checked): the server's peak RSS and data folder, and the p99 of
	// generate and upload requests.
	MaxRSSBytes, MaxDiskBytes    int64
	MaxGenerateP99, MaxUploadP99 time.Duration
}

// Soak check defaults: issue 22's bounds for a 64×64 model.
const (
	DefaultSoakMaxRSS         = 1500e6
	DefaultSoakMaxGenerateP99 = time.Second
	DefaultSoakMaxUploadP99   = 2 * time.Second
	// DefaultSoakWarmUp is skipped after the last (re)start before RSS
	// is judged flat.
	DefaultSoakWarmUp = 2 * time.Minute
)

// SoakKind is what one kind of request met.
type SoakKind struct {
	Requests int `json:"requests"`
	OK       int `json:"ok"`
	// Refused counts answers 429 (rate limits, queue caps): the server
	// defending itself, not failing.
	Refused   int `json:"refused"`
	Errors5xx int `json:"errors_5xx"`
	Errors    int `json:"errors"` // other failures: 4xx, transport
	// DuringRestart counts the failures of requests under way while the
	// soak had the server down (killed or stopped, until /healthz
	// answered again): not counted in Errors5xx or Errors.
	DuringRestart int `json:"during_restart"`
	// FirstRestartError is the first of those failures.
	FirstRestartError string  `json:"first_restart_error,omitempty"`
	FirstError        string  `json:"first_error,omitempty"`
	P50Ms             float64 `json:"p50_ms"`
	P99Ms             float64 `json:"p99_ms"`
	MaxMs             float64 `json:"max_ms"`
}

// SoakSample is one moment of the soak.
type SoakSample struct {
	// Seconds since the traffic began, as SoakEvent's (the server's first
	// start, when the soak starts it, is before: negative).
	Seconds   float64            `json:"seconds"`
	RSSBytes  int64              `json:"rss_bytes"`
	DiskBytes int64              `json:"disk_bytes"`
	P99Ms     map[string]float64 `json:"p99_ms"` // per kind, over the interval before
}

// SoakResult is what forger bench serve --soak prints.
type SoakResult struct {
	URL          string              `json:"url"`
	Model        string              `json:"model"`
	Seconds      float64             `json:"seconds"`
	Rate         float64             `json:"rate"`
	Kinds        map[string]SoakKind `json:"kinds"`
	JobsDone     int                 `json:"jobs_done"`
	JobsFailed   int                 `json:"jobs_failed"`
	JobsPending  int                 `json:"jobs_pending"` // not finished when the soak ended
	PeakRSSBytes int64               `json:"peak_rss_bytes"`
	// WarmRSSBytes is the RSS a fifth of the way in, LastRSSBytes at the
	// end: flat after warm-up means close.
	WarmRSSBytes  int64        `json:"warm_rss_bytes"`
	LastRSSBytes  int64        `json:"last_rss_bytes"`
	PeakDiskBytes int64        `json:"peak_disk_bytes"`
	Samples       []SoakSample `json:"samples"`

	// Errors5xx sums the kinds' 5xx answers.
	Errors5xx int         `json:"errors_5xx"`
	Events    []SoakEvent `json:"events,omitempty"`
	Jobs      SoakJobs    `json:"jobs"`
	// FlatRSS: the peak RSS of the first and second halves of the span
	// after the last (re)start and DefaultSoakWarmUp (0 when too short).
	FlatRSSFirstBytes  int64 `json:"flat_rss_first_half_bytes"`
	FlatRSSSecondBytes int64 `json:"flat_rss_second_half_bytes"`
	// Checks are issue 22's done-when, each with its bound; Passed when
	// all hold.
	Checks        []SoakCheck `json:"checks"`
	Passed        bool        `json:"passed"`
	LoadAvgBefore float64     `json:"load_avg_before"`
	LoadAvgAfter  float64     `json:"load_avg_after"`
}

// SoakCheck is one bound of the soak: what was measured against it.
type SoakCheck struct {
	Name  string  `json:"name"`
	OK    bool    `json:"ok"`
	Value float64 `json:"value"`
	Bound float64 `json:"bound"`
	Unit  string  `json:"unit"`
}

// Soak kinds.
const (
	KindGenerate = "generate"
	KindImage    = "image"
	KindMorph    = "morph"
	KindUpload   = "upload"
	KindPoll     = "poll"
)

type soak struct {
	o      SoakOptions
	base   string
	model  string
	client *http.Client
	server *soakServer // nil: the server is not the soak's
	down   downWindows
	start  time.Time

	mu      sync.Mutex
	kinds   map[string]*soakKind
	jobs    map[string]*soakJob
	photos  [][]byte // large, small, large, small, …
	events  []SoakEvent
	clientN int
}

type soakKind struct {
	SoakKind
	all, window []time.Duration
}

// Soak runs the soak described by o until o.Duration has passed or ctx is
// done, then waits for the jobs (o.Drain) and checks them. Only a setup
// failure is an error; failed requests are counted.
func Soak(ctx context.Context, o SoakOptions) (SoakResult, error) {
	if o.Rate == 0 {
		o.Rate = 1
	}
	if o.Every <= 0 {
		o.Every = 5 * time.Second
	}
	if o.Drain <= 0 {
		o.Drain = 10 * time.Minute
	}
	if o.SlowUploaders < 0 || o.Rate < 0 || o.Duration <= 0 || o.Clients < 0 || o.KillAt < 0 || o.TermAt < 0 {
		return SoakResult{}, errors.New("soak: the duration must be positive, the rate, slow uploaders, clients and restart times 0 or more")
	}
	if (o.KillAt > 0 || o.TermAt > 0) && len(o.Server) == 0 {
		return SoakResult{}, errors.New("soak: restarts need the command that starts the server")
	}
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return SoakResult{}, fmt.Errorf("soak: %q is not an http:// or https:// URL", o.URL)
	}
	s := &soak{o: o, base: strings.TrimSuffix(u.Scheme+"://"+u.Host, "/"), kinds: map[string]*soakKind{}, jobs: map[string]*soakJob{}, start: time.Now()}
	s.client = &http.Client{
		Timeout:       2 * time.Minute,
		Transport:     &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer s.client.CloseIdleConnections()
	if o.Uploads || o.SlowUploaders > 0 {
		if s.photos, err = soakPhotos(o.Photos); err != nil {
			return SoakResult{}, err
		}
	}
	loadBefore := loadAvg()
	if len(o.Server) > 0 {
		logw := io.Discard
		if o.ServerLog != "" {
			f, err := os.OpenFile(o.ServerLog, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
			if err != nil {
				return SoakResult{}, fmt.Errorf("soak: %w", err)
			}
			defer f.Close()
			logw = f
		}
		s.server = &soakServer{argv: o.Server, logw: logw}
		if err := s.startServer(ctx); err != nil {
			s.server.stop(syscall.SIGKILL, time.Second)
			return SoakResult{}, err
		}
		defer s.server.stop(syscall.SIGKILL, time.Second) // after the SIGTERM below, a no-op
	}
	if s.model, err = s.pickModel(ctx); err != nil {
		return SoakResult{}, err
	}

	tctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	began := s.start // job records from here on are the soak's
	start := time.Now()
	s.mu.Lock() // times are counted from here: the server's start is before
	for i := range s.events {
		s.events[i].Seconds -= start.Sub(s.start).Seconds()
	}
	s.start = start
	s.mu.Unlock()
	var wg sync.WaitGroup
	every := func(period time.Duration, f func(i int)) {
		if o.Rate == 0 {
			return
		}
		period = time.Duration(float64(period) / o.Rate)
		wg.Go(func() {
			t := time.NewTicker(period)
			defer t.Stop()
			inflight := make(chan struct{}, 64) // open loop, but bounded
			for i := 0; ; i++ {
				select {
				case <-tctx.Done():
					return
				case <-t.C:
				}
				select {
				case inflight <- struct{}{}:
					wg.Go(func() { defer func() { <-inflight }(); f(i) })
				default: // 64 still in flight: the server is far behind
				}
			}
		})
	}
	every(time.Second, func(i int) { s.generate(tctx, int64(i)*4) })
	every(5*time.Second, func(i int) { s.morph(tctx, 10_000+2*int64(i)) })
	if o.Uploads {
		every(20*time.Second, func(i int) { s.upload(tctx, s.photos[i%len(s.photos)]) })
		wg.Go(func() { s.pollJobs(tctx) })
	}
	for range o.SlowUploaders {
		wg.Go(func() { s.slowUploader(tctx) })
	}
	if s.server != nil {
		wg.Go(func() { s.restarts(tctx) })
	}
	var samples []SoakSample
	sample := func() {
		sm := SoakSample{Seconds: time.Since(s.start).Seconds(), RSSBytes: processRSS(s.pid()), DiskBytes: diskUse(o.DataDir), P99Ms: map[string]float64{}}
		s.mu.Lock()
		for name, k := range s.kinds {
			sm.P99Ms[name] = ms(percentile(k.window, 99))
			k.window = k.window[:0]
		}
		s.mu.Unlock()
		samples = append(samples, sm)
	}
	sample()
	t := time.NewTicker(o.Every)
	for done := false; !done; {
		select {
		case <-tctx.Done():
			done = true
		case <-t.C:
			sample()
		}
	}
	wg.Wait()
	sample()

	// The jobs: waited for (the server keeps running), then checked in
	// its database, sampling on.
	r := SoakResult{URL: s.base, Model: s.model, Seconds: time.Since(start).Seconds(), Rate: o.Rate, Kinds: map[string]SoakKind{}}
	if o.Uploads && ctx.Err() == nil {
		dctx, dcancel := context.WithCancel(ctx)
		sampled := make(chan struct{})
		go func() {
			defer close(sampled)
			for {
				select {
				case <-dctx.Done():
					return
				case <-t.C:
					sample()
				}
			}
		}()
		drained := s.drainJobs(ctx, o.Drain)
		dcancel()
		<-sampled
		r.Jobs = s.jobReport()
		r.Jobs.DrainSeconds = drained.Seconds()
		if o.DB != "" || o.DataDir != "" {
			if err := checkJobsDB(ctx, o.DB, o.DataDir, began, &r.Jobs); err != nil {
				r.Jobs.DBError = err.Error()
			}
		}
	} else {
		r.Jobs = s.jobReport()
	}
	t.Stop()
	sample()
	r.Samples = samples
	if s.server != nil {
		s.event("SIGTERM", s.pid(), theEnd)
		s.event("exited", 0, s.server.stop(syscall.SIGTERM, 2*time.Minute))
	}
	r.LoadAvgBefore, r.LoadAvgAfter = loadBefore, loadAvg()

	for name, k := range s.kinds {
		k.P50Ms, k.P99Ms, k.MaxMs = ms(percentile(k.all, 50)), ms(percentile(k.all, 99)), ms(percentile(k.all, 100))
		r.Kinds[name] = k.SoakKind
		r.Errors5xx += k.Errors5xx
	}
	r.JobsDone, r.JobsFailed, r.JobsPending = r.Jobs.Done, r.Jobs.Failed, len(r.Jobs.Lost)
	for i, sm := range samples {
		r.PeakRSSBytes, r.PeakDiskBytes = max(r.PeakRSSBytes, sm.RSSBytes), max(r.PeakDiskBytes, sm.DiskBytes)
		if i == len(samples)/5 {
			r.WarmRSSBytes = sm.RSSBytes
		}
		r.LastRSSBytes = sm.RSSBytes
	}
	s.mu.Lock()
	r.Events = append([]SoakEvent(nil), s.events...)
	s.mu.Unlock()
	r.FlatRSSFirstBytes, r.FlatRSSSecondBytes = flatRSS(samples, r.Events, r.Seconds)
	r.Checks = soakChecks(o, r)
	r.Passed = true
	for _, c := range r.Checks {
		r.Passed = r.Passed && c.OK
	}
	if o.Plot != "" {
		if err := plotSoak(o.Plot, samples, r.Events); err != nil {
			return r, err
		}
	}
	return r, nil
}

// theEnd is the Detail of the SIGTERM that stops the server after the
// soak (not marked on the plots).
const theEnd = "the end"

// pid is the server's process (0: unknown).
func (s *soak) pid() int {
	if s.server != nil {
		return s.server.pid()
	}
	return s.o.PID
}

func (s *soak) event(what string, pid int, detail string) {
	s.mu.Lock()
	s.events = append(s.events, SoakEvent{Seconds: time.Since(s.start).Seconds(), What: what, PID: pid, Detail: detail})
	s.mu.Unlock()
}

// startServer starts the server and waits for /healthz.
func (s *soak) startServer(ctx context.Context) error {
	t0 := time.Now()
	pid, err := s.server.start()
	if err != nil {
		return err
	}
	s.event("started", pid, strings.Join(s.server.argv, " "))
	if err := waitHealthy(ctx, s.client, s.base, 3*time.Minute); err != nil {
		return err
	}
	s.event("ready", pid, fmt.Sprintf("%.1f s after the start", time.Since(t0).Seconds()))
	return nil
}

// restarts kills the server at KillAt and stops it at TermAt, starting it
// again each time.
func (s *soak) restarts(ctx context.Context) {
	type stop struct {
		at   time.Duration
		sig  syscall.Signal
		name string
	}
	var stops []stop
	if s.o.KillAt > 0 {
		stops = append(stops, stop{s.o.KillAt, syscall.SIGKILL, "kill -9"})
	}
	if s.o.TermAt > 0 {
		stops = append(stops, stop{s.o.TermAt, syscall.SIGTERM, "SIGTERM"})
	}
	sort.Slice(stops, func(i, j int) bool { return stops[i].at < stops[j].at })
	for _, st := range stops {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Until(s.start.Add(st.at))):
		}
		s.down.begin()
		s.event(st.name, s.pid(), "")
		// SIGTERM: the server's 10 s for requests and --grace for jobs
		// (30 s by default), with room to spare.
		s.event("exited", 0, s.server.stop(st.sig, 2*time.Minute))
		err := s.startServer(context.WithoutCancel(ctx))
		s.down.end()
		if err != nil {
			s.event("failed to restart", 0, err.Error())
			return
		}
	}
}

// pickModel checks the server answers and returns the model to use.
func (s *soak) pickModel(ctx context.Context) (string, error) {
	var list struct {
		Models []struct {
			Name string `json:"name"`
		} `json:"models"`
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.base+"/api/models", nil)
	res, err := s.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("soak: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 || json.NewDecoder(res.Body).Decode(&list) != nil {
		return "", fmt.Errorf("soak: GET %s/api/models: %s", s.base, res.Status)
	}
	if s.o.Model != "" {
		return s.o.Model, nil
	}
	if len(list.Models) == 0 {
		return "", errors.New("soak: the studio lists no models")
	}
	return list.Models[0].Name, nil
}

// record counts one request of kind: its status (0: transport error) and
// its time.
func (s *soak) record(kind string, status int, d time.Duration, err error) {
	now := time.Now()
	cut := !(err == nil && status < 300) && status != http.StatusTooManyRequests && s.down.overlaps(now.Add(-d), now)
	s.mu.Lock()
	defer s.mu.Unlock()
	k := s.kinds[kind]
	if k == nil {
		k = &soakKind{}
		s.kinds[kind] = k
	}
	k.Requests++
	switch {
	case err == nil && status < 300:
		k.OK++
		k.all = append(k.all, d)
		k.window = append(k.window, d)
		return
	case status == http.StatusTooManyRequests:
		k.Refused++
		return
	case cut:
		k.DuringRestart++
		if k.FirstRestartError == "" {
			k.FirstRestartError = fmt.Sprintf("%d %v", status, err)
		}
		return
	case status >= 500:
		k.Errors5xx++
	default:
		k.Errors++
	}
	if k.FirstError == "" {
		k.FirstError = fmt.Sprintf("%d %v", status, err)
	}
}

// do sends req and reads the answer; a non-2xx answer is an error with its
// JSON sentence.
func (s *soak) do(req *http.Request) (int, []byte, error) {
	if s.o.Clients > 0 {
		s.mu.Lock()
		n := s.clientN % s.o.Clients
		s.clientN++
		s.mu.Unlock()
		req.Header.Set("X-Forwarded-For", clientAddr(n))
	}
	res, err := s.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 32<<20))
	if err != nil {
		return res.StatusCode, nil, err
	}
	if res.StatusCode >= 300 {
		var e struct {
			Error string `json:"error"`
		}
		json.Unmarshal(b, &e)
		return res.StatusCode, b, errors.New(e.Error)
	}
	return res.StatusCode, b, nil
}

// clientAddr is the n-th made-up client address (10.77.0.0/16).
func clientAddr(n int) string { return fmt.Sprintf("10.77.%d.%d", n/250, n%250+1) }

func (s *soak) get(ctx context.Context, kind, path string) ([]byte, int) {
	start := time.Now()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path, nil)
	status, b, err := s.do(req)
	if ctx.Err() != nil {
		return nil, 0 // the soak ended: not the server's doing
	}
	s.record(kind, status, time.Since(start), err)
	return b, status
}

// generate: POST /api/generate of 4 images, then GET of each, as the page.
func (s *soak) generate(ctx context.Context, seed int64) {
	body, _ := json.Marshal(map[string]any{"model": s.model, "n": 4, "seed": seed})
	start := time.Now()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/api/generate", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	status, b, err := s.do(req)
	if ctx.Err() != nil {
		return
	}
	s.record(KindGenerate, status, time.Since(start), err)
	var out struct {
		Images []struct {
			URL string `json:"url"`
		} `json:"images"`
	}
	if err != nil || json.Unmarshal(b, &out) != nil {
		return
	}
	for _, im := range out.Images {
		if strings.HasPrefix(im.URL, "/api/image?") {
			s.get(ctx, KindImage, im.URL)
		}
	}
}

func (s *soak) morph(ctx context.Context, from int64) {
	s.get(ctx, KindMorph, fmt.Sprintf("/api/morph?model=%s&from=%d&to=%d&frames=48", url.QueryEscape(s.model), from, from+1))
}

// upload posts a look-alike job; pollJobs then follows it.
func (s *soak) upload(ctx context.Context, photo []byte) {
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, _ := mw.CreateFormFile("photo", "soak.jpg")
	fw.Write(photo)
	mw.Close()
	start := time.Now()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.base+"/api/jobs", &b)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	status, body, err := s.do(req)
	if ctx.Err() != nil {
		return
	}
	s.record(KindUpload, status, time.Since(start), err)
	var created struct {
		ID string `json:"id"`
	}
	if err != nil || json.Unmarshal(body, &created) != nil || created.ID == "" {
		return
	}
	s.addJob(created.ID)
}

// slowUploader trickles uploads in, one after another, until ctx is done.
func (s *soak) slowUploader(ctx context.Context) {
	u, _ := url.Parse(s.base)
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	for ctx.Err() == nil {
		var d net.Dialer
		c, err := d.DialContext(ctx, "tcp", host)
		if err != nil {
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("photo", "slow.jpg")
		fw.Write(s.photos[0])
		mw.Close()
		fmt.Fprintf(c, "POST /api/jobs HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n", u.Host, mw.FormDataContentType(), body.Len())
		rest := body.Bytes()
		stop := context.AfterFunc(ctx, func() { c.Close() })
		for len(rest) > 0 {
			n := min(len(rest), 1024)
			if _, err := c.Write(rest[:n]); err != nil {
				break
			}
			rest = rest[n:]
			time.Sleep(time.Second)
		}
		stop()
		c.Close()
	}
}

// soakPhotos are the uploads, large and small in turn: each file scaled up
// to 3000 pixels on its long side, then as it is; without files, made-up
// gradients of 3000×2000 and 400×300.
func soakPhotos(paths []string) ([][]byte, error) {
	if len(paths) == 0 {
		return [][]byte{soakPhoto(3000, 2000), soakPhoto(400, 300)}, nil
	}
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("soak: %w", err)
		}
		img, err := picture.DecodeBytes(b, picture.Limits{})
		if err != nil {
			return nil, fmt.Errorf("soak: %s: %w", p, err)
		}
		w, h := img.Bounds().Dx(), img.Bounds().Dy()
		scale := 3000 / float64(max(w, h))
		big := image.NewRGBA(image.Rect(0, 0, int(float64(w)*scale), int(float64(h)*scale)))
		xdraw.ApproxBiLinear.Scale(big, big.Bounds(), img, img.Bounds(), xdraw.Src, nil)
		var enc bytes.Buffer
		if err := jpeg.Encode(&enc, big, &jpeg.Options{Quality: 90}); err != nil {
			return nil, err
		}
		out = append(out, enc.Bytes(), b)
	}
	return out, nil
}

// soakPhoto is a w×h JPEG of a gradient.
func soakPhoto(w, h int) []byte {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(uint64(w), uint64(h)))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.SetRGBA(x, y, color.RGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8(rng.IntN(256)), 255})
		}
	}
	var b bytes.Buffer
	jpeg.Encode(&b, img, &jpeg.Options{Quality: 85})
	return b.Bytes()
}

// processRSS is a process's resident set size (Linux's VmRSS), 0 when
// unknown.
func processRSS(pid int) int64 {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// diskUse is the bytes of the files under dir, 0 when dir is "".
func diskUse(dir string) int64 {
	if dir == "" {
		return 0
	}
	var n int64
	filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// flatRSS is the peak RSS of the first and of the second half of the
// span that starts DefaultSoakWarmUp after the server's last start (or
// the traffic's) and ends with the traffic at until (the drain after it
// is left out); zeros when that span has fewer than 4 samples.
func flatRSS(samples []SoakSample, events []SoakEvent, until float64) (first, second int64) {
	from := 0.0
	for _, e := range events {
		if e.What == "ready" && e.Seconds > from {
			from = e.Seconds
		}
	}
	from += DefaultSoakWarmUp.Seconds()
	var span []SoakSample
	for _, sm := range samples {
		if sm.Seconds >= from && sm.Seconds <= until && sm.RSSBytes > 0 {
			span = append(span, sm)
		}
	}
	if len(span) < 4 {
		return 0, 0
	}
	for i, sm := range span {
		if i < len(span)/2 {
			first = max(first, sm.RSSBytes)
		} else {
			second = max(second, sm.RSSBytes)
		}
	}
	return first, second
}

// soakChecks holds r against issue 22's bounds.
func soakChecks(o SoakOptions, r SoakResult) []SoakCheck {
	bound := func(v, def int64) int64 {
		if v == 0 {
			return def
		}
		return v
	}
	var out []SoakCheck
	add := func(name string, ok bool, value, limit float64, unit string) {
		out = append(out, SoakCheck{Name: name, OK: ok, Value: value, Bound: limit, Unit: unit})
	}
	if maxRSS := bound(o.MaxRSSBytes, DefaultSoakMaxRSS); maxRSS > 0 && r.PeakRSSBytes > 0 {
		add("peak RSS", r.PeakRSSBytes <= maxRSS, float64(r.PeakRSSBytes)/1e6, float64(maxRSS)/1e6, "MB")
	}
	if r.FlatRSSFirstBytes > 0 {
		// Flat: the second half's peak at most 10% above the first's.
		add("RSS flat after warm-up (second half's peak over the first's)", float64(r.FlatRSSSecondBytes) <= 1.1*float64(r.FlatRSSFirstBytes),
			float64(r.FlatRSSSecondBytes)/float64(r.FlatRSSFirstBytes), 1.1, "ratio")
	}
	if maxDisk := o.MaxDiskBytes; maxDisk > 0 && o.DataDir != "" {
		add("peak data folder", r.PeakDiskBytes <= maxDisk, float64(r.PeakDiskBytes)/1e6, float64(maxDisk)/1e6, "MB")
	}
	p99 := func(name, kind string, limit, def time.Duration) {
		limit = time.Duration(bound(int64(limit), int64(def)))
		if k, ok := r.Kinds[kind]; ok && limit > 0 {
			add(name, k.OK > 0 && k.P99Ms <= ms(limit), k.P99Ms, ms(limit), "ms")
		}
	}
	p99("generate p99", KindGenerate, o.MaxGenerateP99, DefaultSoakMaxGenerateP99)
	if o.Uploads {
		p99("upload p99", KindUpload, o.MaxUploadP99, DefaultSoakMaxUploadP99)
	}
	add("5xx answers", r.Errors5xx == 0, float64(r.Errors5xx), 0, "requests")
	if o.Uploads {
		add("jobs lost (created, unfinished after the drain)", len(r.Jobs.Lost) == 0, float64(len(r.Jobs.Lost)), 0, "jobs")
		if r.Jobs.CheckedDB {
			add("job records unfinished after the drain", len(r.Jobs.Unfinished) == 0, float64(len(r.Jobs.Unfinished)), 0, "jobs")
			add("job records with more than one River job", len(r.Jobs.Duplicated) == 0, float64(len(r.Jobs.Duplicated)), 0, "jobs")
			add("job records with no River job", len(r.Jobs.NotQueued) == 0, float64(len(r.Jobs.NotQueued)), 0, "jobs")
		}
	}
	return out
}

// plotSoak writes RSS and disk over time to path, and each kind's p99 per
// interval beside it; the server's kills, stops and restarts are vertical
// lines on both.
func plotSoak(path string, samples []SoakSample, events []SoakEvent) error {
	var x, rss, disk []float64
	kinds := map[string]*picture.Series{}
	var names []string
	top := 1.0
	for _, sm := range samples {
		x = append(x, sm.Seconds)
		rss = append(rss, float64(sm.RSSBytes)/1e6)
		disk = append(disk, float64(sm.DiskBytes)/1e6)
		top = max(top, float64(sm.RSSBytes)/1e6, float64(sm.DiskBytes)/1e6)
		for k := range sm.P99Ms {
			if kinds[k] == nil {
				kinds[k] = &picture.Series{Name: k + " p99"}
				names = append(names, k)
			}
		}
	}
	sort.Strings(names)
	marks := func(top float64) []picture.Series {
		var out []picture.Series
		for _, e := range events {
			if (e.What == "kill -9" || e.What == "SIGTERM") && e.Detail != theEnd {
				out = append(out, picture.Series{Name: fmt.Sprintf("%s at %.0f s", e.What, e.Seconds), X: []float64{e.Seconds, e.Seconds}, Y: []float64{0, top}})
			}
		}
		return out
	}
	if err := picture.PlotLines(path, "forger studio under soak", "seconds", "MB",
		append([]picture.Series{{Name: "server RSS", X: x, Y: rss}, {Name: "data folder", X: x, Y: disk}}, marks(top)...)); err != nil {
		return err
	}
	var lat []picture.Series
	top = 1
	for _, k := range names {
		se := kinds[k]
		for _, sm := range samples {
			y, ok := sm.P99Ms[k]
			if !ok || y == 0 { // no request answered in the interval: a gap
				y = math.NaN()
			} else {
				top = max(top, y)
			}
			se.X = append(se.X, sm.Seconds)
			se.Y = append(se.Y, y)
		}
		lat = append(lat, *se)
	}
	return picture.PlotLines(strings.TrimSuffix(path, filepath.Ext(path))+"-latency.png", "latency p99 per interval", "seconds", "ms", append(lat, marks(top)...))
}
