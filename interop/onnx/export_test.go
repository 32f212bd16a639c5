package onnx

import (
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"forger/gan"
	"forger/internal/fixture"
	"forger/interop/onnx/onnxpb"
	"forger/nn"
)

// generator returns a generator of cfg with random weights and batch-norm
// statistics that are not the defaults, so that the check sees them.
func generator(t *testing.T, cfg gan.Config) *gan.Generator {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 7))
	g, err := gan.NewGenerator(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range g.Net.Layers {
		if bn, ok := l.(*nn.BatchNorm); ok {
			bn.RunMean.Value.FillNormal(rng, 0, 0.1)
			bn.RunVar.Value.FillUniform(rng, 0.5, 1.5)
			bn.Beta.Value.FillNormal(rng, 0, 0.1)
		}
	}
	if g.Embed != nil && cfg.GCond != gan.GCondOneHot {
		g.Embed.Weight.Value.FillNormal(rng, 0, 1)
	}
	g.SetTraining(false)
	return g
}

func TestExportRunsInONNXRuntime(t *testing.T) {
	if _, err := exec.LookPath("node"); err != nil {
		fixture.Missing(t, "node is not installed (apt-get install nodejs npm)")
	}
	fashion := []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}
	cases := []struct {
		name  string
		cfg   gan.Config
		batch int
		n     int
	}{
		{"tiny-dcgan-32", gan.Config{Arch: gan.DCGAN, Size: 32, Channels: 3, NZ: 16, NGF: 4, NDF: 4}, 0, 3},
		{"tiny-dcgan-32-batch2", gan.Config{Arch: gan.DCGAN, Size: 32, Channels: 3, NZ: 16, NGF: 4, NDF: 4}, 2, 2},
		// The 64×64 DCGAN of pytorch/examples (ngf 64) and the Fashion-MNIST
		// cdcgan (train.ConditionalDefaults: the one-hot class beside z).
		{"dcgan-64", gan.Config{Arch: gan.DCGAN, Size: 64, Channels: 3, NZ: 100, NGF: 64, NDF: 64}, 0, 2},
		{"fashion-cdcgan-28", gan.Config{Arch: gan.CDCGAN, Size: 28, Channels: 1, NZ: 100, NGF: 64, NDF: 64, Classes: fashion, GCond: gan.GCondOneHot, DCond: gan.DCondProjection}, 0, 10},
		{"cdcgan-embed-32", gan.Config{Arch: gan.CDCGAN, Size: 32, Channels: 1, NZ: 8, NGF: 4, NDF: 4, Classes: []string{"a", "b", "c"}}, 0, 3},
	}
	dir := t.TempDir()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g := generator(t, c.cfg)
			m, err := Generator(g, Options{Batch: c.batch})
			if err != nil {
				t.Fatal(err)
			}
			b, err := Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, c.name+".onnx")
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}
			// It decodes as an ONNX model.
			var back onnxpb.ModelProto
			if err := proto.Unmarshal(b, &back); err != nil || back.GetGraph().GetOutput()[0].GetName() != OutputImage {
				t.Fatalf("round trip: %v", err)
			}
			check := MakeCheck(g, c.n, 1)
			diff, err := RunCheck(t.Context(), path, check, testWriter{t})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d images %v, max abs difference ONNX Runtime vs forger %.3g (%d KB)", c.name, c.n, check.Shape, diff, len(b)/1024)
			if diff > 1e-4 {
				t.Fatalf("max abs difference %g > 1e-4", diff)
			}
		})
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }
