package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"forger/gan"
	"forger/runfolder"
)

// writeIDXSet writes an IDX folder (the MNIST file names, uncompressed) of
// 28×28 images in two classes: a bright left half or a bright right half,
// with some noise. train and test are the image counts of the splits.
func writeIDXSet(t *testing.T, dir string, train, test int) {
	t.Helper()
	write := func(prefix string, n int) {
		header := func(magic uint32, dims ...uint32) []byte {
			b := binary.BigEndian.AppendUint32(nil, magic)
			for _, d := range dims {
				b = binary.BigEndian.AppendUint32(b, d)
			}
			return b
		}
		img := header(0x803, uint32(n), 28, 28)
		lab := header(0x801, uint32(n))
		for i := range n {
			c := i % 2
			for y := range 28 {
				for x := range 28 {
					v := byte((i*31 + x*7 + y*13) % 64)
					if (x < 14) == (c == 0) {
						v += 160
					}
					img = append(img, v)
				}
			}
			lab = append(lab, byte(c))
		}
		if err := os.WriteFile(filepath.Join(dir, prefix+"-images-idx3-ubyte"), img, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, prefix+"-labels-idx1-ubyte"), lab, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("train", train)
	write("t10k", test)
}

// Ctrl-C stops judge train and eval within a second, exit 130, with no
// judge or nearest-image sheet written.
func TestJudgeCommandsStopOnSIGINT(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "idx")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	writeIDXSet(t, data, 12000, 3000)
	judgeFile := filepath.Join(dir, "judge.safetensors")
	if _, stderr, code := forger(t, nil, "judge", "train", "--data", data, "--size", "28", "--channels", "1", "--out", judgeFile, "--limit", "200", "--epochs", "1"); code != 0 {
		t.Fatalf("judge train exit %d: %s", code, stderr)
	}
	model := latTinyModel(t, dir)
	t.Run("judge_train", func(t *testing.T) {
		out := t.TempDir()
		interrupted(t, out, "epoch 1/", "judge", "train", "--data", data, "--size", "28", "--channels", "1", "--epochs", "1000", "--out", filepath.Join(out, "j.safetensors"))
	})
	t.Run("eval", func(t *testing.T) {
		out := t.TempDir()
		interrupted(t, out, "judging", "eval", "--model", model, "--judge", judgeFile, "-n", "2000",
			"--nearest", data, "--nearest-out", filepath.Join(out, "nearest.png"))
	})
}

// Ctrl-C stops forger train at a step boundary, exit 130, and the run
// keeps a whole checkpoint to --resume from, within a second: stopping
// saves that checkpoint, the last grid and losses.png, and leaves
// progress.gif (which reads back every grid) to the resumed run.
func TestTrainStopsOnSIGINT(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "idx")
	if err := os.MkdirAll(data, 0o755); err != nil {
		t.Fatal(err)
	}
	writeIDXSet(t, data, 2000, 100)
	run := filepath.Join(dir, "run")
	interrupt(t, time.Second, "step", "train", "--data", filepath.Join(data, "train-images-idx3-ubyte"), "--size", "28", "--channels", "1",
		"--ngf", "8", "--ndf", "8", "--epochs", "1000", "--out", run)
	if _, err := gan.LoadGenerator(runfolder.Latest(run)); err != nil {
		t.Errorf("after Ctrl-C the run has no checkpoint to resume from: %v", err)
	}
}
