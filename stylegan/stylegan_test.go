package stylegan

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"forger/nn"
	"forger/tensor"
)

// tiny is a small configuration for finite-difference checks.
func tiny() Config {
	c := DefaultConfig(16, 3)
	c.ZDim, c.WDim, c.MappingLayers = 6, 5, 2
	c.ChannelBase, c.ChannelMax = 32, 6 // widths 6, 4, 2 at 4, 8, 16
	return c
}

func lossOf(y, r *tensor.Tensor) float64 {
	var s float64
	for i, v := range y.Data {
		s += float64(v) * float64(r.Data[i])
	}
	return s
}

// checkFD compares analytic gradients with central differences of Σ y·r on
// up to 12 coordinates of each of values. In a whole network a step moves
// many leaky ReLUs' inputs, and the few that cross the kink bias the
// difference by some percent, so the tolerance is 10%: it catches wiring
// (a wrong w index, a lost path), and TestMatchesPyTorch checks the
// gradients to 1e-4 against autograd.
func checkFD(t *testing.T, what string, f func() *tensor.Tensor, r *tensor.Tensor, values, analytic []float32, rng *rand.Rand) {
	t.Helper()
	const eps = 1e-3 // float32 rounding swamps smaller steps
	idx := rng.Perm(len(values))
	if len(idx) > 12 {
		idx = idx[:12]
	}
	for _, i := range idx {
		old := values[i]
		values[i] = old + eps
		lp := lossOf(f(), r)
		values[i] = old - eps
		lm := lossOf(f(), r)
		values[i] = old
		num := (lp - lm) / (2 * eps)
		e := math.Abs(num-float64(analytic[i])) / math.Max(1, math.Abs(num))
		if e > 0.1 {
			t.Errorf("%s[%d]: backward %.6g, finite difference %.6g", what, i, analytic[i], num)
			return
		}
	}
}

func TestGeneratorGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	cfg := tiny()
	g, err := NewGenerator(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range g.Synthesis.Noise() {
		n.Strength.Value.Fill(0.3) // not 0, so that the noise matters
	}
	g.Synthesis.SetNoise(nn.NoiseConst, nil)
	z, z2 := tensor.New(3, cfg.ZDim), tensor.New(3, cfg.ZDim)
	z.FillNormal(rng, 0, 1)
	z2.FillNormal(rng, 0, 1)
	crossover := 3
	f := func() *tensor.Tensor { return g.Forward(z, z2, crossover) }
	y := f()
	r := tensor.New(y.Shape...)
	r.FillNormal(rng, 0, 1)
	nn.ZeroGrad(g.Params())
	dz := g.Backward(r).Clone()
	checkFD(t, "z", f, r, z.Data, dz.Data[:z.Len()], rng)
	checkFD(t, "z2", f, r, z2.Data, dz.Data[z.Len():], rng)
	for _, p := range g.Params() {
		grad := p.Grad.Clone()
		checkFD(t, p.Name, f, r, p.Value.Data, grad.Data, rng)
	}

	// The gradient of W+.
	ws := Broadcast(nil, g.Mapping.Forward(z), cfg.NumWs())
	for i := range ws.Data {
		ws.Data[i] += float32(rng.NormFloat64()) * 0.3
	}
	fs := func() *tensor.Tensor { return g.Synthesis.Forward(ws) }
	fs()
	dws := g.Synthesis.Backward(r).Clone()
	checkFD(t, "ws", fs, r, ws.Data, dws.Data, rng)
}

func TestDiscriminatorGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	cfg := tiny()
	d, err := NewDiscriminator(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range d.Params() {
		if strings.HasSuffix(p.Name, "bias") {
			p.Value.FillNormal(rng, 0, 0.3)
		}
	}
	x := tensor.New(4, 16, 16, 3)
	x.FillUniform(rng, -1, 1)
	f := func() *tensor.Tensor { return d.Forward(x) }
	y := f()
	r := tensor.New(y.Shape...)
	r.FillNormal(rng, 0, 1)
	nn.ZeroGrad(d.Params())
	dx := d.Backward(r).Clone()
	checkFD(t, "x", f, r, x.Data, dx.Data, rng)
	for _, p := range d.Params() {
		checkFD(t, p.Name, f, r, p.Value.Data, p.Grad.Clone().Data, rng)
	}
}

