package studio

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/gif"
	"image/png"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"forger/gan"
	"forger/picture"
	"forger/store"
	"forger/tensor"
)

// isJSONError checks that a body is {"error": "…"}.
func isJSONError(t *testing.T, what string, hdr http.Header, body []byte) string {
	t.Helper()
	var e apiError
	if !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") || json.Unmarshal(body, &e) != nil || e.Error == "" {
		t.Errorf("%s: not a JSON error: %s %q", what, hdr.Get("Content-Type"), body)
	}
	return e.Error
}

func TestHealthzAndCapabilities(t *testing.T) {
	h := newHarness(t, harnessOptions{noPipeline: true})
	var hz map[string]any
	if status, _ := h.json("GET", "/healthz", nil, &hz); status != 200 || hz["status"] != "ok" || hz["models"] != 2.0 || hz["lookalike"] != false {
		t.Errorf("healthz: %d %v", status, hz)
	}
	var caps map[string]bool
	h.json("GET", "/api/capabilities", nil, &caps)
	if !caps["generate"] || caps["lookalike"] || !caps["email"] || caps["admin"] || caps["directions"] {
		t.Errorf("capabilities %v", caps)
	}
}

func TestModels(t *testing.T) {
	h := newHarness(t, harnessOptions{noPipeline: true})
	status, _, body := h.do("GET", "/api/models", "", nil)
	if status != 200 {
		t.Fatalf("GET /api/models: %d %s", status, body)
	}
	if bytes.Contains(body, []byte(`"path"`)) || bytes.Contains(body, []byte(h.s.cfg.ModelsDir)) {
		t.Errorf("the model list shows file system paths: %s", body)
	}
	var out struct {
		Models []modelJSON `json:"models"`
	}
	json.Unmarshal(body, &out)
	if len(out.Models) != 2 {
		t.Fatalf("models %+v", out.Models)
	}
	byName := map[string]modelJSON{}
	for _, m := range out.Models {
		byName[m.Name] = m
	}
	// runs/checkpoints/cond.safetensors is listed as its run, "runs".
	tiny, cond := byName["tiny"], byName["runs"]
	if tiny.Size != 32 || tiny.Channels != 3 || len(tiny.Classes) != 0 || tiny.Epochs != 3 || tiny.Conditional || tiny.Run != "" {
		t.Errorf("tiny = %+v", tiny)
	}
	if cond.Size != 28 || strings.Join(cond.Classes, ",") != "a,b,c" || !cond.Conditional || cond.Run != "runs" || cond.Checkpoint != "cond" {
		t.Errorf("cond = %+v", cond)
	}
}

type genResult struct {
	Model  string           `json:"model"`
	Images []generatedImage `json:"images"`
}

func fetchPNG(t *testing.T, h *harness, url string) (image.Image, []byte) {
	t.Helper()
	status, hdr, body := h.do("GET", url, "", nil)
	if status != 200 || hdr.Get("Content-Type") != "image/png" {
		t.Fatalf("GET %s: %d %s %.200q", url, status, hdr.Get("Content-Type"), body)
	}
	img, err := png.Decode(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return img, body
}

// expected renders seeds the way forger generate does.
func expected(t *testing.T, path string, seeds []int64, labels []int32) [][]byte {
	g, err := gan.LoadGenerator(path)
	if err != nil {
		t.Fatal(err)
	}
	z := tensor.New(len(seeds), g.Cfg.NZ)
	for i, s := range seeds {
		gan.LatentForSeed(s, 1, z.Data[i*g.Cfg.NZ:(i+1)*g.Cfg.NZ])
	}
	out := g.Forward(z, labels)
	per := out.Len() / len(seeds)
	var pngs [][]byte
	for i := range seeds {
		pngs = append(pngs, pixels(picture.FromTensor(out.Data[i*per:(i+1)*per], g.Cfg.Size, g.Cfg.Channels)))
	}
	return pngs
}

// pixels flattens an image to NRGBA bytes for comparison.
func pixels(img image.Image) []byte {
	b := img.Bounds()
	var out []byte
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bb, a := img.At(x, y).RGBA()
			out = append(out, byte(r>>8), byte(g>>8), byte(bb>>8), byte(a>>8))
		}
	}
	return out
}

