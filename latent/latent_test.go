package latent

import (
	"context"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"

	"forger/dataset"
	"forger/gan"
	"forger/judge"
	"forger/nn"
	"forger/tensor"
)

// tinyGenerator is a random 28×28 generator whose batch-norm statistics are
// estimated for its own weights, so that its images use the whole range.
func tinyGenerator(t testing.TB, conditional bool) *gan.Generator {
	t.Helper()
	cfg := gan.Config{Arch: gan.DCGAN, Size: 28, Channels: 1, NZ: 16, NGF: 8, NDF: 8}
	if conditional {
		cfg.Arch, cfg.Classes, cfg.EmbedDim = gan.CDCGAN, []string{"a", "b", "c"}, 4
	}
	g, err := gan.NewGenerator(cfg, rand.New(rand.NewPCG(7, 7)))
	if err != nil {
		t.Fatal(err)
	}
	gan.RecalibrateBN(g)
	g.SetTraining(false)
	return g
}

func dist(a, b []float32) float64 {
	var s float64
	for i := range a {
		d := float64(a[i]) - float64(b[i])
		s += d * d
	}
	return math.Sqrt(s)
}

func TestLerpSlerpEndpointsAndNorms(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	a, b := make([]float32, 64), make([]float32, 64)
	for i := range a {
		a[i], b[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
	}
	// Give b a's length so that slerp's norm must stay constant.
	s := norm(a) / norm(b)
	for i := range b {
		b[i] *= float32(s)
	}
	dst := make([]float32, 64)
	for _, f := range []func(dst, a, b []float32, t float64){Lerp, Slerp} {
		f(dst, a, b, 0)
		if dist(dst, a) > 1e-5 {
			t.Fatal("t=0 is not a")
		}
		f(dst, a, b, 1)
		if dist(dst, b) > 1e-5 {
			t.Fatal("t=1 is not b")
		}
	}
	for _, tt := range []float64{0.1, 0.25, 0.5, 0.9} {
		Slerp(dst, a, b, tt)
		if r := norm(dst) / norm(a); math.Abs(r-1) > 1e-4 {
			t.Errorf("slerp t=%g: norm ratio %g, want 1", tt, r)
		}
	}
	Lerp(dst, a, b, 0.5)
	if r := norm(dst) / norm(a); r > 0.85 {
		t.Errorf("lerp midpoint of independent latents has norm ratio %g, want about 1/√2", r)
	}
	// Slerp's angle moves at constant speed.
	Slerp(dst, a, b, 0.5)
	if d1, d2 := dist(dst, a), dist(dst, b); math.Abs(d1-d2) > 1e-3*d1 {
		t.Errorf("slerp midpoint is not equidistant: %g vs %g", d1, d2)
	}
}

func TestPathFramesAndWaypoints(t *testing.T) {
	w := []Code{{Z: []float32{0, 0}}, {Z: []float32{1, 0}}, {Z: []float32{1, 1}}}
	p, err := Path(w, 5, false)
	if err != nil {
		t.Fatal(err)
	}
	want := [][]float32{{0, 0}, {0.5, 0}, {1, 0}, {1, 0.5}, {1, 1}}
	for i := range p {
		if dist(p[i].Z, want[i]) > 1e-6 {
			t.Errorf("frame %d: %v, want %v", i, p[i].Z, want[i])
		}
	}
	if _, err := Path(w[:1], 5, false); err == nil {
		t.Error("a path of one code was accepted")
	}
	if _, err := Path(w, 1, false); err == nil {
		t.Error("a path of one frame was accepted")
	}
	// Classes mix linearly.
	c := Mix(Code{Z: []float32{0}, Class: ClassCode(0, 2)}, Code{Z: []float32{0}, Class: ClassCode(1, 2)}, 0.25, true)
	if c.Class[0] != 0.75 || c.Class[1] != 0.25 {
		t.Errorf("class weights %v", c.Class)
	}
}

func TestBlendWeights(t *testing.T) {
	g := tinyGenerator(t, true)
	a, b := FromSeed(g.Cfg, 1, 0), FromSeed(g.Cfg, 2, 2)
	ia := Render(g, []Code{a}).Clone()
	ib := Render(g, []Code{b}).Clone()
	for _, sph := range []bool{false, true} {
		m0 := Render(g, []Code{Mix(a, b, 0, sph)}).Clone()
		m1 := Render(g, []Code{Mix(a, b, 1, sph)}).Clone()
		if tensor.MaxAbsDiff(m0, ia) > 1e-6 || tensor.MaxAbsDiff(m1, ib) > 1e-6 {
			t.Fatalf("spherical=%v: weight 0/1 do not give the parents", sph)
		}
		mid := Render(g, []Code{Mix(a, b, 0.5, sph)}).Clone()
		if tensor.MaxAbsDiff(mid, ia) < 1e-3 || tensor.MaxAbsDiff(mid, ib) < 1e-3 {
			t.Fatal("the child equals a parent")
		}
	}
}

// targets returns the images of n seeds and their codes.
func targets(g *gan.Generator, n int, seed int64) (*tensor.Tensor, []Code) {
	codes := make([]Code, n)
	for i := range codes {
		codes[i] = FromSeed(g.Cfg, seed+int64(i), 0)
	}
	return Render(g, codes).Clone(), codes
}

func zeros(g *gan.Generator, n int) []Code {
	out := make([]Code, n)
	for i := range out {
		out[i] = Code{Z: make([]float32, g.Cfg.NZ)}
	}
	return out
}

func TestProjectionRecoversGeneratedImage(t *testing.T) {
	g := tinyGenerator(t, false)
	x, truth := targets(g, 4, 100)
	for _, opt := range []string{OptLBFGS, OptAdam} {
		res, err := Project(context.Background(), g, x, zeros(g, 4), ProjectOptions{Steps: 200, Optimizer: opt, LR: 0.1, FrameEvery: 50})
		if err != nil {
			t.Fatal(err)
		}
		for i := range truth {
			first, best := res.Loss[i][0], res.Best[i]
			if best > first/10 {
				t.Errorf("%s, image %d: pixel loss %g → %g, want a 10× fall", opt, i, first, best)
			}
			d0 := norm(truth[i].Z)
			d1 := dist(res.Codes[i].Z, truth[i].Z)
			if d1 > 0.5*d0 {
				t.Errorf("%s, image %d: z distance %g → %g, want it to shrink", opt, i, d0, d1)
			}
		}
		// Adam makes every step; L-BFGS may converge early, and then its
		// last frame is the result.
		nf := len(res.FrameSteps)
		if len(res.Loss[0]) != 201 || nf < 2 || res.FrameSteps[nf-1] != 200 || (opt == OptAdam && nf != 5) {
			t.Errorf("%s: frames at steps %v, %d losses", opt, res.FrameSteps, len(res.Loss[0]))
		}
	}
}

// L-BFGS must reach a lower loss than Adam in the same number of
// evaluations from the same start: that is what it is offered for.
func TestLBFGSBeatsAdam(t *testing.T) {
	g := tinyGenerator(t, false)
	x, _ := targets(g, 6, 700)
	start := make([]Code, 6)
	for i := range start {
		start[i] = FromSeed(g.Cfg, int64(900+i), 0)
	}
	const steps = 20
	var best [2]float64
	for k, opt := range []string{OptLBFGS, OptAdam} {
		res, err := Project(context.Background(), g, x, start, ProjectOptions{Steps: steps, Optimizer: opt, Loss: LossPixel})
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range res.Best {
			best[k] += b / 6
		}
	}
	t.Logf("mean best loss after %d evaluations: L-BFGS %.4g, Adam %.4g", steps, best[0], best[1])
	if best[0] >= best[1]/4 {
		t.Errorf("L-BFGS %g is not at least 4× below Adam %g", best[0], best[1])
	}
}

// A generator whose first ReLUs are all off at z = 0 has a zero gradient
// there: a projection from the mean cannot move without noise, and moves
// with it.
func TestProjectNoiseLeavesDeadStart(t *testing.T) {
	g := tinyGenerator(t, false)
	bn := g.Net.Layers[1].(*nn.BatchNorm)
	for c := range bn.Beta.Value.Data {
		// At z = 0 the convolution gives 0, so the unit is γ(0 − μ)/σ + β:
		// shift β so that this is −0.5 for every channel.
		sd := math.Sqrt(float64(bn.RunVar.Value.Data[c]) + bn.Eps)
		bn.Beta.Value.Data[c] = float32(float64(bn.Gamma.Value.Data[c])*float64(bn.RunMean.Value.Data[c])/sd - 0.5)
	}
	x, _ := targets(g, 2, 300)
	still, err := Project(context.Background(), g, x, zeros(g, 2), ProjectOptions{Steps: 60})
	if err != nil {
		t.Fatal(err)
	}
	moved, err := Project(context.Background(), g, x, zeros(g, 2), ProjectOptions{Steps: 60, Noise: 1})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if l := still.Loss[i]; l[len(l)-1] != l[0] {
			t.Errorf("image %d without noise: loss %g → %g, want no change from a dead start", i, l[0], l[len(l)-1])
		}
		if moved.Best[i] > 0.5*moved.Loss[i][0] {
			t.Errorf("image %d with noise: loss %g → best %g, want at least a halving", i, moved.Loss[i][0], moved.Best[i])
		}
		if got := noiseAt(1, 45, 60); got != 0 {
			t.Errorf("noise at 75%% of the steps is %g, want 0", got)
		}
	}
}

