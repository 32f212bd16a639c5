package train

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"forger/gan"
)

// smallVAE is VAEDefaults at 32×32 with tiny widths.
func smallVAE(data, out string) Options {
	o := VAEDefaults(32)
	o.Data, o.Out, o.Channels, o.Epochs, o.Batch = data, out, 3, 2, 8
	o.NZ, o.NGF, o.NDF = 8, 8, 8
	o.LogEvery, o.SampleMinutes = 1, 0
	return o
}

// TestVAEResumeEqualsUninterrupted: a vae run stopped after three steps
// and resumed ends with the same decoder, encoder and optimiser moments,
// bit for bit, as the run that was not stopped; its checkpoint holds no
// discriminator, its metrics the reconstruction error and KL, and the
// decoder loads as an ordinary generator.
func TestVAEResumeEqualsUninterrupted(t *testing.T) {
	data := blobFolder(t, 32)
	dir := t.TempDir()
	straight, err := Run(context.Background(), smallVAE(data, filepath.Join(dir, "a")), &quietUI{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if straight.Stopped != "done" || straight.Images != 2*32 {
		t.Fatalf("uninterrupted run: %+v", straight)
	}
	end := stoppedAndResumed(t, smallVAE(data, filepath.Join(dir, "b")), 3)
	a, b := readG(t, straight.Checkpoint), readG(t, end.Checkpoint)
	for _, p := range []string{"g.", "opt_g.", "enc.", "opt_e."} {
		sameTensors(t, a, b, p)
	}
	for _, name := range a.Names {
		if strings.HasPrefix(name, "d.") || strings.HasPrefix(name, "opt_d.") {
			t.Fatalf("a vae checkpoint holds %s", name)
		}
	}
	g, err := gan.LoadGeneratorNet(end.Checkpoint)
	if err != nil || g.ModelConfig().Arch != gan.VAE {
		t.Fatalf("decoder: %v, %v", g, err)
	}
	ms, err := ReadMetrics(filepath.Join(dir, "a", "metrics.jsonl"))
	if err != nil || len(ms) != 8 {
		t.Fatalf("%d metrics lines, %v", len(ms), err)
	}
	if !(ms[0].Recon > 0 && ms[0].KL > 0) || math.Abs(ms[0].LossG-(ms[0].Recon+ms[0].KL)) > 1e-6*ms[0].LossG {
		t.Fatalf("metrics %+v: want recon and kl, loss_g their sum", ms[0])
	}
	if !(ms[len(ms)-1].Recon < ms[0].Recon) {
		t.Fatalf("reconstruction error %g after 8 steps, %g at first", ms[len(ms)-1].Recon, ms[0].Recon)
	}
	for _, f := range []string{"samples/epoch_002.png", "losses.png", "progress.gif"} {
		if _, err := os.Stat(filepath.Join(dir, "a", f)); err != nil {
			t.Fatal(err)
		}
	}
}

func TestVAEOptionErrors(t *testing.T) {
	data := blobFolder(t, 16)
	for _, c := range []struct {
		option string
		set    func(*Options)
	}{
		{"KLWeight", func(o *Options) { o.KLWeight = -1 }},
		{"Augment", func(o *Options) { o.Augment = "ada" }},
		{"FreezeD", func(o *Options) { o.FreezeD = 1 }},
	} {
		o := smallVAE(data, filepath.Join(t.TempDir(), "run"))
		c.set(&o)
		_, err := Run(context.Background(), o, &quietUI{}, nil)
		var oe *OptionError
		if !errors.As(err, &oe) || oe.Option != c.option {
			t.Errorf("%s: got %v, want an option error for it", c.option, err)
		}
	}
}
