package loadtest

// Soak: mixed traffic against a running studio for a while — generates,
// morphs of distinct seeds (each a new picture for the cache), look-alike
// uploads of large and small photos polled until done, and clients that
// trickle an upload in and never finish — sampling the server's memory and
// disk as it goes.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"io/fs"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

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
}

// SoakKind is what one kind of request met.
type SoakKind struct {
	Requests int `json:"requests"`
	OK       int `json:"ok"`
	// Refused counts answers 429 (rate limits, queue caps): the server
	// defending itself, not failing.
	Refused    int     `json:"refused"`
	Errors5xx  int     `json:"errors_5xx"`
	Errors     int     `json:"errors"` // other failures: 4xx, transport
	FirstError string  `json:"first_error,omitempty"`
	P50Ms      float64 `json:"p50_ms"`
	P99Ms      float64 `json:"p99_ms"`
	MaxMs      float64 `json:"max_ms"`
}

// SoakSample is one moment of the soak.
type SoakSample struct {
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

	mu     sync.Mutex
	kinds  map[string]*soakKind
	jobs   map[string]string // id → last status
	photos [][]byte
}

type soakKind struct {
	SoakKind
	all, window []time.Duration
}

// Soak runs the soak described by o until o.Duration has passed or ctx is
// done. Only a setup failure is an error; failed requests are counted.
func Soak(ctx context.Context, o SoakOptions) (SoakResult, error) {
	if o.Rate == 0 {
		o.Rate = 1
	}
	if o.Every <= 0 {
		o.Every = 5 * time.Second
	}
	if o.SlowUploaders < 0 || o.Rate < 0 || o.Duration <= 0 {
		return SoakResult{}, errors.New("soak: the duration must be positive, the rate and slow uploaders 0 or more")
	}
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return SoakResult{}, fmt.Errorf("soak: %q is not an http:// or https:// URL", o.URL)
	}
	s := &soak{o: o, base: strings.TrimSuffix(u.Scheme+"://"+u.Host, "/"), kinds: map[string]*soakKind{}, jobs: map[string]string{}}
	s.client = &http.Client{
		Timeout:       2 * time.Minute,
		Transport:     &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	defer s.client.CloseIdleConnections()
	if s.model, err = s.pickModel(ctx); err != nil {
		return SoakResult{}, err
	}
	if o.Uploads || o.SlowUploaders > 0 {
		s.photos = [][]byte{soakPhoto(3000, 2000), soakPhoto(400, 300)}
	}

	ctx, cancel := context.WithTimeout(ctx, o.Duration)
	defer cancel()
	start := time.Now()
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
				case <-ctx.Done():
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
	every(time.Second, func(i int) { s.generate(ctx, int64(i)*4) })
	every(5*time.Second, func(i int) { s.morph(ctx, 10_000+2*int64(i)) })
	if o.Uploads {
		every(20*time.Second, func(i int) { s.upload(ctx, s.photos[i%2]) })
	}
	for range o.SlowUploaders {
		wg.Go(func() { s.slowUploader(ctx) })
	}
	var samples []SoakSample
	sample := func() {
		sm := SoakSample{Seconds: time.Since(start).Seconds(), RSSBytes: processRSS(o.PID), DiskBytes: diskUse(o.DataDir), P99Ms: map[string]float64{}}
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
		case <-ctx.Done():
			done = true
		case <-t.C:
			sample()
		}
	}
	t.Stop()
	wg.Wait()
	sample()

	r := SoakResult{URL: s.base, Model: s.model, Seconds: time.Since(start).Seconds(), Rate: o.Rate, Kinds: map[string]SoakKind{}, Samples: samples}
	for name, k := range s.kinds {
		k.P50Ms, k.P99Ms, k.MaxMs = ms(percentile(k.all, 50)), ms(percentile(k.all, 99)), ms(percentile(k.all, 100))
		r.Kinds[name] = k.SoakKind
	}
	for _, st := range s.jobs {
		switch st {
		case "done":
			r.JobsDone++
		case "failed":
			r.JobsFailed++
		default:
			r.JobsPending++
		}
	}
	for i, sm := range samples {
		r.PeakRSSBytes, r.PeakDiskBytes = max(r.PeakRSSBytes, sm.RSSBytes), max(r.PeakDiskBytes, sm.DiskBytes)
		if i == len(samples)/5 {
			r.WarmRSSBytes = sm.RSSBytes
		}
		r.LastRSSBytes = sm.RSSBytes
	}
	if o.Plot != "" {
		if err := plotSoak(o.Plot, samples); err != nil {
			return r, err
		}
	}
	return r, nil
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

func (s *soak) get(ctx context.Context, kind, path string) []byte {
	start := time.Now()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.base+path, nil)
	status, b, err := s.do(req)
	if ctx.Err() != nil {
		return nil // the soak ended: not the server's doing
	}
	s.record(kind, status, time.Since(start), err)
	return b
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

// upload posts a look-alike job and polls it until it ends.
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
	s.setJob(created.ID, "queued")
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
		var j struct {
			Status string `json:"status"`
		}
		if json.Unmarshal(s.get(ctx, KindPoll, "/api/jobs/"+url.PathEscape(created.ID)), &j) != nil {
			continue
		}
		s.setJob(created.ID, j.Status)
		if j.Status == "done" || j.Status == "failed" {
			return
		}
	}
}

func (s *soak) setJob(id, status string) {
	s.mu.Lock()
	s.jobs[id] = status
	s.mu.Unlock()
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

// plotSoak writes RSS and disk over time to path, and each kind's p99 per
// interval beside it.
func plotSoak(path string, samples []SoakSample) error {
	var x, rss, disk []float64
	kinds := map[string]*picture.Series{}
	var names []string
	for _, sm := range samples {
		x = append(x, sm.Seconds)
		rss = append(rss, float64(sm.RSSBytes)/1e6)
		disk = append(disk, float64(sm.DiskBytes)/1e6)
		for k := range sm.P99Ms {
			if kinds[k] == nil {
				kinds[k] = &picture.Series{Name: k + " p99"}
				names = append(names, k)
			}
		}
	}
	if err := picture.PlotLines(path, "forger studio under soak", "seconds", "MB",
		[]picture.Series{{Name: "server RSS", X: x, Y: rss}, {Name: "data folder", X: x, Y: disk}}); err != nil {
		return err
	}
	var lat []picture.Series
	for _, k := range names {
		se := kinds[k]
		for _, sm := range samples {
			se.X = append(se.X, sm.Seconds)
			se.Y = append(se.Y, sm.P99Ms[k])
		}
		lat = append(lat, *se)
	}
	return picture.PlotLines(strings.TrimSuffix(path, filepath.Ext(path))+"-latency.png", "latency p99 per interval", "seconds", "ms", lat)
}
