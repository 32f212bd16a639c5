package latent

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"forger/gan"
	"forger/judge"
)

func TestParseLayers(t *testing.T) {
	for spec, want := range map[string][]int{
		"":         nil,
		"3":        {3},
		"2-5":      {2, 3, 4, 5},
		"0,2-3,2":  {0, 2, 3},
		" 1 , 4-4": {1, 4},
	} {
		got, err := ParseLayers(spec)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("ParseLayers(%q) = %v, %v; want %v", spec, got, err, want)
		}
	}
	for _, spec := range []string{"a", "5-2", "-1", "1-", "1,,2", "0-99999999"} {
		var oe *OptionError
		if _, err := ParseLayers(spec); !errors.As(err, &oe) || oe.Option != "Layers" {
			t.Errorf("ParseLayers(%q): %v; want an OptionError of Layers", spec, err)
		}
	}
}

// TestLayerEdit: an edit with Layers moves those layers of the W+ code
// by strength × scale and leaves the others, for a seed (taken to W+) and
// a W+ code alike; layers the model lacks are refused when read back and
// when checked, as are layers of a z direction.
func TestLayerEdit(t *testing.T) {
	g := tinyStyle(t) // 4 layers of 8
	d := &Direction{Attribute: "a", Direction: []float64{1, 0, 0, 0, 0, 0, 0, 0}, Space: SpaceW, Scale: 0.5, Layers: []int{1, 2}}
	if err := d.CheckFor(g.Cfg); err != nil {
		t.Fatal(err)
	}
	wp, _ := ToSpace(g, FromSeed(g.Cfg, 7, 0), SpaceWPlus)
	for _, start := range []Code{FromSeed(g.Cfg, 7, 0), wp} {
		c, v, err := d.Prepare(g, start)
		if err != nil || c.Space != SpaceWPlus {
			t.Fatalf("Prepare(%s): space %s, %v", start.Space, c.Space, err)
		}
		e := Edit(c, v, []float64{4})[0]
		for l := range 4 {
			moved := e.Z[l*8] - wp.Z[l*8]
			want := 0.0
			if l == 1 || l == 2 {
				want = 2
			}
			if math.Abs(float64(moved)-want) > 1e-5 || e.Z[l*8+1] != wp.Z[l*8+1] {
				t.Fatalf("from %s: layer %d moved by %g, want %g", start.Space, l, moved, want)
			}
		}
	}
	d.Layers = []int{4}
	var le *LayerError
	if err := d.CheckFor(g.Cfg); !errors.As(err, &le) || le.NumWs != 4 {
		t.Fatalf("layer 4 of 4: %v", err)
	}
	p := filepath.Join(t.TempDir(), "d.json")
	os.WriteFile(p, []byte(`{"attribute": "a", "model": "m", "direction": [1], "layers": [1]}`), 0o644)
	if _, err := ReadDirection(p); err == nil {
		t.Fatal("a z direction with layers was read")
	}
	if err := CheckLayers(gan.Config{Arch: gan.DCGAN}, []int{0}); !errors.As(err, &le) {
		t.Fatalf("layers of a dcgan: %v", err)
	}
}

