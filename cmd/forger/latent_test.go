package main

import (
	"encoding/json"
	"fmt"
	"image"
	"image/gif"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"forger/dataset"
	"forger/gan"
	"forger/internal/fixture"
	"forger/judge"
	"forger/latent"
	"forger/optim"
	"forger/tensor"
)

// latTinyModel writes a random 28×28 gray DCGAN (nz 16) whose batch-norm
// statistics fit its weights, as a checkpoint.
func latTinyModel(t *testing.T, dir string) string {
	t.Helper()
	cfg := gan.Config{Arch: gan.DCGAN, Size: 28, Channels: 1, NZ: 16, NGF: 8, NDF: 8}
	g, err := gan.NewGenerator(cfg, rand.New(rand.NewPCG(7, 7)))
	if err != nil {
		t.Fatal(err)
	}
	gan.RecalibrateBN(g)
	d, err := gan.NewDiscriminator(cfg, rand.New(rand.NewPCG(8, 8)))
	if err != nil {
		t.Fatal(err)
	}
	// Give the discriminator's batch norm statistics of generated images.
	z := tensor.New(64, cfg.NZ)
	gan.SampleZ(z, rand.New(rand.NewPCG(1, 1)))
	for _, b := range []float64{1} {
		_ = b
		d.Forward(g.Forward(z, nil), nil)
	}
	ck := &gan.Checkpoint{Config: cfg, G: g, D: d, OptG: optim.NewAdam(g.Params(), 1e-3, 0.5, 0.999),
		OptD: optim.NewAdam(d.Params(), 1e-3, 0.5, 0.999), TrainState: "{}"}
	p := filepath.Join(dir, "tiny.safetensors")
	if err := ck.Save(p); err != nil {
		t.Fatal(err)
	}
	return p
}

func latRun(t *testing.T, args ...string) string {
	t.Helper()
	out, stderr, code := forger(t, nil, args...)
	if code != 0 {
		t.Fatalf("%v: exit %d: %s", args, code, stderr)
	}
	return out
}

func latDecodePNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func latGIFFrames(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := gif.DecodeAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return len(g.Image)
}

func latSamePixels(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			r1, g1, b1, _ := a.At(x, y).RGBA()
			r2, g2, b2, _ := b.At(x, y).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 {
				return false
			}
		}
	}
	return true
}

func latWriteDirection(t *testing.T, path, attr string, v []float64) {
	t.Helper()
	d := &latent.Direction{Attribute: attr, Model: "tiny", Direction: v, Accuracy: 1, Samples: 1}
	if err := d.Write(path); err != nil {
		t.Fatal(err)
	}
}

