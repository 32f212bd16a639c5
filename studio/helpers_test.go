package studio

// Test helpers: tiny checkpoints, a test-only look-alike pipeline that
// writes small files, an SMTP server on loopback, and a running studio.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"log/slog"
	"math/rand/v2"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"forger/gan"
	"forger/internal/priority"
	"forger/optim"
	"forger/picture"
	"forger/store"
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

// testModels makes a folder with an unconditional RGB model "tiny" (32×32)
// and a conditional gray one "runs/cond" (28×28, classes a, b, c).
func testModels(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	makeModel(t, filepath.Join(dir, "tiny.safetensors"), gan.Config{Arch: gan.DCGAN, Size: 32, Channels: 3, NZ: 8, NGF: 8, NDF: 8})
	makeModel(t, filepath.Join(dir, "runs", "checkpoints", "cond.safetensors"), gan.Config{Arch: gan.CDCGAN, Size: 28, Channels: 1, NZ: 8, NGF: 8, NDF: 8, Classes: []string{"a", "b", "c"}})
	return dir
}

// testPipeline is a stand-in for the face pipeline, for tests only: it
// writes small pictures derived from the photo. A photo of one flat colour
// has "no face"; failFirst makes that many runs fail with a retryable error.
type testPipeline struct {
	delay     time.Duration
	failFirst atomic.Int32
	runs      atomic.Int32
}

func (p *testPipeline) wait(ctx context.Context) error {
	select {
	case <-time.After(p.delay):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *testPipeline) Align(ctx context.Context, photo image.Image, out *Results) (*Face, error) {
	p.runs.Add(1)
	if err := p.wait(ctx); err != nil {
		return nil, err
	}
	if p.failFirst.Add(-1) >= 0 {
		return nil, io.ErrUnexpectedEOF // a transient failure
	}
	b := photo.Bounds()
	first := color.NRGBAModel.Convert(photo.At(b.Min.X, b.Min.Y))
	flat := true
	for y := b.Min.Y; y < b.Max.Y && flat; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			if color.NRGBAModel.Convert(photo.At(x, y)) != first {
				flat = false
				break
			}
		}
	}
	if flat {
		return nil, Reject("no face found in the photo")
	}
	aligned := picture.Shrink(photo, 16)
	if err := out.PutPNG("aligned", aligned, "", nil); err != nil {
		return nil, err
	}
	return &Face{Aligned: aligned, Data: b.Size()}, nil
}

func (p *testPipeline) Match(ctx context.Context, face *Face, out *Results) (*Match, error) {
	if err := p.wait(ctx); err != nil {
		return nil, err
	}
	m := &Match{Best: GalleryMatch{ID: "best", Name: "Ada", Distance: 0.31}, Worst: GalleryMatch{ID: "worst", Name: "Grace", Distance: 1.25}}
	if err := out.PutPNG("best", face.Aligned, m.Best.Name, &m.Best.Distance); err != nil {
		return nil, err
	}
	if err := out.PutPNG("worst", face.Aligned, m.Worst.Name, &m.Worst.Distance); err != nil {
		return nil, err
	}
	return m, nil
}

func (p *testPipeline) Render(ctx context.Context, face *Face, m *Match, out *Results) error {
	if err := p.wait(ctx); err != nil {
		return err
	}
	gray := image.NewGray(face.Aligned.Bounds())
	if err := out.PutGIF("morph", []image.Image{face.Aligned, gray}, 4, "you → "+m.Best.Name); err != nil {
		return err
	}
	return out.PutPNG("smile", face.Aligned, "", nil)
}

// --- SMTP ---

type mailMsg struct {
	From, To string
	Data     string
}

// smtpServer is just enough of an SMTP server on loopback for net/smtp.
type smtpServer struct {
	ln   net.Listener
	mu   sync.Mutex
	msgs []mailMsg
}

func startSMTP(t testing.TB) *smtpServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return s
}

