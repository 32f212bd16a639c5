package studio

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"forger/internal/atomicfile"
	"forger/store"
)

// acquireDecode waits for a decoding slot (photos can be 40 megapixels).
func (s *Server) acquireDecode(ctx context.Context) bool {
	select {
	case s.decodes <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *Server) releaseDecode() { <-s.decodes }

// savePNG stores img re-encoded as PNG: pixels only, no metadata.
func savePNG(path string, img image.Image) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		return (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(w, img)
	})
}

// createJob: POST /api/jobs, multipart with a file "photo" and an optional
// "email" → 201 {"id", "status", "url", "email"?}: "email" is "confirm"
// when a confirmation link was sent to the address (confirm.go).
func (s *Server) createJob(w http.ResponseWriter, r *http.Request) {
	if s.cfg.Pipeline == nil || s.queue == nil {
		writeError(w, http.StatusServiceUnavailable, "look-alike jobs are not available on this server: no face pipeline is configured")
		return
	}
	done, ok := s.admitJob(w, r)
	if !ok {
		return
	}
	queued := ""
	defer func() { done(queued) }()
	form, err := s.readPhotoForm(w, r, "email")
	if err != nil {
		s.uploadError(w, err)
		return
	}
	email := form.fields["email"]
	if email != "" {
		if s.cfg.Mailer == nil {
			writeError(w, http.StatusBadRequest, "this server sends no e-mail: leave the address out")
			return
		}
		if _, err := ValidEmail(email); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		var capErr *MailCapError
		switch err := s.cfg.Mailer.Policy.Admit(email); {
		case errors.Is(err, ErrMailNotAllowed):
			writeError(w, http.StatusBadRequest, "this server e-mails only the addresses its admin allows: leave the address out, and keep this page's link")
			return
		case errors.As(err, &capErr):
			tooMany(w, capErr.Retry, fmt.Sprintf("this address has been sent %d e-mails by the studio today, the most it may have: leave it out and keep this page's link, or try again in %%d s", capErr.PerDay))
			return
		}
	}
	if r.Context().Err() != nil { // the client left: store and queue nothing
		return
	}
	id := store.NewID()
	upload := id + ".png"
	path := filepath.Join(s.cfg.DataDir, uploadsDir, upload)
	fg := s.gate.Foreground()
	err = savePNG(path, form.photo)
	fg()
	if err != nil {
		s.log.Error("storing an upload", "err", err)
		writeError(w, http.StatusInternalServerError, "the photo could not be stored")
		return
	}
	// An address neither allow-listed nor confirmed gets a confirmation
	// link first, made with the job.
	needConfirm := false
	if email != "" {
		ok, err := mailAllowed(r.Context(), s.store, s.cfg.Mailer, email)
		if err != nil {
			os.Remove(path)
			s.log.Error("checking an e-mail address", "err", err)
			writeError(w, http.StatusInternalServerError, "the job could not be queued")
			return
		}
		needConfirm = !ok
	}
	token := ""
	j := &store.Job{ID: id, Kind: LookalikeArgs{}.Kind(), Email: email, Upload: upload}
	err = s.store.CreateJob(r.Context(), j, func(ctx context.Context, tx *store.Tx) error {
		if needConfirm {
			var err error
			if token, err = s.store.CreateMailConfirmation(ctx, tx, email, id, MailConfirmTTL); err != nil {
				return err
			}
		}
		return s.queue.Enqueue(ctx, tx, id)
	})
	if err != nil {
		os.Remove(path)
		s.log.Error("creating a job", "err", err)
		writeError(w, http.StatusInternalServerError, "the job could not be queued")
		return
	}
	queued = id
	s.log.Info("job queued", "job", id, "addr", s.clientAddr(r))
	out := map[string]string{"id": id, "status": j.Status, "url": "/jobs/" + id}
	if needConfirm {
		s.sendConfirmation(email, token, id)
		out["email"] = "confirm" // the page asks the visitor to use the link
	}
	w.Header().Set("Location", "/api/jobs/"+id)
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) uploadError(w http.ResponseWriter, err error) {
	var ue *uploadError
	if errors.As(err, &ue) {
		writeError(w, ue.status, ue.msg)
		return
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		writeError(w, http.StatusServiceUnavailable, "request cancelled")
		return
	}
	s.log.Error("reading an upload", "err", err)
	writeError(w, http.StatusBadRequest, "the upload could not be read")
}

type resultJSON struct {
	URL      string   `json:"url"`
	Label    string   `json:"label,omitempty"`
	Distance *float64 `json:"distance,omitempty"`
}

type jobJSON struct {
	ID         string                `json:"id"`
	Status     string                `json:"status"`
	Reason     string                `json:"reason"`
	CreatedAt  time.Time             `json:"created_at"`
	UpdatedAt  time.Time             `json:"updated_at"`
	FinishedAt *time.Time            `json:"finished_at,omitempty"`
	Attempts   int                   `json:"attempts"`
	Steps      map[string]store.Step `json:"steps"`
	Results    map[string]resultJSON `json:"results"`
	Emailed    bool                  `json:"emailed,omitempty"`
	// EmailUnconfirmed: an e-mail was asked for, at an address whose
	// owner has not used the confirmation link yet.
	EmailUnconfirmed bool `json:"email_unconfirmed,omitempty"`
}

// getJob: GET /api/jobs/{id} → {"id", "status", "reason", "results": {key:
// {"url", "label"?, "distance"?}}, "steps", times}. The e-mail address is
// never shown.
func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	j, ok := s.findJob(w, r)
	if !ok {
		return
	}
	out := jobJSON{ID: j.ID, Status: j.Status, Reason: j.Reason, CreatedAt: j.CreatedAt, UpdatedAt: j.UpdatedAt,
		Attempts: j.Attempts, Steps: j.Steps, Results: map[string]resultJSON{}, Emailed: !j.EmailedAt.IsZero() && j.EmailError == ""}
	if !j.FinishedAt.IsZero() {
		out.FinishedAt = &j.FinishedAt
	}
	if j.Email != "" && j.EmailedAt.IsZero() && s.cfg.Mailer != nil {
		ok, err := mailAllowed(r.Context(), s.store, s.cfg.Mailer, j.Email)
		out.EmailUnconfirmed = err == nil && !ok
	}
	if j.Status == store.StatusDone {
		for k, res := range j.Results {
			out.Results[k] = resultJSON{URL: "/api/jobs/" + j.ID + "/" + res.File, Label: res.Label, Distance: res.Distance}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) findJob(w http.ResponseWriter, r *http.Request) (*store.Job, bool) {
	id := r.PathValue("id")
	if !store.ValidID(id) {
		writeError(w, http.StatusNotFound, "no such job")
		return nil, false
	}
	j, err := s.store.Job(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no such job (jobs are deleted after a while)")
		return nil, false
	}
	if err != nil {
		s.log.Error("reading a job", "err", err)
		writeError(w, http.StatusInternalServerError, "the job could not be read")
		return nil, false
	}
	return j, true
}

// jobFile: GET /api/jobs/{id}/{file} → one of a finished job's files;
// ?download=1 asks the browser to save it.
func (s *Server) jobFile(w http.ResponseWriter, r *http.Request) {
	j, ok := s.findJob(w, r)
	if !ok {
		return
	}
	name := r.PathValue("file")
	var key string
	for k, res := range j.Results {
		if res.File == name {
			key = k
		}
	}
	if j.Status != store.StatusDone || key == "" {
		writeError(w, http.StatusNotFound, "no such result")
		return
	}
	// name is one the studio wrote and recorded (key + known extension),
	// so the path is ours, not the request's.
	ext := filepath.Ext(name)
	if !validKey(strings.TrimSuffix(name, ext)) || resultTypes[ext] == "" {
		writeError(w, http.StatusNotFound, "no such result")
		return
	}
	f, err := os.Open(filepath.Join(s.cfg.DataDir, resultsDir, j.ID, name))
	if err != nil {
		writeError(w, http.StatusNotFound, "the result is gone")
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		writeError(w, http.StatusNotFound, "the result is gone")
		return
	}
	w.Header().Set("Content-Type", resultTypes[ext])
	w.Header().Set("Cache-Control", "private, max-age=3600")
	if r.URL.Query().Get("download") != "" {
		w.Header().Set("Content-Disposition", `attachment; filename="forger-`+key+ext+`"`)
	}
	http.ServeContent(w, r, "", st.ModTime(), f)
}

// --- gallery ---

type galleryJSON struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	URL       string    `json:"url"`
	CreatedAt time.Time `json:"created_at"`
}

func (s *Server) listGallery(w http.ResponseWriter, r *http.Request) {
	entries, err := s.store.Gallery(r.Context())
	if err != nil {
		s.log.Error("reading the gallery", "err", err)
		writeError(w, http.StatusInternalServerError, "the gallery could not be read")
		return
	}
	out := make([]galleryJSON, 0, len(entries))
	for _, e := range entries {
		out = append(out, galleryJSON{ID: e.ID, Name: e.Name, URL: "/api/gallery/" + e.ID + "/photo", CreatedAt: e.CreatedAt})
	}
	writeJSON(w, http.StatusOK, map[string]any{"gallery": out})
}

