package picture

import (
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPlotLines(t *testing.T) {
	n := 200
	x := make([]float64, n)
	dLoss, gLoss := make([]float64, n), make([]float64, n)
	for i := range n {
		x[i] = float64(i * 10)
		dLoss[i] = 0.7 + 0.3*math.Exp(-float64(i)/50)
		gLoss[i] = 2 - math.Log1p(float64(i))/5
	}
	gLoss[120] = math.NaN() // a diverged step breaks the line
	gLoss[121] = math.Inf(1)
	path := filepath.Join(t.TempDir(), "plots", "loss.png")
	err := PlotLines(path, "GAN losses", "step", "loss", []Series{
		{Name: "D loss", X: x, Y: dLoss},
		{Name: "G loss", X: x, Y: gLoss},
		{Name: "D(x)", Y: dLoss[:50]}, // X nil: 0, 1, 2, ...
		{Name: "all NaN", Y: []float64{math.NaN()}},
	})
	if err != nil {
		t.Fatalf("PlotLines: %v", err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	if s := img.Bounds().Size(); s.X != 800 || s.Y != 450 {
		t.Errorf("size = %dx%d, want 800x450", s.X, s.Y)
	}
	// Not a blank canvas: some pixels are darker than the background.
	b := img.Bounds()
	dark := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if r, _, _, _ := img.At(x, y).RGBA(); r < 0x8000 {
				dark++
			}
		}
	}
	if dark < 1000 {
		t.Errorf("only %d dark pixels; plot looks empty", dark)
	}
}

func TestPlotLinesEmpty(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.png")
	if err := PlotLines(path, "nothing yet", "step", "loss", nil); err != nil {
		t.Fatalf("PlotLines with no series: %v", err)
	}
}

func TestPlotLinesMismatch(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "bad.png")
	err := PlotLines(path, "", "", "", []Series{{Name: "D loss", X: []float64{1, 2}, Y: []float64{1}}})
	if err == nil || !strings.Contains(err.Error(), "D loss") {
		t.Fatalf("err = %v, want error naming the series", err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("failed plot left %d files behind", len(ents))
	}
}

func TestNiceTicks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		n      int
		want   []string
	}{
		{0, 2990, 7, []string{"0", "500", "1000", "1500", "2000", "2500"}},
		{-0.02, 1.93, 6, []string{"0.0", "0.5", "1.0", "1.5"}},
		{0.1, 0.9, 4, []string{"0.2", "0.4", "0.6", "0.8"}},
		{0, 1, 4, []string{"0.00", "0.25", "0.50", "0.75", "1.00"}},
		{1e5, 1e6, 5, []string{"200000", "400000", "600000", "800000", "1000000"}},
		{-3, 3, 6, []string{"-3", "-2", "-1", "0", "1", "2", "3"}},
	} {
		var got []string
		for _, tk := range niceTicks(tc.n).Ticks(tc.lo, tc.hi) {
			got = append(got, tk.Label)
		}
		if strings.Join(got, " ") != strings.Join(tc.want, " ") {
			t.Errorf("niceTicks(%d) on [%v, %v] = %q, want %q", tc.n, tc.lo, tc.hi, got, tc.want)
		}
	}
}