func (s *smtpServer) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(c)
	say := func(line string) { io.WriteString(c, line+"\r\n") }
	say("220 localhost test ESMTP")
	var msg mailMsg
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		cmd := strings.ToUpper(line)
		switch {
		case strings.HasPrefix(cmd, "EHLO"):
			say("250-localhost")
			say("250 8BITMIME")
		case strings.HasPrefix(cmd, "HELO"), strings.HasPrefix(cmd, "RSET"), strings.HasPrefix(cmd, "NOOP"):
			say("250 ok")
		case strings.HasPrefix(cmd, "MAIL FROM:"):
			msg.From = addrOf(line[len("MAIL FROM:"):])
			say("250 ok")
		case strings.HasPrefix(cmd, "RCPT TO:"):
			msg.To = addrOf(line[len("RCPT TO:"):])
			say("250 ok")
		case cmd == "DATA":
			say("354 end with .")
			var b strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				b.WriteString(l)
			}
			msg.Data = b.String()
			s.mu.Lock()
			s.msgs = append(s.msgs, msg)
			s.mu.Unlock()
			msg = mailMsg{}
			say("250 queued")
		case cmd == "QUIT":
			say("221 bye")
			return
		default:
			say("502 not implemented")
		}
	}
}

// addrOf takes the address out of "<a@b> PARAM=…".
func addrOf(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '>'); i >= 0 {
		s = s[:i]
	}
	return strings.TrimPrefix(s, "<")
}

func (s *smtpServer) messages() []mailMsg {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]mailMsg(nil), s.msgs...)
}

func (s *smtpServer) url() string {
	return "smtp://" + s.ln.Addr().String() + "?from=studio@example.com"
}

// --- a running studio ---

type harness struct {
	t     testing.TB
	srv   *httptest.Server
	s     *Server
	st    *store.Store
	data  string
	pipe  *testPipeline
	smtp  *smtpServer
	queue *Queue
}

type harnessOptions struct {
	dbURL      string // "" for SQLite in a temp folder
	noPipeline bool
	admin      string
	rate       float64
	burst      int
	retention  time.Duration
	delay      time.Duration
	directions Directions
	// imageCacheBytes is the image cache's budget (0: the default).
	imageCacheBytes int64
	// jobs: the job limits (Config's JobsPerMinute, JobBurst,
	// MaxQueuedPerAddress, MaxQueued, TrustedProxies).
	jobsPerMinute       float64
	jobBurst            int
	maxQueuedPerAddress int
	maxQueued           int
	trustedProxies      []netip.Prefix
	// makePipeline, if not nil, makes the pipeline instead of testPipeline.
	makePipeline func(st *store.Store, dataDir string) Pipeline
	// gate is the Server's and the Runner's priority gate (nil: the
	// process's).
	gate *priority.Gate
}

func testLogger(t testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.DiscardHandler)
}

func newHarness(t testing.TB, o harnessOptions) *harness {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	data := t.TempDir()
	log := testLogger(t)
	st, err := store.Open(ctx, o.dbURL, data, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, st: st, data: data, smtp: startSMTP(t)}
	mailer, err := ParseSMTPURL(h.smtp.url())
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{ModelsDir: testModels(t), DataDir: data, AdminToken: o.admin, RatePerSecond: o.rate, RateBurst: o.burst,
		Retention: o.retention, Mailer: mailer, BaseURL: "http://studio.test", Directions: o.directions, ImageCacheBytes: o.imageCacheBytes, Log: log,
		JobsPerMinute: o.jobsPerMinute, JobBurst: o.jobBurst, MaxQueuedPerAddress: o.maxQueuedPerAddress, MaxQueued: o.maxQueued,
		TrustedProxies: o.trustedProxies, Gate: o.gate}
	if !o.noPipeline {
		if o.makePipeline != nil {
			cfg.Pipeline = o.makePipeline(st, data)
		} else {
			h.pipe = &testPipeline{delay: o.delay}
			cfg.Pipeline = h.pipe
		}
		runner := &Runner{Store: st, Pipeline: cfg.Pipeline, DataDir: data, Mailer: mailer, BaseURL: "http://studio.test", Log: log, Gate: o.gate}
		h.queue, err = NewQueue(st, QueueConfig{Workers: 2, Runner: runner, JobTimeout: 20 * time.Second, FetchPollInterval: 100 * time.Millisecond, Log: log})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.queue.Start(ctx); err != nil {
			t.Fatal(err)
		}
	}
	h.s, err = New(cfg, st, h.queue)
	if err != nil {
		t.Fatal(err)
	}
	h.srv = httptest.NewServer(h.s)
	t.Cleanup(func() {
		h.srv.Close()
		if h.queue != nil {
			sctx, c := context.WithTimeout(context.Background(), 10*time.Second)
			h.queue.Stop(sctx)
			c()
		}
		cancel()
		st.Close()
	})
	return h
}

