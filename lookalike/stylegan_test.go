package lookalike

import (
	"context"
	"os"
	"strings"
	"testing"

	"forger/gan"
	"forger/latent"
	"forger/lookalike/lookaliketest"
	"forger/runfolder"
	"forger/studio"
)

// TestRenderStyleGAN renders a look-alike with a stylegan face model: the
// faces are projected in W+ from w_avg, the morph walks W+ from the
// visitor's projection, a smiling direction in z is refused with a reason,
// and one in W makes the smile; a W+ encoder in the run folder starts the
// projections, one of z does not.
func TestRenderStyleGAN(t *testing.T) {
	ck := lookaliketest.StyleFaceGAN(t)
	// The fixture is shared: what this test adds to its run folder goes.
	t.Cleanup(func() {
		os.Remove(runfolder.Direction(runfolder.Of(ck), "smiling"))
		os.Remove(runfolder.EncoderOf(ck))
	})
	idx := sampleIndex(t)
	p := newPipeline(t, Config{Index: idx, Model: ck})
	if d := p.Describe(); !strings.Contains(d, "from w_avg in w+") || !strings.Contains(d, "smile: no") {
		t.Errorf("Describe: %s", d)
	}
	g, err := gan.LoadGeneratorNet(ck)
	if err != nil {
		t.Fatal(err)
	}
	job := func() *studio.Results {
		t.Helper()
		out := newResults(t)
		ctx := context.Background()
		sf, err := p.Align(ctx, samplePhoto(t, "sample6"), out)
		if err != nil {
			t.Fatal(err)
		}
		m, err := p.Match(ctx, sf, out)
		if err != nil {
			t.Fatal(err)
		}
		if err := p.Render(ctx, sf, m, out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	out := job()
	proj, pimg := decodeResult(t, out, "projection")
	morph, frames := decodeResult(t, out, "morph")
	if len(frames) != DefaultFrames || !strings.Contains(proj.Label, "w_avg in w+") {
		t.Fatalf("morph of %d frames; projection %q", len(frames), proj.Label)
	}
	first, last := meanDiff(frames[0], pimg[0]), meanDiff(frames[len(frames)-1], pimg[0])
	t.Logf("morph: %s; frames differ from the projection by %.1f (first) and %.1f (last)", morph.Label, first, last)
	if first > 6 || last < first+3 {
		t.Errorf("morph frames differ from the projection by %.1f (first) and %.1f (last)", first, last)
	}

	wdim := g.ModelConfig().StyleGAN.WDim
	writeSmile(t, ck, g.ModelConfig().NZ) // in z: a stylegan's projections are in W+
	if d := p.Describe(); !strings.Contains(d, "smile: no: the stylegan's smiling direction is in z") {
		t.Errorf("Describe with a z direction: %s", d)
	}
	lookaliketest.WriteSmileIn(t, ck, wdim, latent.SpaceW)
	out = job()
	_, sframes := decodeResult(t, out, "smile")
	_, pimg = decodeResult(t, out, "projection")
	if len(sframes) != SmileFrames {
		t.Fatalf("smile of %d frames", len(sframes))
	}
	a, b := meanDiff(sframes[0], pimg[0]), meanDiff(sframes[len(sframes)-1], pimg[0])
	t.Logf("smile frames differ from the projection by %.1f (first) and %.1f (last)", a, b)
	if a > 6 || b < a+3 {
		t.Errorf("smile frames differ from the projection by %.1f (first) and %.1f (last)", a, b)
	}

	// With a W+ encoder in the run folder, projections start from its guess;
	// one of z is left aside (the look-alike projects in W+).
	for _, c := range []struct {
		space latent.Space
		label string
	}{{latent.SpaceZ, "from w_avg in w+"}, {latent.SpaceWPlus, "from the run's encoder"}} {
		enc, err := latent.TrainEncoder(context.Background(), g, ck, latent.EncoderOptions{Samples: 256, Batch: 16, Width: 8, Seed: 1, Space: c.space})
		if err != nil {
			t.Fatal(err)
		}
		if err := enc.Save(runfolder.EncoderOf(ck)); err != nil {
			t.Fatal(err)
		}
		if proj, _ := decodeResult(t, job(), "projection"); !strings.Contains(proj.Label, c.label) {
			t.Errorf("an encoder of %s codes: projection label %q, want %q", c.space, proj.Label, c.label)
		}
	}
}
