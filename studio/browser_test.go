package studio_test

// The browser test runs the real look-alike pipeline (package lookalike),
// which imports package studio: it lives in package studio_test and starts
// its studio with studio.NewTestStudio.

import (
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"forger/gan"
	"forger/internal/fixture"
	"forger/lookalike"
	"forger/lookalike/lookaliketest"
	"forger/store"
	"forger/studio"
)

func TestMain(m *testing.M) {
	code := m.Run()
	lookaliketest.Cleanup() // the face GAN and the index of the browser test
	os.Exit(code)
}

// chromiumPath finds a headless-capable Chromium (Debian: apt-get install
// chromium), or "".
func chromiumPath() string {
	if p := os.Getenv("FORGER_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// artifactDir is where screenshots go: $FORGER_ARTIFACTS (CI keeps it),
// else a temporary folder.
func artifactDir(t *testing.T) string {
	if d := os.Getenv("FORGER_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.TempDir()
}

// TestBrowser drives the pages in headless Chromium at a phone's size:
// generate 10 images, then a look-alike job from upload to results, run by
// the real pipeline: face-api's demo photo sample6.jpg against an index of
// sample1–5.jpg, and a tiny face GAN (trained here, with a smiling
// direction) for the morph.
func TestBrowser(t *testing.T) {
	chromium := chromiumPath()
	if chromium == "" {
		fixture.Missing(t, "no Chromium (apt-get install chromium, or set FORGER_CHROMIUM)")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	index := lookaliketest.Index(t)
	model := lookaliketest.FaceGAN(t)
	g, err := gan.LoadGenerator(model)
	if err != nil {
		t.Fatal(err)
	}
	lookaliketest.WriteSmile(t, model, g.Cfg.NZ)
	photo := lookaliketest.PhotoPath(t, "sample6")
	var pipelineErr error
	h := studio.NewTestStudio(t, func(st *store.Store, data string) studio.Pipeline {
		var p *lookalike.Pipeline
		p, pipelineErr = lookalike.New(lookalike.Config{Index: index, Store: st, DataDir: data, Model: model, Log: slog.New(slog.DiscardHandler)})
		return p
	})
	if pipelineErr != nil {
		t.Fatal(pipelineErr)
	}
	shots := artifactDir(t)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // CI runs as root
		chromedp.Flag("headless", "new"),
		chromedp.WindowSize(412, 915), // a phone
		chromedp.DisableGPU,
		// Nothing but the test server on loopback: no DNS lookups at all.
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.Flag("disable-component-update", true),
		// Chromium can take half a minute to start on a busy machine.
		chromedp.WSURLReadTimeout(2*time.Minute),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 4*time.Minute)
	defer cancel()

	var shot []byte
	save := func(name string) chromedp.Action {
		return chromedp.ActionFunc(func(ctx context.Context) error {
			if err := chromedp.FullScreenshot(&shot, 100).Do(ctx); err != nil {
				return err
			}
			p := filepath.Join(shots, name)
			t.Logf("screenshot: %s", p)
			return os.WriteFile(p, shot, 0o644)
		})
	}
	const tenLoaded = `(() => { const imgs = [...document.querySelectorAll('#images .tile img')];
		return imgs.length === 10 && imgs.every(i => i.complete && i.naturalWidth > 0); })()`
	var seeds []string
	err = chromedp.Run(ctx,
		chromedp.Navigate(h.URL+"/"),
		chromedp.WaitReady(`#model option[value="tiny"]`, chromedp.ByQuery),
		chromedp.SetValue(`#model`, "tiny", chromedp.ByQuery),
		chromedp.SetValue(`#seed`, "42", chromedp.ByQuery),
		chromedp.Click(`#gen-10`, chromedp.ByQuery),
		chromedp.Poll(tenLoaded, nil, chromedp.WithPollingTimeout(30*time.Second)),
		chromedp.Evaluate(`[...document.querySelectorAll('#images .tile')].map(t => t.dataset.seed)`, &seeds),
		save("studio-generate.png"),
		// One entry per run; the box lists every checkpoint by its name.
		chromedp.WaitReady(`#model option[value="runs"]`, chromedp.ByQuery),
		chromedp.Click(`#all-checkpoints`, chromedp.ByQuery),
		chromedp.WaitReady(`#model option[value="runs/cond"]`, chromedp.ByQuery),
		chromedp.Click(`#all-checkpoints`, chromedp.ByQuery),
		chromedp.WaitReady(`#model option[value="runs"]`, chromedp.ByQuery),
	)
	if err != nil {
		t.Fatalf("generate page: %v", err)
	}
	if strings.Join(seeds, ",") != "42,43,44,45,46,47,48,49,50,51" {
		t.Errorf("seeds shown: %v", seeds)
	}

	var status, reason, captions, emailNote string
	var results []string
	err = chromedp.Run(ctx,
		chromedp.Navigate(h.URL+"/lookalike"),
		chromedp.WaitVisible(`#email-box`, chromedp.ByQuery),
		chromedp.SetUploadFiles(`#photo`, []string{photo}, chromedp.ByQuery),
		chromedp.SendKeys(`#email`, "visitor@example.com", chromedp.ByQuery),
		chromedp.Click(`#la-submit`, chromedp.ByQuery),
		chromedp.WaitVisible(`#job-status[data-status="done"], #job-status[data-status="failed"]`, chromedp.ByQuery),
		chromedp.Text(`#job-status`, &status, chromedp.ByQuery),
		chromedp.Text(`#job-reason`, &reason, chromedp.ByQuery),
		chromedp.Poll(`[...document.querySelectorAll('#job-results img')].every(i => i.complete && i.naturalWidth > 0)`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Evaluate(`[...document.querySelectorAll('#job-results figure')].map(f => f.dataset.result)`, &results),
		chromedp.Text(`#job-results`, &captions, chromedp.ByQuery),
		chromedp.Text(`#job-email`, &emailNote, chromedp.ByQuery),
		save("studio-lookalike.png"),
	)
	if err != nil {
		t.Fatalf("look-alike pages: %v", err)
	}
	if status != "Done" || strings.Join(results, ",") != "aligned,best,worst,projection,morph,smile" {
		t.Errorf("job page: status %q (%s), results %v", status, reason, results)
	}
	if !strings.Contains(captions, "Best match: sample") || !strings.Contains(captions, "From you to your match: you → sample") {
		t.Errorf("captions: %s", captions)
	}
	// The address is not confirmed: its one e-mail so far is the
	// confirmation link, and the job page says the result waits for it.
	mails := waitMails(h, 1)
	if len(mails) != 1 || mails[0].To != "visitor@example.com" || !strings.HasPrefix(mails[0].Subject, "Confirm your e-mail") {
		t.Fatalf("mails %+v", mails)
	}
	if !strings.Contains(emailNote, "once you have used it") {
		t.Errorf("job page's e-mail note: %q", emailNote)
	}
	link := studio.ConfirmPath(mails[0].Data)
	if link == "" {
		t.Fatalf("no confirmation link in %q", mails[0].Data)
	}
	var confirmed string
	err = chromedp.Run(ctx,
		chromedp.Navigate(h.URL+link),
		chromedp.WaitVisible(`#confirm-submit`, chromedp.ByQuery),
		chromedp.Click(`#confirm-submit`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector('#confirm-status').textContent + document.querySelector('#confirm-error').textContent`, nil, chromedp.WithPollingTimeout(20*time.Second)),
		chromedp.Text(`#confirm-status`, &confirmed, chromedp.ByQuery),
		save("studio-confirm.png"),
	)
	if err != nil {
		t.Fatalf("confirmation page: %v", err)
	}
	if !strings.Contains(confirmed, "your address is confirmed") {
		t.Errorf("confirmation page says %q", confirmed)
	}
	// The result's e-mail goes out once the link is used.
	if m := waitMails(h, 2); len(m) != 2 || m[1].To != "visitor@example.com" || m[1].Subject != "Your forger look-alike is ready" {
		t.Errorf("mails %+v", m)
	}
}

// waitMails waits up to 5 s for the studio to have sent n e-mails.
func waitMails(h *studio.TestStudio, n int) []studio.TestMail {
	for deadline := time.Now().Add(5 * time.Second); len(h.Mails()) < n && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
	}
	return h.Mails()
}
