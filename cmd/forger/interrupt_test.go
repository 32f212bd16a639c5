package main

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer a process writes while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// interrupted runs forger with args, sends it SIGINT once its progress bar
// shows busy (the long phase has begun) and a little more, and checks that
// it stops within a second, exits non-zero saying so, and leaves nothing in
// out (the folder its outputs go to).
func interrupted(t *testing.T, out, busy string, args ...string) {
	t.Helper()
	interrupt(t, time.Second, busy, args...)
	if left, _ := os.ReadDir(out); len(left) > 0 {
		var names []string
		for _, e := range left {
			names = append(names, e.Name())
		}
		t.Errorf("%v left %q in its output folder", args, names)
	}
}

// interrupt is interrupted without the look at the output folder, for
// commands that keep what they had written (train saves a checkpoint), and
// with the time it may take to stop after SIGINT.
func interrupt(t *testing.T, limit time.Duration, busy string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "FORGER_GEMM=go", "FORGER_HOME="+t.TempDir())
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(stderr.String(), busy) {
		select {
		case err := <-done:
			t.Fatalf("%v ended before it was interrupted (%v): %s", args, err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("%v: no %q on stderr within a minute: %s", args, busy, stderr.String())
		}
	}
	select {
	case err := <-done:
		t.Fatalf("%v ended before it was interrupted (%v): %s", args, err, stderr.String())
	case <-time.After(300 * time.Millisecond):
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	sent := time.Now()
	var err error
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatalf("%v still ran 10 s after SIGINT", args)
	}
	took := time.Since(sent)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != exitInterrupted {
		t.Errorf("%v after SIGINT: %v, want exit code %d; stderr %q", args, err, exitInterrupted, stderr.String())
	}
	if took > limit {
		t.Errorf("%v took %v to stop after SIGINT, want under %v", args, took.Round(time.Millisecond), limit)
	}
	if !strings.Contains(stderr.String(), "forger: interrupted") {
		t.Errorf("%v: stderr %q does not say it was interrupted", args, stderr.String())
	}
}

// latGrayPhoto writes a 28×28 gray PNG.
func latGrayPhoto(t *testing.T, path string) {
	t.Helper()
	img := image.NewGray(image.Rect(0, 0, 28, 28))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	var buf bytes.Buffer
	png.Encode(&buf, img)
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Ctrl-C stops every long latent command within a second: projection
// (project, and the photos of morph and blend), direction learn and check,
// and encoder training.
func TestLatentCommandsStopOnSIGINT(t *testing.T) {
	dir := t.TempDir()
	model := latTinyModel(t, dir)
	photo := filepath.Join(dir, "photo.png")
	latGrayPhoto(t, photo)
	clfDir := filepath.Join(dir, "clf")
	for i, name := range []string{"bright", "other"} {
		latMedianJudge(t, model, filepath.Join(clfDir, name+".safetensors"), name, uint64(i+1))
	}
	v := make([]float64, 16)
	v[0] = 1
	dfile := filepath.Join(dir, "bright.json")
	latWriteDirection(t, dfile, "bright", v)
	for _, c := range []struct {
		name, busy string // busy: what the progress bar says in the long phase
		args       func(out string) []string
	}{
		{"project", "projecting", func(o string) []string {
			return []string{"project", "--model", model, photo, "--steps", "100000", "--out", filepath.Join(o, "p")}
		}},
		{"morph", "projecting", func(o string) []string {
			return []string{"morph", "--model", model, "--from", photo, "--to", "2", "--project-steps", "100000", "--out", filepath.Join(o, "m.gif")}
		}},
		{"blend", "projecting", func(o string) []string {
			return []string{"blend", "--model", model, photo, "2", "--project-steps", "100000", "--out", filepath.Join(o, "b.png")}
		}},
		{"direction learn", "labelling", func(o string) []string {
			return []string{"direction", "learn", "--model", model, "--attribute", "bright", "--judge", filepath.Join(clfDir, "bright.safetensors"), "--samples", "1000000", "--out", filepath.Join(o, "d.json")}
		}},
		{"direction check", "finding faces", func(o string) []string {
			return []string{"direction", "check", "--model", model, "--direction", dfile, "--classifier-dir", clfDir, "-n", "100000", "--out", filepath.Join(o, "grid.png")}
		}},
		{"encoder train", "z loss", func(o string) []string {
			return []string{"encoder", "train", "--model", model, "--samples", "100000000", "--out", filepath.Join(o, "e.safetensors")}
		}},
	} {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			out := t.TempDir()
			interrupted(t, out, c.busy, c.args(out)...)
		})
	}
}

// Rendering and writing an edit's frames stop once the context is done
// (edit is short: it has no phase that could outlast a second of Ctrl-C).
func TestEditStopsWhenCancelled(t *testing.T) {
	dir := t.TempDir()
	model := latTinyModel(t, dir)
	v := make([]float64, 16)
	v[0] = 1
	dfile := filepath.Join(dir, "d.json")
	latWriteDirection(t, dfile, "x", v)
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cmd := editCmd()
	cmd.SetArgs([]string{"--model", model, "--seed", "1", "--direction", dfile, "--strengths", "-3:3:1000", "--out", filepath.Join(out, "e.gif")})
	cmd.SetOut(&bytes.Buffer{})
	if err := cmd.ExecuteContext(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("edit with a cancelled context: %v, want context.Canceled", err)
	}
	if left, _ := os.ReadDir(out); len(left) > 0 {
		t.Errorf("edit with a cancelled context left %d files", len(left))
	}
}
