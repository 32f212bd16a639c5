package gan

import (
	"context"
	"errors"
	"image"
	"image/color"
	"math/rand/v2"
	"testing"

	"forger/picture"
	"forger/tensor"
)

// GenerateSeeds gives each seed the image a forward pass of that seed
// alone gives (batches change nothing), with the classes and the
// truncation asked for, in order.
func TestGenerateSeeds(t *testing.T) {
	cdc := Config{Arch: CDCGAN, Size: 28, Channels: 1, NZ: 8, NGF: 8, NDF: 8, Classes: []string{"a", "b", "c"}}
	for _, c := range []struct {
		name string
		cfg  Config
		psi  float64
	}{{"cdcgan", cdc, 0.7}, {"stylegan", smallStyle(), 0.5}} {
		t.Run(c.name, func(t *testing.T) {
			g, _, err := NewNets(c.cfg, rand.New(rand.NewPCG(1, 2)))
			if err != nil {
				t.Fatal(err)
			}
			g.SetTraining(false)
			seeds := []int64{5, 1, 9, 2, 7, 3, 8, 4, 6, 0, 11} // more than a batch
			var labels []int32
			if c.cfg.Conditional() {
				labels = make([]int32, len(seeds))
				for i := range labels {
					labels[i] = int32(i % 3)
				}
			}
			var got []image.Image
			err = GenerateSeeds(context.Background(), g, seeds, labels, c.psi, func(i int, img image.Image) error {
				if i != len(got) {
					t.Fatalf("image %d handed over as %d", len(got), i)
				}
				got = append(got, img)
				return nil
			})
			if err != nil || len(got) != len(seeds) {
				t.Fatalf("%d images, %v", len(got), err)
			}
			for i, s := range seeds {
				z := tensor.New(1, c.cfg.NZ)
				var want *tensor.Tensor
				if sg, ok := g.(*StyleGenerator); ok {
					LatentForSeed(s, 1, z.Data)
					want = sg.Truncated(z, c.psi)
				} else {
					LatentForSeed(s, c.psi, z.Data)
					want = g.Forward(z, labels[i:i+1])
				}
				w := picture.FromTensor(want.Data, c.cfg.Size, c.cfg.Channels)
				if !sameImage(got[i], w) {
					t.Errorf("seed %d: the batched image differs from the seed's own", s)
				}
			}
			if sameImage(got[0], got[1]) {
				t.Error("two seeds gave the same image")
			}
		})
	}
}

// A cancelled context stops GenerateSeeds before its next batch; an error
// of each stops it at once.
func TestGenerateSeedsStops(t *testing.T) {
	cfg := Config{Arch: DCGAN, Size: 28, Channels: 1, NZ: 8, NGF: 8, NDF: 8}
	g, err := NewGenerator(cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	g.SetTraining(false)
	seeds := make([]int64, 3*SeedBatch)
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	err = GenerateSeeds(ctx, g, seeds, nil, 1, func(i int, _ image.Image) error {
		n++
		if i == 0 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || n != SeedBatch {
		t.Errorf("cancelled during the first batch: %d images, %v; want %d, context.Canceled", n, err, SeedBatch)
	}
	stop := errors.New("stop")
	n = 0
	err = GenerateSeeds(context.Background(), g, seeds, nil, 1, func(int, image.Image) error { n++; return stop })
	if err != stop || n != 1 {
		t.Errorf("each failing: %d images, %v", n, err)
	}
}

func sameImage(a, b image.Image) bool {
	if a.Bounds() != b.Bounds() {
		return false
	}
	r := a.Bounds()
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			if color.NRGBAModel.Convert(a.At(x, y)) != color.NRGBAModel.Convert(b.At(x, y)) {
				return false
			}
		}
	}
	return true
}

// MixSeeds: with no coarse layers a cell is its column seed's image, with
// all of them its row seed's.
func TestMixSeeds(t *testing.T) {
	g, _, err := NewNets(smallStyle(), rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	g.SetTraining(false)
	sg := g.(*StyleGenerator)
	rows, cols := []int64{1, 2}, []int64{3, 4, 5}
	for _, c := range []struct {
		crossover int
		want      func(r, c int, m *StyleMix) image.Image
	}{
		{0, func(_, c int, m *StyleMix) image.Image { return m.Cols[c] }},
		{sg.NumWs(), func(r, _ int, m *StyleMix) image.Image { return m.Rows[r] }},
	} {
		m := sg.MixSeeds(rows, cols, c.crossover, 0.7)
		if len(m.Rows) != 2 || len(m.Cols) != 3 || len(m.Cells) != 2 || len(m.Cells[1]) != 3 {
			t.Fatalf("crossover %d: %d rows, %d cols, %d cell rows", c.crossover, len(m.Rows), len(m.Cols), len(m.Cells))
		}
		for r := range rows {
			for k := range cols {
				if !sameImage(m.Cells[r][k], c.want(r, k, m)) {
					t.Errorf("crossover %d: cell (%d, %d) is not the seed's image", c.crossover, r, k)
				}
			}
		}
	}
}
