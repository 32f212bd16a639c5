package studio

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
	"image"
	"image/gif"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"forger/picture"
	"forger/store"
	"forger/store/storetest"
)

// pngHeader is a PNG signature and an IHDR chunk claiming w×h pixels (and
// nothing else: decoding it would fail, reading its size does not).
func pngHeader(w, h uint32) []byte {
	b := []byte("\x89PNG\r\n\x1a\n")
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 6, 0, 0, 0)
	b = binary.BigEndian.AppendUint32(b, uint32(len(ihdr)))
	chunk := append([]byte("IHDR"), ihdr...)
	b = append(b, chunk...)
	b = binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(chunk))
	return b
}

func TestUploadsRefused(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	good := photoJPEG(t, 40, 30, 0)
	goodPNG := photoPNG(t, image.NewGray(image.Rect(0, 0, 30, 30)))
	big := make([]byte, MaxUploadBytes+1)
	copy(big, good)
	cases := []struct {
		name   string
		photo  []byte
		fields []string
		status int
	}{
		{"no photo", nil, nil, 400},
		{"zero-byte file", []byte{}, nil, 400},
		{"text file", []byte("hello, this is not an image at all\n"), nil, 415},
		{"HTML", []byte("<!doctype html><html><script>alert(1)</script></html>"), nil, 415},
		{"PDF", []byte("%PDF-1.4\n%âãÏÓ\n1 0 obj\n"), nil, 415},
		{"truncated JPEG", good[:len(good)/2], nil, 400},
		{"JPEG header only", good[:20], nil, 400},
		{"truncated PNG", goodPNG[:len(goodPNG)-30], nil, 400},
		{"PNG signature only", goodPNG[:8], nil, 400},
		{"PNG claiming 100000x100000", pngHeader(100000, 100000), nil, 413},
		{"PNG claiming 0x10", pngHeader(0, 10), nil, 400},
		{"oversize file", big, nil, 413},
		{"bad e-mail", good, []string{"email", "not-an-address"}, 400},
		{"e-mail header injection", good, []string{"email", "a@example.com\r\nBcc: victim@example.com"}, 400},
		{"e-mail with a name", good, []string{"email", "Ada <ada@example.com>"}, 400},
		{"e-mail too long", good, []string{"email", strings.Repeat("a", 250) + "@example.com"}, 400},
	}
	for _, c := range cases {
		status, body := h.upload("/api/jobs", c.photo, c.fields...)
		if status != c.status {
			t.Errorf("%s: status %d, want %d (%s)", c.name, status, c.status, body)
		}
		var e apiError
		if json.Unmarshal(body, &e) != nil || e.Error == "" {
			t.Errorf("%s: not a JSON error: %q", c.name, body)
		}
	}
	// Not multipart at all; wrong methods.
	for _, c := range []struct {
		method, path, ct, body string
		status                 int
	}{
		{"POST", "/api/jobs", "application/json", `{"photo":"x"}`, 400},
		{"POST", "/api/jobs", "", "", 400},
		{"GET", "/api/jobs", "", "", 405},
		{"PUT", "/api/jobs", "", "", 405},
		{"DELETE", "/api/jobs/" + store.NewID(), "", "", 405},
		{"POST", "/api/jobs/" + store.NewID(), "", "", 405},
	} {
		status, hdr, body := h.do(c.method, c.path, c.ct, strings.NewReader(c.body))
		if status != c.status {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, status, c.status)
		}
		isJSONError(t, c.method+" "+c.path, hdr, body)
	}
	// A multipart body larger than the cap is cut off by MaxBytesReader.
	var b bytes.Buffer
	b.WriteString("--X\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\n")
	b.Write(bytes.Repeat([]byte("x"), MaxUploadBytes+formOverhead+10))
	b.WriteString("\r\n--X--\r\n")
	status, hdr, body := h.do("POST", "/api/jobs", "multipart/form-data; boundary=X", &b)
	if status != 413 {
		t.Errorf("oversize form: %d %s", status, body)
	}
	isJSONError(t, "oversize form", hdr, body)
	// Nothing was queued or stored.
	if counts, _ := h.st.CountJobs(context.Background()); len(counts) != 0 {
		t.Errorf("jobs created by refused uploads: %v", counts)
	}
	if entries, _ := os.ReadDir(filepath.Join(h.data, uploadsDir)); len(entries) != 0 {
		t.Errorf("uploads stored: %v", entries)
	}
}