func TestDirectionLearnAndCheck(t *testing.T) {
	dir := t.TempDir()
	model := latTinyModel(t, dir)

	// --labels: seeds labelled by the sign of z[3] give back that axis.
	var csv strings.Builder
	csv.WriteString("latent,label\n")
	z := make([]float32, 16)
	for s := 0; s < 300; s++ {
		gan.LatentForSeed(int64(s), 1, z)
		l := 0
		if z[3] > 0.2 {
			l = 1
		}
		fmt.Fprintf(&csv, "%d,%d\n", s, l)
	}
	labels := filepath.Join(dir, "labels.csv")
	os.WriteFile(labels, []byte(csv.String()), 0o644)
	dfile := filepath.Join(dir, "a.json")
	latRun(t, "direction", "learn", "--model", model, "--attribute", "a", "--labels", labels, "--out", dfile)
	d, err := latent.ReadDirection(dfile)
	if err != nil {
		t.Fatal(err)
	}
	if d.Direction[3] < 0.9 || d.Accuracy < 0.85 || d.Samples != 300 || d.Attribute != "a" {
		t.Errorf("direction from labels: d[3] = %.3f, accuracy %.3f, %d samples", d.Direction[3], d.Accuracy, d.Samples)
	}

	// --judge: a classifier of the generated images, its threshold at the
	// median so that half the faces have the "attribute".
	clfDir := filepath.Join(dir, "clf")
	for i, name := range []string{"bright", "other"} {
		latMedianJudge(t, model, filepath.Join(clfDir, name+".safetensors"), name, uint64(i+1))
	}
	bright := filepath.Join(dir, "bright.json")
	out := latRun(t, "direction", "learn", "--model", model, "--attribute", "bright", "--judge", filepath.Join(clfDir, "bright.safetensors"), "--samples", "400", "--out", bright, "--json")
	var lr struct {
		Accuracy  float64 `json:"accuracy"`
		Positives int     `json:"positives"`
	}
	if err := json.Unmarshal([]byte(out), &lr); err != nil || lr.Positives < 100 || lr.Positives > 300 || lr.Accuracy < 0.6 {
		t.Fatalf("direction learn --judge: %q %v", out, err)
	}
	out = latRun(t, "direction", "check", "--model", model, "--direction", bright, "--classifier-dir", clfDir, "-n", "30", "--strength", "3",
		"--out", filepath.Join(dir, "check.png"), "--json")
	var ck latent.CheckResult
	if err := json.Unmarshal([]byte(out), &ck); err != nil || ck.N != 30 || ck.Attribute != "bright" || len(ck.Preserved) != 1 {
		t.Fatalf("direction check: %q %v", out, err)
	}
	if ck.SuccessRate < 0.5 {
		t.Errorf("moving 3 along the learned direction added the attribute to %.0f%% only", 100*ck.SuccessRate)
	}
	// Orthogonal to another direction.
	ortho := filepath.Join(dir, "o.json")
	latRun(t, "direction", "learn", "--model", model, "--attribute", "bright", "--judge", filepath.Join(clfDir, "bright.safetensors"), "--samples", "200",
		"--orthogonal-to", dfile, "--out", ortho)
	o, err := latent.ReadDirection(ortho)
	if err != nil {
		t.Fatal(err)
	}
	var dp float64
	for i := range o.Direction {
		dp += o.Direction[i] * d.Direction[i]
	}
	if math.Abs(dp) > 1e-6 || len(o.OrthogonalTo) != 1 {
		t.Errorf("orthogonalised direction: dot %g, %v", dp, o.OrthogonalTo)
	}
}

// latMedianJudge saves a two-class judge of 28×28 gray images whose
// positive logit is a random projection of its features, with its
// threshold at the median over the model's seeds 0…399.
func latMedianJudge(t *testing.T, model, path, attr string, seed uint64) {
	t.Helper()
	j, err := judge.New(judge.Config{Data: "test", Size: 28, Channels: 1, Classes: latent.AttributeClasses(attr)}, seed)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gan.LoadGenerator(model)
	if err != nil {
		t.Fatal(err)
	}
	codes := make([]latent.Code, 400)
	for i := range codes {
		codes[i] = latent.FromSeed(g.Cfg, int64(i), 0)
	}
	imgs := latent.Render(g, codes).Clone()
	j.SetTraining(true)
	j.Body.Forward(imgs)
	j.SetTraining(false)
	feats := j.Body.Forward(imgs)
	w := j.Head.Weight.Value.Data
	clear(w[:judge.FeatureDim])
	clear(j.Head.Bias.Value.Data)
	s := make([]float64, 400)
	for i := range s {
		for k := 0; k < judge.FeatureDim; k++ {
			s[i] += float64(w[judge.FeatureDim+k] * feats.Data[i*judge.FeatureDim+k])
		}
	}
	sorted := append([]float64(nil), s...)
	sort.Float64s(sorted)
	j.Head.Bias.Value.Data[1] = float32(-sorted[200])
	if err := j.Save(path); err != nil {
		t.Fatal(err)
	}
}

