package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"forger/dataset"
	"forger/picture"
)

// writeTestPNGs saves real test images [from, from+n) of Fashion-MNIST as
// dir/<label>/<i>.png, as another generator's output would be laid out.
func writeTestPNGs(t *testing.T, dir string, from, n int) {
	t.Helper()
	set, err := dataset.Open(dataset.FashionMNIST, dataset.Options{Size: 28, Channels: 1, Split: "test", Limit: from + n})
	if err != nil {
		t.Fatal(err)
	}
	for i := from; i < from+n; i++ {
		p := filepath.Join(dir, fmt.Sprint(set.Labels[i]), fmt.Sprintf("%05d.png", i))
		if err := picture.WritePNG(p, picture.FromTensor(set.Image(i), 28, 1)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestJudgeTrainAndEval(t *testing.T) {
	needFashion(t)
	dir := t.TempDir()
	judgeFile := filepath.Join(dir, "judge.safetensors")
	out, stderr, code := forger(t, nil, "judge", "train", "--data", "fashion-mnist", "--out", judgeFile,
		"--limit", "2000", "--epochs", "1", "--json")
	if code != 0 {
		t.Fatalf("judge train exit %d: %s", code, stderr)
	}
	var tr struct {
		Judge        string  `json:"judge"`
		TestAccuracy float64 `json:"test_accuracy"`
		TestImages   int     `json:"test_images"`
		TrainImages  int     `json:"train_images"`
	}
	if err := json.Unmarshal([]byte(out), &tr); err != nil || tr.Judge != judgeFile || tr.TestImages != 10000 || tr.TrainImages != 2000 || tr.TestAccuracy < 0.6 {
		t.Fatalf("judge train result %q: %v", out, err)
	}

	// Real test images written as PNG class folders, as another tool
	// would write its samples: the judge recognises their classes.
	const n = 300
	imgs := filepath.Join(dir, "imgs")
	writeTestPNGs(t, imgs, 5000, n)
	out, stderr, code = forger(t, nil, "eval", "--images", imgs, "--judge", judgeFile, "--data", "fashion-mnist", "-n", fmt.Sprint(n), "--json")
	if code != 0 {
		t.Fatalf("eval exit %d: %s", code, stderr)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal([]byte(out), &raw); err != nil {
		t.Fatalf("eval output %q: %v", out, err)
	}
	var keys []string
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	want := []string{"class_accuracy", "class_accuracy_per_class", "fd", "fd_noise_0.05", "fd_noise_0.1", "fd_real", "judge_test_accuracy", "n", "precision", "recall", "sharpness"}
	if !slices.Equal(keys, want) {
		t.Fatalf("eval JSON keys %v, want %v", keys, want)
	}
	var rep struct {
		FD, FDReal, FDNoise01 float64
		ClassAccuracy         float64            `json:"class_accuracy"`
		PerClass              map[string]float64 `json:"class_accuracy_per_class"`
		N                     int                `json:"n"`
	}
	json.Unmarshal([]byte(out), &rep)
	json.Unmarshal(raw["fd"], &rep.FD)
	json.Unmarshal(raw["fd_noise_0.1"], &rep.FDNoise01)
	if rep.ClassAccuracy < 0.6 || rep.N != n || len(rep.PerClass) != 10 || rep.PerClass["Trouser"] == 0 || !(rep.FD < rep.FDNoise01) {
		t.Fatalf("eval of real images: %s", out)
	}

	// The table.
	out, _, code = forger(t, nil, "eval", "--images", imgs, "--judge", judgeFile, "-n", "100")
	if code != 0 || !strings.Contains(out, "fd_real") || !strings.Contains(out, "Ankle boot") || !strings.Contains(out, "judge_test_accuracy") {
		t.Fatalf("eval table (exit %d):\n%s", code, out)
	}

	// A checkpoint: a conditional model generates n images cycling over
	// the classes.
	run := filepath.Join(dir, "run")
	if _, stderr, code := forger(t, nil, "train", "--data", "fashion-mnist", "--model", "cdcgan", "--out", run,
		"--limit", "128", "--epochs", "1", "--batch", "32", "--ngf", "8", "--ndf", "8"); code != 0 {
		t.Fatalf("train exit %d: %s", code, stderr)
	}
	out, stderr, code = forger(t, nil, "eval", "--model", run, "--judge", judgeFile, "-n", "200", "--json")
	if code != 0 || !strings.Contains(out, `"n":200`) || strings.Contains(out, `"class_accuracy":null`) {
		t.Fatalf("eval --model (exit %d): %s %s", code, out, stderr)
	}

	// Errors: one line, non-zero exit.
	empty := filepath.Join(dir, "empty")
	os.MkdirAll(empty, 0o755)
	ckpt := filepath.Join(run, "checkpoints", "latest.safetensors")
	pngs, _ := filepath.Glob(filepath.Join(imgs, "*", "*.png"))
	if len(pngs) != n {
		t.Fatalf("%d PNGs written, want %d", len(pngs), n)
	}
	bad := [][]string{
		{"eval", "--images", imgs, "--judge", filepath.Join(dir, "missing.safetensors")},
		{"eval", "--images", imgs, "--judge", ckpt},
		{"eval", "--images", imgs, "--judge", pngs[0]},
		{"eval", "--images", imgs, "--judge", judgeFile, "--data", "mnist"},
		{"eval", "--images", empty, "--judge", judgeFile, "-n", "10"},
		{"eval", "--images", filepath.Join(dir, "nowhere"), "--judge", judgeFile, "-n", "10"},
		{"eval", "--images", imgs, "--judge", judgeFile},
		{"eval", "--images", imgs, "--model", run, "--judge", judgeFile},
		{"eval", "--model", judgeFile, "--judge", judgeFile},
		{"judge", "train", "--data", empty, "--out", filepath.Join(dir, "x.safetensors")},
		{"judge", "train", "--data", "fashion-mnist"},
	}
	for _, args := range bad {
		_, stderr, code := forger(t, nil, args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code == 0 || len(lines) != 1 || !strings.HasPrefix(lines[0], "forger: ") || strings.Contains(stderr, "goroutine") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		} else {
			t.Logf("%v: %s", args[:3], lines[0])
		}
	}
}
