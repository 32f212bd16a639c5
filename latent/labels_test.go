package latent

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestReadLabels(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "labels.csv")
	os.WriteFile(path, []byte("latent,smiling\n# a comment\n42,1\nseed:7, no\n\"a.json\",true\n/abs/b.png,0\n"), 0o644)
	specs, labels, err := ReadLabels(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"42", "seed:7", filepath.Join(dir, "a.json"), "/abs/b.png"}; !slices.Equal(specs, want) {
		t.Errorf("specs %v, want %v", specs, want)
	}
	if want := []bool{true, false, true, false}; !slices.Equal(labels, want) {
		t.Errorf("labels %v, want %v", labels, want)
	}
	for body, want := range map[string]string{
		"42,1\n43,maybe\n": `line 2: the label is "maybe"`,
		"42,1\n43\n":       "line 2: want SEED|LATENT|PHOTO,LABEL",
		"# nothing\n":      "no labelled rows",
	} {
		os.WriteFile(path, []byte(body), 0o644)
		if _, _, err := ReadLabels(path); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", body, err, want)
		}
	}
}

func TestDirectionCheckModel(t *testing.T) {
	d := &Direction{Direction: make([]float64, 16)}
	if err := d.CheckModel(16); err != nil {
		t.Error(err)
	}
	var size *DirectionSizeError
	if err := d.CheckModel(100); !errors.As(err, &size) || size.Values != 16 || size.NZ != 100 || strings.Contains(err.Error(), "--") {
		t.Errorf("16 values for z of 100: %v", err)
	}
}