func TestLookalikeUnavailable(t *testing.T) {
	h := newHarness(t, harnessOptions{noPipeline: true})
	status, body := h.upload("/api/jobs", photoJPEG(t, 40, 30, 0))
	var e apiError
	if status != 503 || json.Unmarshal(body, &e) != nil || !strings.Contains(e.Error, "not available") {
		t.Errorf("POST /api/jobs without a pipeline: %d %s", status, body)
	}
}

func TestEXIFOrientation(t *testing.T) {
	for o, want := range map[int]image.Point{0: {40, 20}, 1: {40, 20}, 3: {40, 20}, 6: {20, 40}, 8: {20, 40}} {
		img, typ, err := decodePhoto(photoJPEG(t, 40, 20, o))
		if err != nil || typ != "image/jpeg" {
			t.Fatalf("orientation %d: %v %s", o, err, typ)
		}
		if got := img.Bounds().Size(); got != want {
			t.Errorf("orientation %d: %v, want %v", o, got, want)
		}
	}
	// Orientation 6 (rotate 90° clockwise): the top-left pixel of the
	// stored image is the bottom-left of the encoded one (dark red, green
	// high: y near the bottom).
	img, _, _ := decodePhoto(photoJPEG(t, 40, 20, 6))
	r, g, _, _ := img.At(0, 0).RGBA()
	if r>>8 > 40 || g>>8 < 200 {
		t.Errorf("orientation 6: top-left pixel r=%d g=%d", r>>8, g>>8)
	}
	if o := picture.Orientation([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0, 2}); o != 1 {
		t.Errorf("empty APP1: %d", o)
	}
	if o := picture.Orientation([]byte("not a jpeg")); o != 1 {
		t.Errorf("not a JPEG: %d", o)
	}
	// Big photos are stored smaller.
	img, _, err := decodePhoto(photoJPEG(t, 3000, 1000, 0))
	if err != nil || img.Bounds().Dx() != StoredMaxSide || img.Bounds().Dy() != StoredMaxSide/3 {
		t.Errorf("big photo stored as %v (%v)", img.Bounds(), err)
	}
}

func TestLookalikeJob(t *testing.T) {
	for _, db := range storetest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) { testLookalikeJob(t, db.URL) })
	}
}

