// Package studio is forger's web studio: pages for generating images,
// exploring a model's latent space and finding a visitor's look-alike, the
// JSON API behind them, and the look-alike jobs, run on River.
//
// Everything a request names — a model, a job, a result, a gallery face —
// is looked up by name or id in what the studio scanned or stored; no path
// from a request reaches the file system.
//
// Uploads decode through package picture within the studio's budgets
// (MaxPixels, MaxDecodeBytes, StoredMaxSide); memory.go sizes the image
// cache and the Go memory limit (SetMemoryLimit) serve and worker set.
package studio

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"forger/gan"
	"forger/internal/priority"
	"forger/store"
)

// Config configures a Server.
type Config struct {
	ModelsDir   string // checkpoints, scanned recursively
	GalleryFile string // the look-alike gallery (for the pipeline)
	DataDir     string // uploads/, results/, gallery/
	AdminToken  string // "" turns the admin API off
	Retention   time.Duration
	// RatePerSecond and RateBurst limit generation per client address (a
	// token bucket); RatePerSecond <= 0 turns the limit off.
	RatePerSecond float64
	RateBurst     int
	// GeneratorsPerModel is how many copies of a model's generator may run
	// at once (each uses its own buffers).
	GeneratorsPerModel int
	Pipeline           Pipeline   // nil: look-alike jobs answer 503
	Directions         Directions // nil: no learned directions
	Mailer             *Mailer    // nil: no e-mail
	// BaseURL is the studio's public URL, for the links of confirmation
	// e-mails, e.g. https://forger.example.
	BaseURL string
	// JobsPerMinute and JobBurst limit look-alike jobs per client address
	// (a token bucket of its own, apart from generation's); JobsPerMinute
	// <= 0 turns the limit off.
	JobsPerMinute float64
	JobBurst      int
	// MaxQueuedPerAddress and MaxQueued cap the jobs not yet finished that
	// one client address, and everyone together, may have (0: no cap).
	MaxQueuedPerAddress int
	MaxQueued           int
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client (see clientAddr); none: the peer is the client.
	TrustedProxies []netip.Prefix
	// ImageCacheBytes bounds the memory of recently made pictures (PNG
	// and GIF bytes, keys included); 0: DefaultImageCacheBytes of the
	// machine's memory.
	ImageCacheBytes int64
	// Gate is what the handlers that make pictures hold while they
	// compute, so that look-alike jobs (whose Runner yields to the same
	// gate) wait at their checkpoints meanwhile: a visitor waits for the
	// answer, a job's visitor does not notice. nil: the process's,
	// priority.Default(), which a Runner uses by default too.
	Gate *priority.Gate
	Log  *slog.Logger
}

// Defaults.
const (
	DefaultRetention = 24 * time.Hour
	MaxGenerate      = 10 // images per generate request
	MaxMorphFrames   = 48
)

// Server serves the studio.
type Server struct {
	cfg     Config
	store   *store.Store
	queue   *Queue
	models  *models
	images  *imageCache
	limit   *limiter
	jobs    *limiter      // look-alike jobs per address
	pending *pendingJobs  // unfinished jobs per address
	decodes chan struct{} // photo decodes at once
	gate    *priority.Gate
	mux     *http.ServeMux
	log     *slog.Logger
	// shutdownWait replaces ShutdownWait (tests).
	shutdownWait time.Duration

	settingsMu sync.Mutex
	settings   map[string]store.ModelSettings
	settingsAt time.Time
}

// New makes a server; queue may be nil when cfg.Pipeline is nil.
func New(cfg Config, st *store.Store, queue *Queue) (*Server, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.DataDir == "" {
		return nil, errors.New("studio: no data folder")
	}
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.Pipeline != nil && queue == nil {
		return nil, errors.New("studio: a pipeline needs a queue")
	}
	if cfg.ImageCacheBytes <= 0 {
		cfg.ImageCacheBytes = DefaultImageCacheBytes(MachineMemory())
	}
	if cfg.Gate == nil {
		cfg.Gate = priority.Default()
	}
	s := &Server{
		cfg:     cfg,
		store:   st,
		queue:   queue,
		models:  newModels(cfg.ModelsDir, cfg.GeneratorsPerModel),
		images:  newImageCache(cfg.ImageCacheBytes),
		limit:   newLimiter(cfg.RatePerSecond, cfg.RateBurst),
		jobs:    newLimiter(cfg.JobsPerMinute/60, cfg.JobBurst),
		pending: newPendingJobs(),
		decodes: make(chan struct{}, 2),
		gate:    cfg.Gate,
		mux:     http.NewServeMux(),
		log:     cfg.Log,
	}
	if cfg.ModelsDir != "" {
		if _, err := s.models.scan(); err != nil {
			s.log.Warn("scanning models", "dir", cfg.ModelsDir, "err", err)
		}
	}
	s.routes()
	return s, nil
}