// do sends a request and returns the status, headers and body.
func (h *harness) do(method, path, contentType string, body io.Reader, hdr ...string) (int, http.Header, []byte) {
	h.t.Helper()
	req, err := http.NewRequest(method, h.srv.URL+path, body)
	if err != nil {
		h.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	return res.StatusCode, res.Header, b
}

// json sends v as JSON (nil: no body) and decodes the answer into out.
func (h *harness) json(method, path string, v any, out any, hdr ...string) (int, http.Header) {
	h.t.Helper()
	var body io.Reader
	ct := ""
	if v != nil {
		b, _ := json.Marshal(v)
		body, ct = bytes.NewReader(b), "application/json"
	}
	status, header, b := h.do(method, path, ct, body, hdr...)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			h.t.Fatalf("%s %s: %d %q is not JSON: %v", method, path, status, b, err)
		}
	}
	return status, header
}

// upload posts a multipart form with the file as "photo" (nil: none) and
// the given text fields.
func (h *harness) upload(path string, photo []byte, fields ...string) (int, []byte) {
	h.t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	if photo != nil {
		fw, _ := mw.CreateFormFile("photo", "../../etc/passwd.jpg") // the name is ignored
		fw.Write(photo)
	}
	for i := 0; i+1 < len(fields); i += 2 {
		mw.WriteField(fields[i], fields[i+1])
	}
	mw.Close()
	status, _, body := h.do("POST", path, mw.FormDataContentType(), &b)
	return status, body
}

// waitMail waits up to 5 s for the SMTP server to have n messages and
// returns what it has.
func (h *harness) waitMail(n int) []mailMsg {
	deadline := time.Now().Add(5 * time.Second)
	for len(h.smtp.messages()) < n && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	return h.smtp.messages()
}

// waitJob polls a job until it is finished; it returns every status seen.
func (h *harness) waitJob(id string, timeout time.Duration) (jobJSON, []string) {
	h.t.Helper()
	var seen []string
	deadline := time.Now().Add(timeout)
	for {
		var j jobJSON
		if status, _ := h.json("GET", "/api/jobs/"+id, nil, &j); status != 200 {
			h.t.Fatalf("GET job: %d", status)
		}
		if len(seen) == 0 || seen[len(seen)-1] != j.Status {
			seen = append(seen, j.Status)
		}
		if store.Finished(j.Status) {
			return j, seen
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("job %s still %s after %v (seen %v)", id, j.Status, timeout, seen)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// --- test images ---

// photoJPEG makes a w×h JPEG with a gradient (so it has a "face"); when
// orientation > 0 it carries an EXIF block with that orientation.
func photoJPEG(t testing.TB, w, h, orientation int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.NRGBA{uint8(x * 255 / w), uint8(y * 255 / h), 128, 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	data := b.Bytes()
	if orientation == 0 {
		return data
	}
	// TIFF, little-endian: IFD0 at 8 with one entry, Orientation (SHORT).
	tiff := []byte("II*\x00\x08\x00\x00\x00")
	tiff = binary.LittleEndian.AppendUint16(tiff, 1)
	tiff = binary.LittleEndian.AppendUint16(tiff, 0x0112)
	tiff = binary.LittleEndian.AppendUint16(tiff, 3)
	tiff = binary.LittleEndian.AppendUint32(tiff, 1)
	tiff = binary.LittleEndian.AppendUint16(tiff, uint16(orientation))
	tiff = append(tiff, 0, 0, 0, 0, 0, 0) // value padding, next IFD = 0
	seg := append([]byte("Exif\x00\x00"), tiff...)
	app1 := []byte{0xFF, 0xE1, byte((len(seg) + 2) >> 8), byte(len(seg) + 2)}
	app1 = append(app1, seg...)
	out := append([]byte{0xFF, 0xD8}, app1...)
	return append(out, data[2:]...)
}

func photoPNG(t testing.TB, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func flatPNG(t testing.TB) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, 20, 20))
	for i := range img.Pix {
		img.Pix[i] = 200
	}
	return photoPNG(t, img)
}