func TestShapesAndNames(t *testing.T) {
	for _, size := range []int{32, 64, 128} {
		cfg := DefaultConfig(size, 3)
		cfg.ChannelBase, cfg.ChannelMax = 256, 16 // small, for speed
		g, err := NewGenerator(cfg, rand.New(rand.NewPCG(3, 3)))
		if err != nil {
			t.Fatal(err)
		}
		d, err := NewDiscriminator(cfg, rand.New(rand.NewPCG(4, 4)))
		if err != nil {
			t.Fatal(err)
		}
		z := tensor.New(2, cfg.ZDim)
		z.FillNormal(rand.New(rand.NewPCG(5, 5)), 0, 1)
		img := g.Forward(z, nil, 0)
		if want := []int{2, size, size, 3}; !tensor.SameShape(img.Shape, want) {
			t.Fatalf("size %d: images %v, want %v", size, img.Shape, want)
		}
		if logits := d.Forward(img); !tensor.SameShape(logits.Shape, []int{2, 1}) {
			t.Fatalf("size %d: logits %v", size, logits.Shape)
		}
		if n := cfg.NumWs(); n != 2*int(math.Log2(float64(size)))-2 {
			t.Fatalf("NumWs %d", n)
		}
		seen := map[string]bool{}
		for _, p := range append(append(g.Params(), g.Buffers()...), append(d.Params(), d.Buffers()...)...) {
			if seen[p.Name] {
				t.Fatalf("size %d: parameter name %q twice", size, p.Name)
			}
			seen[p.Name] = true
		}
	}
	if err := (Config{Size: 48, Channels: 3}).Validate(); err == nil {
		t.Error("Size 48 accepted")
	}
}

func TestMixAndTruncate(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	w1, w2 := tensor.New(2, 3), tensor.New(2, 3)
	w1.FillNormal(rng, 0, 1)
	w2.FillNormal(rng, 0, 1)
	ws := Mix(nil, w1, w2, 5, 2)
	for i := 0; i < 2; i++ {
		for j := 0; j < 5; j++ {
			src := w1
			if j >= 2 {
				src = w2
			}
			for k := 0; k < 3; k++ {
				if ws.Data[(i*5+j)*3+k] != src.Data[i*3+k] {
					t.Fatalf("ws[%d,%d,%d] not from the right w", i, j, k)
				}
			}
		}
	}
	s := SumLayers(nil, ws, 2, 5)
	for i, v := range s.Data {
		if math.Abs(float64(v-3*w2.Data[i])) > 1e-6 {
			t.Fatalf("SumLayers %v, want 3·w2", s.Data)
		}
	}
	cfg := tiny()
	cfg.WDim = 3
	m := NewMapping(cfg, rng)
	m.WAvg.Value.Fill(1)
	ws = Broadcast(nil, w1, 4)
	m.Truncate(ws, 0.5, 2)
	for j := 0; j < 4; j++ {
		want := 1 + 0.5*(w1.Data[0]-1)
		if j >= 2 {
			want = w1.Data[0]
		}
		if got := ws.Data[j*3]; math.Abs(float64(got-want)) > 1e-6 {
			t.Errorf("layer %d: %g, want %g", j, got, want)
		}
	}
	m.Beta = 0.9
	m.UpdateWAvg(w1)
	mean := (w1.Data[0] + w1.Data[3]) / 2
	if want := mean + 0.9*(1-mean); math.Abs(float64(m.WAvg.Value.Data[0]-want)) > 1e-6 {
		t.Errorf("w_avg %g, want %g", m.WAvg.Value.Data[0], want)
	}
	counts := map[int]int{}
	for i := 0; i < 1000; i++ {
		counts[Crossover(rng, 6, 0.9)]++
	}
	if counts[0] != 0 || counts[6] < 50 || counts[6] > 160 || len(counts) != 6 {
		t.Errorf("crossovers %v: want 1..5 and 6 (no mixing) about 10%%", counts)
	}
}

// TestConstNoiseIsDeterministic: with constant noise a w gives one image;
// with random noise two calls differ.
func TestConstNoiseIsDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	cfg := tiny()
	g, _ := NewGenerator(cfg, rng)
	for _, n := range g.Synthesis.Noise() {
		n.Strength.Value.Fill(0.5)
	}
	z := tensor.New(2, cfg.ZDim)
	z.FillNormal(rng, 0, 1)
	a := g.Forward(z, nil, 0).Clone()
	b := g.Forward(z, nil, 0).Clone()
	if tensor.MaxAbsDiff(a, b) == 0 {
		t.Error("random noise gave the same image twice")
	}
	g.Synthesis.SetNoise(nn.NoiseConst, nil)
	a = g.Forward(z, nil, 0).Clone()
	b = g.Forward(z, nil, 0).Clone()
	if tensor.MaxAbsDiff(a, b) != 0 {
		t.Error("constant noise gave two images")
	}
}

// TestHoldMasks: with its masks held, D is linear along a step apart from
// minibatch stddev's smooth square root, so a large central difference
// matches the backward pass (what lazy R1's Hessian-vector product needs);
// without them the step crosses kinks and does not.
func TestHoldMasks(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	cfg := tiny()
	d, _ := NewDiscriminator(cfg, rng)
	x, v := tensor.New(4, 16, 16, 3), tensor.New(4, 16, 16, 3)
	x.FillUniform(rng, -1, 1)
	v.FillNormal(rng, 0, 1)
	ones := tensor.New(4, 1)
	ones.Fill(1)
	directional := func(hold bool) (analytic, fd float64) {
		d.Forward(x)
		g := d.Backward(ones)
		for i, gv := range g.Data {
			analytic += float64(gv) * float64(v.Data[i])
		}
		d.HoldMasks(hold)
		defer d.HoldMasks(false)
		const eps = 0.2
		xs := tensor.New(x.Shape...)
		var s [2]float64
		for k, side := range []float32{1, -1} {
			for i := range xs.Data {
				xs.Data[i] = x.Data[i] + side*eps*v.Data[i]
			}
			s[k] = d.Forward(xs).Sum()
		}
		return analytic, (s[0] - s[1]) / (2 * eps)
	}
	a, f := directional(true)
	if math.Abs(a-f) > 1e-2*math.Abs(a) {
		t.Errorf("held masks: directional derivative %g, central difference %g", a, f)
	}
	a, f = directional(false)
	if math.Abs(a-f) < 1e-2*math.Abs(a) {
		t.Errorf("free masks: %g and %g agree; the held case proves nothing", a, f)
	}
}

// TestFrozenProjection: with every parameter frozen, as projection runs,
// the gradient of W+ is unchanged and no parameter gradient accumulates.
func TestFrozenProjection(t *testing.T) {
	rng := rand.New(rand.NewPCG(10, 10))
	cfg := tiny()
	g, _ := NewGenerator(cfg, rng)
	g.Synthesis.SetNoise(nn.NoiseConst, nil)
	for _, n := range g.Synthesis.Noise() {
		n.Strength.Value.Fill(0.2)
	}
	ws := tensor.New(2, cfg.NumWs(), cfg.WDim)
	ws.FillNormal(rng, 0, 1)
	r := tensor.New(2, 16, 16, 3)
	r.FillNormal(rng, 0, 1)
	g.Synthesis.Forward(ws)
	want := g.Synthesis.Backward(r).Clone()
	nn.ZeroGrad(g.Params())
	nn.Freeze(g.Params(), true)
	g.Synthesis.Forward(ws)
	if d := tensor.MaxAbsDiff(g.Synthesis.Backward(r), want); d > 1e-6 {
		t.Errorf("frozen: dW+ differs by %g", d)
	}
	for _, p := range g.Params() {
		if d := tensor.MaxAbsDiff(p.Grad, tensor.New(p.Grad.Shape...)); d != 0 {
			t.Errorf("%s: frozen, but has a gradient (max %g)", p.Name, d)
		}
	}
}