func testLookalikeJob(t *testing.T, dbURL string) {
	h := newHarness(t, harnessOptions{dbURL: dbURL, delay: 150 * time.Millisecond})
	photo := photoJPEG(t, 40, 20, 6) // EXIF says: rotate
	status, body := h.upload("/api/jobs", photo, "email", "visitor@example.com")
	if status != 201 {
		t.Fatalf("POST /api/jobs: %d %s", status, body)
	}
	var created struct{ ID, Status, URL string }
	json.Unmarshal(body, &created)
	if !store.ValidID(created.ID) || created.Status != "queued" || created.URL != "/jobs/"+created.ID {
		t.Fatalf("created %+v", created)
	}
	// The stored upload: a PNG, upright, without the JPEG's EXIF.
	stored, err := os.ReadFile(filepath.Join(h.data, uploadsDir, created.ID+".png"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(stored, []byte("Exif")) {
		t.Error("the stored upload keeps EXIF")
	}
	if img, err := png.Decode(bytes.NewReader(stored)); err != nil || img.Bounds().Dx() != 20 || img.Bounds().Dy() != 40 {
		t.Errorf("stored upload: %v %v", img.Bounds(), err)
	}

	j, seen := h.waitJob(created.ID, 30*time.Second)
	if j.Status != "done" || j.Reason != "" {
		t.Fatalf("job %+v", j)
	}
	// Live status went through the steps (polling may miss short ones,
	// but with 150 ms steps it sees them).
	if strings.Join(seen, ",") != "queued,aligning,matching,rendering,done" && strings.Join(seen, ",") != "aligning,matching,rendering,done" {
		t.Errorf("statuses seen: %v", seen)
	}
	keys := make([]string, 0)
	for k := range j.Results {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "aligned,best,morph,smile,worst" {
		t.Fatalf("results %v", keys)
	}
	if r := j.Results["best"]; r.Label != "Ada" || r.Distance == nil || *r.Distance != 0.31 {
		t.Errorf("best %+v", r)
	}
	if r := j.Results["worst"]; r.Label != "Grace" || r.Distance == nil || *r.Distance != 1.25 {
		t.Errorf("worst %+v", r)
	}
	for _, step := range []string{"align", "match", "render"} {
		s := j.Steps[step]
		if s.Started.IsZero() || s.Finished.Before(s.Started) || s.MS < 100 || s.Attempt != 1 || s.Error != "" {
			t.Errorf("step %s: %+v", step, s)
		}
	}
	if j.Attempts != 1 || j.FinishedAt == nil {
		t.Errorf("attempts %d, finished %v", j.Attempts, j.FinishedAt)
	}
	for k, r := range j.Results {
		if !strings.HasPrefix(r.URL, "/api/jobs/"+j.ID+"/") {
			t.Errorf("%s url %s", k, r.URL)
		}
		status, hdr, body := h.do("GET", r.URL, "", nil)
		if status != 200 {
			t.Errorf("GET %s: %d", r.URL, status)
			continue
		}
		switch k {
		case "morph":
			if _, err := gif.DecodeAll(bytes.NewReader(body)); err != nil || hdr.Get("Content-Type") != "image/gif" {
				t.Errorf("morph: %v %s", err, hdr.Get("Content-Type"))
			}
		default:
			if _, err := png.Decode(bytes.NewReader(body)); err != nil || hdr.Get("Content-Type") != "image/png" {
				t.Errorf("%s: %v %s", k, err, hdr.Get("Content-Type"))
			}
		}
		if _, hdr, _ := h.do("GET", r.URL+"?download=1", "", nil); !strings.HasPrefix(hdr.Get("Content-Disposition"), "attachment") {
			t.Errorf("%s download: %q", k, hdr.Get("Content-Disposition"))
		}
	}
	// Only recorded results are served.
	for _, p := range []string{"/api/jobs/" + j.ID + "/" + j.ID + ".png", "/api/jobs/" + j.ID + "/..%2f..%2fuploads%2f" + j.ID + ".png", "/api/jobs/" + j.ID + "/other.png"} {
		if status, _, _ := h.do("GET", p, "", nil); status != 404 {
			t.Errorf("GET %s: %d", p, status)
		}
	}
	// The address was not confirmed: its owner was sent a link, and the
	// result waits for it to be used.
	if !strings.Contains(string(body), `"email":"confirm"`) {
		t.Errorf("created %s: no word of the confirmation", body)
	}
	msgs := h.waitMail(1)
	if len(msgs) != 1 || msgs[0].To != "visitor@example.com" || msgs[0].From != "studio@example.com" ||
		!strings.Contains(msgs[0].Data, "Subject: Confirm your e-mail address for forger") {
		t.Fatalf("confirmation mail %+v", msgs)
	}
	token := confirmToken(t, msgs[0].Data)
	time.Sleep(300 * time.Millisecond) // the runner's notify, right after done
	if m := h.smtp.messages(); len(m) != 1 {
		t.Errorf("mail before the address was confirmed: %+v", m[1:])
	}
	var pending jobJSON
	h.json("GET", "/api/jobs/"+j.ID, nil, &pending)
	if !pending.EmailUnconfirmed || pending.Emailed {
		t.Errorf("job before confirmation: email_unconfirmed %v, emailed %v", pending.EmailUnconfirmed, pending.Emailed)
	}
	// The link's page asks for a click; the click confirms, and the
	// finished job's e-mail goes out once, with the job's link.
	if status, hdr, page := h.do("GET", "/confirm?token="+token, "", nil); status != 200 || !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") ||
		!bytes.Contains(page, []byte(`id="confirm-submit"`)) {
		t.Errorf("GET /confirm: %d %s", status, hdr.Get("Content-Type"))
	}
	if m := h.smtp.messages(); len(m) != 1 {
		t.Errorf("fetching the link's page sent mail: %+v", m[1:])
	}
	var ok map[string]string
	if status, _ := h.json("POST", "/api/mail/confirm", map[string]string{"token": token}, &ok); status != 200 || ok["status"] != "confirmed" {
		t.Fatalf("confirming: %d %v", status, ok)
	}
	msgs = h.waitMail(2)
	if len(msgs) != 2 || msgs[1].To != "visitor@example.com" ||
		!strings.Contains(msgs[1].Data, "http://studio.test/jobs/"+j.ID) || !strings.Contains(msgs[1].Data, "Subject: Your forger look-alike is ready") {
		t.Errorf("mail %+v", msgs)
	}
	var again jobJSON
	h.json("GET", "/api/jobs/"+j.ID, nil, &again)
	if !again.Emailed || again.EmailUnconfirmed {
		t.Errorf("job after confirmation: emailed %v, email_unconfirmed %v", again.Emailed, again.EmailUnconfirmed)
	}
	if bytes.Contains(mustJSON(again), []byte("visitor@example.com")) {
		t.Error("the job's JSON shows the e-mail address")
	}
	// The link works once.
	var e apiError
	if status, _ := h.json("POST", "/api/mail/confirm", map[string]string{"token": token}, &e); status != 409 || !strings.Contains(e.Error, "used already") {
		t.Errorf("the link used again: %d %q", status, e.Error)
	}
	// A confirmed address is mailed the next job's result with no new link.
	status, body = h.upload("/api/jobs", photo, "email", "Visitor@example.com")
	if status != 201 || strings.Contains(string(body), `"email"`) {
		t.Fatalf("second job: %d %s", status, body)
	}
	json.Unmarshal(body, &created)
	h.waitJob(created.ID, 30*time.Second)
	msgs = h.waitMail(3)
	if len(msgs) != 3 || !strings.Contains(msgs[2].Data, "/jobs/"+created.ID) || strings.Contains(msgs[2].Data, "confirm?token=") {
		t.Errorf("second job's mail: %+v", msgs[2:])
	}
	time.Sleep(300 * time.Millisecond)
	if m := h.smtp.messages(); len(m) != 3 {
		t.Errorf("%d mails, want 3: %+v", len(m), m)
	}
}

// confirmToken finds the token of a confirmation mail's link.
func confirmToken(t *testing.T, mail string) string {
	t.Helper()
	m := regexp.MustCompile(`http://studio\.test/confirm\?token=([A-Za-z0-9_-]{43})\r?\n`).FindStringSubmatch(mail)
	if m == nil {
		t.Fatalf("no confirmation link in %q", mail)
	}
	return m[1]
}

// Bad confirmation links are 4xx JSON errors that say what is wrong:
// malformed 400, unknown 404, used 409, expired 410.
func TestConfirmMailErrors(t *testing.T) {
	for _, db := range storetest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{dbURL: db.URL, noPipeline: true})
			ctx := context.Background()
			expired, err := h.st.CreateMailConfirmation(ctx, nil, "late@example.com", "", time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			used, _ := h.st.CreateMailConfirmation(ctx, nil, "used@example.com", "", time.Hour)
			if _, err := h.st.ConfirmMail(ctx, used); err != nil {
				t.Fatal(err)
			}
			time.Sleep(5 * time.Millisecond)
			for _, c := range []struct {
				name, body string
				status     int
				says       string
			}{
				{"malformed", `{"token":"abc"}`, 400, "not a confirmation link"},
				{"no token", `{}`, 400, "not a confirmation link"},
				{"not JSON", `token=abc`, 400, "bad JSON"},
				{"unknown field", `{"token":"` + store.NewMailToken() + `","x":1}`, 400, "bad JSON"},
				{"unknown", `{"token":"` + store.NewMailToken() + `"}`, 404, "unknown confirmation link"},
				{"used", `{"token":"` + used + `"}`, 409, "used already"},
				{"expired", `{"token":"` + expired + `"}`, 410, "expired"},
			} {
				status, hdr, body := h.do("POST", "/api/mail/confirm", "application/json", strings.NewReader(c.body))
				var e apiError
				if status != c.status || !strings.HasPrefix(hdr.Get("Content-Type"), "application/json") || json.Unmarshal(body, &e) != nil || !strings.Contains(e.Error, c.says) {
					t.Errorf("%s: %d %s, want %d saying %q", c.name, status, body, c.status, c.says)
				}
			}
			if status, _, body := h.do("GET", "/api/mail/confirm?token="+used, "", nil); status != 405 || !bytes.Contains(body, []byte(`"error"`)) {
				t.Errorf("GET /api/mail/confirm: %d %s", status, body)
			}
			if ok, _ := h.st.MailConfirmed(ctx, "late@example.com"); ok {
				t.Error("an expired link confirmed its address")
			}
			if len(h.smtp.messages()) != 0 {
				t.Errorf("bad links sent mail: %+v", h.smtp.messages())
			}
		})
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// A failed job's e-mail goes out too; an allow-listed address needs no
// confirmation.
func TestLookalikeRejected(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.s.cfg.Mailer.Policy.Allow = []string{"v@example.com"}
	status, body := h.upload("/api/jobs", flatPNG(t), "email", "v@example.com")
	if status != 201 {
		t.Fatalf("%d %s", status, body)
	}
	var created struct{ ID string }
	json.Unmarshal(body, &created)
	j, _ := h.waitJob(created.ID, 20*time.Second)
	if j.Status != "failed" || j.Reason != "no face found in the photo" || len(j.Results) != 0 {
		t.Errorf("job %+v", j)
	}
	if h.pipe.runs.Load() != 1 {
		t.Errorf("a rejected job ran %d times", h.pipe.runs.Load())
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(h.smtp.messages()) == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if m := h.smtp.messages(); len(m) != 1 || !strings.Contains(m[0].Data, "no face found") {
		t.Errorf("mail %+v", m)
	}
}

func TestLookalikeRetried(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.pipe.failFirst.Store(1)
	status, body := h.upload("/api/jobs", photoJPEG(t, 30, 30, 0))
	if status != 201 {
		t.Fatalf("%d %s", status, body)
	}
	var created struct{ ID string }
	json.Unmarshal(body, &created)
	j, _ := h.waitJob(created.ID, 30*time.Second)
	if j.Status != "done" || j.Attempts != 2 || j.Steps["align"].Attempt != 2 {
		t.Errorf("job %+v", j)
	}
}

// TestRunTwice: however often and however concurrently a job is run, and
// whatever a dead run left behind, one set of results remains.
func TestRunTwice(t *testing.T) {
	h := newHarness(t, harnessOptions{noPipeline: true})
	ctx := context.Background()
	pipe := &testPipeline{}
	runner := &Runner{Store: h.st, Pipeline: pipe, DataDir: h.data, Log: testLogger(t)}
	id := store.NewID()
	img, _, _ := decodePhoto(photoJPEG(t, 30, 30, 0))
	if err := savePNG(filepath.Join(h.data, uploadsDir, id+".png"), img); err != nil {
		t.Fatal(err)
	}
	if err := h.st.CreateJob(ctx, &store.Job{ID: id, Kind: "forger_lookalike", Upload: id + ".png"}, nil); err != nil {
		t.Fatal(err)
	}
	// What a run killed half-way leaves: its own folder, and a results
	// folder from a run that committed but died before recording it.
	dead := filepath.Join(h.data, resultsDir, "."+id+".run-dead")
	os.MkdirAll(dead, 0o755)
	os.WriteFile(filepath.Join(dead, "aligned.png"), []byte("partial"), 0o644)
	final := filepath.Join(h.data, resultsDir, id)
	os.MkdirAll(final, 0o755)
	os.WriteFile(filepath.Join(final, "stale.png"), []byte("stale"), 0o644)

	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func(attempt int) {
			defer wg.Done()
			runner.Run(ctx, id, attempt, 5)
		}(i + 1)
	}
	wg.Wait()
	// Any run that lost a race returned an error for River to retry: run
	// again until done, as River would.
	for i := 0; i < 3; i++ {
		if err := runner.Run(ctx, id, 4+i, 10); err != nil {
			t.Logf("run: %v", err)
		}
	}
	j, err := h.st.Job(ctx, id)
	if err != nil || j.Status != store.StatusDone {
		t.Fatalf("job %+v %v", j, err)
	}
	checkOneResultSet(t, h.data, j)
	runsBefore := pipe.runs.Load()
	if err := runner.Run(ctx, id, 9, 10); err != nil {
		t.Fatal(err)
	}
	if pipe.runs.Load() != runsBefore {
		t.Error("a done job ran its pipeline again")
	}
	checkOneResultSet(t, h.data, j)
}

// checkOneResultSet: results/<id>/ holds exactly the recorded files, and no
// run folder of the job is left.
func checkOneResultSet(t *testing.T, data string, j *store.Job) {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(data, resultsDir, j.ID))
	if err != nil {
		t.Fatal(err)
	}
	var got, want []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	for _, r := range j.Results {
		want = append(want, r.File)
	}
	sort.Strings(got)
	sort.Strings(want)
	if strings.Join(got, ",") != strings.Join(want, ",") || len(want) != 5 {
		t.Errorf("results folder %v, recorded %v", got, want)
	}
	if runs, _ := filepath.Glob(filepath.Join(data, resultsDir, "."+j.ID+".run-*")); len(runs) != 0 {
		t.Errorf("run folders left: %v", runs)
	}
}

func TestRetention(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	status, body := h.upload("/api/jobs", photoJPEG(t, 30, 30, 0))
	if status != 201 {
		t.Fatal(status, string(body))
	}
	var created struct{ ID string }
	json.Unmarshal(body, &created)
	h.waitJob(created.ID, 20*time.Second)
	stray := filepath.Join(h.data, resultsDir, ".strayrun")
	os.MkdirAll(stray, 0o755)
	ctx := context.Background()
	// Nothing is old enough yet.
	if n, err := Sweep(ctx, h.st, h.data, time.Hour); err != nil || n != 0 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	if _, err := os.Stat(filepath.Join(h.data, resultsDir, created.ID)); err != nil {
		t.Fatal("results swept too early")
	}
	// Everything is, with a retention in the past.
	if n, err := Sweep(ctx, h.st, h.data, -time.Minute); err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	for _, sub := range []string{uploadsDir, resultsDir} {
		if entries, _ := os.ReadDir(filepath.Join(h.data, sub)); len(entries) != 0 {
			t.Errorf("%s after the sweep: %v", sub, entries)
		}
	}
	if status, _, _ := h.do("GET", "/api/jobs/"+created.ID, "", nil); status != 404 {
		t.Errorf("swept job: %d", status)
	}
}

func TestMailer(t *testing.T) {
	for _, bad := range []string{"http://x", "smtp://", "smtp://host?from=bad", "::"} {
		if _, err := ParseSMTPURL(bad); err == nil {
			t.Errorf("ParseSMTPURL(%q) accepted", bad)
		}
	}
	m, err := ParseSMTPURL("smtp://user:pw@mail.example.com?from=studio@example.com")
	if err != nil || m.addr != "mail.example.com:25" || m.from != "studio@example.com" || m.user != "user" || strings.Contains(m.String(), "pw") {
		t.Errorf("%+v %v", m, err)
	}
	s := startSMTP(t)
	m, _ = ParseSMTPURL(s.url())
	if err := m.Send("to@example.com", "Grüße", "line 1\nline 2"); err != nil {
		t.Fatal(err)
	}
	msgs := s.messages()
	if len(msgs) != 1 || !strings.Contains(msgs[0].Data, "Subject: =?utf-8?q?") || !strings.Contains(msgs[0].Data, "line 1\r\nline 2\r\n") {
		t.Errorf("%+v", msgs)
	}
	if err := m.Send("x@example.com\r\nRCPT TO:<y@example.com>", "s", "b"); err == nil {
		t.Error("header injection accepted")
	}
}
