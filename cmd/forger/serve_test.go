package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"forger/gan"
	"forger/optim"
)

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

func mkdir(t *testing.T, dir string) string {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
