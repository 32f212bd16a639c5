package gan

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"forger/nn"
	"forger/optim"
	"forger/tensor"
)

func cfg(arch string, size, ch int) Config {
	c := Config{Arch: arch, Size: size, Channels: ch, NZ: 12, NGF: 4, NDF: 4}
	if arch == CDCGAN {
		c.Classes = []string{"a", "b", "c"}
	}
	return c
}

func TestShapesForEverySize(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, size := range []int{28, 32, 64, 128} {
		for _, arch := range []string{DCGAN, CDCGAN} {
			c := cfg(arch, size, 3)
			g, err := NewGenerator(c, rng)
			if err != nil {
				t.Fatal(err)
			}
			d, err := NewDiscriminator(c, rng)
			if err != nil {
				t.Fatal(err)
			}
			z := tensor.New(2, c.NZ)
			SampleZ(z, rng)
			labels := []int32{0, 2}
			img := g.Forward(z, labels)
			if !tensor.SameShape(img.Shape, []int{2, size, size, 3}) {
				t.Fatalf("%s %d: image %v", arch, size, img.Shape)
			}
			for _, v := range img.Data {
				if v < -1 || v > 1 {
					t.Fatalf("%s %d: pixel %v outside tanh range", arch, size, v)
				}
			}
			logits := d.Forward(img, labels)
			if !tensor.SameShape(logits.Shape, []int{2, 1}) {
				t.Fatalf("%s %d: logits %v", arch, size, logits.Shape)
			}
		}
	}
}

func TestPytorchDCGANParameterCount(t *testing.T) {
	// pytorch/examples/dcgan at 64×64×3, nz=100, ngf=ndf=64: netG has
	// 3,576,704 parameters and netD 2,765,568.
	rng := rand.New(rand.NewPCG(1, 1))
	c := Config{Arch: DCGAN, Size: 64, Channels: 3, NZ: 100, NGF: 64, NDF: 64}
	g, _ := NewGenerator(c, rng)
	d, _ := NewDiscriminator(c, rng)
	if n := nn.NumParams(g.Params()); n != 3576704 {
		t.Errorf("generator has %d parameters, want 3576704", n)
	}
	if n := nn.NumParams(d.Params()); n != 2765568 {
		t.Errorf("discriminator has %d parameters, want 2765568", n)
	}
}

// TestDiscriminatorGradients checks the projection discriminator's input and
// embedding gradients against finite differences.
func TestDiscriminatorGradients(t *testing.T) {
	for _, mode := range []string{DCondProjection, DCondInput} {
		t.Run(mode, func(t *testing.T) { testDiscriminatorGradients(t, mode) })
	}
}

func testDiscriminatorGradients(t *testing.T, mode string) {
	rng := rand.New(rand.NewPCG(2, 2))
	c := cfg(CDCGAN, 28, 1)
	c.DCond = mode
	d, err := NewDiscriminator(c, rng)
	if err != nil {
		t.Fatal(err)
	}
	d.SetTraining(false) // batch-norm statistics fixed: a deterministic function
	for _, p := range d.Buffers() {
		if strings.HasSuffix(p.Name, "running_var") {
			p.Value.Fill(1)
		}
	}
	x := tensor.New(2, 28, 28, 1)
	x.FillNormal(rng, 0, 1)
	labels := []int32{1, 2}
	r := []float32{0.7, -1.3}
	loss := func() float64 {
		l := d.Forward(x, labels)
		return float64(l.Data[0]*r[0] + l.Data[1]*r[1])
	}
	loss()
	nn.ZeroGrad(d.Params())
	dx := d.Backward(tensor.FromData(append([]float32{}, r...), 2, 1)).Clone()
	check := func(name string, v, g []float32, idx []int) {
		for _, i := range idx {
			old := v[i]
			v[i] = old + 1e-2
			lp := loss()
			v[i] = old - 1e-2
			lm := loss()
			v[i] = old
			num := (lp - lm) / 2e-2
			if math.Abs(num-float64(g[i])) > 1e-2*math.Max(1, math.Abs(num)) {
				t.Fatalf("%s[%d]: backward %v, finite difference %v", name, i, g[i], num)
			}
		}
	}
	check("x", x.Data, dx.Data, []int{0, 100, 300, 784 + 400})
	var e *nn.Param
	if mode == DCondInput {
		if d.Embed != nil || d.cbias == nil {
			t.Fatal("input conditioning: want a class bias and no projection")
		}
		e = d.cbias.Weight
	} else {
		e = d.Embed.Weight
	}
	f := e.Value.Shape[1]
	check("class", e.Value.Data, e.Grad.Data, []int{f + 3, 2*f + 10, 2*f + f/2})
	// The class changes the logit.
	a := d.Forward(x, []int32{0, 0}).Data[0]
	b := d.Forward(x, []int32{1, 1}).Data[0]
	if a == b {
		t.Errorf("the logit does not depend on the class (%g)", a)
	}
}

