package judge

import (
	"context"
	"errors"
	"math"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"forger/dataset"
)

// faceSplits renders n cartoon faces at size into a temporary folder and
// loads them as a labelled face set.
func faceSplits(t *testing.T, n, size int) (*Splits, string) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node not found: the face judge tests render cartoon faces (apt-get install nodejs npm)")
	}
	dir, err := dataset.GetCartoonFaces(context.Background(), dataset.CartoonOptions{N: n, Size: size, Seed: 11, Dir: filepath.Join(t.TempDir(), "faces")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := LoadSplits(dir, size, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

// TestFaceJudge trains a face judge on 1,200 rendered faces and checks that it
// learns the attributes, that a real sample scores a small attr_gap, and that
// a sample without hats shows the missing hats in attr_gap.
func TestFaceJudge(t *testing.T) {
	const n, size = 2400, 32
	s, dir := faceSplits(t, n, size)
	if s.Test.Len() != n/4 || s.HeldOut.Len() != n/4 || s.Train.Len() != n/2 {
		t.Fatalf("splits %d/%d/%d of %d faces, want quarters and a half", s.Test.Len(), s.HeldOut.Len(), s.Train.Len(), n)
	}
	if !slices.Equal(s.Attributes, FaceAttributes) || len(s.Classes) < 2 || len(s.TrainAttrs) != s.Train.Len()*len(FaceAttributes) {
		t.Fatalf("attributes %v, classes %v, %d train attribute values", s.Attributes, s.Classes, len(s.TrainAttrs))
	}
	j, err := Train(context.Background(), s, TrainOptions{Epochs: 10, Seed: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Glasses and hats are large shapes that 1,200 faces teach: well above
	// chance (50% balanced).
	for _, a := range []string{"glasses", "hat"} {
		if b := j.Cfg.AttrBalanced[a]; b < 0.75 {
			t.Errorf("%s: balanced held-out accuracy %.3f, want ≥ 0.75 (all: %v)", a, b, j.Cfg.AttrBalanced)
		}
	}
	if len(j.Cfg.AttrAccuracy) != len(FaceAttributes) {
		t.Errorf("accuracy of %d attributes, want %d", len(j.Cfg.AttrAccuracy), len(FaceAttributes))
	}

	// The judge survives a save and load with its attributes.
	path := filepath.Join(t.TempDir(), "face-judge.safetensors")
	if err := j.Save(path); err != nil {
		t.Fatal(err)
	}
	j2, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(j2.Cfg.Attributes, FaceAttributes) {
		t.Fatalf("loaded attributes %v", j2.Cfg.Attributes)
	}

	// Real held-out faces: close to the test faces' rates.
	m := s.HeldOut.Len()
	rep, err := Evaluate(context.Background(), j2, s, Fake{Images: s.HeldOut.Images}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.AttrGap == nil || *rep.AttrGap > 0.12 {
		t.Fatalf("real faces: attr_gap %v (gen %v, real %v), want ≤ 0.12", rep.AttrGap, rep.AttrGen, rep.AttrReal)
	}
	if _, ok := rep.AttrGen[dataset.DarkSkin]; !ok {
		t.Errorf("no %s rate in %v", dataset.DarkSkin, rep.AttrGen)
	}

	// The same number of faces, none with a hat: attr_gap shows it.
	a := len(FaceAttributes)
	hat := slices.Index(FaceAttributes, "hat")
	sz := s.Train.ImageSize()
	var noHat []float32
	for _, part := range []struct {
		set   *dataset.Set
		attrs []uint8
	}{{s.HeldOut, s.HeldOutAttrs}, {s.Train, s.TrainAttrs}} {
		for i := 0; i < part.set.Len() && len(noHat) < m*sz; i++ {
			if part.attrs[i*a+hat] == 0 {
				noHat = append(noHat, part.set.Image(i)...)
			}
		}
	}
	if len(noHat) < m*sz {
		t.Fatalf("only %d faces without a hat in %s", len(noHat)/sz, dir)
	}
	rep2, err := Evaluate(context.Background(), j2, s, Fake{Images: noHat}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep2.AttrGen["hat"] > 0.05 || *rep2.AttrGap < rep.AttrReal["hat"]-0.06 || math.IsNaN(*rep2.AttrGap) {
		t.Fatalf("faces without hats: hat rate %.3f, attr_gap %.3f, real hat rate %.3f", rep2.AttrGen["hat"], *rep2.AttrGap, rep.AttrReal["hat"])
	}

	// Memorisation: copies of training images are all memorised; new faces
	// (held out) score far less, and what they score is the peer share.
	train := s.Train.Images[:200*sz]
	copies := s.Train.Images[50*sz : 150*sz]
	mem, err := Nearest(context.Background(), j2, copies, train, s.HeldOut.Images[:100*sz])
	if err != nil {
		t.Fatal(err)
	}
	if mem.Share != 1 || mem.Nearest[0] != 50 || mem.Dist[0] > 1e-3 {
		t.Fatalf("copies: memorised %.2f, first nearest %d at %.4g; want 1, 50, 0", mem.Share, mem.Nearest[0], mem.Dist[0])
	}
	if mem.SharePeer < 0 || mem.SharePeer > 0.8 {
		t.Fatalf("held-out faces: memorised %.2f, want well below copies' 1", mem.SharePeer)
	}
	fresh, err := Nearest(context.Background(), j2, s.HeldOut.Images[:100*sz], train, nil)
	if err != nil || fresh.Share != mem.SharePeer || fresh.SharePeer != -1 {
		t.Fatalf("new faces as samples: %+v, %v; want the peer share %.2f", fresh, err, mem.SharePeer)
	}
	// fd_train: the training images' own fd against the test images; 0
	// when they are the test images, higher for 20 faces than for 200.
	fdTrain := func(train []float32) float64 {
		t.Helper()
		m, err := Nearest(context.Background(), j2, copies, train, nil)
		if err != nil {
			t.Fatal(err)
		}
		r := *rep
		if err := r.AddMemorisation(m); err != nil || m.FDTrain == nil {
			t.Fatalf("AddMemorisation: %v, fd_train %v", err, m.FDTrain)
		}
		return *m.FDTrain
	}
	self, few, many := fdTrain(First(s.Test, m).Images), fdTrain(train[:20*sz]), fdTrain(train)
	if math.Abs(self) > 1e-3*rep.FDReal || !(few > many && many > rep.FDReal) {
		t.Fatalf("fd_train: the test images %.4g, 20 faces %.4g, 200 faces %.4g (fd_real %.4g)", self, few, many, rep.FDReal)
	}
	if sheet := NearestSheet(j2, mem, copies, train, 16); sheet.Bounds().Dx() < 8*2*size {
		t.Fatalf("sheet %v too small for 8 pairs", sheet.Bounds())
	}
}

// TestGaussianBlur: a point spreads into a symmetric bell that keeps its
// sum and falls off from the centre; σ 0 leaves the image alone.
func TestGaussianBlur(t *testing.T) {
	const side = 15
	point := func() []float32 {
		img := make([]float32, side*side)
		img[(side/2)*side+side/2] = 1
		return img
	}
	img, tmp := point(), make([]float32, side*side)
	gaussianBlur(img, tmp, side, side, 1, 0)
	if !slices.Equal(img, point()) {
		t.Fatal("σ 0 changed the image")
	}
	gaussianBlur(img, tmp, side, side, 1, 1)
	var sum float64
	for _, v := range img {
		sum += float64(v)
	}
	at := func(y, x int) float32 { return img[y*side+x] }
	c := side / 2
	if math.Abs(sum-1) > 1e-5 {
		t.Errorf("sum %v after the blur, want 1", sum)
	}
	// A unit Gaussian sampled at the centre: 1/(2π) ≈ 0.159.
	if v := at(c, c); v < 0.14 || v > 0.18 {
		t.Errorf("centre %v, want about 0.159", v)
	}
	for d := 1; d <= 3; d++ {
		if at(c, c+d) >= at(c, c+d-1) || at(c+d, c) != at(c, c+d) || at(c-d, c) != at(c+d, c) {
			t.Errorf("at distance %d: %v, %v, %v: want falling and symmetric", d, at(c, c+d), at(c+d, c), at(c-d, c))
		}
	}
}

// TestTrainBlurRefused: a blur is for face judges, within 0..MaxBlur.
func TestTrainBlurRefused(t *testing.T) {
	_, s := trainedJudge(t)
	for _, blur := range []float64{1, -1, MaxBlur + 1} {
		_, err := Train(context.Background(), s, TrainOptions{Blur: blur, Limit: 100}, nil)
		var oe *OptionError
		if !errors.As(err, &oe) || oe.Option != "Blur" {
			t.Errorf("blur %v on fashion-mnist: %v, want an *OptionError for Blur", blur, err)
		}
	}
}
