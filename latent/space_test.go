package latent

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"forger/gan"
	"forger/judge"
	"forger/stylegan"
	"forger/tensor"
)

// tinyStyle is a random 8×8 stylegan (4 w's of 8 values), in inference
// mode, with w_avg set to the mean w of 256 seeds as training would leave it.
func tinyStyle(t testing.TB) *gan.StyleGenerator {
	return randomStyle(t, 8, 8, 64, 3)
}

// randomStyle is tinyStyle at another size, w of dim values (z too) and
// ChannelBase base, its weights drawn from seed.
func randomStyle(t testing.TB, size, dim, base int, seed uint64) *gan.StyleGenerator {
	t.Helper()
	sc := stylegan.DefaultConfig(size, 3)
	sc.ZDim, sc.WDim, sc.MappingLayers, sc.ChannelBase, sc.ChannelMax = dim, dim, 2, base, 16
	g, err := gan.NewStyleGenerator(gan.StyleConfig(sc), rand.New(rand.NewPCG(seed, seed+1)))
	if err != nil {
		t.Fatal(err)
	}
	g.SetTraining(false)
	z := tensor.New(256, sc.ZDim)
	gan.SampleZ(z, rand.New(rand.NewPCG(5, 6)))
	w := g.Mapping.Forward(z)
	for j := range g.Mapping.WAvg.Value.Data {
		var s float32
		for i := 0; i < 256; i++ {
			s += w.Data[i*sc.WDim+j]
		}
		g.Mapping.WAvg.Value.Data[j] = s / 256
	}
	return g
}

func TestParseSpace(t *testing.T) {
	for in, want := range map[string]Space{"": SpaceZ, "z": SpaceZ, "w": SpaceW, "w+": SpaceWPlus} {
		if got, err := ParseSpace(in); err != nil || got != want {
			t.Errorf("ParseSpace(%q) = %q, %v", in, got, err)
		}
	}
	_, err := ParseSpace("W++")
	var se *SpaceError
	if !errors.Is(err, ErrSpace) || !errors.As(err, &se) || se.Space != "W++" {
		t.Fatalf("ParseSpace(W++): %v", err)
	}
	dcgan := gan.Config{Arch: gan.DCGAN, Size: 28, Channels: 1, NZ: 16, NGF: 8, NDF: 8}
	if _, err := SpaceW.Dim(dcgan); !errors.Is(err, ErrSpace) {
		t.Fatalf("W of a dcgan: %v", err)
	}
	g := tinyStyle(t)
	for s, want := range map[Space]int{SpaceZ: 8, SpaceW: 8, SpaceWPlus: 4 * 8} {
		if d, err := s.Dim(g.Cfg); err != nil || d != want {
			t.Errorf("%s.Dim = %d, %v; want %d", s, d, err, want)
		}
	}
	if DefaultSpace(g.Cfg) != SpaceWPlus || DefaultSpace(dcgan) != SpaceZ {
		t.Fatal("default spaces")
	}
}