// TestCheckpointRoundTrip: Tensors written and loaded into a fresh network
// give the same images, by seed, with constant noise and truncation.
func TestCheckpointRoundTrip(t *testing.T) {
	cfg := tiny()
	a, _ := NewGenerator(cfg, rand.New(rand.NewPCG(11, 11)))
	b, _ := NewGenerator(cfg, rand.New(rand.NewPCG(12, 12)))
	a.Mapping.WAvg.Value.Fill(0.3)
	var buf bytes.Buffer
	if err := tensor.WriteSafetensors(&buf, a.Tensors("g"), map[string]string{"config": cfg.JSON()}); err != nil {
		t.Fatal(err)
	}
	f, err := tensor.ReadSafetensors(&buf)
	if err != nil {
		t.Fatal(err)
	}
	var back Config
	if err := json.Unmarshal([]byte(f.Metadata["config"]), &back); err != nil || back != cfg {
		t.Fatalf("config %+v, %v; want %+v", back, err, cfg)
	}
	if err := b.Load(f, "g"); err != nil {
		t.Fatal(err)
	}
	z := tensor.New(2, cfg.ZDim)
	z.FillNormal(rand.New(rand.NewPCG(13, 13)), 0, 1)
	for _, g := range []*Generator{a, b} {
		g.Synthesis.SetNoise(nn.NoiseConst, nil)
	}
	ya := a.Generate(z, 0.7).Clone()
	if d := tensor.MaxAbsDiff(b.Generate(z, 0.7), ya); d != 0 {
		t.Errorf("loaded generator differs by %g", d)
	}
	if d := tensor.MaxAbsDiff(a.Generate(z, 1), ya); d == 0 {
		t.Error("truncation changed nothing")
	}
	if err := b.Load(&tensor.File{Tensors: map[string]*tensor.Tensor{}}, "g"); !errors.Is(err, tensor.ErrMissing) {
		t.Errorf("loading from an empty file: %v", err)
	}
}

// TestPathLengthFixesRandomNoise: with random noise, the penalty's
// finite-difference passes see the noise of its first pass: the gradient is
// the one of that noise given explicitly, and the modes are restored.
func TestPathLengthFixesRandomNoise(t *testing.T) {
	rng := rand.New(rand.NewPCG(14, 14))
	cfg := tiny()
	g, _ := NewGenerator(cfg, rng)
	for _, n := range g.Synthesis.Noise() {
		n.Strength.Value.Fill(0.4)
	}
	z := tensor.New(2, cfg.ZDim)
	z.FillNormal(rng, 0, 1)
	pl := NewPathLength()
	pl.fixedY = tensor.New(2, 16, 16, 3)
	pl.fixedY.FillNormal(rng, 0, 1.0/16)
	ps := g.Params()
	nn.ZeroGrad(ps)
	penA, _ := pl.AddGrad(g, z, nil, 0, nil, 1)
	var gradA []*tensor.Tensor
	for _, p := range ps {
		gradA = append(gradA, p.Grad.Clone())
	}
	for i, n := range g.Synthesis.Noise() {
		if n.Mode != nn.NoiseRandom {
			t.Fatalf("layer %d: noise mode %d after AddGrad, want random", i, n.Mode)
		}
		n.Given, n.Mode = pl.given[i].Clone(), nn.NoiseGiven
	}
	pl.Mean = 0
	nn.ZeroGrad(ps)
	penB, _ := pl.AddGrad(g, z, nil, 0, nil, 1)
	if penA != penB {
		t.Errorf("penalty %g with random noise, %g with that noise given", penA, penB)
	}
	for i, p := range ps {
		if d := tensor.MaxAbsDiff(p.Grad, gradA[i]); d != 0 {
			t.Errorf("%s: gradients differ by %g", p.Name, d)
		}
	}
}
