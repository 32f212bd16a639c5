package studio_test

// The browser test runs the real look-alike pipeline (package lookalike),
// which imports package studio: it lives in package studio_test and starts
// its studio with studio.NewTestStudio.

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
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

// needChromium returns the Chromium the browser tests run, or skips the
// test (fails it under FORGER_CI=1) when there is none; -short skips it.
func needChromium(t *testing.T) string {
	t.Helper()
	chromium := chromiumPath()
	if chromium == "" {
		fixture.Missing(t, "no Chromium (apt-get install chromium, or set FORGER_CHROMIUM)")
	}
	if testing.Short() {
		t.Skip("-short")
	}
	return chromium
}

// newBrowser starts headless Chromium at a phone's size; the context it
// returns ends after timeout.
func newBrowser(t *testing.T, chromium string, timeout time.Duration) context.Context {
	t.Helper()
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
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	ctx, cancel := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancel(); cancelBrowser(); cancelAlloc() })
	return ctx
}

// screenshot saves a screenshot of the page as name in dir.
func screenshot(t *testing.T, dir, name string) chromedp.Action {
	return chromedp.ActionFunc(func(ctx context.Context) error {
		var shot []byte
		if err := chromedp.FullScreenshot(&shot, 100).Do(ctx); err != nil {
			return err
		}
		p := filepath.Join(dir, name)
		t.Logf("screenshot: %s", p)
		return os.WriteFile(p, shot, 0o644)
	})
}