func (s *Server) routes() {
	m := s.mux
	// Pages.
	m.HandleFunc("GET /{$}", s.page("index.html"))
	m.HandleFunc("GET /explore", s.page("explore.html"))
	m.HandleFunc("GET /lookalike", s.page("lookalike.html"))
	m.HandleFunc("GET /jobs/{id}", s.page("job.html"))
	m.HandleFunc("GET /confirm", s.page("confirm.html"))
	m.HandleFunc("GET /static/{file}", s.static)
	m.HandleFunc("GET /healthz", s.healthz)
	// API.
	m.HandleFunc("GET /api/capabilities", s.capabilities)
	m.HandleFunc("GET /api/models", s.listModels)
	m.HandleFunc("POST /api/models/rescan", s.admin(s.rescanModels))
	m.HandleFunc("PATCH /api/models/{name...}", s.admin(s.patchModel))
	m.HandleFunc("POST /api/generate", s.generate)
	m.HandleFunc("GET /api/image", s.image)
	m.HandleFunc("GET /api/morph", s.morph)
	m.HandleFunc("GET /api/directions", s.directions)
	m.HandleFunc("POST /api/jobs", s.createJob)
	m.HandleFunc("GET /api/jobs/{id}", s.getJob)
	m.HandleFunc("GET /api/jobs/{id}/{file}", s.jobFile)
	m.HandleFunc("POST /api/mail/confirm", s.confirmMail)
	m.HandleFunc("GET /api/gallery", s.listGallery)
	m.HandleFunc("POST /api/gallery", s.admin(s.addGallery))
	m.HandleFunc("GET /api/gallery/{id}/photo", s.galleryPhoto)
	m.HandleFunc("DELETE /api/gallery/{id}", s.admin(s.deleteGallery))
}

// ServeHTTP answers every request; errors — including the mux's own 404
// and 405 — are JSON, and a panic in a handler becomes a 500.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer") // job pages' URLs are their keys
	h.Set("X-Frame-Options", "DENY")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' blob: data:; media-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
			writeError(w, http.StatusInternalServerError, "internal error")
		}
	}()
	if _, pattern := s.mux.Handler(r); pattern == "" {
		s.notRouted(w, r)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// notRouted answers what the mux has no handler for, in JSON.
func (s *Server) notRouted(w http.ResponseWriter, r *http.Request) {
	h, _ := s.mux.Handler(r)
	rec := &statusRecorder{header: http.Header{}}
	h.ServeHTTP(rec, r)
	switch {
	case rec.status >= 300 && rec.status < 400:
		if loc := rec.header.Get("Location"); loc != "" {
			w.Header().Set("Location", loc)
		}
		w.WriteHeader(rec.status)
	case rec.status == http.StatusMethodNotAllowed:
		w.Header().Set("Allow", rec.header.Get("Allow"))
		writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("method %s not allowed here (allowed: %s)", r.Method, rec.header.Get("Allow")))
	default:
		writeError(w, http.StatusNotFound, "not found")
	}
}

type statusRecorder struct {
	header http.Header
	status int
}

func (r *statusRecorder) Header() http.Header         { return r.header }
func (r *statusRecorder) Write(b []byte) (int, error) { return len(b), nil }
func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}

// Serve serves on ln until ctx is done, then shuts down gracefully: new
// connections are refused and requests under way get up to ShutdownWait,
// after which they are cut off (and Serve returns nil all the same).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute, // a 10 MB photo over a slow phone link
		WriteTimeout:      2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	wait := s.shutdownWait
	if wait <= 0 {
		wait = ShutdownWait
	}
	sctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	err := hs.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		// A slow upload, say, still under way: its time is up, as the
		// graceful stop promises; that is no failure of the stop.
		s.log.Warn("requests still under way at the end of the shutdown wait were cut off", "wait", wait.String())
		hs.Close()
		err = nil
	}
	if e := <-errc; e != nil && !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}

