package onnx

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"forger/gan"
	"forger/internal/fixture"
	"forger/optim"
	"forger/stylegan"
	"forger/tensor"
)

// tinyStyle is a stylegan small enough for a test.
func tinyStyle(size, channels int, clamp float32) gan.Config {
	sc := stylegan.DefaultConfig(size, channels)
	sc.ZDim, sc.WDim, sc.MappingLayers, sc.ChannelBase, sc.ChannelMax, sc.ConvClamp = 12, 10, 2, 64, 16, clamp
	return gan.StyleConfig(sc)
}

// randomStyle returns a stylegan of cfg whose w_avg, noise strengths and
// biases (zero at initialisation) are random, so that the check sees them.
func randomStyle(t *testing.T, cfg gan.Config, seed uint64) *gan.StyleGenerator {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	g, err := gan.NewStyleGenerator(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	g.Mapping.WAvg.Value.FillNormal(rng, 0, 0.5)
	for _, bl := range g.Synthesis.Parts() {
		for _, l := range []*stylegan.LayerParts{bl.Conv0, &bl.Conv1} {
			if l == nil {
				continue
			}
			l.Epilogue.Noise.Strength.Value.FillNormal(rng, 0, 0.3)
			l.Epilogue.Bias.Value.FillNormal(rng, 0, 0.2)
		}
		bl.RGB.Bias.Bias.Value.FillNormal(rng, 0, 0.2)
	}
	g.SetTraining(false)
	return g
}

// trainedStyle returns the generator of a tiny stylegan after a few
// training steps of StyleGAN2's recipe (mixing, R1, path length): w_avg and
// the noise strengths have moved.
func trainedStyle(t *testing.T, cfg gan.Config) *gan.StyleGenerator {
	t.Helper()
	g, d, err := gan.NewNets(cfg, rand.New(rand.NewPCG(3, 1)))
	if err != nil {
		t.Fatal(err)
	}
	tr := &gan.Trainer{G: g, D: d, Loss: gan.LossBCE, R1: 0.05, R1Every: 2, GRegEvery: 2,
		OptG: optim.NewAdam(g.Params(), 0.0025, 0, 0.99), OptD: optim.NewAdam(d.Params(), 0.0025, 0, 0.99)}
	real := tensor.New(8, cfg.Size, cfg.Size, cfg.Channels)
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range real.Data {
		real.Data[i] = float32(math.Tanh(rng.NormFloat64()))
	}
	var st gan.Stats
	for range 3 {
		tr.StepD(real, nil, rng, &st)
		tr.StepG(&st)
	}
	sg := g.(*gan.StyleGenerator)
	var avg, strength float64
	for _, v := range sg.Mapping.WAvg.Value.Data {
		avg += math.Abs(float64(v))
	}
	for _, n := range sg.Synthesis.Noise() {
		strength += math.Abs(float64(n.Strength.Value.Data[0]))
	}
	if avg == 0 || strength == 0 {
		t.Fatalf("training left w_avg (Σ|·| %g) or the noise strengths (%g) at zero", avg, strength)
	}
	sg.SetTraining(false)
	return sg
}

// TestStyleGANExportRunsInONNXRuntime: exported stylegans give, in ONNX
// Runtime, forger generate's images (truncation in W, constant noise,
// clipped to [-1, 1]) for fixed z within 1e-4: with the truncation fixed in
// the graph, and with it as an input fed several values. Images of another
// truncation than the graph's differ (the check can fail).
func TestStyleGANExportRunsInONNXRuntime(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		fixture.Missing(t, "node is not installed (apt-get install nodejs npm)")
	}
	cases := []struct {
		name  string
		g     func(t *testing.T) *gan.StyleGenerator
		psi   float64 // the fixed truncation
		fed   []float64
		batch int
		n     int
	}{
		{"random-8-rgb", func(t *testing.T) *gan.StyleGenerator { return randomStyle(t, tinyStyle(8, 3, 0), 1) }, 1, []float64{1, 0.7, 0}, 0, 4},
		{"random-16-gray-clamp-batch3", func(t *testing.T) *gan.StyleGenerator { return randomStyle(t, tinyStyle(16, 1, 0.8), 2) }, 0.6, []float64{1, 0.6}, 3, 3},
		{"trained-16-rgb", func(t *testing.T) *gan.StyleGenerator { return trainedStyle(t, tinyStyle(16, 3, 0)) }, 0.7, []float64{1, 0.5}, 0, 5},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := c.g(t)
			write := func(input bool) (string, int) {
				t.Helper()
				m, err := StyleGenerator(g, c.psi, Options{Batch: c.batch, TruncationInput: input})
				if err != nil {
					t.Fatal(err)
				}
				b, err := Marshal(m)
				if err != nil {
					t.Fatal(err)
				}
				path := filepath.Join(dir, fmt.Sprintf("%s-%v.onnx", c.name, input))
				if err := os.WriteFile(path, b, 0o644); err != nil {
					t.Fatal(err)
				}
				return path, len(b)
			}
			run := func(path string, check *CheckData) float64 {
				t.Helper()
				diff, err := RunCheck(t.Context(), path, check, testWriter{t})
				if err != nil {
					t.Fatal(err)
				}
				return diff
			}
			same := func(what, path string, check *CheckData) {
				t.Helper()
				inside := 0
				for _, v := range check.Images {
					if v > -1 && v < 1 {
						inside++
					}
				}
				frac := float64(inside) / float64(len(check.Images))
				diff := run(path, check)
				t.Logf("%s, %s ψ %g: %d images %v (%.0f%% inside (-1,1)), max abs difference ONNX Runtime vs forger %.3g",
					c.name, what, *check.Truncation, c.n, check.Shape, 100*frac, diff)
				if diff > 1e-4 {
					t.Fatalf("%s ψ %g: max abs difference %g > 1e-4", what, *check.Truncation, diff)
				}
				if frac < 0.25 && *check.Truncation != 0 {
					t.Fatalf("%s ψ %g: only %.0f%% of the values are inside (-1, 1): the clip hides the rest", what, *check.Truncation, 100*frac)
				}
			}
			differs := func(what, path string, check *CheckData) {
				t.Helper()
				if diff := run(path, check); diff < 1e-2 {
					t.Fatalf("%s: difference %g, want a visible one", what, diff)
				}
			}

			fixed, size := write(false)
			t.Logf("%s: %d KB", c.name, size/1024)
			same("fixed", fixed, MakeStyleCheck(g, c.n, 1, c.psi))
			differs("fixed ψ, images of another", fixed, MakeStyleCheck(g, c.n, 1, c.psi-0.5))

			input, _ := write(true)
			for i, psi := range c.fed {
				same("fed", input, MakeStyleCheck(g, c.n, uint64(2+i), psi))
			}
			wrong := MakeStyleCheck(g, c.n, 1, c.psi)
			other := c.psi - 0.5
			wrong.Truncation = &other
			differs("another ψ fed", input, wrong)
		})
	}
}
