package gan

import (
	"math/rand/v2"
	"testing"

	"forger/optim"
	"forger/tensor"
)

func BenchmarkTrainStep32(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	c := Config{Arch: DCGAN, Size: 32, Channels: 1, NZ: 100, NGF: 32, NDF: 32}
	g, _ := NewGenerator(c, rng)
	d, _ := NewDiscriminator(c, rng)
	t := &Trainer{G: g, D: d, Loss: LossBCE, OptG: optim.NewAdam(g.Params(), 2e-4, 0.5, 0.999), OptD: optim.NewAdam(d.Params(), 2e-4, 0.5, 0.999)}
	real := tensor.New(64, 32, 32, 1)
	var st Stats
	for i := 0; i < 3; i++ {
		t.StepD(real, nil, rng, &st)
		t.StepG(&st)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t.StepD(real, nil, rng, &st)
		t.StepG(&st)
	}
}

// TestTrainStepAllocatesNothing: once warmed up, a training step reuses
// every buffer (the engine's promise; see package nn).
func TestTrainStepAllocatesNothing(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []Config{
		{Arch: DCGAN, Size: 32, Channels: 3, NZ: 16, NGF: 8, NDF: 8},
		{Arch: CDCGAN, Size: 28, Channels: 1, NZ: 16, NGF: 8, NDF: 8, Classes: []string{"a", "b"}, SpectralNorm: true},
		{Arch: CDCGAN, Size: 28, Channels: 1, NZ: 16, NGF: 8, NDF: 8, Classes: []string{"a", "b"}, SpectralNorm: true, MinibatchStd: true},
	} {
		g, _ := NewGenerator(c, rng)
		d, _ := NewDiscriminator(c, rng)
		tr := &Trainer{G: g, D: d, Loss: LossHinge, OptG: optim.NewAdam(g.Params(), 2e-4, 0.5, 0.999), OptD: optim.NewAdam(d.Params(), 2e-4, 0.5, 0.999)}
		real := tensor.New(8, c.Size, c.Size, c.Channels)
		labels := make([]int32, 8)
		var st Stats
		step := func() {
			tr.StepD(real, labels, rng, &st)
			tr.StepG(&st)
		}
		step()
		if a := testing.AllocsPerRun(5, step); a != 0 {
			t.Errorf("%s: %.1f allocations per step", c.Arch, a)
		}
	}
}