// ShutdownWait is how long Serve lets requests under way finish once its
// context is done; those still running then are cut off.
const ShutdownWait = 10 * time.Second

// --- helpers ---

type apiError struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, apiError{Error: msg})
}

// readJSON decodes a small JSON body into v; unknown fields are refused so
// that a misspelt key is an error, not a silent default.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	ct := r.Header.Get("Content-Type")
	if ct != "" && !strings.HasPrefix(ct, "application/json") {
		writeError(w, http.StatusUnsupportedMediaType, "send JSON (Content-Type: application/json)")
		return false
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeError(w, http.StatusRequestEntityTooLarge, "request body too large")
		} else {
			writeError(w, http.StatusBadRequest, "bad JSON: "+err.Error())
		}
		return false
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "bad JSON: one object expected")
		return false
	}
	return true
}

// admin wraps a handler that changes models or the gallery: it needs the
// admin token, as "Authorization: Bearer TOKEN".
func (s *Server) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.cfg.AdminToken == "" {
			writeError(w, http.StatusForbidden, "the admin API is off: the server has no admin token")
			return
		}
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), []byte(s.cfg.AdminToken)) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="forger admin"`)
			writeError(w, http.StatusUnauthorized, "admin token missing or wrong")
			return
		}
		h(w, r)
	}
}

// rateLimited takes a generation token for the client; on refusal it
// answers 429.
func (s *Server) rateLimited(w http.ResponseWriter, r *http.Request) bool {
	ok, wait := s.limit.allow(s.clientAddr(r), 1)
	if ok {
		return false
	}
	tooMany(w, wait, "too many requests from your address: try again in %d s")
	return true
}

// tooMany answers 429 with Retry-After: wait rounded up to seconds, also
// put in msg's %d.
func tooMany(w http.ResponseWriter, wait time.Duration, msg string) {
	secs := int((wait + time.Second - 1) / time.Second)
	w.Header().Set("Retry-After", fmt.Sprint(max(secs, 1)))
	writeError(w, http.StatusTooManyRequests, fmt.Sprintf(msg, max(secs, 1)))
}

// clientAddr is the address r came from (see the function clientAddr).
func (s *Server) clientAddr(r *http.Request) string { return clientAddr(r, s.cfg.TrustedProxies) }

// MinAdminTokenLen is the shortest admin token CheckAdminToken accepts.
const MinAdminTokenLen = 16

// ErrAdminTokenShort is CheckAdminToken's error for a token shorter than
// MinAdminTokenLen.
var ErrAdminTokenShort = errors.New("studio: admin token too short")

// CheckAdminToken checks an admin token before the server is given it:
// "" (no admin API) or at least MinAdminTokenLen characters.
func CheckAdminToken(tok string) error {
	if tok != "" && len([]rune(tok)) < MinAdminTokenLen {
		return ErrAdminTokenShort
	}
	return nil
}

// ModelCount is how many models the server found.
func (s *Server) ModelCount() int { return len(s.models.all()) }

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	n, bytes := s.images.stats()
	out := map[string]any{"status": "ok", "database": "ok", "models": len(s.models.all()), "lookalike": s.cfg.Pipeline != nil,
		"image_cache": map[string]int64{"images": int64(n), "bytes": bytes, "max_bytes": s.cfg.ImageCacheBytes}}
	if s.store != nil {
		if err := s.store.Ping(ctx); err != nil {
			out["status"], out["database"] = "unavailable", err.Error()
			writeJSON(w, http.StatusServiceUnavailable, out)
			return
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) capabilities(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, Capabilities(s.cfg))
}

// Capabilities says what a studio with this configuration can do (also
// logged by forger serve at startup).
func Capabilities(cfg Config) map[string]bool {
	return map[string]bool{
		"generate":   cfg.ModelsDir != "",
		"morph":      cfg.ModelsDir != "",
		"directions": cfg.Directions != nil,
		"lookalike":  cfg.Pipeline != nil,
		"email":      cfg.Mailer != nil,
		"admin":      cfg.AdminToken != "",
	}
}

// ImageCacheBytes is the image cache's budget.
func (s *Server) ImageCacheBytes() int64 { return s.cfg.ImageCacheBytes }

// Models lists the models the server found.
func (s *Server) Models() []gan.ModelInfo { return s.models.all() }