// TestCheckLayers: Check with Layers edits those layers only: the same
// edit with every layer changes the faces as a plain W edit does, and with
// the finest layer alone it changes them less.
func TestCheckLayers(t *testing.T) {
	g := tinyStyle(t)
	j, err := judge.New(judge.Config{Data: "x", Size: 28, Channels: 3, Classes: []string{"no-a", "a"}}, 3)
	if err != nil {
		t.Fatal(err)
	}
	clf := &Classifier{J: j, Positive: 1, Attribute: "a"}
	j.Head.Bias.Value.Data[1] -= 1000 // no face has "a": every seed is edited
	// The edit: 3 along a random unit vector of W.
	d := make([]float32, 8)
	for i := range d {
		d[i] = float32(math.Sin(float64(i) + 1))
	}
	ctx := context.Background()
	o := CheckOptions{N: 8, Strength: 3, Seed: 10, Space: SpaceW, MaxTries: 100}
	all, err := Check(ctx, g, d, clf, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	o.Layers = []int{0, 1, 2, 3}
	every, err := Check(ctx, g, d, clf, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	o.Layers = []int{3}
	last, err := Check(ctx, g, d, clf, nil, o)
	if err != nil {
		t.Fatal(err)
	}
	change := func(r *CheckResult) float64 {
		var s float64
		for i := range r.Before {
			s += math.Abs(float64(r.After[i] - r.Before[i]))
		}
		return s / float64(len(r.Before))
	}
	if !slices.Equal(all.Seeds, every.Seeds) || math.Abs(change(all)-change(every)) > 1e-4*change(all) {
		t.Fatalf("every layer changes the faces by %g, a W edit by %g", change(every), change(all))
	}
	if !(change(last) < 0.8*change(all)) || change(last) == 0 {
		t.Fatalf("the last layer alone changes the faces by %g, every layer by %g", change(last), change(all))
	}
	o.Space = SpaceZ
	if _, err := Check(ctx, g, d, clf, nil, o); err == nil {
		t.Fatal("Layers of a z direction were taken")
	}
}

// TestEditTo: InterFaceGAN's edit puts a code at signed distance t·|v| from
// the boundary, whatever its distance before; in W+ each moved layer is
// placed on its own and the others are left.
func TestEditTo(t *testing.T) {
	v := []float32{0, 0.6, 0.8} // |v| = 1: u = v
	bias := -0.5
	dist := func(x []float32) float64 { return 0.6*float64(x[1]) + 0.8*float64(x[2]) + bias }
	for _, start := range [][]float32{{1, -3, -2}, {0, 4, 4}} {
		for _, tgt := range []float64{-1, 0, 2.5} {
			e := EditTo(Code{Z: start}, v, 3, bias, []float64{tgt})[0]
			if math.Abs(dist(e.Z)-tgt) > 1e-5 || e.Z[0] != start[0] {
				t.Fatalf("from %v to %g: %v at distance %g", start, tgt, e.Z, dist(e.Z))
			}
		}
	}
	// W+ of two layers, the first moved (v doubled: distances in |v|).
	wp := Code{Z: []float32{1, -3, -2, 0, 4, 4}, Space: SpaceWPlus}
	e := EditTo(wp, []float32{0, 1.2, 1.6, 0, 0, 0}, 3, bias, []float64{1})[0]
	if math.Abs(dist(e.Z[:3])-2) > 1e-5 || !slices.Equal(e.Z[3:], wp.Z[3:]) {
		t.Fatalf("layered: %v", e.Z)
	}
}

// TestPlaceBoundary: after Orthogonalize the fitted bias no longer places
// the boundary; PlaceBoundary puts it where the labels change along the
// direction as it is.
func TestPlaceBoundary(t *testing.T) {
	n := 2000
	x := make([]float32, 2*n)
	y := make([]bool, n)
	for i := range n {
		a, b := float32(math.Sin(float64(i)*1.7)*2), float32(math.Cos(float64(i)*0.37)*2)
		x[2*i], x[2*i+1] = a, b
		y[i] = a > 0.7 // the attribute's boundary: x0 = 0.7
	}
	d := &Direction{Direction: []float64{1, 0}, Bias: 5}
	if err := d.PlaceBoundary(x, y); err != nil {
		t.Fatal(err)
	}
	if math.Abs(d.Bias+0.7) > 0.05 {
		t.Fatalf("bias %g; want about -0.7", d.Bias)
	}
	d.Direction = []float64{-1, 0}
	if err := d.PlaceBoundary(x, y); err == nil {
		t.Fatal("a direction along which the attribute shrinks got a boundary")
	}
}

// TestSampleLabelledLayers: with every layer, the mixed samples are the
// seeds' own (the same w and scores as SampleLabelledIn in W); with one
// layer, the same w is returned but the images, and so the scores, change
// with the other seed's w elsewhere. A dcgan is refused.
func TestSampleLabelledLayers(t *testing.T) {
	g := tinyStyle(t) // 4 layers of 8
	j, err := judge.New(judge.Config{Data: "x", Size: 28, Channels: 3, Classes: []string{"no-a", "a"}}, 3)
	if err != nil {
		t.Fatal(err)
	}
	clf := &Classifier{J: j, Positive: 1, Attribute: "a"}
	ctx := context.Background()
	w, _, want, err := SampleLabelledIn(ctx, g, SpaceW, clf, 6, 20, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	wAll, _, pAll, err := SampleLabelledLayers(ctx, g, clf, 6, 20, []int{0, 1, 2, 3}, nil)
	if err != nil || !slices.Equal(wAll, w) || !slices.Equal(pAll, want) {
		t.Fatalf("every layer: %v; scores %v, want %v", err, pAll, want)
	}
	wOne, _, pOne, err := SampleLabelledLayers(ctx, g, clf, 6, 20, []int{3}, nil)
	if err != nil || !slices.Equal(wOne, w) {
		t.Fatalf("one layer: %v, or not the seeds' w", err)
	}
	differ := 0
	for i := range pOne {
		if math.Abs(pOne[i]-want[i]) > 1e-6 {
			differ++
		}
	}
	if differ < 5 {
		t.Fatalf("one layer: %d of 6 scores differ from the seeds' own (%v against %v)", differ, pOne, want)
	}
	if _, _, _, err := SampleLabelledLayers(ctx, tinyGenerator(t, false), clf, 2, 0, []int{0}, nil); err == nil {
		t.Fatal("a dcgan was mixed")
	}
}
