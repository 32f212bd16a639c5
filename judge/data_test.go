package judge

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// A judge trained on a folder given as a relative path saves the folder's
// absolute path, as a run does (dataset.Place), so eval from another
// working folder loads the same splits.
func TestJudgeDataFromAnotherFolder(t *testing.T) {
	root := t.TempDir()
	for c, grey := range map[string]uint8{"dark": 40, "light": 220} {
		for i := range 6 {
			m := image.NewGray(image.Rect(0, 0, 28, 28))
			for p := range m.Pix {
				m.Pix[p] = grey + uint8(i)
			}
			writePNG(t, filepath.Join(root, "classes", c, fmt.Sprintf("%d.png", i)), m)
		}
	}
	t.Chdir(root)
	s, err := LoadSplits("./classes", 28, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	j, err := Train(context.Background(), s, TrainOptions{Epochs: 1, Batch: 4, LR: 1e-3, Seed: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "judge.safetensors")
	if err := j.Save(path); err != nil {
		t.Fatal(err)
	}

	t.Chdir(t.TempDir())
	k, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := filepath.Abs(filepath.Join(root, "classes")); k.Cfg.Data != want {
		t.Fatalf("judge saved data %q, want %q", k.Cfg.Data, want)
	}
	again, err := LoadSplits(k.Cfg.Data, k.Cfg.Size, k.Cfg.Channels, nil)
	if err != nil || !slices.Equal(again.Classes, k.Cfg.Classes) || again.Test.Len() != s.Test.Len() {
		t.Fatalf("the judge's data from another folder: %v", err)
	}
}

func writePNG(t *testing.T, path string, m image.Image) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, m); err != nil {
		t.Fatal(err)
	}
}
