package face

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"testing"

	"forger/internal/fixture"
	"forger/tensor"
)

func loadDescriptor(t testing.TB) *DescriptorNet {
	t.Helper()
	d, err := LoadDescriptorNet(DefaultDir())
	if err != nil {
		fixture.Missingf(t, "%v (the tests of the face networks need the models)", err)
	}
	return d
}

func loadLandmarks(t testing.TB) *LandmarkNet {
	t.Helper()
	l, err := LoadLandmarkNet(DefaultDir())
	if err != nil {
		fixture.Missingf(t, "%v (the tests of the face networks need the models)", err)
	}
	return l
}

// noiseImage is a reproducible w×h RGB image.
func noiseImage(w, h int, seed uint64) *image.NRGBA {
	rng := rand.New(rand.NewPCG(seed, 1))
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			m.SetNRGBA(x, y, color.NRGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255})
		}
	}
	return m
}

func TestSquarePad(t *testing.T) {
	for _, c := range []struct{ h, w, t, b, l, r int }{
		{240, 177, 0, 0, 31, 32}, // odd difference: the extra pixel goes after
		{160, 212, 26, 26, 0, 0},
		{150, 151, 0, 1, 0, 0},
		{100, 100, 0, 0, 0, 0},
	} {
		tp, bt, lf, rt := squarePad(c.h, c.w)
		if tp != c.t || bt != c.b || lf != c.l || rt != c.r {
			t.Errorf("squarePad(%d,%d) = %d %d %d %d", c.h, c.w, tp, bt, lf, rt)
		}
	}
}

func TestImageTensor(t *testing.T) {
	nrgba := image.NewNRGBA(image.Rect(0, 0, 2, 1))
	nrgba.SetNRGBA(0, 0, color.NRGBA{10, 20, 30, 255})
	nrgba.SetNRGBA(1, 0, color.NRGBA{200, 100, 50, 128}) // alpha dropped, colour kept
	gray := image.NewGray(image.Rect(0, 0, 2, 1))
	gray.SetGray(0, 0, color.Gray{10})
	gray.SetGray(1, 0, color.Gray{200})
	rgba := image.NewRGBA(image.Rect(0, 0, 2, 1))
	rgba.SetRGBA(0, 0, color.RGBA{10, 20, 30, 255})
	rgba.SetRGBA(1, 0, color.RGBA{100, 50, 25, 128}) // premultiplied: un-premultiply
	g16 := image.NewRGBA64(image.Rect(0, 0, 2, 1))
	g16.SetRGBA64(0, 0, color.RGBA64{10 << 8, 20 << 8, 30<<8 | 0xff, 0xffff})
	g16.SetRGBA64(1, 0, color.RGBA64{200 << 8, 100 << 8, 50 << 8, 0xffff})
	for name, c := range map[string]struct {
		img  image.Image
		want []float32
	}{
		"nrgba":  {nrgba, []float32{10, 20, 30, 200, 100, 50}},
		"gray":   {gray, []float32{10, 10, 10, 200, 200, 200}},
		"rgba":   {rgba, []float32{10, 20, 30, 199, 99, 49}},
		"rgba64": {g16, []float32{10, 20, 30, 200, 100, 50}},
		"sub":    {nrgba.SubImage(image.Rect(1, 0, 2, 1)), []float32{200, 100, 50}},
	} {
		x := ImageTensor(c.img)
		if x.Shape[0] != 1 || x.Shape[3] != 3 || x.Len() != len(c.want) {
			t.Fatalf("%s: shape %v", name, x.Shape)
		}
		for i, v := range c.want {
			if x.Data[i] != v {
				t.Errorf("%s: %v, want %v", name, x.Data, c.want)
				break
			}
		}
	}
}