func TestLatentCommandErrors(t *testing.T) {
	dir := t.TempDir()
	model := latTinyModel(t, dir)
	v := make([]float64, 16)
	v[0] = 1
	dfile := filepath.Join(dir, "d.json")
	latWriteDirection(t, dfile, "x", v)
	garbage := filepath.Join(dir, "photo.png")
	os.WriteFile(garbage, []byte("not an image"), 0o644)
	short := filepath.Join(dir, "short.json")
	os.WriteFile(short, []byte(`{"model":"m","z":[1,2,3]}`), 0o644)
	wrongDir := filepath.Join(dir, "w.json")
	latWriteDirection(t, wrongDir, "x", []float64{1, 0})
	x := filepath.Join(dir, "x")
	bad := [][]string{
		{"edit", "--seed", "1", "--direction", dfile, "--out", x + ".png"},                                               // no model
		{"morph", "--model", filepath.Join(dir, "missing.safetensors"), "--from", "1", "--to", "2", "--out", x + ".gif"}, // missing model
		{"edit", "--model", model, "--seed", "1", "--direction", dfile, "--strengths", "1:2", "--out", x + ".png"},
		{"edit", "--model", model, "--seed", "1", "--direction", dfile, "--strengths", "-3:3:0", "--out", x + ".png"},
		{"edit", "--model", model, "--latent", short, "--direction", dfile, "--out", x + ".png"},
		{"edit", "--model", model, "--seed", "1", "--direction", wrongDir, "--out", x + ".png"},
		{"edit", "--model", model, "--seed", "1", "--direction", garbage, "--out", x + ".png"},
		{"project", "--model", model, garbage, "--out", x},
		{"project", "--model", model, filepath.Join(dir, "nope.png"), "--out", x},
		{"project", "--model", model, garbage, "--init", "encoder", "--out", x},
		{"project", "--model", model, garbage, "--loss", "l1", "--out", x},
		{"project", "--model", model, garbage, "--optimizer", "sgd", "--out", x},
		{"morph", "--model", model, "--from", "1", "--to", garbage, "--out", x + ".gif"},
		{"morph", "--model", model, "--from", "1", "--to", short, "--out", x + ".gif"},
		{"morph", "--model", model, "--from", "1", "--to", "2", "--out", x + ".txt"},
		{"blend", "--model", model, "1", "--out", x + ".png"},
		{"blend", "--model", model, "1", "2", "--weight", "2", "--out", x + ".png"},
		{"direction", "learn", "--model", model, "--attribute", "a", "--out", x + ".json"},
		{"direction", "check", "--model", model, "--direction", dfile, "--classifier-dir", dir},
		{"encoder", "train", "--model", garbage, "--out", x + ".safetensors"},
		{"encoder", "train", "--model", model, "--iterations", "0", "--out", x + ".safetensors"},
		{"encoder", "train", "--model", model, "--photo-like", "--out", x + ".safetensors"},
		{"attribute", "train", "--data", dir, "--attribute", "mustache", "--out", x + ".safetensors"},
	}
	for _, args := range bad {
		_, stderr, code := forger(t, nil, args...)
		lines := strings.Split(strings.TrimSpace(stderr), "\n")
		if code == 0 || len(lines) != 1 || !strings.HasPrefix(lines[0], "forger: ") || strings.Contains(stderr, "goroutine") {
			t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
		}
	}
	if _, err := os.Stat(x); err == nil {
		t.Error("a failed command left its output")
	}
	for _, ext := range []string{".png", ".gif", ".json", ".safetensors"} {
		if _, err := os.Stat(x + ext); err == nil {
			t.Errorf("a failed command left %s", x+ext)
		}
	}
}

func TestAttributeTrain(t *testing.T) {
	data := dataset.CartoonDir(64, false)
	if _, err := os.Stat(filepath.Join(data, "attributes.csv")); err != nil {
		fixture.Missing(t, "cartoon-faces is not rendered (forger data get cartoon-faces)")
	}
	clf := filepath.Join(t.TempDir(), "male.safetensors")
	out := latRun(t, "attribute", "train", "--data", data, "--attribute", "male", "--size", "28", "--channels", "1",
		"--limit", "400", "--epochs", "1", "--out", clf, "--json")
	var r struct {
		Attribute  string  `json:"attribute"`
		TestImages int     `json:"test_images"`
		Train      int     `json:"train_images"`
		Balanced   float64 `json:"balanced_accuracy"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || r.Attribute != "male" || r.TestImages != 40 || r.Train != 360 || r.Balanced < 0 || r.Balanced > 1 {
		t.Fatalf("attribute train: %q %v", out, err)
	}
	c, err := latent.LoadClassifier(clf, "")
	if err != nil || c.Attribute != "male" {
		t.Fatalf("classifier: %+v %v", c, err)
	}
	_, stderr, code := forger(t, nil, "attribute", "train", "--data", data, "--attribute", "beardiness", "--limit", "100", "--out", clf+"2")
	if code == 0 || !strings.Contains(stderr, "no 0/1 attribute") {
		t.Errorf("unknown attribute: exit %d, %q", code, stderr)
	}
}