func TestGenerate(t *testing.T) {
	h := newHarness(t, harnessOptions{noPipeline: true})
	var res genResult
	status, _ := h.json("POST", "/api/generate", map[string]any{"model": "tiny", "n": 10, "seed": 100}, &res)
	if status != 200 || len(res.Images) != 10 || res.Model != "tiny" {
		t.Fatalf("generate: %d %+v", status, res)
	}
	seeds := make([]int64, 10)
	for i := range seeds {
		seeds[i] = 100 + int64(i)
	}
	want := expected(t, filepath.Join(h.s.cfg.ModelsDir, "tiny.safetensors"), seeds, nil)
	for i, im := range res.Images {
		if im.Seed != seeds[i] || im.Class != "" || !strings.HasPrefix(im.URL, "/api/image?") {
			t.Errorf("image %d: %+v", i, im)
		}
		img, _ := fetchPNG(t, h, im.URL)
		if img.Bounds().Dx() != 32 || img.Bounds().Dy() != 32 {
			t.Errorf("image %d is %v", i, img.Bounds())
		}
		if !bytes.Equal(pixels(img), want[i]) {
			t.Errorf("seed %d: the image differs from forger generate's", im.Seed)
		}
	}
	// Re-made: the same seed again, alone, gives the same picture; so does
	// the URL after the cache has forgotten it.
	var one genResult
	h.json("POST", "/api/generate", map[string]any{"model": "tiny", "n": 1, "seed": 103}, &one)
	a, _ := fetchPNG(t, h, one.Images[0].URL)
	h.s.images = newImageCache(10)
	b, _ := fetchPNG(t, h, res.Images[3].URL)
	if !bytes.Equal(pixels(a), want[3]) || !bytes.Equal(pixels(b), want[3]) {
		t.Error("re-making seed 103 gave another picture")
	}
	// No seed: a random one; n defaults to 1.
	var r1 genResult
	h.json("POST", "/api/generate", map[string]any{"model": "tiny"}, &r1)
	if len(r1.Images) != 1 || r1.Images[0].Seed < 0 {
		t.Errorf("random seed: %+v", r1)
	}
}

func TestGenerateConditional(t *testing.T) {
	h := newHarness(t, harnessOptions{noPipeline: true})
	path := filepath.Join(h.s.cfg.ModelsDir, "runs", "checkpoints", "cond.safetensors")
	var res genResult
	// No class: classes in turn, as forger generate does.
	h.json("POST", "/api/generate", map[string]any{"model": "runs/cond", "n": 4, "seed": 7}, &res)
	want := expected(t, path, []int64{7, 8, 9, 10}, []int32{0, 1, 2, 0})
	for i, im := range res.Images {
		if im.Class != []string{"a", "b", "c", "a"}[i] {
			t.Errorf("image %d class %q", i, im.Class)
		}
		img, _ := fetchPNG(t, h, im.URL)
		if !bytes.Equal(pixels(img), want[i]) {
			t.Errorf("image %d differs from forger generate's", i)
		}
	}
	// A class by name (any case) or index.
	for _, class := range []any{"B", 1, "1"} {
		var r genResult
		if status, _ := h.json("POST", "/api/generate", map[string]any{"model": "runs/cond", "n": 2, "seed": 7, "class": class}, &r); status != 200 {
			t.Fatalf("class %v: %d", class, status)
		}
		for _, im := range r.Images {
			if im.Class != "b" {
				t.Errorf("class %v: image class %q", class, im.Class)
			}
		}
	}
}