func TestToPixels(t *testing.T) {
	out := make([]float32, 136)
	for i := range out {
		out[i] = float32(i%17) / 16
	}
	// Square: the relative positions times the size.
	lm := ToPixels(out, 150, 150)
	if lm[1][0] != float32(float64(out[2])*150) || lm[1][1] != float32(float64(out[3])*150) {
		t.Fatalf("square: %v", lm[1])
	}
	// Tall 100×200: the square is 200 wide, the image sits 50 px in.
	lm = ToPixels(out, 100, 200)
	for i := range lm {
		x, y := float64(out[2*i])*200-50, float64(out[2*i+1])*200
		if math.Abs(float64(lm[i][0])-x) > 1e-4 || math.Abs(float64(lm[i][1])-y) > 1e-4 {
			t.Fatalf("tall: point %d = %v, want %v,%v", i, lm[i], x, y)
		}
	}
	// Wide 300×100: 100 px of padding above.
	lm = ToPixels(out, 300, 100)
	if x, y := float64(out[4])*300, float64(out[5])*300-100; math.Abs(float64(lm[2][0])-x) > 1e-3 || math.Abs(float64(lm[2][1])-y) > 1e-3 {
		t.Fatalf("wide: %v, want %v,%v", lm[2], x, y)
	}
}

// directional compares the gradient of Σ y·r with respect to x along
// directions with central differences. The networks are piecewise linear
// with very many kinks (ReLU, max pool) and run in float32, so the check is
// loose (2%): it catches wiring mistakes; the layers' own gradients are
// checked tightly in package nn and by TestGradDenseBlock.
func directional(t *testing.T, name string, forward func(*tensor.Tensor) *tensor.Tensor, backward func(*tensor.Tensor) *tensor.Tensor, x *tensor.Tensor, eps float64) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 3))
	y := forward(x)
	r := tensor.New(y.Shape...)
	r.FillNormal(rng, 0, 1)
	dx := backward(r).Clone()
	if !tensor.SameShape(dx.Shape, x.Shape) {
		t.Fatalf("%s: gradient %v for input %v", name, dx.Shape, x.Shape)
	}
	loss := func(x *tensor.Tensor) float64 {
		var s float64
		for i, v := range forward(x).Data {
			s += float64(v) * float64(r.Data[i])
		}
		return s
	}
	for k := 0; k < 3; k++ {
		// Directions along the gradient restricted to random halves of the
		// pixels: large derivatives, and a wrong gradient in any region
		// shows.
		v := tensor.New(x.Shape...)
		var norm float64
		for i, g := range dx.Data {
			if k == 0 || rng.IntN(2) == 0 {
				v.Data[i] = g
				norm += float64(g) * float64(g)
			}
		}
		for i := range v.Data {
			v.Data[i] /= float32(math.Sqrt(norm / float64(v.Len())))
		}
		var analytic float64
		for i := range v.Data {
			analytic += float64(v.Data[i]) * float64(dx.Data[i])
		}
		xp, xm := x.Clone(), x.Clone()
		for i := range v.Data {
			xp.Data[i] += float32(eps) * v.Data[i]
			xm.Data[i] -= float32(eps) * v.Data[i]
		}
		num := (loss(xp) - loss(xm)) / (2 * eps)
		if math.Abs(num-analytic) > 2e-2*math.Abs(num) {
			t.Errorf("%s: directional derivative %d: backward %.6g, finite difference %.6g", name, k, analytic, num)
		} else {
			t.Logf("%s: directional derivative %d: backward %.6g, finite difference %.6g", name, k, analytic, num)
		}
	}
}

// smoothImage is a reproducible w×h image of soft colour waves, closer to a
// photo than noise (fewer activations sit on a kink).
func smoothImage(w, h int, seed uint64) *image.NRGBA {
	rng := rand.New(rand.NewPCG(seed, 2))
	var f [3][4]float64
	for c := range f {
		for k := range f[c] {
			f[c][k] = rng.Float64()
		}
	}
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			var px [3]uint8
			for c := range px {
				v := math.Sin(float64(x)*0.1*f[c][0]+6*f[c][1]) * math.Cos(float64(y)*0.1*f[c][2]+6*f[c][3])
				px[c] = uint8(127.5 + 120*v)
			}
			m.SetNRGBA(x, y, color.NRGBA{px[0], px[1], px[2], 255})
		}
	}
	return m
}

func TestDescriptorGradient(t *testing.T) {
	d := loadDescriptor(t)
	// A non-square input: the gradient goes back through the resize and
	// the padding too.
	x := ImageTensor(smoothImage(120, 97, 3))
	directional(t, "descriptor", d.Forward, d.Backward, x, 0.0005)
	x = ImageTensor(smoothImage(150, 150, 4))
	directional(t, "descriptor 150", d.Forward, d.Backward, x, 0.0005)
}

