package judge

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// LoadFolder refuses to score fewer images than asked for with an
// *OptionError naming N, which the CLI words as its -n.
func TestLoadFolderTooFewIsOptionError(t *testing.T) {
	j, err := New(Config{Size: 28, Channels: 1, Classes: []string{"a", "b"}}, 1)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for i := range 3 {
		var buf bytes.Buffer
		png.Encode(&buf, image.NewGray(image.Rect(0, 0, 28, 28)))
		os.WriteFile(filepath.Join(dir, fmt.Sprintf("%d.png", i)), buf.Bytes(), 0o644)
	}
	_, err = LoadFolder(dir, j, 5, nil)
	var oe *OptionError
	if !errors.As(err, &oe) || oe.Option != "N" || oe.Value != 5 {
		t.Fatalf("5 of 3 images: %v, want an *OptionError for N = 5", err)
	}
	if got := oe.Text("-n"); got != fmt.Sprintf("-n 5 is more than the 3 images in %s (fd depends on the count: write more images, or score 3 in every eval you compare)", dir) {
		t.Errorf("worded for the CLI: %q", got)
	}
}
