package runfolder

import (
	"os"
	"path/filepath"
	"testing"
)

// The names are a contract with existing run folders: spelled out here
// once more on purpose, so that renaming one fails.
func TestLayout(t *testing.T) {
	run := filepath.Join("runs", "faces")
	for _, c := range []struct{ got, want string }{
		{Checkpoints(run), "runs/faces/checkpoints"},
		{Latest(run), "runs/faces/checkpoints/latest.safetensors"},
		{CheckpointName(3, 180_500, 64), "3e_180k_64x64.safetensors"},
		{Samples(run), "runs/faces/samples"},
		{EpochGrid(run, 7), "runs/faces/samples/epoch_007.png"},
		{StepGrid(run, 2, 45_000), "runs/faces/samples/epoch_002_00045k.png"},
		{Metrics(run), "runs/faces/metrics.jsonl"},
		{Losses(run), "runs/faces/losses.png"},
		{Progress(run), "runs/faces/progress.gif"},
		{Directions(run), "runs/faces/directions"},
		{Direction(run, "smiling"), "runs/faces/directions/smiling.json"},
		{Encoder(run), "runs/faces/encoder.safetensors"},
	} {
		if c.got != filepath.FromSlash(c.want) {
			t.Errorf("got %s, want %s", c.got, c.want)
		}
	}
}

func TestOfAndResolve(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "faces")
	ck := filepath.Join(run, "checkpoints", "3e_9k_32x32.safetensors")
	if err := os.MkdirAll(filepath.Dir(ck), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(ck, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Base(ck), Latest(run)); err != nil {
		t.Fatal(err)
	}
	loose := filepath.Join(dir, "loose.safetensors")
	for _, c := range []struct{ path, run string }{
		{ck, run},
		{Latest(run), run},
		{run, run},              // a run folder resolves to its latest checkpoint
		{Checkpoints(run), run}, // and so does its checkpoints folder
		{loose, ""},
	} {
		if got := Of(c.path); got != c.run {
			t.Errorf("Of(%s) = %q, want %q", c.path, got, c.run)
		}
	}
	if got := Resolve(run); got != Latest(run) {
		t.Errorf("Resolve(run) = %s, want %s", got, Latest(run))
	}
	if got := Resolve(loose); got != loose {
		t.Errorf("Resolve(%s) = %s, want it unchanged", loose, got)
	}
	if d, e := DirectionsOf(ck), EncoderOf(ck); d != Directions(run) || e != Encoder(run) {
		t.Errorf("directions %s, encoder %s", d, e)
	}
	if DirectionsOf(loose) != "" || EncoderOf(loose) != "" {
		t.Error("a loose checkpoint has a run folder")
	}
	if name, r := ModelName(ck); name != "faces/3e_9k_32x32" || r != "faces" {
		t.Errorf("ModelName(%s) = %q, %q", ck, name, r)
	}
	if name, r := ModelName(loose); name != "loose" || r != "" {
		t.Errorf("ModelName(%s) = %q, %q", loose, name, r)
	}
}
