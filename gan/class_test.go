package gan

import (
	"errors"
	"testing"
)

func TestClassIndex(t *testing.T) {
	cfg := Config{Classes: []string{"T-shirt/top", "Trouser", "Bag"}}
	for s, want := range map[string]int32{"trouser": 1, "BAG": 2, "0": 0, "2": 2} {
		if got, err := cfg.ClassIndex(s); err != nil || got != want {
			t.Errorf("ClassIndex(%q) = %d, %v, want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"3", "-1", "shoe", ""} {
		var ce *ClassError
		if _, err := cfg.ClassIndex(s); !errors.As(err, &ce) || ce.Class != s {
			t.Errorf("ClassIndex(%q): %v, want a *ClassError", s, err)
		}
	}
}