func TestGenerateBadRequests(t *testing.T) {
	h := newHarness(t, harnessOptions{noPipeline: true})
	cases := []struct {
		name, method, ct, body string
		status                 int
	}{
		{"wrong method", "GET", "", "", 405},
		{"wrong method PUT", "PUT", "application/json", `{"model":"tiny"}`, 405},
		{"not JSON", "POST", "application/json", `model=tiny`, 400},
		{"form content type", "POST", "application/x-www-form-urlencoded", `model=tiny`, 415},
		{"empty body", "POST", "application/json", ``, 400},
		{"unknown field", "POST", "application/json", `{"model":"tiny","count":3}`, 400},
		{"two objects", "POST", "application/json", `{"model":"tiny"}{"model":"tiny"}`, 400},
		{"no model", "POST", "application/json", `{"n":1}`, 400},
		{"unknown model", "POST", "application/json", `{"model":"../../etc/passwd","n":1}`, 404},
		{"n too big", "POST", "application/json", `{"model":"tiny","n":11}`, 400},
		{"n negative", "POST", "application/json", `{"model":"tiny","n":-1}`, 400},
		{"n not a number", "POST", "application/json", `{"model":"tiny","n":"ten"}`, 400},
		{"seed too big", "POST", "application/json", `{"model":"tiny","seed":9007199254740993}`, 400},
		{"seed not integer", "POST", "application/json", `{"model":"tiny","seed":1.5}`, 400},
		{"class of unconditional", "POST", "application/json", `{"model":"tiny","class":"a"}`, 400},
		{"unknown class", "POST", "application/json", `{"model":"runs/cond","class":"zebra"}`, 400},
		{"class index out of range", "POST", "application/json", `{"model":"runs/cond","class":3}`, 400},
		{"class object", "POST", "application/json", `{"model":"runs/cond","class":{}}`, 400},
		{"truncation 0", "POST", "application/json", `{"model":"tiny","truncation":0}`, 400},
		{"huge body", "POST", "application/json", `{"model":"` + strings.Repeat("x", 70<<10) + `"}`, 413},
	}
	for _, c := range cases {
		status, hdr, body := h.do(c.method, "/api/generate", c.ct, strings.NewReader(c.body))
		if status != c.status {
			t.Errorf("%s: status %d, want %d (%s)", c.name, status, c.status, body)
		}
		isJSONError(t, c.name, hdr, body)
		if status == 405 && !strings.Contains(hdr.Get("Allow"), "POST") {
			t.Errorf("%s: Allow %q", c.name, hdr.Get("Allow"))
		}
	}
}

func TestImageAndMorphAndDirections(t *testing.T) {
	h := newHarness(t, harnessOptions{noPipeline: true})
	img, _ := fetchPNG(t, h, "/api/image?model=runs/cond&seed=3&class=c")
	if img.Bounds().Dx() != 28 {
		t.Errorf("image size %v", img.Bounds())
	}
	for _, bad := range []string{
		"/api/image?seed=1", "/api/image?model=tiny", "/api/image?model=tiny&seed=x", "/api/image?model=nope&seed=1",
		"/api/image?model=tiny&seed=1&class=a", "/api/image?model=tiny&seed=1&truncation=-1",
		"/api/image?model=tiny&seed=1&direction=smile&amount=1",
		"/api/morph?model=tiny&from=1", "/api/morph?model=tiny&from=1&to=2&frames=1", "/api/morph?model=tiny&from=1&to=2&frames=1000",
		"/api/directions", "/api/directions?model=nope",
	} {
		status, hdr, body := h.do("GET", bad, "", nil)
		if status < 400 || status > 499 {
			t.Errorf("GET %s: %d", bad, status)
		}
		isJSONError(t, bad, hdr, body)
	}
	status, hdr, body := h.do("GET", "/api/morph?model=tiny&from=1&to=2&frames=5", "", nil)
	if status != 200 || hdr.Get("Content-Type") != "image/gif" {
		t.Fatalf("morph: %d %s", status, hdr.Get("Content-Type"))
	}
	g, err := gif.DecodeAll(bytes.NewReader(body))
	if err != nil || len(g.Image) != 8 { // 5 there, 3 back
		t.Fatalf("morph GIF: %v, %d frames", err, len(g.Image))
	}
	var dirs map[string]any
	h.json("GET", "/api/directions?model=tiny", nil, &dirs)
	if l, ok := dirs["directions"].([]any); !ok || len(l) != 0 {
		t.Errorf("directions %v", dirs)
	}
}

func TestRateLimit(t *testing.T) {
	h := newHarness(t, harnessOptions{noPipeline: true, rate: 0.5, burst: 2})
	req := map[string]any{"model": "tiny", "n": 1, "seed": 1}
	for i := 0; i < 2; i++ {
		if status, _ := h.json("POST", "/api/generate", req, nil); status != 200 {
			t.Fatalf("request %d: %d", i, status)
		}
	}
	var e apiError
	status, hdr := h.json("POST", "/api/generate", req, &e)
	if status != 429 || hdr.Get("Retry-After") == "" || e.Error == "" {
		t.Errorf("third request: %d, Retry-After %q, %q", status, hdr.Get("Retry-After"), e.Error)
	}
	// Another address has its own bucket.
	if ok, _ := h.s.limit.allow("192.0.2.7", 1); !ok {
		t.Error("another address was limited")
	}
	// Cached images are served without a token.
	var res genResult
	h.s.limit = nil
	h.json("POST", "/api/generate", req, &res)
	h.s.limit = newLimiter(0.001, 1)
	h.s.limit.allow("127.0.0.1", 1)
	fetchPNG(t, h, res.Images[0].URL)
}

