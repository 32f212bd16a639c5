package metrics

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"forger/dataset"
	"forger/gan"
	"forger/judge"
	"forger/tensor"
)

// writeClasses writes per class of greys n textured 28×28 images (a grey
// with noise of ±amp) to dir/<class>/i.png.
func writeClasses(t *testing.T, dir string, greys map[string]uint8, n int, amp int, seed uint64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	for class, grey := range greys {
		for i := range n {
			m := image.NewGray(image.Rect(0, 0, 28, 28))
			for p := range m.Pix {
				m.Pix[p] = uint8(min(max(int(grey)+rng.IntN(2*amp+1)-amp, 0), 255))
			}
			writePNG(t, filepath.Join(dir, class, fmt.Sprintf("%03d.png", i)), m)
		}
	}
}

func writePNG(t *testing.T, path string, m image.Image) {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, m); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// smallJudge trains a judge for one epoch on 2 classes of 60 textured
// images and returns it with its data folder and how many real images it
// holds out for eval.
func smallJudge(t *testing.T) (*judge.Judge, string, int) {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	writeClasses(t, data, map[string]uint8{"dark": 60, "light": 190}, 60, 40, 1)
	s, err := judge.LoadSplits(data, 28, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	j, err := judge.Train(context.Background(), s, judge.TrainOptions{Epochs: 1, Batch: 8, LR: 1e-3, Seed: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return j, data, min(s.Test.Len(), s.HeldOut.Len())
}

// steps records a Run's progress.
type steps struct {
	total, done int
	stages      []string
}

func (s *steps) Start(total int)   { s.total = total }
func (s *steps) Stage(name string) { s.stages = append(s.stages, name) }
func (s *steps) Add(delta int)     { s.done += delta }

func TestRun(t *testing.T) {
	j, data, held := smallJudge(t)
	dir := t.TempDir()
	// Images like the real ones, and flat grey noise: the judge tells them
	// apart.
	like := filepath.Join(dir, "like")
	writeClasses(t, like, map[string]uint8{"dark": 60, "light": 190}, 30, 40, 2)
	noise := filepath.Join(dir, "noise")
	writeClasses(t, noise, map[string]uint8{"0": 128, "1": 128}, 30, 127, 3)

	var log strings.Builder
	var p steps
	good, err := Run(context.Background(), Options{Judge: j, Images: like, Log: &log}, &p)
	if err != nil {
		t.Fatal(err)
	}
	// The default n is lowered to what the data holds out, and the log
	// says so.
	if good.N != held || !strings.Contains(log.String(), fmt.Sprintf("n = %d,", held)) {
		t.Fatalf("n %d, log %q; want %d, said", good.N, log.String(), held)
	}
	if p.total == 0 || p.done != p.total || strings.Join(p.stages, ",") != "judging" {
		t.Errorf("progress %+v: want every step done, and the judging stage only", p)
	}
	bad, err := Run(context.Background(), Options{Judge: j, Images: noise}, &steps{})
	if err != nil {
		t.Fatal(err)
	}
	if !(good.FD < bad.FD) || good.Result != nil || good.Memorisation != nil {
		t.Errorf("fd %.1f for images like the data, %.1f for noise; ppl %v, memorisation %v: want the first lower, neither measured", good.FD, bad.FD, good.Result, good.Memorisation)
	}

	// The judge's folder by another name is the judge's data.
	link := filepath.Join(dir, "link")
	if err := os.Symlink(data, link); err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), Options{Judge: j, Images: like, Data: link}, &steps{}); err != nil {
		t.Errorf("the judge's data through a link: %v", err)
	}

	// Copies of training images are memorised; the sheet is written.
	sheet := filepath.Join(dir, "sheet.png")
	copies, err := Run(context.Background(), Options{Judge: j, Images: like, Nearest: like, NearestOut: sheet}, &steps{})
	if err != nil {
		t.Fatal(err)
	}
	if m := copies.Memorisation; m == nil || m.Share < 0.9 || !(m.Share > m.SharePeer) {
		t.Errorf("memorisation of copies: %+v, want ≥ 90%% and above the real images'", m)
	}
	if _, err := os.Stat(sheet); err != nil {
		t.Errorf("no sheet: %v", err)
	}
}

func TestRunRefuses(t *testing.T) {
	j, _, held := smallJudge(t)
	dir := t.TempDir()
	like := filepath.Join(dir, "like")
	writeClasses(t, like, map[string]uint8{"dark": 60, "light": 190}, 30, 40, 2)
	other := filepath.Join(dir, "other")
	writeClasses(t, other, map[string]uint8{"dark": 60, "light": 190}, 30, 40, 4)
	g, _, err := gan.NewNets(gan.Config{Arch: gan.CDCGAN, Size: 28, Channels: 1, NZ: 8, NGF: 4, NDF: 4, Classes: []string{"cat", "dog"}}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		o      Options
		option string
		is     error
	}{
		{"another data set", Options{Images: like, Data: other}, "Data", ErrNotJudgesData},
		{"more images than the data holds", Options{Images: like, N: held + 1, NGiven: true}, "N", nil},
		{"a path length without a generator", Options{Images: like, PPL: true}, "PPL", nil},
		{"a generator of other classes", Options{Model: g}, "Model", nil},
		{"training images that are not there", Options{Images: like, Nearest: filepath.Join(dir, "nowhere")}, "Nearest", nil},
	} {
		c.o.Judge = j
		_, err := Run(context.Background(), c.o, &steps{})
		var oe *OptionError
		if !errors.As(err, &oe) || oe.Option != c.option || (c.is != nil && !errors.Is(err, c.is)) {
			t.Errorf("%s: %v, want an *OptionError for %s", c.name, err, c.option)
		}
	}
}

// TestRunAttrJudge: with an AttrJudge the attributes are that judge's
// reading of the same images, and a judge that is not a face judge, or of
// other data, is refused.
func TestRunAttrJudge(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("node not found: this test renders cartoon faces (apt-get install nodejs npm)")
	}
	faces, err := dataset.GetCartoonFaces(context.Background(), dataset.CartoonOptions{N: 240, Size: 32, Seed: 5, Dir: filepath.Join(t.TempDir(), "faces")}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := judge.LoadSplits(faces, 32, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	train := func(o judge.TrainOptions) *judge.Judge {
		j, err := judge.Train(context.Background(), s, o, nil)
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	j := train(judge.TrainOptions{Epochs: 2, Batch: 16, Seed: 1})
	soft := train(judge.TrainOptions{Epochs: 2, Batch: 16, Seed: 2, Blur: 1.5})
	if soft.Cfg.Blur != 1.5 {
		t.Fatalf("the judge records blur %v, want 1.5", soft.Cfg.Blur)
	}
	images := filepath.Join(faces, "images")
	var p steps
	res, err := Run(context.Background(), Options{Judge: j, AttrJudge: soft, Images: images, N: 40}, &p)
	if err != nil {
		t.Fatal(err)
	}
	alone, err := Run(context.Background(), Options{Judge: soft, Images: images, N: 40}, &steps{})
	if err != nil {
		t.Fatal(err)
	}
	own, err := Run(context.Background(), Options{Judge: j, Images: images, N: 40}, &steps{})
	if err != nil {
		t.Fatal(err)
	}
	if !maps.Equal(res.AttrGen, alone.AttrGen) || !maps.Equal(res.AttrReal, alone.AttrReal) || *res.AttrGap != *alone.AttrGap {
		t.Errorf("attributes %v / %v, want the attribute judge's own reading %v / %v", res.AttrGen, res.AttrReal, alone.AttrGen, alone.AttrReal)
	}
	if res.FD != own.FD || res.AttrJudgeBlur == nil || *res.AttrJudgeBlur != 1.5 || own.AttrJudgeBlur != nil {
		t.Errorf("fd %v, want the judge's %v; attr_judge_blur %v and %v, want 1.5 and none", res.FD, own.FD, res.AttrJudgeBlur, own.AttrJudgeBlur)
	}
	if p.done != p.total || !slices.Contains(p.stages, "attributes") {
		t.Errorf("progress %+v: want every step done and an attributes stage", p)
	}

	plain, _, _ := smallJudge(t)
	for _, c := range []struct {
		name string
		o    Options
		is   error
	}{
		{"an attribute judge that reads no attributes", Options{Judge: j, AttrJudge: plain}, nil},
		{"an attribute judge of other data", Options{Judge: plain, AttrJudge: soft}, ErrNotJudgesData},
	} {
		c.o.Images = images
		_, err := Run(context.Background(), c.o, &steps{})
		var oe *OptionError
		if !errors.As(err, &oe) || oe.Option != "AttrJudge" || (c.is != nil && !errors.Is(err, c.is)) {
			t.Errorf("%s: %v, want an *OptionError for AttrJudge", c.name, err)
		}
	}
}

// With a discriminator, --nearest also reports E[sign(D(x))] over the
// training images and over as many held-out real images: D's own outputs on
// those images, in batches of dBatch.
func TestRunDSigns(t *testing.T) {
	j, data, _ := smallJudge(t)
	like := filepath.Join(t.TempDir(), "like")
	writeClasses(t, like, map[string]uint8{"dark": 40, "light": 210}, 12, 40, 2)
	d, err := gan.NewDiscriminator(gan.Config{Arch: gan.DCGAN, Size: 28, Channels: 1, NZ: 8, NGF: 8, NDF: 8}, rand.New(rand.NewPCG(5, 5)))
	if err != nil {
		t.Fatal(err)
	}
	d.SetTraining(false)
	res, err := Run(context.Background(), Options{Judge: j, Images: like, Nearest: like, NearestOut: filepath.Join(t.TempDir(), "s.png"), D: d}, &steps{})
	if err != nil {
		t.Fatal(err)
	}
	want := func(imgs []float32, n int) float64 {
		var sum float64
		for i := 0; i+dBatch <= n; i += dBatch {
			out := d.Forward(tensor.FromData(imgs[i*28*28:(i+dBatch)*28*28], dBatch, 28, 28, 1), nil)
			for _, v := range out.Data {
				if v > 0 {
					sum++
				} else if v < 0 {
					sum--
				}
			}
		}
		return sum / float64(n/dBatch*dBatch)
	}
	train, err := dataset.Open(like, dataset.Options{Size: 28, Channels: 1})
	if err != nil {
		t.Fatal(err)
	}
	splits, err := judge.LoadSplits(data, 28, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	wt, wh := want(train.Images, train.Len()), want(splits.HeldOut.Images, min(train.Len(), splits.HeldOut.Len()))
	if res.DSignTrain == nil || res.DSignHeldOut == nil || *res.DSignTrain != wt || *res.DSignHeldOut != wh {
		t.Fatalf("d_sign_train %v, d_sign_heldout %v; want %g and %g", res.DSignTrain, res.DSignHeldOut, wt, wh)
	}
	// No images is 0, at once (a batch of none would never advance).
	if m, err := meanSign(context.Background(), d, nil, 0); m != 0 || err != nil {
		t.Fatalf("meanSign of no images: %g, %v", m, err)
	}
	// Without Nearest, or with a conditional D, there is none.
	res, err = Run(context.Background(), Options{Judge: j, Images: like, D: d}, &steps{})
	if err != nil || res.DSignTrain != nil {
		t.Fatalf("without Nearest: d_sign_train %v (%v), want none", res.DSignTrain, err)
	}
}
