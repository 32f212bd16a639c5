package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"log/slog"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"forger/gan"
	"forger/latent"
	"forger/optim"
	"forger/store"
	"forger/store/storetest"
	"forger/studio"
)

// The test binary doubles as forger itself when FORGER_TEST_AS_FORGER=1:
// then it runs forger's real command line (os.Args) with a test-only
// look-alike pipeline installed, so that tests can start — and kill — a
// `forger worker` process that has a pipeline to run.
func init() {
	if os.Getenv("FORGER_TEST_AS_FORGER") != "1" {
		return
	}
	delay, _ := time.ParseDuration(os.Getenv("FORGER_TEST_STEP_DELAY"))
	lookalikePipeline = func(*serveOptions, *store.Store, *slog.Logger) (studio.Pipeline, error) {
		return &stepPipeline{delay: delay}, nil
	}
	main()
	os.Exit(0)
}

// stepPipeline is a test-only look-alike pipeline: each step waits delay
// and writes small pictures.
type stepPipeline struct{ delay time.Duration }

func (p *stepPipeline) sleep(ctx context.Context) error {
	select {
	case <-time.After(p.delay):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (p *stepPipeline) Align(ctx context.Context, photo image.Image, out *studio.Results) (*studio.Face, error) {
	if err := p.sleep(ctx); err != nil {
		return nil, err
	}
	img := image.NewGray(image.Rect(0, 0, 8, 8))
	return &studio.Face{Aligned: img}, out.PutPNG("aligned", img, "", nil)
}

func (p *stepPipeline) Match(ctx context.Context, f *studio.Face, out *studio.Results) (*studio.Match, error) {
	if err := p.sleep(ctx); err != nil {
		return nil, err
	}
	m := &studio.Match{Best: studio.GalleryMatch{Name: "best", Distance: 0.1}, Worst: studio.GalleryMatch{Name: "worst", Distance: 2}}
	if err := out.PutPNG("best", f.Aligned, m.Best.Name, &m.Best.Distance); err != nil {
		return nil, err
	}
	return m, out.PutPNG("worst", f.Aligned, m.Worst.Name, &m.Worst.Distance)
}

func (p *stepPipeline) Render(ctx context.Context, f *studio.Face, m *studio.Match, out *studio.Results) error {
	if err := p.sleep(ctx); err != nil {
		return err
	}
	if err := out.PutGIF("morph", []image.Image{f.Aligned, f.Aligned}, 2, ""); err != nil {
		return err
	}
	return out.PutPNG("smile", f.Aligned, "", nil)
}

// saveModel writes an untrained checkpoint.
func saveModel(t *testing.T, path string, cfg gan.Config) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	g, err := gan.NewGenerator(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	d, err := gan.NewDiscriminator(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	ck := &gan.Checkpoint{Config: g.Cfg, G: g, D: d, OptG: optim.NewAdam(g.Params(), 1e-4, 0.5, 0.9), OptD: optim.NewAdam(d.Params(), 1e-4, 0.5, 0.9), TrainState: `{"epoch":1}`}
	if err := ck.Save(path); err != nil {
		t.Fatal(err)
	}
}

// startServe runs `forger serve` on a free port and returns its URL.
func startServe(t *testing.T, args ...string) (string, *exec.Cmd, *bytes.Buffer) {
	t.Helper()
	return startServeEnv(t, nil, args...)
}

// startServeEnv is startServe with more environment variables (later ones
// win: FORGER_HOME=… replaces the empty home).
func startServeEnv(t *testing.T, env []string, args ...string) (string, *exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	cmd.Env = append(append(os.Environ(), "FORGER_GEMM=go", "FORGER_HOME="+t.TempDir()), env...)
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var log bytes.Buffer
	found := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		re := regexp.MustCompile(`url=(http://\S+)`)
		for sc.Scan() {
			log.WriteString(sc.Text() + "\n")
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				found <- m[1]
			}
		}
		close(found)
	}()
	select {
	case u, ok := <-found:
		if !ok {
			t.Fatalf("forger serve exited: %s", log.String())
		}
		return u, cmd, &log
	case <-time.After(30 * time.Second):
		t.Fatalf("forger serve did not start: %s", log.String())
	}
	return "", nil, nil
}

func TestServeCommand(t *testing.T) {
	models := t.TempDir()
	model := filepath.Join(models, "small.safetensors")
	saveModel(t, model, gan.Config{Arch: gan.DCGAN, Size: 32, Channels: 3, NZ: 8, NGF: 8, NDF: 8})
	data := t.TempDir()
	url, cmd, log := startServe(t, "--models", models, "--data", data, "--workers", "0", "--rate", "0")
	// FORGER_HOME is empty: no face models, so no look-alike jobs (and the
	// log says how to get them), but the studio serves the rest.
	if !strings.Contains(log.String(), "face models are missing") || !strings.Contains(log.String(), "bash scripts/face/get-models.sh") {
		t.Errorf("the startup log does not say why look-alike is unavailable: %s", log)
	}
	res, err := http.Get(url + "/healthz")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", res, err)
	}
	res.Body.Close()

	// The same seeds give the same pictures as forger generate.
	out := t.TempDir()
	if _, stderr, code := forger(t, nil, "generate", "--model", model, "--seed", "5", "-n", "3", "--out", out); code != 0 {
		t.Fatalf("generate: %s", stderr)
	}
	body, _ := json.Marshal(map[string]any{"model": "small", "n": 3, "seed": 5})
	res, err = http.Post(url+"/api/generate", "application/json", bytes.NewReader(body))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("generate: %v %v", res, err)
	}
	var gen struct {
		Images []struct {
			Seed int64
			URL  string
		}
	}
	json.NewDecoder(res.Body).Decode(&gen)
	res.Body.Close()
	if len(gen.Images) != 3 {
		t.Fatalf("images %+v", gen)
	}
	for _, im := range gen.Images {
		res, err := http.Get(url + im.URL)
		if err != nil {
			t.Fatal(err)
		}
		got, err := png.Decode(res.Body)
		res.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(filepath.Join(out, fmt.Sprintf("seed%04d.png", im.Seed)))
		if err != nil {
			t.Fatal(err)
		}
		want, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !samePixels(got, want) {
			t.Errorf("seed %d: serve and generate disagree", im.Seed)
		}
	}
	// No face models: look-alike jobs are refused with 503.
	res, err = http.Post(url+"/api/jobs", "multipart/form-data; boundary=x", strings.NewReader("--x--\r\n"))
	if err != nil || res.StatusCode != 503 {
		t.Errorf("POST /api/jobs: %v %v", res, err)
	} else {
		res.Body.Close()
	}
	// SIGTERM: a clean stop.
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("forger serve after SIGTERM: %v\n%s", err, log)
		}
	case <-time.After(20 * time.Second):
		t.Error("forger serve did not stop on SIGTERM")
	}
}

