package home

import (
	"os"
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

func TestScriptFoundFromSubfolder(t *testing.T) {
	root := t.TempDir()
	script := filepath.Join(root, "scripts", "x", "run.sh")
	if err := os.MkdirAll(filepath.Dir(script), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	sub := filepath.Join(root, "a", "b")
	os.MkdirAll(sub, 0o755)
	t.Chdir(sub)
	got := Script("scripts/x/run.sh")
	if real, _ := filepath.EvalSymlinks(got); real != script && got != script {
		t.Fatalf("Script = %q, want %q", got, script)
	}
	if Script("scripts/x/missing.sh") != "" {
		t.Fatal("found a script that does not exist")
	}
}