// TestFileSpaces writes and reads a W+ latent file, reads a file of before
// W (no "space": z), and refuses a W code for a DCGAN and a file whose
// space is unknown.
func TestFileSpaces(t *testing.T) {
	g := tinyStyle(t)
	dir := t.TempDir()
	code, err := ToSpace(g, FromSeed(g.Cfg, 3, 0), SpaceWPlus)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "wplus.json")
	if err := FileOf("m", code).Write(p); err != nil {
		t.Fatal(err)
	}
	f, err := ReadFile(p)
	if err != nil || f.Space != SpaceWPlus || f.Z != nil {
		t.Fatalf("read back %+v, %v", f, err)
	}
	back, err := f.CodeOf(g.Cfg, -1)
	if err != nil || back.Space != SpaceWPlus || !slices.Equal(back.Z, code.Z) {
		t.Fatalf("code %v, %v", back, err)
	}
	old := filepath.Join(dir, "old.json")
	os.WriteFile(old, []byte(`{"model": "m", "z": [1, 2, 3, 4, 5, 6, 7, 8]}`), 0o644)
	if f, err := ReadFile(old); err != nil || f.Space != "" {
		t.Fatalf("old file: %+v %v", f, err)
	} else if c, err := f.CodeOf(g.Cfg, -1); err != nil || c.Space.String() != "z" || len(c.Z) != 8 {
		t.Fatalf("old file's code %v %v", c, err)
	}
	dcgan := gan.Config{Arch: gan.DCGAN, Size: 28, Channels: 1, NZ: 32, NGF: 8, NDF: 8}
	if _, err := f.CodeOf(dcgan, -1); !errors.Is(err, ErrSpace) {
		t.Fatalf("a W+ file for a dcgan: %v", err)
	}
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"model": "m", "space": "u", "w": [1]}`), 0o644)
	if _, err := ReadFile(bad); !errors.Is(err, ErrSpace) {
		t.Fatalf("unknown space: %v", err)
	}
	noW := filepath.Join(dir, "now.json")
	os.WriteFile(noW, []byte(`{"model": "m", "space": "w", "z": [1]}`), 0o644)
	if _, err := ReadFile(noW); err == nil {
		t.Fatal("a W file without \"w\" was read")
	}
}

// TestToSpaceRendersTheSameImage: a seed's z, its w and its W+ are one
// image, and W+ does not go back to W.
func TestToSpaceRendersTheSameImage(t *testing.T) {
	g := tinyStyle(t)
	z := FromSeed(g.Cfg, 11, 0)
	w, err := ToSpace(g, z, SpaceW)
	if err != nil {
		t.Fatal(err)
	}
	wp, err := ToSpace(g, w, SpaceWPlus)
	if err != nil {
		t.Fatal(err)
	}
	a := Render(g, []Code{z}).Clone()
	b := Render(g, []Code{w}).Clone()
	c := Render(g, []Code{wp}).Clone()
	if dist(a.Data, b.Data) > 1e-4 || dist(a.Data, c.Data) > 1e-4 {
		t.Fatalf("z, w and w+ of one seed differ: %g %g", dist(a.Data, b.Data), dist(a.Data, c.Data))
	}
	if other := Render(g, []Code{FromSeed(g.Cfg, 12, 0)}); dist(a.Data, other.Data) < 1e-2 {
		t.Fatal("two seeds give one image")
	}
	if _, err := ToSpace(g, wp, SpaceW); !errors.Is(err, ErrSpace) {
		t.Fatalf("w+ → w: %v", err)
	}
	if _, err := ToSpace(tinyGenerator(t, false), FromSeed(tinyGenerator(t, false).Cfg, 1, 0), SpaceW); !errors.Is(err, ErrSpace) {
		t.Fatalf("a dcgan's w: %v", err)
	}
	mixed, err := ToCommonSpace(g, []Code{z, wp}, SpaceW)
	if err != nil || mixed[0].Space != SpaceWPlus || mixed[1].Space != SpaceWPlus {
		t.Fatalf("common space %v", err)
	}
}

// TestPathInW: frames of a walk in W are linear in w, and spherical
// interpolation in W is refused.
func TestPathInW(t *testing.T) {
	g := tinyStyle(t)
	a, _ := ToSpace(g, FromSeed(g.Cfg, 1, 0), SpaceW)
	b, _ := ToSpace(g, FromSeed(g.Cfg, 2, 0), SpaceW)
	path, err := Path([]Code{a, b}, 5, false)
	if err != nil {
		t.Fatal(err)
	}
	mid := path[2]
	for i := range mid.Z {
		if want := (a.Z[i] + b.Z[i]) / 2; mid.Z[i]-want > 1e-5 || want-mid.Z[i] > 1e-5 || mid.Space != SpaceW {
			t.Fatalf("frame 2 is not the midpoint in W")
		}
	}
	if _, err := Path([]Code{a, b}, 5, true); !errors.Is(err, ErrSpace) {
		t.Fatalf("spherical in W: %v", err)
	}
	if _, err := Path([]Code{a, FromSeed(g.Cfg, 2, 0)}, 5, false); !errors.Is(err, ErrSpace) {
		t.Fatalf("w and z in one path: %v", err)
	}
}

// TestProjectWPlusBeatsZ projects images of a random stylegan's own seeds
// (truncated towards w_avg by 0.5, so none is a code of z's start) in z,
// W and W+ with the same steps: W+ ends lowest, z highest, and the codes
// are of the space asked.
func TestProjectWPlusBeatsZ(t *testing.T) {
	g := tinyStyle(t)
	targets := tensor.New(3, 8, 8, 3)
	var codes []Code
	for s := range 3 {
		w, _ := ToSpace(g, FromSeed(g.Cfg, int64(100+s), 0), SpaceWPlus)
		// Give each layer its own w: a mix of two seeds' styles.
		w2, _ := ToSpace(g, FromSeed(g.Cfg, int64(200+s), 0), SpaceWPlus)
		copy(w.Z[2*8:], w2.Z[2*8:])
		codes = append(codes, w)
	}
	copy(targets.Data, Render(g, codes).Data)
	final := map[Space]float64{}
	for _, s := range []Space{SpaceZ, SpaceW, SpaceWPlus} {
		o := ProjectOptions{Steps: 80, Space: s}
		init, err := Starts(g, targets, nil, nil, o)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Project(context.Background(), g, targets, init, o)
		if err != nil {
			t.Fatal(err)
		}
		if res.Options.Space != s || res.Codes[0].Space.norm() != s {
			t.Fatalf("%s: projected into %s", s, res.Options.Space)
		}
		if s.IsW() && res.Options.Prior != 0 {
			t.Fatalf("%s has a prior", s)
		}
		final[s] = res.Mean(o.Steps)
		if !(final[s] < res.Mean(0)) {
			t.Fatalf("%s: loss %g → %g", s, res.Mean(0), final[s])
		}
	}
	t.Logf("final pixel losses: %v", final)
	if !(final[SpaceWPlus] < final[SpaceW] && final[SpaceW] < final[SpaceZ]) {
		t.Fatalf("final losses z %g, w %g, w+ %g: want w+ < w < z", final[SpaceZ], final[SpaceW], final[SpaceWPlus])
	}
	if _, err := Starts(tinyGenerator(t, false), targets, nil, nil, ProjectOptions{Space: SpaceWPlus}); !errors.Is(err, ErrSpace) {
		t.Fatalf("W+ projection of a dcgan: %v", err)
	}
}

// TestDirectionInW: a W direction's file keeps its space and scale, its
// scale is the spread along it, a wrong length names w, W+ directions are
// refused, and a W direction moves every layer of a W+ code.
func TestDirectionInW(t *testing.T) {
	g := tinyStyle(t)
	d := &Direction{Attribute: "a", Direction: []float64{3, 4, 0, 0, 0, 0, 0, 0}, Space: SpaceW}
	// Latents along (0.6, 0.8): projections −1 and 1, spread 1.
	d.SetScale([]float32{-0.6, -0.8, 0, 0, 0, 0, 0, 0, 0.6, 0.8, 0, 0, 0, 0, 0, 5})
	if math.Abs(d.Scale-1) > 1e-6 || d.Step() != d.Scale {
		t.Fatalf("scale %g", d.Scale)
	}
	p := filepath.Join(t.TempDir(), "d.json")
	if err := d.Write(p); err != nil {
		t.Fatal(err)
	}
	back, err := ReadDirection(p)
	if err != nil || back.Space != SpaceW || back.Scale != d.Scale || back.CheckFor(g.Cfg) != nil {
		t.Fatalf("read back %+v: %v", back, err)
	}
	if s := back.Scaled(); math.Abs(float64(s[0])-0.6) > 1e-6 {
		t.Fatalf("scaled %v", s)
	}
	short := &Direction{Direction: []float64{1, 2}, Space: SpaceW}
	var size *DirectionSizeError
	if err := short.CheckFor(g.Cfg); !errors.As(err, &size) || !strings.Contains(err.Error(), "model's w has 8") {
		t.Fatalf("short W direction: %v", err)
	}
	if err := (&Direction{Direction: make([]float64, 8)}).CheckFor(g.Cfg); err != nil {
		t.Fatalf("a z direction of a stylegan: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "wp.json")
	os.WriteFile(bad, []byte(`{"attribute": "a", "model": "m", "direction": [1], "space": "w+"}`), 0o644)
	if _, err := ReadDirection(bad); !errors.Is(err, ErrSpace) {
		t.Fatalf("a W+ direction: %v", err)
	}
	wp, _ := ToSpace(g, FromSeed(g.Cfg, 1, 0), SpaceWPlus)
	e := Edit(wp, d.Scaled(), []float64{2})[0]
	for l := range 4 {
		if got := e.Z[l*8] - wp.Z[l*8]; math.Abs(float64(got)-1.2) > 1e-5 || e.Z[l*8+2] != wp.Z[l*8+2] {
			t.Fatalf("layer %d moved by %g", l, got)
		}
	}
}

// TestLearnAndCheckInW learns a direction in W from a random classifier's
// scores of a random stylegan's seeds (their w) and checks an edit along
// it: moving w by 3 × its scale makes the classifier say yes for most of
// the faces it said no to, and a W direction checked as z is refused by
// its size, naming the space.
func TestLearnAndCheckInW(t *testing.T) {
	g := tinyStyle(t)
	j, err := judge.New(judge.Config{Data: "x", Size: 28, Channels: 3, Classes: []string{"no-a", "a"}}, 3)
	if err != nil {
		t.Fatal(err)
	}
	clf := &Classifier{J: j, Positive: 1, Attribute: "a"}
	ctx := context.Background()
	// A random judge's scores hardly vary: sharpen them (×50) and put the
	// boundary at the median seed, so half the faces have "a".
	for _, p := range j.Head.Params() {
		for i := range p.Value.Data {
			p.Value.Data[i] *= 50
		}
	}
	_, _, probs, err := SampleLabelledIn(ctx, g, SpaceW, clf, 400, 0, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	logits := make([]float64, len(probs))
	for i, p := range probs {
		logits[i] = math.Log(p / (1 - p))
	}
	slices.Sort(logits)
	j.Head.Bias.Value.Data[1] -= float32(logits[len(logits)/2])
	w, _, probs, err := SampleLabelledIn(ctx, g, SpaceW, clf, 400, 0, 0, nil)
	if err != nil || len(w) != 400*8 {
		t.Fatalf("%d latents: %v", len(w)/8, err)
	}
	d, err := FitDirectionScores(w, probs, 0.01)
	if err != nil {
		t.Fatal(err)
	}
	d.Space = SpaceW
	d.SetScale(w)
	res, err := Check(ctx, g, d.Scaled(), clf, nil, CheckOptions{N: 30, Strength: 3, Seed: 1000, Space: SpaceW})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("scale %.3g; success %.2f of %d (%d tried)", d.Scale, res.SuccessRate, res.N, res.Tried)
	if res.SuccessRate < 0.7 {
		t.Fatalf("an edit along the learned W direction succeeds for %.2f", res.SuccessRate)
	}
	wide := make([]float32, 12)
	wide[0] = 1
	if _, err := Check(ctx, g, wide, clf, nil, CheckOptions{N: 1, Space: SpaceW}); err == nil || !strings.Contains(err.Error(), "model's w has 8") {
		t.Fatalf("a 12-value W direction: %v", err)
	}
}

// TestTruncated: a seed's code truncated in W renders forger generate's
// truncated image (gan.StyleGenerator.Truncated); at 0 every layer of a
// W+ code is w_avg; the code given is left as it was.
func TestTruncated(t *testing.T) {
	g := tinyStyle(t)
	c := FromSeed(g.Cfg, 7, 0)
	tc, err := Truncated(g, c, 0.5)
	if err != nil || tc.Space != SpaceW {
		t.Fatalf("Truncated: %v, %v", tc.Space, err)
	}
	z := tensor.New(1, len(c.Z))
	copy(z.Data, c.Z)
	want := slices.Clone(g.Truncated(z, 0.5).Data)
	if got := Render(g, []Code{tc}).Data; !slices.Equal(got, want) {
		t.Error("a seed truncated in W does not render generate's image")
	}
	wp, err := ToSpace(g, c, SpaceWPlus)
	if err != nil {
		t.Fatal(err)
	}
	before := slices.Clone(wp.Z)
	avg, err := Truncated(g, wp, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range avg.Z {
		if v != g.Mapping.WAvg.Value.Data[i%len(g.Mapping.WAvg.Value.Data)] {
			t.Fatalf("W+ value %d truncated to 0: %g, want w_avg's", i, v)
		}
	}
	if !slices.Equal(wp.Z, before) {
		t.Error("Truncated changed the code it was given")
	}
}