// TestTrainerStepMovesD: D steps on two clearly different distributions
// must separate D(x) from D(G(z)), and a G step must leave D alone.
func TestTrainerStepMovesD(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	c := cfg(DCGAN, 28, 1)
	g, _ := NewGenerator(c, rng)
	d, _ := NewDiscriminator(c, rng)
	tr := &Trainer{G: g, D: d, Loss: LossBCE, OptG: optim.NewAdam(g.Params(), 2e-4, 0.5, 0.999), OptD: optim.NewAdam(d.Params(), 2e-4, 0.5, 0.999)}
	real := tensor.New(16, 28, 28, 1)
	real.Fill(0.9)
	var first, st Stats
	for i := 0; i < 30; i++ {
		tr.StepD(real, nil, rng, &st)
		if i == 0 {
			first = st
		}
	}
	if !(st.DReal-st.DFake > first.DReal-first.DFake+0.2 && st.LossD < first.LossD-0.2) {
		t.Fatalf("D did not learn: first %+v, last %+v", first, st)
	}
	// The real images are all the same, so D's logits on them share a sign:
	// r_t is ±1, and +1 once D calls them real.
	if st.DReal <= 0.5 || st.Signs != 1 {
		t.Fatalf("after D learnt: D(x) %.3f, E[sign(D(real))] %g; want > 0.5 and 1", st.DReal, st.Signs)
	}
	// The G step must not move D.
	before := d.Params()[0].Value.Clone()
	tr.StepG(&st)
	if tensor.MaxAbsDiff(before, d.Params()[0].Value) != 0 {
		t.Fatal("the G step changed D's weights")
	}
	if d.Params()[0].Frozen {
		t.Fatal("D left frozen after the G step")
	}
}

// saveAndCompare saves a checkpoint of g and d (3 classes) and checks that
// the generator loaded from it makes the same images; it returns the path.
func saveAndCompare(t *testing.T, g *Generator, d *Discriminator, state string, rng *rand.Rand) string {
	t.Helper()
	ck := &Checkpoint{Config: g.Cfg, G: g, D: d, OptG: optim.NewAdam(g.Params(), 1, 0.5, 0.9), OptD: optim.NewAdam(d.Params(), 1, 0.5, 0.9), TrainState: state}
	path := filepath.Join(t.TempDir(), "ck.safetensors")
	if err := ck.Save(path); err != nil {
		t.Fatal(err)
	}
	g2, err := LoadGenerator(path)
	if err != nil {
		t.Fatal(err)
	}
	z := tensor.New(3, g.Cfg.NZ)
	SampleZ(z, rng)
	labels := []int32{0, 1, 2}
	g.SetTraining(false)
	if diff := tensor.MaxAbsDiff(g.Forward(z, labels).Clone(), g2.Forward(z, labels)); diff != 0 {
		t.Fatalf("loaded generator (%s, %s) differs by %g", g.Cfg.Arch, g.Cfg.GCond, diff)
	}
	return path
}

func TestCheckpointRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	c := cfg(CDCGAN, 32, 3)
	c.SpectralNorm = true
	g, _ := NewGenerator(c, rng)
	d, _ := NewDiscriminator(c, rng)
	path := saveAndCompare(t, g, d, `{"epoch":3,"images":4000}`, rng)
	// A D without normalisation, with biases (DBias): one per convolution.
	for _, spectral := range []bool{false, true} {
		cb := cfg(DCGAN, 32, 3)
		cb.SpectralNorm, cb.DNoNorm, cb.DBias = spectral, !spectral, true
		gb, _ := NewGenerator(cb, rng)
		db, err := NewDiscriminator(cb, rng)
		if err != nil {
			t.Fatal(err)
		}
		biases := 0
		for _, p := range db.Params() {
			if strings.HasSuffix(p.Name, ".bias") {
				biases++
			}
		}
		if want := 4; biases != want { // 32×32: three halvings and the head
			t.Errorf("spectral norm %v: %d biases in D, want %d", spectral, biases, want)
		}
		for _, p := range db.Params() {
			if strings.HasSuffix(p.Name, ".bias") {
				p.Value.FillNormal(rng, 0, 0.5) // as training leaves them
			}
		}
		path := saveAndCompare(t, gb, db, `{}`, rng)
		f, _, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		d2, _ := NewDiscriminator(cb, rand.New(rand.NewPCG(9, 9)))
		if err := d2.Load(f, "d"); err != nil {
			t.Fatal(err)
		}
		x := tensor.New(4, 32, 32, 3)
		x.FillNormal(rng, 0, 0.5)
		db.SetTraining(false)
		d2.SetTraining(false)
		if diff := tensor.MaxAbsDiff(db.Forward(x, nil).Clone(), d2.Forward(x, nil)); diff != 0 {
			t.Errorf("spectral norm %v: the loaded D with biases differs by %g", spectral, diff)
		}
	}
	info, err := ReadInfo(path)
	if err != nil || info.Epochs != 3 || info.Images != 4000 || info.Arch != CDCGAN || len(info.Classes) != 3 {
		t.Fatalf("info %+v %v", info, err)
	}
	if _, err := LoadGenerator(filepath.Join(t.TempDir(), "none.safetensors")); err == nil {
		t.Fatal("missing file loaded")
	}
	var buf bytes.Buffer
	tensor.WriteSafetensors(&buf, []tensor.Named{{Name: "x", Tensor: tensor.New(2)}}, nil)
	other := filepath.Join(t.TempDir(), "other.safetensors")
	if err := writeFile(other, buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadGenerator(other); err == nil {
		t.Fatal("a foreign safetensors file loaded as a model")
	}
	if _, err := ReadConfig(other); !errors.Is(err, ErrNotCheckpoint) {
		t.Fatalf("ReadConfig of a foreign safetensors file: %v, want ErrNotCheckpoint", err)
	}
	// The header alone is enough for ReadConfig and ReadInfo: the model
	// cut after it still tells its network, though Open refuses it.
	whole, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cut := filepath.Join(t.TempDir(), "cut.safetensors")
	if err := writeFile(cut, whole[:8+binary.LittleEndian.Uint64(whole)]); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Open(cut); !errors.Is(err, ErrNotCheckpoint) {
		t.Fatalf("Open of a model without its tensors: %v, want ErrNotCheckpoint", err)
	}
	if got, err := ReadConfig(cut); err != nil || got.JSON() != g.Cfg.JSON() {
		t.Fatalf("ReadConfig: %v, %v; want %v", got.JSON(), err, g.Cfg.JSON())
	}
	if got, err := ReadInfo(cut); err != nil || got.Images != 4000 {
		t.Fatalf("ReadInfo of the header: %+v, %v", got, err)
	}
}

