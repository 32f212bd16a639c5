package latent

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// A group's curve is the mean of each image's best loss so far, not the
// best of the mean: two images improving on different steps both count.
func TestBestCurveKeepsEachImagesBest(t *testing.T) {
	loss := [][]float64{{9, 3, 1, 3}, {3, 1, 3, 1}, {5, 5, 5, 5}}
	got := BestCurve(loss, 0, 2)
	want := []float64{6, 2, 1, 1}
	if !slices.Equal(got, want) {
		t.Errorf("BestCurve = %v, want %v", got, want)
	}
	if got := BestCurve(loss, 2, 3); !slices.Equal(got, []float64{5, 5, 5, 5}) {
		t.Errorf("BestCurve of one flat row = %v", got)
	}
}

// The reports keep the keys forger project --compare-* always wrote, in the
// same (alphabetical) order, and a variant's curve is under both latCurve
// (the old, misnamed key) and curve.
func TestCompareReportKeys(t *testing.T) {
	b, _ := json.Marshal(InitReport{})
	want := `{"encoder_lr":0,"groups":null,"groups_within_fifth":0,"loss":"","lr":0,"passed":false,"plots":null,"short_steps":0,"steps":0}`
	if string(b) != want {
		t.Errorf("InitReport JSON\n%s\nwant\n%s", b, want)
	}
	b, _ = json.Marshal(LossReport{Metrics: []string{"disc"}})
	if want := `{"generated":0,"photos":null,"plot":"","steps":0,"variants":null}`; string(b) != want {
		t.Errorf("LossReport JSON\n%s\nwant\n%s", b, want)
	}
	b, _ = json.Marshal(LossRow{LatCurve: []float64{2, 1}, Curve: []float64{2, 1}})
	if !strings.Contains(string(b), `"latCurve":[2,1],"curve":[2,1]`) {
		t.Errorf("LossRow JSON %s: want latCurve and curve side by side", b)
	}
	vs, err := ParseLossVariants("pixel, perceptual, both:face", "auto")
	if err != nil || len(vs) != 3 || vs[0] != (LossVariant{"pixel", ""}) || vs[1].Name() != "perceptual:auto" || vs[2].Name() != "both:face" {
		t.Errorf("ParseLossVariants: %v %v", vs, err)
	}
	if _, err := ParseLossVariants("pixel,lpips", "auto"); err == nil {
		t.Error("an unknown loss: no error")
	}
}
