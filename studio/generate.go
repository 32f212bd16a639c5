package studio

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"net/http"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"forger/gan"
	"forger/latent"
	"forger/picture"
	"forger/store"
)

// Directions gives models' learned latent directions (smile, mustache…);
// the latent package provides them.
type Directions interface {
	// List names the directions learned for a model.
	List(model gan.ModelInfo) ([]string, error)
	// Direction returns a direction of the model: in z, or a stylegan's W
	// (latent.Direction.Space; Scaled is the step of amount 1).
	Direction(model gan.ModelInfo, name string) (*latent.Direction, error)
}

// maxSafeSeed keeps seeds exact in JavaScript numbers.
const maxSafeSeed = 1<<53 - 1

// modelJSON is a model as the API lists it (no file system path).
type modelJSON struct {
	Name        string   `json:"name"`
	Run         string   `json:"run,omitempty"`        // the run the checkpoint belongs to
	Checkpoint  string   `json:"checkpoint,omitempty"` // its file name without .safetensors
	Title       string   `json:"title,omitempty"`
	Arch        string   `json:"arch"`
	Size        int      `json:"size"`
	Channels    int      `json:"channels"`
	Classes     []string `json:"classes"`
	Conditional bool     `json:"conditional"`
	Epochs      int      `json:"epochs"`
	Images      int64    `json:"images"`
	Hidden      bool     `json:"hidden,omitempty"`
}

// modelSettings returns the admin's model settings, read from the store at
// most every 10 s (other servers may share the database).
func (s *Server) modelSettings(ctx context.Context) map[string]store.ModelSettings {
	if s.store == nil {
		return nil
	}
	s.settingsMu.Lock()
	defer s.settingsMu.Unlock()
	if s.settings != nil && time.Since(s.settingsAt) < 10*time.Second {
		return s.settings
	}
	ms, err := s.store.ModelSettings(ctx)
	if err != nil {
		s.log.Warn("reading model settings", "err", err)
		return s.settings
	}
	s.settings, s.settingsAt = ms, time.Now()
	return ms
}

// forgetSettings makes the next modelSettings read the store.
func (s *Server) forgetSettings() {
	s.settingsMu.Lock()
	s.settings = nil
	s.settingsMu.Unlock()
}

// modelList is the menu (one entry per run, named after it: its newest
// checkpoint) or, with every, each checkpoint by its own name.
func (s *Server) modelList(ctx context.Context, withHidden, every bool) []modelJSON {
	settings := s.modelSettings(ctx)
	out := []modelJSON{}
	list := s.models.all()
	if every {
		list = s.models.checkpoints()
	}
	for _, mi := range list {
		st := settings[mi.Name]
		if st.Hidden && !withHidden {
			continue
		}
		m := modelJSON{Name: mi.Name, Run: mi.Run, Title: st.Title, Arch: mi.Arch, Size: mi.Size, Channels: mi.Channels,
			Classes: mi.Classes, Conditional: mi.Arch == gan.CDCGAN, Epochs: mi.Epochs, Images: mi.Images, Hidden: st.Hidden}
		if mi.Run != "" {
			m.Checkpoint = strings.TrimSuffix(filepath.Base(mi.Path), ".safetensors")
		}
		out = append(out, m)
	}
	return out
}

// everyCheckpoint reads ?all=1: list every checkpoint, not one per run.
func everyCheckpoint(r *http.Request) bool {
	v := r.URL.Query().Get("all")
	return v == "1" || v == "true"
}

// listModels: GET /api/models[?all=1].
func (s *Server) listModels(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"models": s.modelList(r.Context(), false, everyCheckpoint(r))})
}

func (s *Server) rescanModels(w http.ResponseWriter, r *http.Request) {
	if s.cfg.ModelsDir == "" {
		writeError(w, http.StatusConflict, "this studio has no models folder")
		return
	}
	if _, err := s.models.scan(); err != nil {
		s.log.Warn("rescanning models", "err", err)
	}
	writeJSON(w, http.StatusOK, map[string]any{"models": s.modelList(r.Context(), true, everyCheckpoint(r))})
}

