package home

import (
	"path/filepath"
	"testing"
)

func TestForgerHome(t *testing.T) {
	d := t.TempDir()
	t.Setenv("FORGER_HOME", d)
	if got := Dir(); got != d {
		t.Errorf("Dir() = %q, want %q", got, d)
	}
	if got, want := DataDir(), filepath.Join(d, "data"); got != want {
		t.Errorf("DataDir() = %q, want %q", got, want)
	}
	if got, want := ModelsDir(), filepath.Join(d, "models"); got != want {
		t.Errorf("ModelsDir() = %q, want %q", got, want)
	}
}

func TestUserHome(t *testing.T) {
	h := t.TempDir()
	t.Setenv("FORGER_HOME", "")
	t.Setenv("HOME", h)
	if got, want := Dir(), filepath.Join(h, ".forger"); got != want {
		t.Errorf("Dir() = %q, want %q", got, want)
	}
}