func TestLatentForSeed(t *testing.T) {
	a, b, c := make([]float32, 8), make([]float32, 8), make([]float32, 8)
	LatentForSeed(42, 1, a)
	LatentForSeed(42, 1, b)
	LatentForSeed(43, 0.5, c)
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("same seed, different latent")
		}
	}
	if a[0] == c[0] {
		t.Fatal("different seeds, same latent")
	}
	LatentForSeed(42, 0.5, c)
	if math.Abs(float64(c[3]-a[3]/2)) > 1e-6 {
		t.Fatal("truncation does not scale the latent")
	}
}

func TestAverageGenerator(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	c := cfg(CDCGAN, 28, 1)
	g, _ := NewGenerator(c, rng)
	d, _ := NewDiscriminator(c, rng)
	ema := optim.NewEMA(g.Params(), 0.5)
	for _, p := range g.Params() { // move the live weights away from the average
		for i := range p.Value.Data {
			p.Value.Data[i] += 0.05
		}
	}
	live := g.Params()[0].Value.Clone()
	liveStats := g.Buffers()[0].Value.Clone()
	var inside float32
	if err := WithAverage(g, ema, func() error { inside = g.Params()[0].Value.Data[0]; return nil }); err != nil {
		t.Fatal(err)
	}
	if inside != ema.Shadow[0].Data[0] || inside == live.Data[0] {
		t.Fatal("WithAverage did not swap in the averaged weights")
	}
	if tensor.MaxAbsDiff(live, g.Params()[0].Value) != 0 || tensor.MaxAbsDiff(liveStats, g.Buffers()[0].Value) != 0 {
		t.Fatal("WithAverage did not restore the live weights and statistics")
	}
	path := filepath.Join(t.TempDir(), "ck.safetensors")
	ck := &Checkpoint{Config: g.Cfg, G: g, D: d, EMA: ema, OptG: optim.NewAdam(g.Params(), 1, 0.5, 0.9), OptD: optim.NewAdam(d.Params(), 1, 0.5, 0.9), TrainState: "{}"}
	if err := ck.Save(path); err != nil {
		t.Fatal(err)
	}
	g2, err := LoadGenerator(path)
	if err != nil {
		t.Fatal(err)
	}
	if tensor.MaxAbsDiff(g2.Params()[0].Value, ema.Shadow[0]) != 0 {
		t.Fatal("LoadGenerator did not take the averaged generator")
	}
}

// A one-hot generator sees exactly [z, one-hot class], trains no embedding,
// and round-trips through a checkpoint.
func TestOneHotGenerator(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	c := cfg(CDCGAN, 28, 1)
	c.GCond, c.DCond = GCondOneHot, DCondInput
	g, err := NewGenerator(c, rng)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range g.Params() {
		if strings.Contains(p.Name, "embed") {
			t.Fatalf("the one-hot embedding %s is trained", p.Name)
		}
	}
	row := g.Embed.Lookup([]int32{2}).Data
	if len(row) != 3 || row[0] != 0 || row[1] != 0 || row[2] != 1 {
		t.Fatalf("class 2 is seen as %v, want [0 0 1]", row)
	}
	d, err := NewDiscriminator(c, rng)
	if err != nil {
		t.Fatal(err)
	}
	saveAndCompare(t, g, d, `{"epoch":1,"images":10}`, rng)
	if bad := (Config{Arch: CDCGAN, Size: 28, Channels: 1, NZ: 1, NGF: 1, NDF: 1, Classes: []string{"a", "b"}, GCond: "hot"}); bad.Validate() == nil {
		t.Error("an unknown g_cond validated")
	}
}

