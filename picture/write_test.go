package picture

import (
	"context"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWritePNG(t *testing.T) {
	pix := make([]float32, 5*5*3)
	for i := range pix {
		pix[i] = float32(i%7)/3 - 1
	}
	src := FromTensor(pix, 5, 3)
	path := filepath.Join(t.TempDir(), "samples", "step-100.png")
	if err := WritePNG(path, src); err != nil {
		t.Fatalf("WritePNG: %v", err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(src, got); d != 0 {
		t.Errorf("PNG round trip differs by %d", d)
	}
}

func TestWritePNGErrorKeepsOld(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "grid.png")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	// PNG cannot encode an empty image.
	err := WritePNG(path, Grid(nil, 0, 0, nil))
	if err == nil {
		t.Fatal("no error writing an empty image")
	}
	if !strings.HasPrefix(err.Error(), "picture: write "+path+": ") {
		t.Errorf("err = %q, want it to name the file", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Errorf("failed write changed the file to %q", got)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("directory holds %d entries, want 1", len(ents))
	}
}

func TestWriteAnimationGIF(t *testing.T) {
	frames := []image.Image{
		square(8, color.Black, color.White),
		square(8, color.White, color.Black),
		square(8, color.Black, color.White),
	}
	path := filepath.Join(t.TempDir(), "progress.GIF") // extension case ignored
	if err := WriteAnimation(context.Background(), path, frames, 4); err != nil {
		t.Fatalf("WriteAnimation: %v", err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := gif.DecodeAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Image) != 3 || g.Delay[0] != 25 || g.LoopCount != 0 {
		t.Errorf("frames %d, delay %d cs, loop count %d; want 3, 25, 0", len(g.Image), g.Delay[0], g.LoopCount)
	}
}

func TestWriteAnimationErrors(t *testing.T) {
	dir := t.TempDir()
	frames := []image.Image{square(8, color.Black, color.White)}
	err := WriteAnimation(context.Background(), filepath.Join(dir, "x.webm"), frames, 10)
	if err == nil || !strings.Contains(err.Error(), `".webm"`) {
		t.Errorf("webm: err = %v, want unsupported format error", err)
	}
	if err := WriteAnimation(context.Background(), filepath.Join(dir, "x.gif"), frames, 0); err == nil {
		t.Error("fps 0: no error")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("failed writes left %d files", len(ents))
	}
}

// A cancelled context stops WriteAnimation before it writes anything.
func TestWriteAnimationCancelled(t *testing.T) {
	dir := t.TempDir()
	frames := []image.Image{image.NewGray(image.Rect(0, 0, 8, 8)), image.NewGray(image.Rect(0, 0, 8, 8))}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, name := range []string{"a.gif", "a.mp4"} {
		err := WriteAnimation(ctx, filepath.Join(dir, name), frames, 10)
		if name == "a.mp4" && errors.Is(err, ErrNoFFmpeg) {
			continue
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context: %v, want context.Canceled", name, err)
		}
	}
	if left, _ := os.ReadDir(dir); len(left) > 0 {
		t.Errorf("a cancelled WriteAnimation left %d files", len(left))
	}
}
