package studio

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"forger/store"
)

// uploadFrom posts a job for a photo with X-Forwarded-For: from.
func (h *harness) uploadFrom(from string, photo []byte) (int, http.Header, []byte) {
	h.t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, _ := mw.CreateFormFile("photo", "p.jpg")
	fw.Write(photo)
	mw.Close()
	return h.do("POST", "/api/jobs", mw.FormDataContentType(), &b, "X-Forwarded-For", from)
}

func want429(t *testing.T, what string, status int, hdr http.Header, body []byte, sentence string) {
	t.Helper()
	var e apiError
	secs, err := strconv.Atoi(hdr.Get("Retry-After"))
	if status != 429 || err != nil || secs < 1 || json.Unmarshal(body, &e) != nil || !strings.Contains(e.Error, sentence) {
		t.Errorf("%s: %d Retry-After %q %s, want 429 saying %q", what, status, hdr.Get("Retry-After"), body, sentence)
	}
}

// Look-alike jobs have a rate limit of their own, a cap on the unfinished
// jobs of one address and one on all: each refuses with 429, Retry-After
// and a sentence; generation keeps its own budget.
func TestJobLimits(t *testing.T) {
	h := newHarness(t, harnessOptions{delay: 2 * time.Second, rate: 100, burst: 100,
		jobsPerMinute: 1, jobBurst: 3, maxQueuedPerAddress: 2, maxQueued: 4,
		trustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}})
	photo := photoJPEG(t, 60, 40, 0)
	for i := range 2 {
		if status, _, body := h.uploadFrom("198.51.100.1", photo); status != 201 {
			t.Fatalf("job %d of an address: %d %s", i+1, status, body)
		}
	}
	status, hdr, body := h.uploadFrom("198.51.100.1", photo)
	want429(t, "a third unfinished job of one address", status, hdr, body, "already has 2 look-alike jobs waiting or running")
	// Another address (through the trusted proxy) has its own cap…
	for i, from := range []string{"198.51.100.2", "198.51.100.2"} {
		if status, _, body := h.uploadFrom(from, photo); status != 201 {
			t.Fatalf("job %d of a second address: %d %s", i+1, status, body)
		}
	}
	// …but the queue holds 4 unfinished jobs in all.
	status, hdr, body = h.uploadFrom("198.51.100.3", photo)
	want429(t, "a fifth unfinished job", status, hdr, body, "the look-alike queue is full")
	// Generation is not counted against jobs, nor jobs against generation.
	if status, _ := h.json("POST", "/api/generate", map[string]any{"model": "tiny", "n": 2}, nil); status != 200 {
		t.Errorf("generate beside the jobs: %d", status)
	}

	// The rate: 3 at once, then 1 a minute — caps off.
	r := newHarness(t, harnessOptions{jobsPerMinute: 1, jobBurst: 3})
	for i := range 3 {
		if status, _, body := r.uploadFrom("", photo); status != 201 {
			t.Fatalf("job %d of the burst: %d %s", i+1, status, body)
		}
	}
	status, hdr, body = r.uploadFrom("", photo)
	want429(t, "a fourth job at once", status, hdr, body, "too many look-alike jobs from your address")
	if secs, _ := strconv.Atoi(hdr.Get("Retry-After")); secs < 30 || secs > 60 {
		t.Errorf("Retry-After %d s for 1 job a minute", secs)
	}
}

// X-Forwarded-For counts only from a trusted proxy, and then its rightmost
// address that is not a trusted proxy is the client.
func TestClientAddr(t *testing.T) {
	trusted, err := ParseTrustedProxies([]string{"10.0.0.0/8", "192.0.2.1", " "})
	if err != nil || len(trusted) != 2 {
		t.Fatalf("ParseTrustedProxies: %v %v", trusted, err)
	}
	var pe *ProxyError
	if _, err := ParseTrustedProxies([]string{"10.0.0.0/40"}); !errors.As(err, &pe) {
		t.Errorf("a bad CIDR: %v", err)
	}
	for _, c := range []struct {
		peer, xff, want string
	}{
		{"203.0.113.9:5000", "198.51.100.1", "203.0.113.9"},                  // not a proxy: XFF ignored
		{"10.1.2.3:5000", "", "10.1.2.3"},                                    // a proxy without XFF
		{"10.1.2.3:5000", "198.51.100.1", "198.51.100.1"},                    // a proxy's client
		{"10.1.2.3:5000", "6.6.6.6, 198.51.100.1, 10.9.9.9", "198.51.100.1"}, // a forged left part is skipped
		{"192.0.2.1:80", "junk, 198.51.100.7", "198.51.100.7"},
		{"192.0.2.1:80", "198.51.100.7, junk", "192.0.2.1"}, // a malformed hop: stop at the proxy
		{"10.1.2.3:5000", "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::"},
		{"[::ffff:10.1.2.3]:5000", "198.51.100.1", "198.51.100.1"},
	} {
		r := &http.Request{RemoteAddr: c.peer, Header: http.Header{}}
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if got := clientAddr(r, trusted); got != c.want {
			t.Errorf("peer %s, X-Forwarded-For %q: %s, want %s", c.peer, c.xff, got, c.want)
		}
	}
}

func TestCheckAdminToken(t *testing.T) {
	for tok, ok := range map[string]bool{"": true, "s3cret": false, "fifteen-chars!!": false, "sixteen-chars!!!": true} {
		if err := CheckAdminToken(tok); (err == nil) != ok || err != nil && !errors.Is(err, ErrAdminTokenShort) {
			t.Errorf("CheckAdminToken(%q): %v", tok, err)
		}
	}
}

