package picture

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"forger/internal/fixture"
)

// fakeFFmpegEnv, when set, makes the test binary act as ffmpeg (see
// TestMain): "ok" reads the PNG stream and writes a summary to the output
// file; "fail" complains and exits without reading.
const fakeFFmpegEnv = "PICTURE_FAKE_FFMPEG"

func TestMain(m *testing.M) {
	if mode := os.Getenv(fakeFFmpegEnv); mode != "" {
		os.Exit(fakeFFmpeg(mode, os.Args[1:]))
	}
	os.Exit(m.Run())
}

func fakeFFmpeg(mode string, args []string) int {
	if mode == "fail" {
		fmt.Fprintln(os.Stderr, "Unknown encoder 'libx264'")
		return 1
	}
	fps := ""
	if i := slices.Index(args, "-framerate"); i >= 0 && i+1 < len(args) {
		fps = args[i+1]
	}
	out := args[len(args)-1]
	r := bufio.NewReader(os.Stdin)
	n, size := 0, image.Point{}
	for {
		if _, err := r.Peek(1); err == io.EOF {
			break
		}
		img, err := png.Decode(r)
		if err != nil {
			fmt.Fprintf(os.Stderr, "frame %d: %v\n", n, err)
			return 1
		}
		n, size = n+1, img.Bounds().Size()
	}
	summary := fmt.Sprintf("frames=%d size=%dx%d fps=%s", n, size.X, size.Y, fps)
	if err := os.WriteFile(out, []byte(summary), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// useFakeFFmpeg puts a fake ffmpeg, the test binary itself, first in
// PATH for the rest of the test.
func useFakeFFmpeg(t *testing.T, mode string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Skip("cannot locate test binary:", err)
	}
	dir := t.TempDir()
	if err := os.Symlink(exe, filepath.Join(dir, "ffmpeg")); err != nil {
		t.Skip("cannot symlink fake ffmpeg:", err)
	}
	t.Setenv("PATH", dir)
	t.Setenv(fakeFFmpegEnv, mode)
}

func testFrames(n, size int) []image.Image {
	var frames []image.Image
	for i := range n {
		frames = append(frames, square(size, color.Black, color.NRGBA{uint8(40 * i), 200, 50, 255}))
	}
	return frames
}

func TestWriteMP4NoFFmpeg(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // an empty directory: no ffmpeg
	path := filepath.Join(t.TempDir(), "out.mp4")
	err := WriteMP4(path, testFrames(2, 8), 10)
	if !errors.Is(err, ErrNoFFmpeg) {
		t.Fatalf("err = %v, want ErrNoFFmpeg", err)
	}
	const want = "ffmpeg not found: install it (apt-get install ffmpeg) or write a .gif"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("err = %q, want it to contain %q", err, want)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("file created despite error (stat: %v)", err)
	}
}

func TestWriteMP4FakeFFmpeg(t *testing.T) {
	useFakeFFmpeg(t, "ok")
	dir := t.TempDir()
	path := filepath.Join(dir, "train.mp4")
	// Mixed frame types are sent in one PNG colour type.
	frames := testFrames(4, 9)
	frames[1] = image.NewGray(image.Rect(0, 0, 9, 9))
	if err := WriteAnimation(context.Background(), path, frames, 12); err != nil {
		t.Fatalf("WriteAnimation: %v", err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := "frames=4 size=9x9 fps=12"; string(got) != want {
		t.Errorf("ffmpeg saw %q, want %q", got, want)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only train.mp4", len(ents))
	}
}

func TestWriteMP4FFmpegFails(t *testing.T) {
	useFakeFFmpeg(t, "fail")
	dir := t.TempDir()
	path := filepath.Join(dir, "train.mp4")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	// Enough data that writing to the exited process fails.
	err := WriteMP4(path, testFrames(8, 256), 10)
	if err == nil || !strings.Contains(err.Error(), "Unknown encoder 'libx264'") {
		t.Fatalf("err = %v, want ffmpeg's message", err)
	}
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Errorf("failed write changed the file to %q", got)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("directory holds %d entries, want only train.mp4", len(ents))
	}
}

// TestWriteMP4Real runs the real ffmpeg when it is installed.
func TestWriteMP4Real(t *testing.T) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		fixture.Missing(t, "ffmpeg not installed (apt-get install ffmpeg)")
	}
	path := filepath.Join(t.TempDir(), "real.mp4")
	if err := WriteMP4(path, testFrames(10, 33), 5); err != nil { // odd size: padded
		t.Fatalf("WriteMP4: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Size() == 0 {
		t.Fatalf("stat = %v, %v; want a non-empty file", fi, err)
	}
	// If ffprobe is there too, check the frame count.
	ffprobe := filepath.Join(filepath.Dir(ffmpeg), "ffprobe")
	out, err := exec.Command(ffprobe, "-v", "error", "-count_frames", "-select_streams", "v:0",
		"-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path).Output()
	if err != nil {
		t.Logf("ffprobe unavailable: %v", err)
		return
	}
	if got := strings.TrimSpace(string(out)); got != "10" {
		t.Errorf("video has %s frames, want 10", got)
	}
}

func TestWriteMP4Invalid(t *testing.T) {
	path := filepath.Join(t.TempDir(), "out.mp4")
	if err := WriteMP4(path, nil, 10); err == nil {
		t.Error("no frames: no error")
	}
	if err := WriteMP4(path, testFrames(2, 8), 0); err == nil {
		t.Error("fps 0: no error")
	}
	frames := append(testFrames(1, 8), testFrames(1, 9)...)
	if err := WriteMP4(path, frames, 10); err == nil {
		t.Error("frames of different sizes: no error")
	}
}

func TestTailBuffer(t *testing.T) {
	tb := &tailBuffer{max: 8}
	io.WriteString(tb, "hello ")
	io.WriteString(tb, "world")
	if got := tb.String(); got != "lo world" {
		t.Errorf("after two writes: %q, want %q", got, "lo world")
	}
	io.WriteString(tb, "0123456789")
	if got := tb.String(); got != "23456789" {
		t.Errorf("after long write: %q, want %q", got, "23456789")
	}
}