// TestServeLookalike runs the whole look-alike path through the command
// line: forger face index makes a gallery of face-api's demo photos
// sample1–5.jpg, forger serve --gallery picks the only RGB model (in a run
// folder with a smiling direction) for the morph, and a job for
// sample6.jpg, a photo not in the gallery, ends with every result.
func TestServeLookalike(t *testing.T) {
	faces := faceModels(t)
	home := t.TempDir() // FORGER_HOME with the real face models
	mkdir(t, filepath.Join(home, "models"))
	if err := os.Symlink(faces, filepath.Join(home, "models", "face")); err != nil {
		t.Fatal(err)
	}
	env := []string{"FORGER_HOME=" + home}
	people := mkdir(t, filepath.Join(t.TempDir(), "people"))
	for i, name := range []string{"Ada", "Bea", "Cleo", "Dana", "Eve"} {
		src := filepath.Join(faces, fmt.Sprintf("sample%d.jpg", i+1))
		needFile(t, src, "bash scripts/face/get-models.sh")
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(people, name+".jpg"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	needFile(t, filepath.Join(faces, "sample6.jpg"), "bash scripts/face/get-models.sh")
	db := filepath.Join(t.TempDir(), "gallery.db")
	if out, stderr, code := forger(t, env, "face", "index", people, "--db", db); code != 0 || !strings.Contains(out, "5 faces of 5 people") {
		t.Fatalf("face index: exit %d %s %s", code, out, stderr)
	}
	models := t.TempDir()
	saveModel(t, filepath.Join(mkdir(t, filepath.Join(models, "faces", "checkpoints")), "1e_0k_32x32.safetensors"),
		gan.Config{Arch: gan.DCGAN, Size: 32, Channels: 3, NZ: 8, NGF: 8, NDF: 8})
	saveModel(t, filepath.Join(models, "gray.safetensors"), gan.Config{Arch: gan.DCGAN, Size: 28, Channels: 1, NZ: 8, NGF: 8, NDF: 8})
	dir := &latent.Direction{Attribute: "smiling", Direction: []float64{1, 2, 3, 4, 5, 6, 7, 8}, Accuracy: 0.9}
	if err := dir.Write(filepath.Join(mkdir(t, filepath.Join(models, "faces", "directions")), "smiling.json")); err != nil {
		t.Fatal(err)
	}
	url, _, log := startServeEnv(t, env, "--models", models, "--data", t.TempDir(), "--gallery", db, "--rate", "0")
	for _, want := range []string{"face GAN for the morph", "faces/1e_0k_32x32", "its run has directions/smiling.json",
		"lookalike=\"yes (2 workers here; gallery: index " + db + " (5 faces of 5 people)", "smile: yes",
		"directions=\"yes (1 of 2 models have learned directions"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the startup log does not say %q:\n%s", want, log)
		}
	}
	var caps map[string]bool
	getJSON(t, url+"/api/capabilities", &caps)
	if !caps["lookalike"] || !caps["directions"] {
		t.Errorf("capabilities %v", caps)
	}
	var dirs struct{ Directions []string }
	getJSON(t, url+"/api/directions?model=faces/1e_0k_32x32", &dirs)
	if strings.Join(dirs.Directions, ",") != "smiling" {
		t.Errorf("directions %v", dirs)
	}

	photo, err := os.ReadFile(filepath.Join(faces, "sample6.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("photo", "me.jpg")
	fw.Write(photo)
	mw.Close()
	res, err := http.Post(url+"/api/jobs", mw.FormDataContentType(), &body)
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("POST /api/jobs: %v %v", res, err)
	}
	var job struct {
		ID      string
		Status  string
		Reason  string
		Steps   map[string]struct{ MS int64 }
		Results map[string]struct {
			URL      string
			Label    string
			Distance *float64
		}
	}
	json.NewDecoder(res.Body).Decode(&job)
	res.Body.Close()
	deadline := time.Now().Add(2 * time.Minute)
	for job.Status != "done" && job.Status != "failed" && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		getJSON(t, url+"/api/jobs/"+job.ID, &job)
	}
	if job.Status != "done" {
		t.Fatalf("job %s: %s", job.Status, job.Reason)
	}
	var keys []string
	for k := range job.Results {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "aligned,best,morph,projection,smile,worst" {
		t.Errorf("results %v", keys)
	}
	best, worst := job.Results["best"], job.Results["worst"]
	if best.Distance == nil || worst.Distance == nil || best.Label == worst.Label || *best.Distance >= *worst.Distance {
		t.Errorf("best %+v, worst %+v", best, worst)
	}
	t.Logf("best %s %.3f, worst %s %.3f; steps %+v", best.Label, *best.Distance, worst.Label, *worst.Distance, job.Steps)
	for k, r := range job.Results {
		res, err := http.Get(url + r.URL)
		if err != nil || res.StatusCode != 200 {
			t.Errorf("%s: %v %v", k, res, err)
			continue
		}
		res.Body.Close()
	}
	// A photo with no face: the job fails with a reason for the visitor.
	body.Reset()
	mw = multipart.NewWriter(&body)
	fw, _ = mw.CreateFormFile("photo", "wall.png")
	wall := image.NewNRGBA(image.Rect(0, 0, 200, 150))
	for i := range wall.Pix {
		wall.Pix[i] = uint8(i * 31)
	}
	png.Encode(fw, wall)
	mw.Close()
	res, err = http.Post(url+"/api/jobs", mw.FormDataContentType(), &body)
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("POST /api/jobs: %v %v", res, err)
	}
	json.NewDecoder(res.Body).Decode(&job)
	res.Body.Close()
	for job.Status != "done" && job.Status != "failed" && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		getJSON(t, url+"/api/jobs/"+job.ID, &job)
	}
	if job.Status != "failed" || job.Reason != "no face found in the photo" {
		t.Errorf("a photo without a face: %s (%s)", job.Status, job.Reason)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func samePixels(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	for y := a.Bounds().Min.Y; y < a.Bounds().Max.Y; y++ {
		for x := a.Bounds().Min.X; x < a.Bounds().Max.X; x++ {
			if color.NRGBAModel.Convert(a.At(x, y)) != color.NRGBAModel.Convert(b.At(x, y)) {
				return false
			}
		}
	}
	return true
}

func TestServeUsage(t *testing.T) {
	if _, stderr, code := forger(t, nil, "serve"); code != 2 || !strings.Contains(stderr, "--models") {
		t.Errorf("serve without --models: %d %s", code, stderr)
	}
	// No face models (FORGER_HOME is empty): a worker, or a studio asked
	// for a gallery, stops with one line saying how to get them.
	for _, args := range [][]string{
		{"worker", "--data", t.TempDir()},
		{"serve", "--models", t.TempDir(), "--data", t.TempDir(), "--gallery", filepath.Join(t.TempDir(), "g.db")},
	} {
		_, stderr, code := forger(t, nil, args...)
		if lines := strings.Split(strings.TrimSpace(stderr), "\n"); code != 1 || !strings.Contains(lines[len(lines)-1], "face models are missing") ||
			!strings.Contains(lines[len(lines)-1], "bash scripts/face/get-models.sh") {
			t.Errorf("%v without face models: %d %s", args[0], code, stderr)
		}
	}
	if _, stderr, code := forger(t, nil, "serve", "--models", t.TempDir(), "--data", t.TempDir(), "--face-model", "nope"); code != 2 || !strings.Contains(stderr, `--face-model "nope": no model of that name`) {
		t.Errorf("serve --face-model nope: %d %s", code, stderr)
	}
	if _, stderr, code := forger(t, nil, "serve", "--models", t.TempDir(), "--data", t.TempDir(), "--db", "mysql://x"); code != 1 || !strings.Contains(stderr, "unsupported database URL") {
		t.Errorf("bad --db: %d %s", code, stderr)
	}
}

// TestWorkerDurability kills a `forger worker` with SIGKILL in the middle of
// 20 jobs; a second worker finishes them all — the killed runs once River's
// rescuer has found them (after --rescue-after, on the elected leader) —
// and every job ends with exactly one set of results.
func TestWorkerDurability(t *testing.T) {
	if testing.Short() {
		t.Skip("takes about half a minute")
	}
	for _, db := range storetest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) { testWorkerDurability(t, db.URL) })
	}
}