// The first target's noise, and so its projection, must not depend on the
// targets after it, with either optimiser.
func TestProjectNoiseIsPerTarget(t *testing.T) {
	g := tinyGenerator(t, false)
	x, _ := targets(g, 3, 500)
	for _, opt := range []string{OptAdam, OptLBFGS} {
		o := ProjectOptions{Steps: 40, Optimizer: opt, Noise: 0.5, NoiseSeed: 9}
		together, err := Project(context.Background(), g, x, zeros(g, 3), o)
		if err != nil {
			t.Fatal(err)
		}
		alone, err := Project(context.Background(), g, x.Samples(0, 1), zeros(g, 1), o)
		if err != nil {
			t.Fatal(err)
		}
		a, b := alone.Loss[0], together.Loss[0]
		if len(a) != len(b) {
			t.Fatalf("%s: %d losses alone, %d with two other targets", opt, len(a), len(b))
		}
		for s := range a {
			if math.Abs(a[s]-b[s]) > 1e-4*math.Abs(a[s]) {
				t.Fatalf("%s, step %d: loss %g alone, %g with two other targets", opt, s, a[s], b[s])
			}
		}
	}
}

// A cancelled context stops the projection with its error.
func TestProjectStopsWhenCancelled(t *testing.T) {
	g := tinyGenerator(t, false)
	x, _ := targets(g, 2, 100)
	for _, opt := range []string{OptAdam, OptLBFGS} {
		ctx, cancel := context.WithCancel(context.Background())
		steps := 0
		res, err := Project(ctx, g, x, zeros(g, 2), ProjectOptions{Steps: 200, Optimizer: opt, Progress: func(step int, _ float64) {
			if steps = step; step == 3 {
				cancel()
			}
		}})
		if err != context.Canceled || res != nil || steps != 3 {
			t.Errorf("%s, after cancelling at step 3: %d steps, %v, %v", opt, steps, res, err)
		}
		cancel()
	}
}