func TestNotFoundAndPages(t *testing.T) {
	h := newHarness(t, harnessOptions{noPipeline: true})
	for _, p := range []string{"/nope", "/api/nope", "/static/nope.js", "/static/index.html", "/api/jobs/" + store.NewID(), "/api/jobs/short", "/api/jobs/" + store.NewID() + "/aligned.png"} {
		status, hdr, body := h.do("GET", p, "", nil)
		if status != 404 {
			t.Errorf("GET %s: %d", p, status)
		}
		isJSONError(t, p, hdr, body)
	}
	for _, p := range []string{"/", "/explore", "/lookalike", "/jobs/" + store.NewID()} {
		status, hdr, body := h.do("GET", p, "", nil)
		if status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") || !bytes.Contains(body, []byte("/static/app.js")) {
			t.Errorf("GET %s: %d %s", p, status, hdr.Get("Content-Type"))
		}
		if !strings.Contains(hdr.Get("Content-Security-Policy"), "default-src 'self'") || hdr.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("GET %s: security headers missing: %v", p, hdr)
		}
	}
	for _, p := range []string{"/static/app.js", "/static/style.css"} {
		if status, _, _ := h.do("GET", p, "", nil); status != 200 {
			t.Errorf("GET %s: %d", p, status)
		}
	}
	status, hdr, body := h.do("DELETE", "/api/models", "", nil)
	if status != 405 {
		t.Errorf("DELETE /api/models: %d", status)
	}
	isJSONError(t, "DELETE /api/models", hdr, body)
}

func TestAdmin(t *testing.T) {
	off := newHarness(t, harnessOptions{noPipeline: true})
	status, hdr, body := off.do("POST", "/api/models/rescan", "", nil)
	if status != 403 {
		t.Errorf("rescan with the admin API off: %d", status)
	}
	isJSONError(t, "admin off", hdr, body)

	h := newHarness(t, harnessOptions{noPipeline: true, admin: "s3cret"})
	auth := []string{"Authorization", "Bearer s3cret"}
	for _, hv := range [][]string{nil, {"Authorization", "Bearer wrong"}, {"Authorization", "s3cret"}} {
		status, _, _ := h.do("PATCH", "/api/models/tiny", "application/json", strings.NewReader(`{"hidden":true}`), hv...)
		if status != 401 {
			t.Errorf("PATCH with %v: %d", hv, status)
		}
	}
	if status, _, b := h.do("PATCH", "/api/models/tiny", "application/json", strings.NewReader(`{"hidden":true,"title":"Tiny"}`), auth...); status != 200 {
		t.Fatalf("PATCH: %d %s", status, b)
	}
	var list struct{ Models []modelJSON }
	h.json("GET", "/api/models", nil, &list)
	if len(list.Models) != 1 || list.Models[0].Name != "runs" {
		t.Errorf("after hiding tiny: %+v", list.Models)
	}
	if status, _ := h.json("POST", "/api/generate", map[string]any{"model": "tiny"}, nil); status != 404 {
		t.Errorf("generating from a hidden model: %d", status)
	}
	if status, _, _ := h.do("PATCH", "/api/models/nope", "application/json", strings.NewReader(`{}`), auth...); status != 404 {
		t.Errorf("PATCH unknown model: %d", status)
	}
	// A new checkpoint appears after a rescan.
	makeModel(t, filepath.Join(h.s.cfg.ModelsDir, "new.safetensors"), gan.Config{Arch: gan.DCGAN, Size: 32, Channels: 1, NZ: 4, NGF: 4, NDF: 4})
	if status, _, b := h.do("POST", "/api/models/rescan", "", nil, auth...); status != 200 || !bytes.Contains(b, []byte(`"new"`)) {
		t.Errorf("rescan: %d %s", status, b)
	}

	// Gallery.
	if status, _ := h.upload("/api/gallery", photoJPEG(t, 20, 20, 0), "name", "Ada"); status != 401 {
		t.Errorf("gallery add without token: %d", status)
	}
	var b bytes.Buffer
	{
		st, body := uploadWith(t, h, "/api/gallery", photoJPEG(t, 20, 20, 0), auth, "name", "Ada")
		if st != 201 {
			t.Fatalf("gallery add: %d %s", st, body)
		}
		b.Write(body)
	}
	var entry galleryJSON
	json.Unmarshal(b.Bytes(), &entry)
	var gl struct{ Gallery []galleryJSON }
	h.json("GET", "/api/gallery", nil, &gl)
	if len(gl.Gallery) != 1 || gl.Gallery[0].Name != "Ada" {
		t.Fatalf("gallery %+v", gl)
	}
	fetchPNG(t, h, gl.Gallery[0].URL)
	if st, _, _ := h.do("DELETE", "/api/gallery/"+entry.ID, "", nil); st != 401 {
		t.Errorf("gallery delete without token: %d", st)
	}
	if st, _, _ := h.do("DELETE", "/api/gallery/"+entry.ID, "", nil, auth...); st != 200 {
		t.Errorf("gallery delete: %d", st)
	}
	if st, _, _ := h.do("DELETE", "/api/gallery/"+entry.ID, "", nil, auth...); st != 404 {
		t.Errorf("gallery delete again: %d", st)
	}
	if _, err := os.Stat(filepath.Join(h.data, galleryDir, entry.ID+".png")); !os.IsNotExist(err) {
		t.Errorf("gallery photo left behind: %v", err)
	}
}