func testWorkerDurability(t *testing.T, dbURL string) {
	ctx := context.Background()
	data := t.TempDir()
	st, err := store.Open(ctx, dbURL, data, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	q, err := studio.NewQueue(st, studio.QueueConfig{})
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	ids := make([]string, n)
	photo := image.NewGray(image.Rect(0, 0, 8, 8))
	for i := range ids {
		id := store.NewID()
		ids[i] = id
		f, _ := os.Create(filepath.Join(mkdir(t, filepath.Join(data, "uploads")), id+".png"))
		png.Encode(f, photo)
		f.Close()
		err := st.CreateJob(ctx, &store.Job{ID: id, Kind: studio.LookalikeArgs{}.Kind(), Upload: id + ".png"}, func(ctx context.Context, tx *store.Tx) error {
			return q.Enqueue(ctx, tx, id)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	worker := func() (*exec.Cmd, *bytes.Buffer) {
		cmd := exec.Command(os.Args[0], "worker", "--db", dbURL, "--data", data, "--workers", "2",
			"--job-timeout", "2s", "--rescue-after", "3s")
		var log bytes.Buffer
		cmd.Stdout, cmd.Stderr = &log, &log
		cmd.Env = append(os.Environ(), "FORGER_TEST_AS_FORGER=1", "FORGER_TEST_STEP_DELAY=150ms", "FORGER_GEMM=go")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		return cmd, &log
	}
	statuses := func() map[string]string {
		out := map[string]string{}
		for _, id := range ids {
			if j, err := st.Job(ctx, id); err == nil {
				out[id] = j.Status
			}
		}
		return out
	}
	count := func(m map[string]string, pred func(string) bool) int {
		c := 0
		for _, s := range m {
			if pred(s) {
				c++
			}
		}
		return c
	}
	running := func(s string) bool {
		return s == store.StatusAligning || s == store.StatusMatching || s == store.StatusRendering
	}
	done := func(s string) bool { return s == store.StatusDone }

	start := time.Now()
	a, logA := worker()
	var interrupted []string
	for {
		m := statuses()
		if count(m, done) >= 4 && (count(m, running) >= 2 || count(m, running) >= 1 && time.Since(start) > 10*time.Second) {
			if err := a.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			a.Wait()
			for id, s := range statuses() {
				if running(s) {
					interrupted = append(interrupted, id)
				}
			}
			t.Logf("killed worker A after %v: %d done, interrupted %d", time.Since(start).Round(time.Millisecond), count(m, done), len(interrupted))
			break
		}
		if time.Since(start) > 30*time.Second {
			t.Fatalf("worker A made no progress: %v\n%s", m, logA)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(interrupted) == 0 {
		t.Fatal("no job was running when worker A was killed")
	}
	killedAt := time.Now()
	b, logB := worker()
	for {
		m := statuses()
		if count(m, done) == n {
			break
		}
		if time.Since(killedAt) > 60*time.Second {
			t.Fatalf("not all jobs done 60 s after the kill: %v\nworker B:\n%s", m, logB)
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("all %d jobs done %v after the kill", n, time.Since(killedAt).Round(time.Millisecond))
	b.Process.Signal(syscall.SIGTERM)
	b.Wait()

	retried := 0
	for _, id := range ids {
		j, err := st.Job(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Attempts > 1 {
			retried++
		}
		entries, err := os.ReadDir(filepath.Join(data, "results", id))
		if err != nil {
			t.Fatalf("job %s: %v", id, err)
		}
		var files, want []string
		for _, e := range entries {
			files = append(files, e.Name())
		}
		for _, r := range j.Results {
			want = append(want, r.File)
		}
		sort.Strings(files)
		sort.Strings(want)
		if strings.Join(files, ",") != "aligned.png,best.png,morph.gif,smile.png,worst.png" || strings.Join(files, ",") != strings.Join(want, ",") {
			t.Errorf("job %s: files %v, recorded %v", id, files, want)
		}
	}
	if runs, _ := filepath.Glob(filepath.Join(data, "results", ".*")); len(runs) != 0 {
		t.Errorf("run folders left: %v", runs)
	}
	for _, id := range interrupted {
		if j, _ := st.Job(ctx, id); j.Attempts < 2 {
			t.Errorf("interrupted job %s has %d attempts", id, j.Attempts)
		}
	}
	// River agrees: every job completed, none discarded.
	var completed int
	if err := st.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM river_job WHERE state = 'completed'").Scan(&completed); err != nil || completed != n {
		t.Errorf("River: %d completed (%v)", completed, err)
	}
	t.Logf("%d jobs ran more than once", retried)
}

func mkdir(t *testing.T, dir string) string {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
