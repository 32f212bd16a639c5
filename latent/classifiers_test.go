package latent

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"forger/judge"
)

// FindClassifiers: the target from the folder by its attribute, the others
// every other NAME.safetensors there (or those named by preserve and
// where), sorted; other attributes without a folder are ErrNoClassifierDir.
func TestFindClassifiers(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"smiling", "hat", "beard"} {
		j, err := judge.New(judge.Config{Size: 28, Channels: 1, Classes: AttributeClasses(name)}, 5)
		if err != nil {
			t.Fatal(err)
		}
		if err := j.Save(filepath.Join(dir, name+".safetensors")); err != nil {
			t.Fatal(err)
		}
	}
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a classifier"), 0o644)
	c, err := FindClassifiers(dir, "", "smiling", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Target.Attribute != "smiling" || !slices.Equal(c.Names, []string{"beard", "hat"}) || c.Others["hat"].Attribute != "hat" || len(c.Others) != 2 {
		t.Errorf("all of the folder: target %q, others %v", c.Target.Attribute, c.Names)
	}
	c, err = FindClassifiers(dir, "", "smiling", []string{"smiling", "hat"}, map[string]bool{"beard": false, "smiling": true})
	if err != nil || !slices.Equal(c.Names, []string{"beard", "hat"}) {
		t.Errorf("preserve hat, where beard: %v %v", c, err)
	}
	target := filepath.Join(dir, "hat.safetensors")
	if _, err := FindClassifiers("", target, "smiling", nil, map[string]bool{"beard": true}); !errors.Is(err, ErrNoClassifierDir) {
		t.Errorf("where without a folder: %v, want ErrNoClassifierDir", err)
	}
	if c, err := FindClassifiers("", target, "hat", []string{"hat"}, nil); err != nil || len(c.Names) != 0 {
		t.Errorf("the target alone: %v %v", c, err)
	}
}