func uploadWith(t *testing.T, h *harness, path string, photo []byte, hdr []string, fields ...string) (int, []byte) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, _ := mw.CreateFormFile("photo", "face.jpg")
	fw.Write(photo)
	for i := 0; i+1 < len(fields); i += 2 {
		mw.WriteField(fields[i], fields[i+1])
	}
	mw.Close()
	status, _, body := h.do("POST", path, mw.FormDataContentType(), &b, hdr...)
	return status, body
}

func TestGracefulShutdown(t *testing.T) {
	h := newHarness(t, harnessOptions{noPipeline: true})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.s.Serve(ctx, ln) }()
	res, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", res, err)
	}
	res.Body.Close()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		t.Error("still serving after shutdown")
	}
}

func TestResultNames(t *testing.T) {
	r := &Results{dir: t.TempDir(), entries: map[string]store.Result{}}
	for _, k := range []string{"", "../x", "A", "a/b", "a.png", strings.Repeat("a", 33)} {
		if err := r.PutPNG(k, image.NewGray(image.Rect(0, 0, 1, 1)), "", nil); err == nil {
			t.Errorf("key %q accepted", k)
		}
	}
	if err := r.Put("data", ".sh", nil, "", nil); err == nil {
		t.Error(".sh accepted")
	}
	if err := r.PutPNG("ok_1", image.NewGray(image.Rect(0, 0, 1, 1)), "", nil); err != nil {
		t.Error(err)
	}
	if fmt.Sprint(r.Keys()) != "[ok_1]" {
		t.Errorf("keys %v", r.Keys())
	}
}

// BenchmarkGenerate64 times one POST /api/generate of 10 images from a
// 64×64 DCGAN of pytorch/examples' size (ngf = 64, nz = 100), alone.
func BenchmarkGenerate64(b *testing.B) {
	dir := b.TempDir()
	makeModel(b, filepath.Join(dir, "dcgan64.safetensors"), gan.Config{Arch: gan.DCGAN, Size: 64, Channels: 3, NZ: 100, NGF: 64, NDF: 64})
	st, err := store.Open(context.Background(), "", b.TempDir(), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	s, err := New(Config{ModelsDir: dir, DataDir: b.TempDir()}, st, nil)
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	body := []byte(`{"model":"dcgan64","n":10,"seed":1}`)
	post := func() {
		res, err := http.Post(srv.URL+"/api/generate", "application/json", bytes.NewReader(body))
		if err != nil || res.StatusCode != 200 {
			b.Fatal(res, err)
		}
		res.Body.Close()
	}
	post() // load the model
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		post()
	}
}
