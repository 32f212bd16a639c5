package gan

import (
	"math/rand/v2"
	"path/filepath"
	"testing"

	"forger/tensor"
)

// TestGeneratorOnlyCheckpoint: a checkpoint of a generator alone (no D, no
// optimizer state, as an imported network pickle gives) saves, holds no d.*
// or opt_* tensors, and loads to the same images.
func TestGeneratorOnlyCheckpoint(t *testing.T) {
	cfg := smallStyle()
	g, err := NewStyleGenerator(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	g.SetTraining(false)
	path := filepath.Join(t.TempDir(), "g.safetensors")
	if err := (&Checkpoint{Config: cfg, G: g}).Save(path); err != nil {
		t.Fatal(err)
	}
	f, _, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for name := range f.Tensors {
		if name[:2] != "g." {
			t.Fatalf("a generator-only checkpoint holds %s", name)
		}
	}
	gn, err := LoadGeneratorNet(path)
	if err != nil {
		t.Fatal(err)
	}
	z := tensor.New(2, cfg.NZ)
	z.FillNormal(rand.New(rand.NewPCG(3, 4)), 0, 1)
	want := g.Forward(z, nil).Clone()
	if d := tensor.MaxAbsDiff(gn.Forward(z, nil), want); d != 0 {
		t.Fatalf("loaded generator differs by %g", d)
	}
}