func (s *Server) patchModel(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if _, ok := s.models.lookup(name); !ok {
		writeError(w, http.StatusNotFound, "no model named "+strconv.Quote(name))
		return
	}
	var req struct {
		Hidden *bool   `json:"hidden"`
		Title  *string `json:"title"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	if s.store == nil {
		writeError(w, http.StatusServiceUnavailable, "no database")
		return
	}
	cur := s.modelSettings(r.Context())[name]
	cur.Name = name
	if req.Hidden != nil {
		cur.Hidden = *req.Hidden
	}
	if req.Title != nil {
		if len(*req.Title) > 200 {
			writeError(w, http.StatusBadRequest, "title too long (200 bytes at most)")
			return
		}
		cur.Title = *req.Title
	}
	if err := s.store.SetModelSettings(r.Context(), &cur); err != nil {
		s.log.Error("saving model settings", "err", err)
		writeError(w, http.StatusInternalServerError, "could not save the settings")
		return
	}
	s.forgetSettings()
	writeJSON(w, http.StatusOK, cur)
}

// findModel resolves a model name from a request; hidden models are not
// found.
func (s *Server) findModel(w http.ResponseWriter, r *http.Request, name string) (gan.ModelInfo, bool) {
	if name == "" {
		writeError(w, http.StatusBadRequest, "say which model (see GET /api/models)")
		return gan.ModelInfo{}, false
	}
	mi, ok := s.models.lookup(name)
	if ok && s.modelSettings(r.Context())[name].Hidden {
		ok = false
	}
	if !ok {
		writeError(w, http.StatusNotFound, "no model named "+strconv.Quote(name)+" (see GET /api/models)")
	}
	return mi, ok
}

// randomSeed picks a seed for a request that gave none.
func randomSeed() int64 {
	var b [8]byte
	rand.Read(b[:])
	return int64(binary.LittleEndian.Uint64(b[:]) % (1 << 31))
}

type generatedImage struct {
	Seed  int64  `json:"seed"`
	Class string `json:"class,omitempty"`
	URL   string `json:"url"`
}

// generate: POST /api/generate {"model", "n", "class"?, "seed"?,
// "truncation"?} → {"model", "images": [{"seed", "class"?, "url"}]}. Seeds
// are seed, seed+1, …, as with forger generate --seed; a conditional model
// without a class cycles through its classes, as forger generate does.
func (s *Server) generate(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Model      string          `json:"model"`
		N          int             `json:"n"`
		Class      json.RawMessage `json:"class"`
		Seed       *int64          `json:"seed"`
		Truncation *float64        `json:"truncation"`
	}
	if !readJSON(w, r, &req) {
		return
	}
	if req.N == 0 {
		req.N = 1
	}
	if req.N < 1 || req.N > MaxGenerate {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("n must be between 1 and %d", MaxGenerate))
		return
	}
	psi := 1.0
	if req.Truncation != nil {
		psi = *req.Truncation
	}
	if !(psi >= truncationParam.lo && psi <= truncationParam.hi) {
		badParam(w, &paramError{"truncation", truncationParam.want})
		return
	}
	seed := randomSeed()
	if req.Seed != nil {
		seed = *req.Seed
	}
	if seed < -maxSafeSeed || seed > maxSafeSeed-MaxGenerate {
		writeError(w, http.StatusBadRequest, "seed out of range (|seed| < 2^53)")
		return
	}
	mi, ok := s.findModel(w, r, req.Model)
	if !ok {
		return
	}
	if err := checkTruncation(mi, psi); err != nil {
		badParam(w, err)
		return
	}
	label := int32(-1)
	if len(req.Class) > 0 && string(req.Class) != "null" {
		var cs string
		var ci int
		switch {
		case json.Unmarshal(req.Class, &cs) == nil:
		case json.Unmarshal(req.Class, &ci) == nil:
			cs = strconv.Itoa(ci)
		default:
			writeError(w, http.StatusBadRequest, "class must be a class name or index")
			return
		}
		if cs != "" {
			if len(mi.Classes) == 0 {
				writeError(w, http.StatusBadRequest, "this model has no classes")
				return
			}
			l, err := gan.Config{Classes: mi.Classes}.ClassIndex(cs)
			if err != nil {
				writeError(w, http.StatusBadRequest, err.Error())
				return
			}
			label = l
		}
	}
	if s.rateLimited(w, r) {
		return
	}
	cfg, err := s.models.config(r.Context(), mi)
	if err != nil {
		s.log.Error("loading model", "model", mi.Name, "err", err)
		writeError(w, http.StatusServiceUnavailable, "the model could not be loaded")
		return
	}
	conditional := cfg.Conditional()
	fg := s.gate.Foreground() // jobs wait while the pictures are made
	defer fg()
	seeds := make([]int64, req.N)
	var labels []int32
	if conditional {
		labels = make([]int32, req.N)
	}
	for i := range seeds {
		seeds[i] = seed + int64(i)
		if conditional {
			if label >= 0 {
				labels[i] = label
			} else {
				labels[i] = int32(i % len(mi.Classes))
			}
		}
	}
	// forger generate's computation: the same seeds give the same pictures.
	imgs := make([]image.Image, req.N)
	err = s.models.with(r.Context(), mi, func(g gan.GeneratorNet) error {
		return gan.GenerateSeeds(r.Context(), g, seeds, labels, psi, func(i int, img image.Image) error {
			imgs[i] = img
			return nil
		})
	})
	if err != nil {
		s.renderError(w, mi, err)
		return
	}
	out := make([]generatedImage, req.N)
	for i, img := range imgs {
		l := int32(-1)
		if conditional {
			l = labels[i]
		}
		q := imageQuery{model: mi.Name, seed: seeds[i], label: l, psi: psi}
		if l >= 0 {
			q.class = mi.Classes[l]
		}
		s.images.add(q.key(mi.Path), encodePNG(img))
		out[i] = generatedImage{Seed: seeds[i], URL: q.url()}
		if l >= 0 {
			out[i].Class = mi.Classes[l]
		}
	}
	fg()
	writeJSON(w, http.StatusOK, map[string]any{"model": mi.Name, "images": out})
}

func (s *Server) renderError(w http.ResponseWriter, mi gan.ModelInfo, err error) {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		writeError(w, http.StatusServiceUnavailable, "request cancelled")
		return
	}
	s.log.Error("generating", "model", mi.Name, "err", err)
	writeError(w, http.StatusServiceUnavailable, "the model could not be run")
}

// imageQuery is everything that makes one picture; its URL re-makes it.
type imageQuery struct {
	model  string
	seed   int64
	label  int32  // -1: none
	class  string // the label's class name (names resolve first: unambiguous)
	psi    float64
	dir    string
	amount float64
}

func (q imageQuery) key(path string) string {
	return fmt.Sprintf("img\x00%s\x00%d\x00%d\x00%g\x00%s\x00%g", path, q.seed, q.label, q.psi, q.dir, q.amount)
}

func (q imageQuery) url() string {
	v := url.Values{}
	v.Set("model", q.model)
	v.Set("seed", strconv.FormatInt(q.seed, 10))
	if q.label >= 0 {
		v.Set("class", q.class)
	}
	if q.psi != 1 {
		v.Set("truncation", strconv.FormatFloat(q.psi, 'g', -1, 64))
	}
	if q.dir != "" {
		v.Set("direction", q.dir)
		v.Set("amount", strconv.FormatFloat(q.amount, 'g', -1, 64))
	}
	return "/api/image?" + v.Encode()
}

// parseImageParams reads model, class and truncation from a query string.
func (s *Server) parseCommon(w http.ResponseWriter, r *http.Request) (mi gan.ModelInfo, label int32, psi float64, ok bool) {
	q := r.URL.Query()
	mi, ok = s.findModel(w, r, q.Get("model"))
	if !ok {
		return
	}
	label, psi = -1, 1
	if c := q.Get("class"); c != "" {
		if len(mi.Classes) == 0 {
			writeError(w, http.StatusBadRequest, "this model has no classes")
			return mi, 0, 0, false
		}
		l, err := gan.Config{Classes: mi.Classes}.ClassIndex(c)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return mi, 0, 0, false
		}
		label = l
	} else if mi.Arch == gan.CDCGAN {
		label = 0
	}
	psi, err := queryFloat(q, "truncation", truncationParam)
	if err == nil {
		err = checkTruncation(mi, psi)
	}
	if err != nil {
		badParam(w, err)
		return mi, 0, 0, false
	}
	return mi, label, psi, true
}

// checkTruncation refuses truncation 0 but for a stylegan, whose 0 is its
// average image (w_avg), as forger generate does.
func checkTruncation(mi gan.ModelInfo, psi float64) error {
	if psi == 0 && mi.Arch != gan.StyleGAN {
		return &paramError{"truncation", "a number in (0, 2] for a " + mi.Arch + " (1 = off; 0 is a stylegan's average image)"}
	}
	return nil
}

func parseSeed(w http.ResponseWriter, q url.Values, name string) (int64, bool) {
	seed, err := queryInt(q, name, seedParam)
	if err != nil {
		badParam(w, err)
		return 0, false
	}
	return seed, true
}

// image: GET /api/image?model=&seed=[&class=][&truncation=][&direction=&amount=]
// → the PNG, from memory when it was made recently.
func (s *Server) image(w http.ResponseWriter, r *http.Request) {
	mi, label, psi, ok := s.parseCommon(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	seed, ok := parseSeed(w, q, "seed")
	if !ok {
		return
	}
	ap := amountParam // needed with a direction, checked whenever given
	ap.required = q.Get("direction") != ""
	amount, err := queryFloat(q, "amount", ap)
	if err != nil {
		badParam(w, err)
		return
	}
	iq := imageQuery{model: mi.Name, seed: seed, label: label, psi: psi}
	var dir *latent.Direction
	if d := q.Get("direction"); d != "" {
		if s.cfg.Directions == nil {
			writeError(w, http.StatusNotFound, "this server has no learned directions")
			return
		}
		dir, err = s.cfg.Directions.Direction(mi, d)
		if err != nil {
			writeError(w, http.StatusNotFound, "no direction "+strconv.Quote(d)+" for this model")
			return
		}
		iq.dir, iq.amount = d, amount
	}
	key := iq.key(mi.Path)
	if b, ok := s.images.get(key); ok {
		servePNG(w, r, b)
		return
	}
	if s.rateLimited(w, r) {
		return
	}
	cfg, err := s.models.config(r.Context(), mi)
	if err != nil {
		s.renderError(w, mi, err)
		return
	}
	if dir != nil && dir.CheckFor(cfg) != nil {
		writeError(w, http.StatusNotFound, "no direction "+strconv.Quote(iq.dir)+" for this model (the one found was learned for another model)")
		return
	}
	fg := s.gate.Foreground() // jobs wait while the picture is made
	defer fg()
	// The seed's z, moved along the direction in its space (a stylegan's
	// w for a direction in W): forger edit's computation; then a stylegan's
	// truncation in W.
	imgs, err := s.models.renderCodes(r.Context(), mi, func(g gan.GeneratorNet) ([]latent.Code, error) {
		c := latent.Code{Z: make([]float32, cfg.NZ)}
		gan.SeedZ(g, seed, psi, c.Z)
		if cfg.Conditional() {
			c.Class = latent.ClassCode(int(max(label, 0)), len(cfg.Classes))
		}
		codes := []latent.Code{c}
		if dir != nil {
			c, v, err := dir.Prepare(g, c)
			if err != nil {
				return nil, err
			}
			codes = latent.Edit(c, v, []float64{iq.amount})
		}
		return truncatedInW(g, codes, psi)
	})
	if err != nil {
		s.renderError(w, mi, err)
		return
	}
	b := encodePNG(imgs[0])
	fg()
	s.images.add(key, b)
	servePNG(w, r, b)
}

func servePNG(w http.ResponseWriter, r *http.Request, b []byte) {
	w.Header().Set("Content-Type", "image/png")
	// The URL names the picture completely: it never changes.
	w.Header().Set("Cache-Control", "public, max-age=86400")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
}

// morph: GET /api/morph?model=&from=&to=[&frames=][&class=][&truncation=]
// → an animated GIF walking the latent space from seed from to seed to
// (spherical interpolation), and back.
func (s *Server) morph(w http.ResponseWriter, r *http.Request) {
	mi, label, psi, ok := s.parseCommon(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	from, ok := parseSeed(w, q, "from")
	if !ok {
		return
	}
	to, ok := parseSeed(w, q, "to")
	if !ok {
		return
	}
	nframes, err := queryInt(q, "frames", framesParam)
	if err != nil {
		badParam(w, err)
		return
	}
	frames := int(nframes)
	key := fmt.Sprintf("morph\x00%s\x00%d\x00%d\x00%d\x00%d\x00%g", mi.Path, from, to, frames, label, psi)
	if b, ok := s.images.get(key); ok {
		serveGIF(w, r, b)
		return
	}
	if s.rateLimited(w, r) {
		return
	}
	cfg, err := s.models.config(r.Context(), mi)
	if err != nil {
		s.renderError(w, mi, err)
		return
	}
	if frames < 2 {
		badParam(w, fmt.Errorf("a morph needs at least 2 frames, not %d", frames))
		return
	}
	fg := s.gate.Foreground() // jobs wait while the animation is made
	defer fg()
	var class []float32
	if cfg.Conditional() {
		class = latent.ClassCode(int(max(label, 0)), len(cfg.Classes))
	}
	imgs, err := s.models.renderCodes(r.Context(), mi, func(g gan.GeneratorNet) ([]latent.Code, error) {
		return morphCodes(g, class, from, to, psi, frames)
	})
	if err != nil {
		s.renderError(w, mi, err)
		return
	}
	if r.Context().Err() != nil { // the client left: no GIF to encode for it
		return
	}
	seq := make([]image.Image, 0, 2*frames-2) // there and back again
	seq = append(seq, imgs...)
	for i := frames - 2; i > 0; i-- {
		seq = append(seq, imgs[i])
	}
	var buf bytes.Buffer
	if err := picture.EncodeGIF(&buf, seq, picture.GIFOptions{Delay: 80 * time.Millisecond, Loop: true}); err != nil {
		s.renderError(w, mi, err)
		return
	}
	fg()
	s.images.add(key, buf.Bytes())
	serveGIF(w, r, buf.Bytes())
}

func serveGIF(w http.ResponseWriter, r *http.Request, b []byte) {
	w.Header().Set("Content-Type", "image/gif")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(b))
}

// directions: GET /api/directions?model= → {"model", "directions": [names]}:
// the directions that fit the model (a direction with another length than
// the model's z, learned for another model, is left out and logged).
func (s *Server) directions(w http.ResponseWriter, r *http.Request) {
	mi, ok := s.findModel(w, r, r.URL.Query().Get("model"))
	if !ok {
		return
	}
	names := []string{}
	if s.cfg.Directions != nil {
		list, err := s.cfg.Directions.List(mi)
		if err != nil {
			s.log.Warn("listing directions", "model", mi.Name, "err", err)
		}
		if len(list) > 0 {
			cfg, err := s.models.config(r.Context(), mi)
			if err != nil {
				s.renderError(w, mi, err)
				return
			}
			for _, d := range list {
				dir, err := s.cfg.Directions.Direction(mi, d)
				if err == nil {
					err = dir.CheckFor(cfg)
				}
				if err != nil {
					s.log.Warn("a direction does not fit", "model", mi.Name, "direction", d, "err", err)
					continue
				}
				names = append(names, d)
			}
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"model": mi.Name, "directions": names})
}