func TestPerceptualGradients(t *testing.T) {
	g := tinyGenerator(t, false)
	cfg := g.Cfg
	d, err := gan.NewDiscriminator(cfg, rand.New(rand.NewPCG(3, 3)))
	if err != nil {
		t.Fatal(err)
	}
	j, err := judge.New(judge.Config{Size: 28, Channels: 1, Classes: []string{"a", "b"}}, 5)
	if err != nil {
		t.Fatal(err)
	}
	// Batch-norm statistics of the random networks: run them once in training mode.
	x, _ := targets(g, 8, 1)
	d.Forward(x, nil)
	j.Body.Forward(x)
	y, _ := targets(g, 2, 50)
	img, _ := targets(g, 2, 60)
	for _, f := range []Features{DiscFeatures(d), JudgeFeatures(j)} {
		for _, kind := range []string{LossPerceptual, LossBoth} {
			obj := NewObjective(kind, f, 0.5, y)
			obj.Eval(img, true)
			grad := obj.Grad().Clone()
			rng := rand.New(rand.NewPCG(9, 9))
			for k := 0; k < 6; k++ {
				i := rng.IntN(img.Len())
				const h = 1e-3
				old := img.Data[i]
				img.Data[i] = old + h
				lp := obj.Eval(img, false) * 2 // Eval returns the mean over 2 images
				img.Data[i] = old - h
				lm := obj.Eval(img, false) * 2
				img.Data[i] = old
				num := (lp - lm) / (2 * h)
				if g := float64(grad.Data[i]); math.Abs(num-g) > 0.05*math.Abs(num)+1e-4 {
					t.Errorf("%s %s: d/dx[%d] = %g, numeric %g", f.Name(), kind, i, g, num)
				}
			}
		}
	}
}