func TestLandmarkGradient(t *testing.T) {
	l := loadLandmarks(t)
	x := ImageTensor(smoothImage(130, 150, 5))
	directional(t, "landmarks", l.Forward, l.Backward, x, 0.0005)
}

func TestBatchMatchesSingle(t *testing.T) {
	d, l := loadDescriptor(t), loadLandmarks(t)
	imgs := []image.Image{noiseImage(150, 150, 6), noiseImage(90, 130, 7), noiseImage(200, 180, 8)}
	descs := d.EmbedBatch(imgs)
	lms := l.LandmarksBatch(imgs)
	for i, img := range imgs {
		one := d.Embed(img)
		if dist := one.Distance(descs[i]); dist > 1e-5 {
			t.Errorf("image %d: batch descriptor %g away from the single one", i, dist)
		}
		lm := l.Landmarks(img)
		for j := range lm {
			if math.Hypot(float64(lm[j][0]-lms[i][j][0]), float64(lm[j][1]-lms[i][j][1])) > 1e-3 {
				t.Errorf("image %d: batch landmark %d %v, single %v", i, j, lms[i][j], lm[j])
				break
			}
		}
	}
	if d.Embed(image.NewNRGBA(image.Rect(0, 0, 0, 0))) != (Descriptor{}) {
		t.Error("empty image: want a zero descriptor")
	}
}

// raceEnabled is set by race_test.go under the race detector, whose
// instrumentation allocates.
var raceEnabled bool

func TestZeroAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	d, l := loadDescriptor(t), loadLandmarks(t)
	img := noiseImage(150, 150, 9)
	x := ImageTensor(img)
	d.Embed(img)
	l.Landmarks(img)
	dy := tensor.New(1, 128)
	d.Backward(dy)
	step := func() {
		d.Embed(img)
		l.Landmarks(img)
		d.Forward(x)
		d.Backward(dy)
	}
	step()
	if a := testing.AllocsPerRun(3, step); a != 0 {
		t.Errorf("%.1f allocations per call", a)
	}
}

// TestGradDenseBlock checks the dense block's hand-written backward pass
// coordinate by coordinate on random weights.
func TestGradDenseBlock(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 0))
	w := &Weights{tensors: map[string]*tensor.Tensor{}, source: "random"}
	add := func(name string, shape ...int) {
		x := tensor.New(shape...)
		x.FillNormal(rng, 0, 0.5)
		w.tensors[name] = x
	}
	for _, first := range []bool{true, false} {
		for k := 0; k < 4; k++ {
			p := "d/conv" + string(rune('0'+k))
			in := 4
			if k == 0 && first {
				add(p+"/filters", 3, 3, 3, 4)
				add(p+"/bias", 4)
				continue
			}
			if k == 0 {
				in = 3
			}
			add(p+"/depthwise_filter", 3, 3, in, 1)
			add(p+"/pointwise_filter", 1, 1, in, 4)
			add(p+"/bias", 4)
		}
		b := &builder{w: w}
		blk := b.denseBlock("d", 3, 4, first)
		if b.err != nil {
			t.Fatal(b.err)
		}
		x := tensor.New(2, 6, 6, 3)
		x.FillNormal(rng, 0, 1)
		y := blk.Forward(x)
		if !tensor.SameShape(y.Shape, []int{2, 3, 3, 4}) {
			t.Fatalf("dense block output %v", y.Shape)
		}
		r := tensor.New(y.Shape...)
		r.FillNormal(rng, 0, 1)
		dx := blk.Backward(r).Clone()
		loss := func() float64 {
			var s float64
			for i, v := range blk.Forward(x).Data {
				s += float64(v) * float64(r.Data[i])
			}
			return s
		}
		const eps = 1e-3
		bad := 0
		for _, i := range rng.Perm(x.Len())[:40] {
			old := x.Data[i]
			x.Data[i] = old + eps
			lp := loss()
			x.Data[i] = old - eps
			lm := loss()
			x.Data[i] = old
			num := (lp - lm) / (2 * eps)
			if math.Abs(num-float64(dx.Data[i])) > 1e-2*math.Max(1, math.Abs(num)) {
				bad++
				t.Logf("first=%v: d/dx[%d]: backward %.6g, finite difference %.6g", first, i, dx.Data[i], num)
			}
		}
		if bad > 1 { // one probe may straddle a ReLU kink
			t.Errorf("first=%v: %d of 40 probes disagree", first, bad)
		}
	}
}
