package latent

import (
	"context"
	"testing"
)

// TestProjectionReportsItsOptions: a projection's result carries the
// options it ran with, defaults filled in, so a report of it cannot say
// "steps": 0 for a run of DefaultSteps.
func TestProjectionReportsItsOptions(t *testing.T) {
	g := tinyGenerator(t, false)
	x, _ := targets(g, 1, 100)
	res, err := Project(context.Background(), g, x, zeros(g, 1), ProjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	o := res.Options
	if o.Steps != DefaultSteps || o.LR != DefaultLR || o.Prior != DefaultPrior || o.Optimizer != OptAdam || o.Loss != LossPixel || o.PerceptualWeight != 1 {
		t.Errorf("the zero options ran as %+v, want the documented defaults", o)
	}
	if got := len(res.Loss[0]) - 1; got != DefaultSteps {
		t.Errorf("the zero options ran %d steps, want %d", got, DefaultSteps)
	}
	res, err = Project(context.Background(), g, x, zeros(g, 1), ProjectOptions{Steps: 7, Prior: Off, LR: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	if o := res.Options; o.Steps != 7 || o.Prior != 0 || o.LR != 0.05 || len(res.Loss[0]) != 8 {
		t.Errorf("Steps 7, Prior Off, LR 0.05 ran as %+v (%d losses)", o, len(res.Loss[0]))
	}
}