// brokenPipeline fails its first step with an internal error whose text
// names a server path.
type brokenPipeline struct{ testPipeline }

const internalDetail = "open /srv/forger-secret/models/face.safetensors: permission denied"

func (p *brokenPipeline) Align(ctx context.Context, photo image.Image, out *Results) (*Face, error) {
	return nil, fmt.Errorf("loading the landmark net: %w", errors.New(internalDetail))
}

// A visitor reads sentences — in the job's reason and its steps — never
// the internal error, which the log keeps with the job's id.
func TestVisitorSeesNoInternalError(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	st, err := store.Open(ctx, "", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	id := store.NewID()
	os.MkdirAll(filepath.Join(data, uploadsDir), 0o755)
	if err := savePNG(filepath.Join(data, uploadsDir, id+".png"), image.NewGray(image.Rect(0, 0, 8, 8))); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateJob(ctx, &store.Job{ID: id, Kind: LookalikeArgs{}.Kind(), Upload: id + ".png"}, nil); err != nil {
		t.Fatal(err)
	}
	var log bytes.Buffer
	r := &Runner{Store: st, Pipeline: &brokenPipeline{}, DataDir: data, Log: slog.New(slog.NewTextHandler(&log, nil))}
	check := func(when, status string) {
		j, err := st.Job(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		shown, _ := json.Marshal(jobJSON{Status: j.Status, Reason: j.Reason, Steps: j.Steps})
		if j.Status != status || strings.Contains(string(shown), "forger-secret") || !strings.Contains(j.Reason, "internal error") ||
			!strings.Contains(j.Steps["align"].Error, "internal error") {
			t.Errorf("%s: the visitor sees %s", when, shown)
		}
		if !strings.Contains(log.String(), internalDetail) || !strings.Contains(log.String(), "job="+id) {
			t.Errorf("%s: the log lacks the error or the job id: %s", when, log.String())
		}
	}
	if err := r.Run(ctx, id, 1, 5); err == nil {
		t.Fatal("a failed run returned no error for River to retry")
	}
	check("retrying", store.StatusQueued)
	if err := r.Run(ctx, id, 5, 5); err != nil {
		t.Fatal(err)
	}
	check("failed for good", store.StatusFailed)
}

// A job's photo is deleted when the job ends, done or failed: its results
// stay until the retention, the photo is not needed again.
func TestUploadDeletedWhenJobEnds(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	for photo, want := range map[string][]byte{"done": photoJPEG(t, 40, 30, 0), "failed": flatPNG(t)} {
		status, body := h.upload("/api/jobs", want)
		if status != 201 {
			t.Fatalf("upload: %d %s", status, body)
		}
		var created struct{ ID string }
		json.Unmarshal(body, &created)
		j, _ := h.waitJob(created.ID, 30*time.Second)
		if j.Status != photo {
			t.Fatalf("job %s, want %s", j.Status, photo)
		}
		// The runner deletes the photo just after it marks the job
		// finished, so a poll can see the status a moment before.
		path := filepath.Join(h.data, uploadsDir, created.ID+".png")
		_, err := os.Stat(path)
		for deadline := time.Now().Add(5 * time.Second); err == nil && time.Now().Before(deadline); _, err = os.Stat(path) {
			time.Sleep(10 * time.Millisecond)
		}
		if !os.IsNotExist(err) {
			t.Errorf("%s job: the photo is still stored 5 s after (%v)", photo, err)
		}
	}
}

// A visitor may ask e-mail only for an address the allow-list names, and
// one address gets at most PerDay job e-mails a day.
func TestMailPolicy(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.s.cfg.Mailer.Policy.Allow = []string{"@example.com", "Ada@Lovelace.org"}
	h.s.cfg.Mailer.Policy.PerDay = 2
	photo := photoJPEG(t, 40, 30, 0)
	for _, to := range []string{"visitor@example.com", "ada@lovelace.org", "VISITOR@example.com"} {
		if status, body := h.upload("/api/jobs", photo, "email", to); status != 201 {
			t.Errorf("e-mail to %s: %d %s", to, status, body)
		}
	}
	for _, to := range []string{"victim@evil.test", "ada@example.com.evil.test", "x@notexample.com"} {
		status, body := h.upload("/api/jobs", photo, "email", to)
		var e apiError
		if status != 400 || json.Unmarshal(body, &e) != nil || !strings.Contains(e.Error, "addresses its admin allows") {
			t.Errorf("e-mail to %s: %d %s", to, status, body)
		}
	}
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	fw, _ := mw.CreateFormFile("photo", "p.jpg")
	fw.Write(photo)
	mw.WriteField("email", "visitor@EXAMPLE.com")
	mw.Close()
	status, hdr, body := h.do("POST", "/api/jobs", mw.FormDataContentType(), &b)
	want429(t, "a third e-mail to one address in a day", status, hdr, body, "sent 2 e-mails by the studio today")
	if secs, _ := strconv.Atoi(hdr.Get("Retry-After")); secs < 23*3600 {
		t.Errorf("Retry-After %d s", secs)
	}
	if status, body := h.upload("/api/jobs", photo); status != 201 {
		t.Errorf("a job without e-mail: %d %s", status, body)
	}
}
