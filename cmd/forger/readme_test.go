package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"forger/gan"
)

// TestREADMECommands runs the commands of the README that fit CI's time, as
// a new user would type them after reading it (issue 23, item 8): each
// synopsis must still be in README.md word for word, and the concrete
// command run fills its placeholders (RUN_DIR, CKPT, JUDGE, …) and adds
// only what makes it small (--limit, --epochs, widths, -n). The files the
// README promises are checked too. The README's other commands are logged
// at the end: the ones too slow or needing downloads.
func TestREADMECommands(t *testing.T) {
	needFashion(t)
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	runs := filepath.Join(dir, "runs")
	run := filepath.Join(runs, "fashion-cdcgan")
	judgeFile := filepath.Join(dir, "judge.safetensors")
	covered := map[string]bool{}
	step := func(synopsis string, args ...string) string {
		t.Helper()
		if !strings.Contains(string(readme), "`"+synopsis+"`") {
			t.Fatalf("the README no longer says `%s`: update this test with it", synopsis)
		}
		covered[synopsis] = true
		out, stderr, code := forger(t, nil, args...)
		if code != 0 {
			t.Fatalf("%s\n(run as: forger %s): exit %d: %s", synopsis, strings.Join(args, " "), code, stderr)
		}
		return out
	}

	if out := step("forger version", "version"); !strings.Contains(out, "gemm:") {
		t.Errorf("version: %q", out)
	}
	if out := step("forger data get fashion-mnist\\|mnist [--dir DIR]", "data", "get", "fashion-mnist"); !exists(strings.TrimSpace(lastLine(out))) {
		t.Errorf("data get fashion-mnist printed %q, not a folder", out)
	}

	// Training, and the run folder the README describes.
	step("forger train --data PATH\\|fashion-mnist\\|mnist --out RUN_DIR [flags]",
		"train", "--data", "fashion-mnist", "--out", run, "--model", "cdcgan", "--epochs", "2", "--limit", "640", "--ngf", "8", "--ndf", "8")
	// Its epochs last seconds: grids and checkpoints wait for the sample
	// clock, and the last epoch gets both.
	for _, p := range []string{"checkpoints/2e_1k_28x28.safetensors", "checkpoints/latest.safetensors", "samples/epoch_000.png",
		"samples/epoch_002.png", "metrics.jsonl", "losses.png", "progress.gif"} {
		if !exists(filepath.Join(run, p)) {
			t.Errorf("the README's run folder promises %s: missing", p)
		}
	}
	if ms, err := os.ReadFile(filepath.Join(run, "metrics.jsonl")); err != nil || len(ms) == 0 {
		t.Errorf("metrics.jsonl is empty after a run: %v", err)
	}
	ckpt := filepath.Join(run, "checkpoints", "latest.safetensors")

	gen := filepath.Join(dir, "generated")
	var files struct {
		Files []string `json:"files"`
		Grid  string   `json:"grid"`
	}
	out := step("forger generate --model CKPT [-n 10] [--seed S \\| --seeds 1-10] [--class NAME\\|INDEX] [--truncation 1.0] [--grid] [--out DIR] [--json]",
		"generate", "--model", ckpt, "-n", "10", "--class", "Sneaker", "--truncation", "1.0", "--grid", "--out", gen, "--json")
	if err := json.Unmarshal([]byte(out), &files); err != nil || len(files.Files) != 10 || !exists(files.Grid) {
		t.Errorf("generate: %q %v", out, err)
	}
	if _, stderr, code := forger(t, nil, "generate", "--model", ckpt, "--seeds", "1-10", "--class", "7", "--out", gen); code != 0 {
		t.Errorf("generate --seeds 1-10 --class 7: %s", stderr)
	}
	if out := step("forger models list [DIR]", "models", "list", runs); !strings.Contains(out, "fashion-cdcgan/2e_1k_28x28") {
		t.Errorf("models list: %q", out)
	}

	// The judge and a score.
	step("forger judge train --data fashion-mnist\\|cartoon-faces\\|DIR [--size 64] [--blur SIGMA] --out JUDGE.safetensors",
		"judge", "train", "--data", "fashion-mnist", "--out", judgeFile, "--epochs", "1", "--limit", "3000")
	var ev map[string]any
	out = step("forger eval (--model CKPT \\| --images DIR) --judge JUDGE [-n 10000] [--nearest DATA] [--attr-judge JUDGE] [--json]",
		"eval", "--model", ckpt, "--judge", judgeFile, "-n", "500", "--json")
	if err := json.Unmarshal([]byte(out), &ev); err != nil || ev["fd"] == nil {
		t.Errorf("eval: %q %v", out, err)
	}

	// An edit along a direction, as the Latent space section shows it.
	labels := filepath.Join(dir, "labels.csv")
	var csv strings.Builder
	z := make([]float32, 100)
	for s := 0; s < 200; s++ {
		gan.LatentForSeed(int64(s), 1, z)
		fmt.Fprintf(&csv, "%d,%d\n", s, map[bool]int{true: 1, false: 0}[z[0] > 0])
	}
	os.WriteFile(labels, []byte(csv.String()), 0o644)
	mustache := filepath.Join(dir, "mustache.json")
	if _, stderr, code := forger(t, nil, "direction", "learn", "--model", run, "--attribute", "mustache", "--labels", labels, "--out", mustache); code != 0 {
		t.Fatalf("direction learn: %s", stderr)
	}
	step("forger edit --seed 9 --direction mustache.json --strengths 0:3:4",
		"edit", "--seed", "9", "--direction", mustache, "--strengths", "0:3:4", "--model", run, "--class", "Sneaker", "--out", filepath.Join(dir, "edit.png"))

	step("forger bench train\\|generate [--size 64 --channels 3 --batch 64 --steps N --ngf 64 --ndf 64] [--json]",
		"bench", "generate", "--size", "32", "--channels", "1", "--batch", "8", "--steps", "2", "--ngf", "8", "--ndf", "8", "--json")

	// The studio on the run folder: one entry for the run.
	covered["forger serve --models DIR [--gallery INDEX]"] = strings.Contains(string(readme), "`forger serve --models DIR [--gallery INDEX]`")
	url, _, _ := startServe(t, "--models", runs, "--data", t.TempDir(), "--workers", "0")
	res, err := http.Get(url + "/api/models")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(body), `"name":"fashion-cdcgan"`) {
		t.Errorf("the studio's models: %s", body)
	}

	// What this test does not run, for the record.
	var skipped []string
	for _, m := range regexp.MustCompile("`(forger [^`]*)`").FindAllStringSubmatch(string(readme), -1) {
		if !covered[m[1]] && strings.ContainsAny(m[1], "[|(") {
			skipped = append(skipped, m[1])
		}
	}
	t.Logf("README synopses not run here (downloads, minutes of training, face models): %s", strings.Join(skipped, "; "))
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