// addGallery: POST /api/gallery (admin), multipart "photo" and "name".
func (s *Server) addGallery(w http.ResponseWriter, r *http.Request) {
	form, err := s.readPhotoForm(w, r, "name")
	if err != nil {
		s.uploadError(w, err)
		return
	}
	name := form.fields["name"]
	if name == "" || len(name) > 200 || strings.ContainsAny(name, "\x00\r\n") {
		writeError(w, http.StatusBadRequest, "give the face a name (at most 200 bytes, one line)")
		return
	}
	e := &store.GalleryEntry{ID: store.NewID(), Name: name}
	e.File = e.ID + ".png"
	path := filepath.Join(s.cfg.DataDir, galleryDir, e.File)
	if err := savePNG(path, form.photo); err != nil {
		s.log.Error("storing a gallery photo", "err", err)
		writeError(w, http.StatusInternalServerError, "the photo could not be stored")
		return
	}
	if err := s.store.AddGalleryEntry(r.Context(), e); err != nil {
		os.Remove(path)
		s.log.Error("adding to the gallery", "err", err)
		writeError(w, http.StatusInternalServerError, "the gallery could not be changed")
		return
	}
	writeJSON(w, http.StatusCreated, galleryJSON{ID: e.ID, Name: e.Name, URL: "/api/gallery/" + e.ID + "/photo", CreatedAt: e.CreatedAt})
}

func (s *Server) deleteGallery(w http.ResponseWriter, r *http.Request) {
	e, err := s.store.GalleryEntryByID(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		writeError(w, http.StatusNotFound, "no such gallery entry")
		return
	}
	if err == nil {
		err = s.store.DeleteGalleryEntry(r.Context(), e.ID)
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		s.log.Error("deleting from the gallery", "err", err)
		writeError(w, http.StatusInternalServerError, "the gallery could not be changed")
		return
	}
	if validUploadName(e.File) {
		os.Remove(filepath.Join(s.cfg.DataDir, galleryDir, e.File))
	}
	writeJSON(w, http.StatusOK, map[string]string{"deleted": e.ID})
}

func (s *Server) galleryPhoto(w http.ResponseWriter, r *http.Request) {
	e, err := s.store.GalleryEntryByID(r.Context(), r.PathValue("id"))
	if err != nil || !validUploadName(e.File) {
		writeError(w, http.StatusNotFound, "no such gallery entry")
		return
	}
	f, err := os.Open(filepath.Join(s.cfg.DataDir, galleryDir, e.File))
	if err != nil {
		writeError(w, http.StatusNotFound, "the photo is gone")
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", "image/png")
	http.ServeContent(w, r, "", e.CreatedAt, f)
}

// --- retention ---

// Sweep deletes the jobs created more than retention ago — record, upload
// and results — and files in uploads/ and results/ older than that which no
// record names (left by crashes). It returns how many jobs it deleted.
func Sweep(ctx context.Context, st *store.Store, dataDir string, retention time.Duration) (int, error) {
	cutoff := time.Now().Add(-retention)
	n := 0
	for {
		jobs, err := st.JobsCreatedBefore(ctx, cutoff, 200)
		if err != nil {
			return n, err
		}
		for _, j := range jobs {
			if validUploadName(j.Upload) {
				os.Remove(filepath.Join(dataDir, uploadsDir, j.Upload))
			}
			if store.ValidID(j.ID) {
				os.RemoveAll(filepath.Join(dataDir, resultsDir, j.ID))
			}
			if err := st.DeleteJob(ctx, j.ID); err != nil {
				return n, err
			}
			n++
		}
		if len(jobs) < 200 {
			break
		}
	}
	// Confirmation links a retention past their expiry (until then a late
	// click is told "expired" rather than "unknown").
	if _, err := st.DeleteMailConfirmationsExpiredBefore(ctx, cutoff); err != nil {
		return n, err
	}
	// Strays: whatever is old enough in the two folders is past retention
	// whether or not a record names it.
	for _, sub := range []string{uploadsDir, resultsDir} {
		entries, _ := os.ReadDir(filepath.Join(dataDir, sub))
		names := make([]string, 0, len(entries))
		for _, e := range entries {
			if info, err := e.Info(); err == nil && info.ModTime().Before(cutoff) {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
		for _, name := range names {
			os.RemoveAll(filepath.Join(dataDir, sub, name))
		}
	}
	return n, nil
}

// SweepLoop runs Sweep every so often until ctx is done.
func SweepLoop(ctx context.Context, st *store.Store, dataDir string, retention time.Duration, log interface {
	Info(string, ...any)
	Warn(string, ...any)
}) {
	every := min(max(retention/8, time.Second), 10*time.Minute)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := Sweep(ctx, st, dataDir, retention); err != nil {
			if ctx.Err() != nil {
				return
			}
			log.Warn("retention sweep", "err", err)
		} else if n > 0 {
			log.Info("retention sweep deleted expired jobs", "jobs", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
