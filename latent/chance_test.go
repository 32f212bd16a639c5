package latent

import (
	"errors"
	"testing"
)

// A classifier that answers "no" for every face is at chance, whatever its
// plain accuracy (issue 23, item 6).
func TestCheckNotChance(t *testing.T) {
	labels := make([]int32, 400)
	for i := range labels {
		if i%5 == 0 {
			labels[i] = 1 // 20% have the attribute
		}
	}
	allNo := make([]int32, len(labels))
	bal, err := CheckNotChance(allNo, labels)
	var ce *ChanceError
	if !errors.As(err, &ce) || bal != 0.5 || ce.Positives != 80 || ce.Negatives != 320 {
		t.Fatalf("all no: balanced %g, %v", bal, err)
	}
	// Right on 3 of 4 of each class: clearly better than a guess.
	good := make([]int32, len(labels))
	for i, l := range labels {
		good[i] = l
		if i%4 == 0 {
			good[i] = 1 - l
		}
	}
	if bal, err := CheckNotChance(good, labels); err != nil || bal < 0.7 {
		t.Fatalf("a good classifier: balanced %g, %v", bal, err)
	}
	// One class only: no verdict possible.
	if _, err := CheckNotChance(allNo, allNo); !errors.As(err, &ce) {
		t.Fatalf("one class: %v", err)
	}
	// The bar falls towards 0.55 as the test set grows, and is higher on few images.
	if b := ChanceBar(40, 160); b < 0.58 || b > 0.6 {
		t.Errorf("ChanceBar(40, 160) = %g", b)
	}
	if b := ChanceBar(4000, 16000); b != 0.55 {
		t.Errorf("ChanceBar(4000, 16000) = %g", b)
	}
}