// saveAndLoad writes e to a file and reads it back.
func saveAndLoad(t *testing.T, e *Encoder) *Encoder {
	t.Helper()
	path := filepath.Join(t.TempDir(), "enc.safetensors")
	if err := e.Save(path); err != nil {
		t.Fatal(err)
	}
	e2, err := LoadEncoder(path)
	if err != nil {
		t.Fatal(err)
	}
	return e2
}

func TestEncoderBeatsMeanInit(t *testing.T) {
	g := tinyGenerator(t, false)
	e, err := TrainEncoder(context.Background(), g, "tiny", EncoderOptions{Samples: 6000, Batch: 32, Width: 16, LR: 2e-3, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if e.Cfg.HeldOutZMSE >= 1 {
		t.Errorf("held-out z MSE %g, not better than predicting 0", e.Cfg.HeldOutZMSE)
	}
	e2 := saveAndLoad(t, e)
	x, _ := targets(g, 8, 5000)
	p1, p2 := e.Encode(g, x.Data, nil), e2.Encode(g, x.Data, nil)
	if tensor.MaxAbsDiff(p1, p2) != 0 {
		t.Fatal("the loaded encoder predicts differently")
	}
	init := make([]Code, 8)
	for i := range init {
		init[i] = Code{Z: append([]float32(nil), p1.Data[i*g.Cfg.NZ:(i+1)*g.Cfg.NZ]...)}
	}
	const steps = 30
	mean, err := Project(context.Background(), g, x, zeros(g, 8), ProjectOptions{Steps: steps})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := Project(context.Background(), g, x, init, ProjectOptions{Steps: steps})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("after %d steps: mean init %.4g, encoder init %.4g (initial %.4g vs %.4g)", steps, mean.Mean(steps), enc.Mean(steps), mean.Mean(0), enc.Mean(0))
	if enc.Mean(0) >= mean.Mean(0) || enc.Mean(steps) >= mean.Mean(steps) {
		t.Errorf("encoder init %g → %g is not better than mean init %g → %g", enc.Mean(0), enc.Mean(steps), mean.Mean(0), mean.Mean(steps))
	}
}

// An iterative encoder's later passes, which see the generator's image of
// the guess so far, must improve on its first pass, and a saved one must
// encode as the trained one does (with the classes of a conditional model).
func TestIterativeEncoderCorrectsItself(t *testing.T) {
	g := tinyGenerator(t, true)
	e, err := TrainEncoder(context.Background(), g, "tiny", EncoderOptions{Samples: 3000, Batch: 32, Width: 16, LR: 2e-3, Iterations: 3, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	z3, pix3 := e.Cfg.HeldOutZMSE, e.Cfg.HeldOutPixelMSE
	z1, pix1 := e.measure(g, 256, 2+1000, 1) // its first pass only
	t.Logf("held-out z MSE %.4f after 1 pass, %.4f after 3; pixel MSE %.5f, %.5f", z1, z3, pix1, pix3)
	if z3 >= 0.9*z1 || pix3 >= 0.9*pix1 {
		t.Errorf("3 passes (z MSE %g, pixel MSE %g) are not clearly better than 1 (%g, %g)", z3, pix3, z1, pix1)
	}
	e2 := saveAndLoad(t, e)
	if e2.Cfg.Iterations != 3 {
		t.Fatalf("loaded encoder has %d iterations, want 3", e2.Cfg.Iterations)
	}
	x, _ := targets(g, 6, 5000)
	labels := []int32{0, 1, 2, 0, 1, 2}
	p1, p2 := e.Encode(g, x.Data, labels), e2.Encode(g, x.Data, labels)
	if d := tensor.MaxAbsDiff(p1, p2); d != 0 {
		t.Fatalf("the loaded encoder encodes differently (max diff %g)", d)
	}
	if d := tensor.MaxAbsDiff(p1, e.Encode(g, x.Data, []int32{1, 2, 0, 1, 2, 0})); d == 0 {
		t.Error("an iterative encoder of a conditional model ignores the classes it renders with")
	}

	// EncodeBest keeps each image's best pass, so no image is worse than
	// after the trained passes; 70 images span two chunks of 64.
	const n = 70
	codes := make([]Code, n)
	labels = make([]int32, n)
	for i := range codes {
		codes[i], labels[i] = FromSeed(g.Cfg, 6000+int64(i), i%3), int32(i%3)
	}
	x = Render(g, codes).Clone()
	obj := NewObjective(LossPixel, nil, 1, x)
	loss := func(z *tensor.Tensor) []float64 {
		obj.Eval(g.Forward(z, labels), false)
		return append([]float64(nil), obj.Last...)
	}
	plain, best := loss(e.Encode(g, x.Data, labels)), loss(e.EncodeBest(g, obj, labels))
	var sp, sb float64
	for i := range plain {
		if best[i] > plain[i]*(1+1e-5) {
			t.Errorf("image %d: best pass loss %g, worse than the trained passes' %g", i, best[i], plain[i])
		}
		sp, sb = sp+plain[i], sb+best[i]
	}
	t.Logf("mean pixel loss: %d passes %.5f, best of %d %.5f", e.Cfg.Iterations, sp/n, BestPassesFactor*e.Cfg.Iterations, sb/n)
	if sb >= sp {
		t.Errorf("the best passes (mean %g) improve on none of the trained passes' (%g)", sb/n, sp/n)
	}
}

// photoLike replaces the background connected to the border, and only it.
func TestPhotoLikeReplacesBackground(t *testing.T) {
	const size, ch = 16, 3
	x := make([]float32, size*size*ch)
	// A light background, a dark ring (rows and columns 4..11) and a hole
	// of the background's colour inside it (6..9).
	for p := range size * size {
		px, py := p%size, p/size
		v := float32(0.9)
		if px >= 4 && px <= 11 && py >= 4 && py <= 11 && !(px >= 6 && px <= 9 && py >= 6 && py <= 9) {
			v = -0.8
		}
		for c := range ch {
			x[p*ch+c] = v
		}
	}
	mask, queue := make([]bool, size*size), make([]int, 0, size*size)
	backgroundMask(x, size, ch, mask, queue)
	for p, m := range mask {
		px, py := p%size, p/size
		outside := px < 4 || px > 11 || py < 4 || py > 11
		if m != outside {
			t.Fatalf("pixel (%d,%d): background %v, want %v", px, py, m, outside)
		}
	}
	rng := newRNG(1)
	changed := 0
	for range 20 {
		y := append([]float32(nil), x...)
		photoLike(rng, y, size, ch, mask, queue)
		for i, v := range y {
			if v < -1 || v > 1 || math.IsNaN(float64(v)) {
				t.Fatalf("value %g at %d is outside [-1, 1]", v, i)
			}
		}
		// The hole keeps one colour (the colour transforms treat it
		// alike) and the ring stays darker than it.
		hole, ring := y[(7*size+7)*ch], y[(4*size+4)*ch]
		if hole <= ring {
			t.Fatalf("the ring (%g) is no darker than the hole (%g)", ring, hole)
		}
		if d := math.Abs(float64(y[0] - x[0])); d > 0.5 {
			changed++
		}
	}
	if changed < 5 {
		t.Errorf("the background changed much in %d of 20 images", changed)
	}
}

// Real images train an encoder with the image loss alone, as half of
// every batch; they must fit the model, which must be unconditional.
func TestEncoderTrainsOnRealImages(t *testing.T) {
	g := tinyGenerator(t, false)
	x, _ := targets(g, 200, 20000) // "real" images the encoder never sees the z of
	real := &dataset.Set{Size: 28, Channels: 1, Images: x.Data, Labels: make([]int32, 200)}
	o := EncoderOptions{Samples: 4000, Batch: 32, Width: 16, LR: 2e-3, Iterations: 2, Real: real, RealData: "tiny", Seed: 3}
	e, err := TrainEncoder(context.Background(), g, "tiny", o)
	if err != nil {
		t.Fatal(err)
	}
	if e.Cfg.RealImages != 200 || e.Cfg.RealData != "tiny" {
		t.Errorf("config records %d real images from %q", e.Cfg.RealImages, e.Cfg.RealData)
	}
	if e.Cfg.HeldOutZMSE >= 1 {
		t.Errorf("held-out z MSE %g, not better than predicting 0", e.Cfg.HeldOutZMSE)
	}
	// calibrate must hand back batch norm layers with their own momentum.
	for _, l := range e.Net.Layers {
		if bn, ok := l.(*nn.BatchNorm); ok && bn.Momentum != 0.1 {
			t.Errorf("batch norm momentum %g after training, want 0.1", bn.Momentum)
		}
	}
	bad := *real
	bad.Size = 32
	o.Real = &bad
	if _, err := TrainEncoder(context.Background(), g, "tiny", o); err == nil {
		t.Error("real images of the wrong size were accepted")
	}
	o.Real = real
	if _, err := TrainEncoder(context.Background(), tinyGenerator(t, true), "tiny", o); err == nil {
		t.Error("real images were accepted for a conditional model")
	}
}

func TestFitDirectionRecoversPlantedDirection(t *testing.T) {
	const n, nz = 2000, 32
	rng := rand.New(rand.NewPCG(4, 4))
	u := make([]float64, nz)
	var s float64
	for i := range u {
		u[i] = rng.NormFloat64()
		s += u[i] * u[i]
	}
	for i := range u {
		u[i] /= math.Sqrt(s)
	}
	z := make([]float32, n*nz)
	y := make([]bool, n)
	for i := 0; i < n; i++ {
		var p float64
		for j := 0; j < nz; j++ {
			v := rng.NormFloat64()
			z[i*nz+j] = float32(v)
			p += v * u[j]
		}
		y[i] = p+0.5+0.3*rng.NormFloat64() > 0
	}
	d, err := FitDirection(z, y, 0)
	if err != nil {
		t.Fatal(err)
	}
	cos := dot(d.Direction, u)
	if cos < 0.95 {
		t.Errorf("cosine with the planted direction %g, want > 0.95", cos)
	}
	if d.Accuracy < 0.85 || math.Abs(d.Bias-0.5) > 0.2 {
		t.Errorf("accuracy %g, bias %g (want ~0.5)", d.Accuracy, d.Bias)
	}
	// Orthogonalising against a direction removes its component.
	other := &Direction{Attribute: "o", Direction: append([]float64(nil), u...)}
	other.Direction[0] += 0.5
	if err := d.Orthogonalize(other); err != nil {
		t.Fatal(err)
	}
	if c := dot(d.Direction, other.Direction); math.Abs(c) > 1e-9 {
		t.Errorf("orthogonalised direction has cosine %g with the other", c)
	}
	if _, err := FitDirection(z, make([]bool, n), 0); err == nil {
		t.Error("labels all false were accepted")
	}
}

func TestParseStrengthsAndEdit(t *testing.T) {
	s, err := ParseStrengths("-3:3:7")
	if err != nil || len(s) != 7 || s[0] != -3 || s[3] != 0 || s[6] != 3 {
		t.Fatalf("%v %v", s, err)
	}
	if s, err := ParseStrengths("2.5"); err != nil || len(s) != 1 || s[0] != 2.5 {
		t.Fatalf("%v %v", s, err)
	}
	for _, bad := range []string{"", "a:b:c", "1:2", "1:2:0", "1:2:3:4", "1:2:x", "nan"} {
		if _, err := ParseStrengths(bad); err == nil {
			t.Errorf("%q was accepted", bad)
		}
	}
	d := []float32{0.6, 0.8}
	e := Edit(Code{Z: []float32{1, 1}}, d, []float64{-1, 0, 2})
	if dist(e[1].Z, []float32{1, 1}) != 0 || math.Abs(dist(e[2].Z, e[0].Z)-3) > 1e-6 {
		t.Errorf("edits %v", e)
	}
}

// calibrate must set batch norm's running statistics to the average of the
// batches it sees, not to a moving average that still remembers where it
// started: calibrated twice on one batch, the encoder in inference gives on
// that batch what it gives in training (up to the running variance's
// unbiasing), though its statistics started at the untrained 0 and 1.
func TestCalibrateAveragesBatchStatistics(t *testing.T) {
	g := tinyGenerator(t, false)
	e, err := TrainEncoder(context.Background(), g, "tiny", EncoderOptions{Samples: 256, Batch: 32, Width: 16, LR: 2e-3, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	batch, _ := targets(g, 32, 30000)
	var bns []*nn.BatchNorm
	for _, l := range e.Net.Layers {
		if bn, ok := l.(*nn.BatchNorm); ok {
			bns = append(bns, bn)
		}
	}
	if len(bns) == 0 {
		t.Fatal("the encoder has no batch norm")
	}
	// mismatch is ‖inference − training‖ / ‖training‖ on batch.
	mismatch := func() float64 {
		e.Net.SetTraining(false)
		inf := e.Net.Forward(batch).Clone()
		saved := make([][]float32, 0, 2*len(bns))
		for _, bn := range bns {
			saved = append(saved, slices.Clone(bn.RunMean.Value.Data), slices.Clone(bn.RunVar.Value.Data))
		}
		e.Net.SetTraining(true)
		tr := e.Net.Forward(batch).Clone()
		for i, bn := range bns { // the training pass moved them
			copy(bn.RunMean.Value.Data, saved[2*i])
			copy(bn.RunVar.Value.Data, saved[2*i+1])
		}
		e.Net.SetTraining(false)
		return dist(inf.Data, tr.Data) / dist(tr.Data, make([]float32, tr.Len()))
	}
	for _, bn := range bns {
		bn.RunMean.Value.Fill(0)
		bn.RunVar.Value.Fill(1)
	}
	before := mismatch()
	x := tensor.New(batch.Shape...)
	fill := func(*rand.Rand) { copy(x.Data, batch.Data) }
	e.calibrate(g, e.net(g, nil), x, tensor.New(32, g.Cfg.NZ), fill, 2)
	after := mismatch()
	if before < 0.2 {
		t.Fatalf("untrained statistics already match the batch's (mismatch %.3g): the test cannot tell", before)
	}
	if after > 0.05 {
		t.Errorf("after calibration inference differs from training by %.3g (%.3g before)", after, before)
	}
}