// TestFreezeBlocks checks FreezeD: the first blocks of D keep their weights
// through training steps (StepG's own freezing included), the rest learn.
func TestFreezeBlocks(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	c := cfg(DCGAN, 32, 3)
	c.SpectralNorm = true
	g, _ := NewGenerator(c, rng)
	d, _ := NewDiscriminator(c, rng)
	if d.Blocks() != 3 {
		t.Fatalf("%d blocks, want 3 at 32×32", d.Blocks())
	}
	if err := d.FreezeBlocks(4); err == nil {
		t.Fatal("freezing 4 of 3 blocks: no error")
	}
	if err := d.FreezeBlocks(2); err != nil {
		t.Fatal(err)
	}
	before := make([][]float32, 0)
	for _, p := range d.Params() {
		before = append(before, append([]float32(nil), p.Value.Data...))
	}
	tr := &Trainer{G: g, D: d, Loss: LossHinge, OptG: optim.NewAdam(g.Params(), 1e-3, 0.5, 0.999), OptD: optim.NewAdam(d.Params(), 1e-3, 0.5, 0.999)}
	x := tensor.New(8, 32, 32, 3)
	x.FillUniform(rng, -1, 1)
	for range 3 {
		var st Stats
		tr.StepD(x, nil, rng, &st)
		tr.StepG(&st)
	}
	for i, p := range d.Params() {
		same := true
		for k, v := range p.Value.Data {
			same = same && v == before[i][k]
		}
		frozen := strings.HasPrefix(p.Name, "main.0.") || strings.HasPrefix(p.Name, "main.2.")
		if same != frozen {
			t.Errorf("%s: unchanged %v, frozen %v", p.Name, same, frozen)
		}
	}
}

// LoadDiscriminatorNet gives back the saved D (the same logits), and
// ErrNoDiscriminator for a file holding a generator alone.
func TestLoadDiscriminatorNet(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	c := cfg(DCGAN, 32, 3)
	g, _ := NewGenerator(c, rng)
	d, _ := NewDiscriminator(c, rng)
	dir := t.TempDir()
	with, alone := filepath.Join(dir, "gd.safetensors"), filepath.Join(dir, "g.safetensors")
	for path, ck := range map[string]*Checkpoint{with: {Config: c, G: g, D: d, TrainState: "{}"}, alone: {Config: c, G: g, TrainState: "{}"}} {
		if err := ck.Save(path); err != nil {
			t.Fatal(err)
		}
	}
	d2, err := LoadDiscriminatorNet(with)
	if err != nil {
		t.Fatal(err)
	}
	x := tensor.New(4, 32, 32, 3)
	for i := range x.Data {
		x.Data[i] = float32(rng.Float64()*2 - 1)
	}
	d.SetTraining(false)
	if diff := tensor.MaxAbsDiff(d.Forward(x, nil).Clone(), d2.Forward(x, nil)); diff != 0 {
		t.Fatalf("loaded D's logits differ by %g", diff)
	}
	if _, err := LoadDiscriminatorNet(alone); !errors.Is(err, ErrNoDiscriminator) {
		t.Fatalf("a generator alone: %v, want ErrNoDiscriminator", err)
	}

	// A stylegan's D is StyleGAN2's, and it too comes back as it was saved.
	sc := smallStyle()
	sg, sd, err := NewNets(sc, rng)
	if err != nil {
		t.Fatal(err)
	}
	style := filepath.Join(dir, "style.safetensors")
	if err := (&Checkpoint{Config: sc, G: sg, D: sd, TrainState: "{}"}).Save(style); err != nil {
		t.Fatal(err)
	}
	sd2, err := LoadDiscriminatorNet(style)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sd2.(*StyleDiscriminator); !ok {
		t.Fatalf("a stylegan's D loaded as %T", sd2)
	}
	xs := fixedReal(4, 3)
	sd.SetTraining(false)
	if diff := tensor.MaxAbsDiff(sd.Forward(xs, nil).Clone(), sd2.Forward(xs, nil)); diff != 0 {
		t.Fatalf("loaded stylegan D's logits differ by %g", diff)
	}
}