// TestBrowser drives the pages in headless Chromium at a phone's size:
// generate 10 images, then a look-alike job from upload to results, run by
// the real pipeline: face-api's demo photo sample6.jpg against an index of
// sample1–5.jpg, and a tiny face GAN (trained here, with a smiling
// direction) for the morph.
func TestBrowser(t *testing.T) {
	chromium := needChromium(t)
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
	ctx := newBrowser(t, chromium, 4*time.Minute)
	save := func(name string) chromedp.Action { return screenshot(t, shots, name) }
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

// TestBrowserTruncation drives the truncation control of the Generate and
// Explore pages: its slider is bounded by the model (0, the average face,
// for a stylegan; above 0 for a dcgan) and its box shows the value; another
// truncation makes other images and morphs, the same one the same; the
// stylegan's truncation 0 draws one face for every seed; and a value the
// server refuses shows the server's error, with no broken image.
func TestBrowserTruncation(t *testing.T) {
	chromium := needChromium(t)
	h := studio.NewTestStudio(t, nil)
	h.AddStyleGAN(t, "sg")
	shots := artifactDir(t)
	ctx := newBrowser(t, chromium, 3*time.Minute)
	run := func(what string, actions ...chromedp.Action) {
		t.Helper()
		if err := chromedp.Run(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	get := func(url string) []byte {
		t.Helper()
		res, err := http.Get(h.URL + url)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, err := io.ReadAll(res.Body)
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("GET %s: %d %v %.200q", url, res.StatusCode, err, b)
		}
		return b
	}
	// The page's own controls, as a visitor moves them.
	pick := func(model string) chromedp.Action {
		return chromedp.Evaluate(`(() => { const s = document.querySelector('#model'); s.value = `+strconv.Quote(model)+`; s.dispatchEvent(new Event('change')); })()`, nil)
	}
	slide := func(v string) chromedp.Action {
		return chromedp.Evaluate(`(() => { const r = document.querySelector('#truncation-range'); r.value = `+strconv.Quote(v)+`; r.dispatchEvent(new Event('input')); })()`, nil)
	}
	typeIn := func(v string) chromedp.Action {
		return chromedp.Tasks{
			chromedp.Evaluate(`document.querySelector('#truncation').value = ''`, nil),
			chromedp.SendKeys(`#truncation`, v+"\t", chromedp.ByQuery), // the tab commits it (change)
		}
	}
	var box, min, info string
	controls := chromedp.Tasks{
		chromedp.Value(`#truncation`, &box, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector('#truncation-range').min`, &min),
		chromedp.Text(`#truncation-info`, &info, chromedp.ByQuery),
	}
	// generate clears the tiles, clicks the button and returns the images'
	// URLs and captions once all n are loaded.
	generate := func(button string, n int) (urls, captions []string) {
		t.Helper()
		run("generate with "+button,
			chromedp.Evaluate(`document.querySelector('#images').replaceChildren()`, nil),
			chromedp.Click(button, chromedp.ByQuery),
			chromedp.Poll(`(() => { const imgs = [...document.querySelectorAll('#images .tile img')];
				return imgs.length === `+strconv.Itoa(n)+` && imgs.every(i => i.complete && i.naturalWidth > 0); })()`, nil, chromedp.WithPollingTimeout(30*time.Second)),
			chromedp.Evaluate(`[...document.querySelectorAll('#images .tile img')].map(i => i.getAttribute('src'))`, &urls),
			chromedp.Evaluate(`[...document.querySelectorAll('#images .tile .seed')].map(c => c.textContent)`, &captions),
		)
		return urls, captions
	}
	// refused clicks the button and returns the error the page shows; the
	// tiles already there stay, all of them loaded pictures.
	refused := func(button string) string {
		t.Helper()
		var msg string
		var intact bool
		run("a refused value with "+button,
			chromedp.Evaluate(`document.querySelector('#gen-error').textContent = ''`, nil),
			chromedp.Click(button, chromedp.ByQuery),
			chromedp.Poll(`document.querySelector('#gen-error').textContent !== ''`, nil, chromedp.WithPollingTimeout(30*time.Second)),
			chromedp.Text(`#gen-error`, &msg, chromedp.ByQuery),
			chromedp.Evaluate(`(() => { const imgs = [...document.querySelectorAll('#images .tile img')];
				return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0); })()`, &intact),
		)
		if !intact {
			t.Errorf("after the refused value the tiles are gone or broken")
		}
		return msg
	}

	// Generate: the stylegan.
	run("generate page",
		chromedp.Navigate(h.URL+"/"),
		chromedp.WaitReady(`#model option[value="sg"]`, chromedp.ByQuery),
		pick("sg"),
		chromedp.SetValue(`#seed`, "5", chromedp.ByQuery),
		controls,
	)
	if box != "1" || min != "0" || !strings.Contains(info, "average face") {
		t.Errorf("a stylegan's control: box %q (want the API's default 1), slider from %q (want 0), %q", box, min, info)
	}
	run("slide to 0.5", slide("0.5"), controls)
	if box != "0.5" {
		t.Errorf("the slider at 0.5: the box shows %q", box)
	}
	half, caps := generate("#gen-1", 1)
	if !strings.Contains(half[0], "truncation=0.5") || caps[0] != "seed 5 · ψ 0.5" {
		t.Errorf("at 0.5: %s, %q", half[0], caps[0])
	}
	run("slide to 1", slide("1"))
	off, caps := generate("#gen-1", 1)
	if strings.Contains(off[0], "truncation") || caps[0] != "seed 5" {
		t.Errorf("at 1 (off): %s, %q", off[0], caps[0])
	}
	run("type 0.5", typeIn("0.5"), controls)
	again, _ := generate("#gen-1", 1)
	if a, b, c := get(half[0]), get(off[0]), get(again[0]); bytes.Equal(a, b) || !bytes.Equal(a, c) {
		t.Errorf("seed 5 at 0.5 and at 1: the same picture %v (want different); at 0.5 twice: the same %v (want so)", bytes.Equal(a, b), bytes.Equal(a, c))
	}
	// 0: w_avg's face, whatever the seed.
	run("type 0", typeIn("0"))
	avg, caps := generate("#gen-10", 10)
	first := get(avg[0])
	for i, u := range avg[1:] {
		if !bytes.Equal(get(u), first) {
			t.Errorf("truncation 0: seed %d's picture is not seed 5's (%q)", 6+i, caps[i+1])
		}
	}
	if bytes.Equal(first, get(half[0])) {
		t.Error("truncation 0 and 0.5 draw the same picture")
	}
	run("screenshot", screenshot(t, shots, "studio-truncation.png"))
	run("type 2.5", typeIn("2.5"))
	if msg := refused("#gen-1"); !strings.Contains(msg, "truncation must be a number in [0, 2]") {
		t.Errorf("truncation 2.5: the page says %q", msg)
	}

	// A dcgan: 0 is the stylegan's; the slider stops above it, and a typed 0
	// is the server's 400.
	run("type 0, then the dcgan", typeIn("0"), pick("tiny"), controls)
	if box != "0.05" || min != "0.05" || strings.Contains(info, "average face") {
		t.Errorf("a dcgan's control after a stylegan's 0: box %q, slider from %q (want 0.05 for both), %q", box, min, info)
	}
	run("type 0", typeIn("0"))
	if msg := refused("#gen-1"); !strings.Contains(msg, "truncation must be a number in (0, 2] for a dcgan") {
		t.Errorf("a dcgan at truncation 0: the page says %q", msg)
	}
	// Text that is no number: the page's own plain words, not the API's
	// (a JSON body would carry it as a string: "bad JSON: … cannot
	// unmarshal string …").
	const notNumber = `Truncation ψ must be a number, such as 0.7 ("lots" is not one).`
	run("type junk", typeIn("lots"))
	if msg := refused("#gen-1"); msg != notNumber {
		t.Errorf("truncation \"lots\": the page says %q, want %q", msg, notNumber)
	}
	// A number is sent as one, however it is typed.
	run("type 5e-1, then the stylegan", pick("sg"), typeIn(" 5e-1"))
	if urls, caps := generate("#gen-1", 1); !strings.Contains(urls[0], "truncation=0.5") || caps[0] != "seed 5 · ψ 0.5" {
		t.Errorf("typed 5e-1: %s, %q", urls[0], caps[0])
	}

	// Explore: the stylegan's morph and its direction's preview.
	morph := func() string {
		t.Helper()
		var src string
		run("morph",
			chromedp.Evaluate(`document.querySelector('#morph-out').replaceChildren()`, nil),
			chromedp.Click(`#morph-form button[type=submit]`, chromedp.ByQuery),
			chromedp.Poll(`(() => { const i = document.querySelector('#morph-out img'); return !!i && i.complete && i.naturalWidth > 0; })()`, nil, chromedp.WithPollingTimeout(30*time.Second)),
			chromedp.Evaluate(`document.querySelector('#morph-out img').getAttribute('src')`, &src),
		)
		return src
	}
	run("explore page",
		chromedp.Navigate(h.URL+"/explore"),
		chromedp.WaitReady(`#model option[value="sg"]`, chromedp.ByQuery),
		pick("sg"),
		chromedp.WaitReady(`#dir-smile`, chromedp.ByQuery),
		chromedp.SetValue(`#frames`, "3", chromedp.ByQuery),
		controls,
	)
	if box != "1" || min != "0" {
		t.Errorf("explore, a stylegan's control: box %q, slider from %q", box, min)
	}
	m1 := morph()
	run("slide to 0.5", slide("0.5"))
	mHalf := morph()
	run("type 0.5", typeIn("0.5"))
	mAgain := morph()
	if !strings.Contains(mHalf, "truncation=0.5") {
		t.Errorf("morph at 0.5: %s", mHalf)
	}
	if a, b, c := get(mHalf), get(m1), get(mAgain); bytes.Equal(a, b) || !bytes.Equal(a, c) {
		t.Errorf("morphs at 0.5 and at 1: the same GIF %v (want different); at 0.5 twice: the same %v (want so)", bytes.Equal(a, b), bytes.Equal(a, c))
	}
	var morphErr string
	var left int
	run("a refused morph",
		typeIn("3"),
		chromedp.Click(`#morph-form button[type=submit]`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector('#morph-error').textContent !== ''`, nil, chromedp.WithPollingTimeout(30*time.Second)),
		chromedp.Text(`#morph-error`, &morphErr, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll('#morph-out img').length`, &left),
	)
	if !strings.Contains(morphErr, "truncation must be a number in [0, 2]") || left != 0 {
		t.Errorf("morph at truncation 3: the page says %q, %d images left", morphErr, left)
	}
	var junkErr string
	run("a morph at junk",
		typeIn("lots"),
		chromedp.Click(`#morph-form button[type=submit]`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector('#morph-error').textContent.includes('lots')`, nil, chromedp.WithPollingTimeout(30*time.Second)),
		chromedp.Text(`#morph-error`, &junkErr, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll('#morph-out img').length`, &left),
		typeIn("3"),
	)
	if junkErr != notNumber || left != 0 {
		t.Errorf("morph at truncation \"lots\": the page says %q, %d images left; want %q", junkErr, left, notNumber)
	}
	// The direction's preview: at 3 the server's error, no image; at text
	// the page's; moving the truncation slider back redraws it.
	var dirErr, src string
	var shown bool
	run("a refused preview",
		chromedp.Evaluate(`(() => { const r = document.querySelector('#dir-smile'); r.value = '1'; r.dispatchEvent(new Event('input')); })()`, nil),
		chromedp.Poll(`document.querySelector('#dir-error').textContent !== ''`, nil, chromedp.WithPollingTimeout(30*time.Second)),
		chromedp.Text(`#dir-error`, &dirErr, chromedp.ByQuery),
		chromedp.Evaluate(`!document.querySelector('#dir-out img').hidden`, &shown),
	)
	if !strings.Contains(dirErr, "truncation must be") || shown {
		t.Errorf("direction preview at truncation 3: the page says %q, image shown %v", dirErr, shown)
	}
	run("a preview at junk",
		typeIn("lots"),
		chromedp.Poll(`document.querySelector('#dir-error').textContent.includes('lots')`, nil, chromedp.WithPollingTimeout(30*time.Second)),
		chromedp.Text(`#dir-error`, &dirErr, chromedp.ByQuery),
		chromedp.Evaluate(`!document.querySelector('#dir-out img').hidden`, &shown),
	)
	if dirErr != notNumber || shown {
		t.Errorf("direction preview at truncation \"lots\": the page says %q, image shown %v; want %q", dirErr, shown, notNumber)
	}
	run("the preview redrawn",
		slide("0.5"),
		chromedp.Poll(`(() => { const i = document.querySelector('#dir-out img'); return !i.hidden && i.complete && i.naturalWidth > 0 && document.querySelector('#dir-error').textContent === ''; })()`, nil, chromedp.WithPollingTimeout(30*time.Second)),
		chromedp.Evaluate(`document.querySelector('#dir-out img').getAttribute('src')`, &src),
		screenshot(t, shots, "studio-truncation-explore.png"),
	)
	if !strings.Contains(src, "truncation=0.5") || !strings.Contains(src, "direction=smile") {
		t.Errorf("direction preview: %s", src)
	}
}
