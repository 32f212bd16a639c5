package train

import (
	"context"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"forger/gan"
	"forger/latent"
	"forger/tensor"
)

// blobFolder writes n 16×16 images of coloured discs on a background: a
// data set a test trains on in seconds.
func blobFolder(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < n; i++ {
		img := image.NewRGBA(image.Rect(0, 0, 16, 16))
		bg := color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255}
		fg := color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255}
		cx, cy, r := 4+rng.IntN(8), 4+rng.IntN(8), 2+rng.IntN(4)
		for y := 0; y < 16; y++ {
			for x := 0; x < 16; x++ {
				c := bg
				if (x-cx)*(x-cx)+(y-cy)*(y-cy) <= r*r {
					c = fg
				}
				img.Set(x, y, c)
			}
		}
		f, err := os.Create(filepath.Join(dir, filepath.Base(t.Name())+"_"+string(rune('a'+i%26))+string(rune('a'+i/26))+".png"))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	return dir
}

// smallStyle is StyleGANDefaults at 32×32 with tiny widths and StyleGAN2's
// residual discriminator, with StyleGAN2's path length and style mixing,
// the regularisers every other step so that a short run uses them.
func smallStyle(data, out string) Options {
	o := StyleGANDefaults(32).withStyleD(gan.DArchResidual)
	o.Data, o.Out, o.Channels, o.Epochs, o.Batch = data, out, 3, 2, 8
	o.NZ, o.NGF, o.NDF, o.MappingLayers = 16, 8, 8, 2
	o.R1, o.R1Every, o.PLEvery, o.PLWeight, o.StyleMixing = StyleGANR1(32, 8), 2, 2, 2, 0.9
	o.LogEvery, o.SampleMinutes, o.Augment = 1, 0, "ada"
	return o
}

// TestStyleGANResumeEqualsUninterrupted: a stylegan run stopped after three
// steps and resumed ends with the same weights, average, optimiser moments
// and path-length mean, bit for bit, as the run that was not stopped.
func TestStyleGANResumeEqualsUninterrupted(t *testing.T) {
	data := blobFolder(t, 32)
	dir := t.TempDir()
	straight, err := Run(context.Background(), smallStyle(data, filepath.Join(dir, "a")), &quietUI{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if straight.Stopped != "done" || straight.Images != 2*32 {
		t.Fatalf("uninterrupted run: %+v", straight)
	}
	end := stoppedAndResumed(t, smallStyle(data, filepath.Join(dir, "b")), 3)
	a, b := readG(t, straight.Checkpoint), readG(t, end.Checkpoint)
	for _, p := range []string{"g.", "g_ema.", "d.", "opt_g.", "opt_d.", "g." + gan.PLMeanName} {
		sameTensors(t, a, b, p)
	}
	if a.Tensors["g."+gan.PLMeanName].Data[0] == 0 {
		t.Fatal("the path-length mean was not saved")
	}
	_, cfg, err := gan.Open(end.Checkpoint)
	if err != nil || cfg.Arch != gan.StyleGAN || cfg.StyleGAN == nil || cfg.StyleGAN.MappingLayers != 2 {
		t.Fatalf("checkpoint config %+v, %v", cfg, err)
	}
	ms, err := ReadMetrics(filepath.Join(dir, "a", "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	seenPL, seenR1 := false, false
	for _, m := range ms {
		seenPL, seenR1 = seenPL || m.PL > 0, seenR1 || m.R1 > 0
	}
	if !seenPL || !seenR1 {
		t.Fatalf("metrics report path length %v, R1 %v: %+v", seenPL, seenR1, ms)
	}
	if _, err := os.Stat(filepath.Join(dir, "a", "samples", "epoch_002.png")); err != nil {
		t.Fatal(err)
	}
}

// TestStyleGANWithDCGANDiscriminator: a stylegan with DCGAN's discriminator
// (DArch dcgan) trains with R1 on it, saves a checkpoint whose
// configuration and tensors are of that discriminator, resumes bit for bit
// like the run that was not stopped, and its discriminator loads as
// DCGAN's (latent's disc features read it).
func TestStyleGANWithDCGANDiscriminator(t *testing.T) {
	data := blobFolder(t, 32)
	dir := t.TempDir()
	small := func(out string) Options {
		o := smallStyle(data, out)
		o.DArch, o.NDF, o.DNoNorm, o.DBias, o.MinibatchStd, o.R1 = gan.DArchDCGAN, 8, true, true, true, 10
		return o
	}
	straight, err := Run(context.Background(), small(filepath.Join(dir, "a")), &quietUI{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, cfg, err := gan.Open(straight.Checkpoint)
	if err != nil || cfg.Arch != gan.StyleGAN || cfg.DArch != gan.DArchDCGAN || cfg.NDF != 8 || !cfg.DBias || !cfg.MinibatchStd || !cfg.DCGANDiscriminator() {
		t.Fatalf("checkpoint config %+v, %v", cfg, err)
	}
	feat, err := latent.LoadFeatures(latent.FeatDisc, cfg, latent.FeatureSource{Model: straight.Checkpoint})
	if err != nil {
		t.Fatal(err)
	}
	img := tensor.New(2, 32, 32, 3)
	img.FillUniform(rand.New(rand.NewPCG(1, 1)), -1, 1)
	if fs := feat.Forward(img); len(fs) == 0 || fs[0].Shape[0] != 2 {
		t.Fatalf("disc features of a stylegan with DCGAN's D: %v", fs)
	}
	end := stoppedAndResumed(t, small(filepath.Join(dir, "b")), 3)
	a, b := readG(t, straight.Checkpoint), readG(t, end.Checkpoint)
	for _, p := range []string{"g.", "g_ema.", "d.", "opt_g.", "opt_d."} {
		sameTensors(t, a, b, p)
	}
	if _, ok := a.Tensors["d.head.weight"]; !ok {
		t.Fatal("no d.head.weight: the discriminator saved is not DCGAN's")
	}
	ms, err := ReadMetrics(filepath.Join(dir, "a", "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	seenR1 := false
	for _, m := range ms {
		seenR1 = seenR1 || m.R1 > 0
	}
	if !seenR1 {
		t.Fatalf("no R1 in the metrics: %+v", ms)
	}
}
