package judge

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"forger/dataset"
	"forger/gan"
	"forger/internal/fixture"
	"forger/optim"
)

var shared struct {
	once   sync.Once
	j      *Judge
	splits *Splits
	err    error
}

// trainedJudge returns a judge trained briefly (one pass over 3,000 images)
// on Fashion-MNIST, shared by the tests, and the data's splits.
func trainedJudge(t *testing.T) (*Judge, *Splits) {
	t.Helper()
	if err := dataset.Installed(dataset.FashionMNIST); err != nil {
		fixture.Missing(t, err)
	}
	shared.once.Do(func() {
		s, err := LoadSplits(dataset.FashionMNIST, 28, 1, nil)
		if err != nil {
			shared.err = err
			return
		}
		shared.splits = s
		shared.j, shared.err = Train(context.Background(), s, TrainOptions{Epochs: 1, Limit: 3000, Seed: 1}, nil)
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.j, shared.splits
}

func TestSplits(t *testing.T) {
	_, s := trainedJudge(t)
	if s.Train.Len() != 50000 || s.HeldOut.Len() != 10000 || s.Test.Len() != 10000 || s.Name != "fashion-mnist" || len(s.Classes) != 10 {
		t.Fatalf("splits: train %d held-out %d test %d name %q classes %d", s.Train.Len(), s.HeldOut.Len(), s.Test.Len(), s.Name, len(s.Classes))
	}
}

func TestTrainedJudgeLearns(t *testing.T) {
	j, _ := trainedJudge(t)
	// One pass over 3,000 images: far from the ≥ 91% of a full judge, far
	// above chance (10%).
	if j.Cfg.TestAccuracy < 0.6 || j.Cfg.TestImages != 10000 || j.Cfg.TrainImages != 3000 {
		t.Fatalf("config after training: %+v", j.Cfg)
	}
}

// TestFDGrowsWithNoise corrupts real test images with 5 levels of pixel
// noise: the distance to other real test images must grow at every level.
func TestFDGrowsWithNoise(t *testing.T) {
	j, s := trainedJudge(t)
	const n = 1000
	ref, err := Fit(first(j.Run(s.Test.Images[:n*j.ImageSize()], nil)), FeatureDim)
	if err != nil {
		t.Fatal(err)
	}
	other := s.Test.Images[n*j.ImageSize() : 2*n*j.ImageSize()]
	prev := -1.0
	for _, sigma := range []float64{0, 0.05, 0.1, 0.2, 0.3} {
		g, err := Fit(first(j.Run(AddNoise(other, sigma, 9), nil)), FeatureDim)
		if err != nil {
			t.Fatal(err)
		}
		fd, err := FrechetDistance(g, ref)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("σ=%.2f fd=%.3f", sigma, fd)
		if fd <= prev {
			t.Errorf("fd at σ=%.2f is %.3f, not above %.3f at the previous level", sigma, fd, prev)
		}
		prev = fd
	}
}

func first(f []float32, _ []int32) []float32 { return f }

func TestEvaluate(t *testing.T) {
	j, s := trainedJudge(t)
	const n = 500
	// Held-out real images as the "generated" ones: fd is fd_real, and
	// noise moves further away.
	held := First(s.HeldOut, n)
	fake := Fake{Images: held.Images, Labels: held.Labels}
	calls := 0
	r, err := Evaluate(context.Background(), j, s, fake, func(d int) { calls += d })
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", *r)
	if r.N != n || calls != 5*n {
		t.Errorf("n %d, progress %d images, want %d and %d", r.N, calls, n, 5*n)
	}
	if r.FD != r.FDReal {
		t.Errorf("fd %v of held-out images differs from fd_real %v", r.FD, r.FDReal)
	}
	if !(r.FDReal < r.FDNoise005 && r.FDNoise005 < r.FDNoise01) {
		t.Errorf("want fd_real < fd_noise_0.05 < fd_noise_0.1, got %v %v %v", r.FDReal, r.FDNoise005, r.FDNoise01)
	}
	if r.ClassAccuracy == nil || math.Abs(*r.ClassAccuracy-r.JudgeTestAccuracy) > 0.08 || len(r.ClassAccuracyPerClass) != 10 {
		t.Errorf("class accuracy of real images %v (per class %v), judge test accuracy %v", r.ClassAccuracy, r.ClassAccuracyPerClass, r.JudgeTestAccuracy)
	}
	if r.Precision < 0.6 || r.Recall < 0.6 {
		t.Errorf("real vs real: precision %v recall %v", r.Precision, r.Recall)
	}
	if math.Abs(r.Sharpness-1) > 0.05 {
		t.Errorf("sharpness of real vs real images %v, want about 1", r.Sharpness)
	}
	var table bytes.Buffer
	if err := r.WriteTable(&table); err != nil || !strings.Contains(table.String(), "fd_noise_0.05") || !strings.Contains(table.String(), "Ankle boot") {
		t.Errorf("table: %v\n%s", err, table.String())
	}

	// An untrained conditional generator: far from real, classes at chance.
	cfg := gan.Config{Arch: gan.CDCGAN, Size: 32, Channels: 3, NZ: 16, NGF: 8, NDF: 8, Classes: j.Cfg.Classes}
	g, err := gan.NewGenerator(cfg, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	fake, err = Generate(context.Background(), g, j, n, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(fake.Images) != n*j.ImageSize() || fake.Labels[13] != 3 {
		t.Fatalf("generated %d values, label of image 13 is %d", len(fake.Images), fake.Labels[13])
	}
	bad, err := Evaluate(context.Background(), j, s, fake, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bad.FD < 3*r.FDNoise01 || *bad.ClassAccuracy > 0.4 || bad.Recall > 0.1 {
		t.Errorf("untrained generator: fd %v (noise 0.1: %v), class accuracy %v, recall %v", bad.FD, r.FDNoise01, *bad.ClassAccuracy, bad.Recall)
	}
	// No labels: no class accuracy.
	fake.Labels = nil
	if un, err := Evaluate(context.Background(), j, s, fake, nil); err != nil || un.ClassAccuracy != nil || un.ClassAccuracyPerClass != nil {
		t.Errorf("unlabelled: %v %+v", err, un)
	}
	// Generators with other classes are refused.
	cfg.Classes = []string{"a", "b"}
	g2, _ := gan.NewGenerator(cfg, rand.New(rand.NewPCG(1, 1)))
	if _, err := Generate(context.Background(), g2, j, 10, nil); err == nil {
		t.Error("a generator with other classes was accepted")
	}
	if _, err := Evaluate(context.Background(), j, s, Fake{Images: held.Images[:2*j.ImageSize()]}, nil); err == nil {
		t.Error("2 images were accepted for k=3 precision/recall")
	}

	// A done context stops each long function before its work.
	done, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Evaluate(done, j, s, Fake{Images: held.Images}, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Evaluate with a done context: %v, want context.Canceled", err)
	}
	if _, err := Generate(done, g, j, n, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Generate with a done context: %v, want context.Canceled", err)
	}
	if _, err := Nearest(done, j, held.Images, held.Images, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("Nearest with a done context: %v, want context.Canceled", err)
	}
}

func TestSaveLoad(t *testing.T) {
	j, s := trainedJudge(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "judge.safetensors")
	if err := j.Save(path); err != nil {
		t.Fatal(err)
	}
	k, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	imgs := s.Test.Images[:20*j.ImageSize()]
	fa, pa := j.Run(imgs, nil)
	fb, pb := k.Run(imgs, nil)
	for i := range fa {
		if fa[i] != fb[i] {
			t.Fatalf("feature %d differs after save and load: %v vs %v", i, fa[i], fb[i])
		}
	}
	for i := range pa {
		if pa[i] != pb[i] {
			t.Fatal("predictions differ after save and load")
		}
	}
	if k.Cfg.TestAccuracy != j.Cfg.TestAccuracy || k.Cfg.Data != "fashion-mnist" {
		t.Errorf("config after load: %+v", k.Cfg)
	}

	// Wrong kinds of file.
	if _, err := Load(filepath.Join(dir, "missing.safetensors")); !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	junk := filepath.Join(dir, "junk.safetensors")
	os.WriteFile(junk, []byte("not a safetensors file at all"), 0o644)
	if _, err := Load(junk); !errors.Is(err, ErrNotJudge) {
		t.Errorf("junk file: %v", err)
	}
	cfg := gan.Config{Arch: gan.DCGAN, Size: 28, Channels: 1, NZ: 4, NGF: 4, NDF: 4}
	rng := rand.New(rand.NewPCG(1, 2))
	g, _ := gan.NewGenerator(cfg, rng)
	d, _ := gan.NewDiscriminator(cfg, rng)
	ck := filepath.Join(dir, "model.safetensors")
	c := &gan.Checkpoint{Config: cfg, G: g, D: d, OptG: optim.NewAdam(g.Params(), 1, 0, 0), OptD: optim.NewAdam(d.Params(), 1, 0, 0)}
	if err := c.Save(ck); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(ck); !errors.Is(err, ErrNotJudge) || !strings.Contains(err.Error(), "checkpoint") {
		t.Errorf("checkpoint as judge: %v", err)
	}
}

func TestConvert(t *testing.T) {
	j, err := New(Config{Size: 28, Channels: 1, Classes: []string{"a", "b"}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Same size and channels: only 8-bit quantisation.
	src := make([]float32, 2*28*28)
	rng := rand.New(rand.NewPCG(1, 1))
	for i := range src {
		src[i] = float32(rng.Float64()*2 - 1)
	}
	out := j.Convert(src, 28, 1)
	for i, v := range out {
		if math.Abs(float64(v-src[i])) > 1.0/255+1e-6 {
			t.Fatalf("value %d: %v became %v", i, src[i], v)
		}
	}
	// 32×32 RGB of one colour: 28×28 gray of its luma.
	rgb := make([]float32, 32*32*3)
	for i := 0; i < len(rgb); i += 3 {
		rgb[i], rgb[i+1], rgb[i+2] = 1, -1, -1 // pure red
	}
	out = j.Convert(rgb, 32, 3)
	want := float32(76)/127.5 - 1 // BT.601 luma of (255,0,0) is 76
	if len(out) != 28*28 {
		t.Fatalf("converted to %d values", len(out))
	}
	for i, v := range out {
		if math.Abs(float64(v-want)) > 1e-6 {
			t.Fatalf("pixel %d: %v, want %v", i, v, want)
		}
	}
}

func TestJudgeClass(t *testing.T) {
	classes := []string{"T-shirt/top", "Trouser", "Ankle boot"}
	for name, want := range map[string]int32{"0": 0, "2": 2, "trouser": 1, "T-shirt-top": 0, "ankle_boot": 2} {
		if got, ok := judgeClass(classes, name); !ok || got != want {
			t.Errorf("%q: %d %v, want %d", name, got, ok, want)
		}
	}
	for _, name := range []string{"3", "-1", "hat"} {
		if _, ok := judgeClass(classes, name); ok {
			t.Errorf("%q accepted", name)
		}
	}
}
