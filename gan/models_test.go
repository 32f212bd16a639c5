package gan

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"forger/optim"
	"forger/runfolder"
)

// saveTiny writes an untrained checkpoint that has trained images images.
func saveTiny(t *testing.T, path string, images int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 1))
	c := cfg(DCGAN, 28, 1)
	g, _ := NewGenerator(c, rng)
	d, _ := NewDiscriminator(c, rng)
	ck := &Checkpoint{Config: g.Cfg, G: g, D: d, OptG: optim.NewAdam(g.Params(), 1e-4, 0.5, 0.9),
		OptD: optim.NewAdam(d.Params(), 1e-4, 0.5, 0.9), TrainState: fmt.Sprintf(`{"epoch":%d,"images":%d}`, images/100, images)}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := ck.Save(path); err != nil {
		t.Fatal(err)
	}
}

func names(infos []ModelInfo) string {
	var s []string
	for _, mi := range infos {
		s = append(s, mi.Name)
	}
	return strings.Join(s, " ")
}

// A copied latest.safetensors is a model like any other; only the run's
// own link to its newest checkpoint is a duplicate (issue 23, item 3).
func TestFindModelsListsCopiedLatest(t *testing.T) {
	dir := t.TempDir()
	saveTiny(t, filepath.Join(dir, "latest.safetensors"), 100)
	got, err := FindModels(dir)
	if err != nil || names(got) != "latest" {
		t.Fatalf("a copied latest.safetensors: %q %v", names(got), err)
	}

	// A run folder: two checkpoints and the link; and a link made by hand
	// to a checkpoint outside dir, which is listed.
	ck := filepath.Join(dir, "faces", "checkpoints")
	saveTiny(t, filepath.Join(ck, "1e_0k_28x28.safetensors"), 100)
	saveTiny(t, filepath.Join(ck, "2e_0k_28x28.safetensors"), 200)
	if err := os.Symlink("2e_0k_28x28.safetensors", filepath.Join(ck, runfolder.LatestName)); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "elsewhere.safetensors")
	saveTiny(t, outside, 300)
	if err := os.Symlink(outside, filepath.Join(dir, "linked.safetensors")); err != nil {
		t.Fatal(err)
	}
	os.Symlink(filepath.Join(dir, "gone.safetensors"), filepath.Join(dir, "dangling.safetensors"))
	got, err = FindModels(dir)
	if want := "faces/1e_0k_28x28 faces/2e_0k_28x28 latest linked"; err != nil || names(got) != want {
		t.Fatalf("FindModels: %q %v, want %q", names(got), err, want)
	}
	if got[0].Run != "faces" || got[2].Run != "" {
		t.Fatalf("runs: %+v", got)
	}
}

// The menu shows one entry per run, its newest checkpoint, named after the
// run (issue 23, item 4); FindModel finds runs and checkpoints by name.
func TestNewestAndFindModel(t *testing.T) {
	dir := t.TempDir()
	for i, run := range []string{"faces-32", "fashion"} {
		ck := filepath.Join(dir, run, "checkpoints")
		for e := 1; e <= 3; e++ {
			saveTiny(t, filepath.Join(ck, fmt.Sprintf("%de_%dk_28x28.safetensors", e, e+i)), 1000*(e+i))
		}
	}
	saveTiny(t, filepath.Join(dir, "loose.safetensors"), 50)
	infos, err := FindModels(dir)
	if err != nil || len(infos) != 7 {
		t.Fatalf("%q %v", names(infos), err)
	}
	runs := Newest(infos)
	if got := names(runs); got != "faces-32 fashion loose" {
		t.Fatalf("Newest: %q", got)
	}
	if filepath.Base(runs[0].Path) != "3e_3k_28x28.safetensors" || filepath.Base(runs[1].Path) != "3e_4k_28x28.safetensors" || runs[0].Images != 3000 {
		t.Fatalf("newest of each run: %+v", runs)
	}

	for name, want := range map[string]string{"faces-32": "3e_3k_28x28.safetensors", "faces-32/1e_1k_28x28": "1e_1k_28x28.safetensors", "loose": "loose.safetensors"} {
		mi, err := FindModel(dir, name)
		if err != nil || filepath.Base(mi.Path) != want {
			t.Errorf("FindModel(%q) = %s, %v; want %s", name, mi.Path, err, want)
		}
	}
	_, err = FindModel(dir, "face-32")
	var nf *ModelNotFoundError
	if !errors.As(err, &nf) || len(nf.Nearest) == 0 || nf.Nearest[0] != "faces-32" {
		t.Fatalf("a typo: %v", err)
	}
	if _, err := FindModel(dir, "zzzzzzzzzzzz"); !errors.As(err, &nf) || len(nf.Nearest) != 0 {
		t.Fatalf("nothing near: %v", err)
	}
}

func TestNearest(t *testing.T) {
	names := []string{"faces-32", "fashion-cdcgan", "faces-64", "fashion-cdcgan/3e_180k_28x28", "home", "opt"}
	for _, c := range []struct {
		in   string
		want []string
	}{
		{"fashon-cdcgan", []string{"fashion-cdcgan"}},
		{"faces", []string{"faces-32", "faces-64"}},
		{"Faces-32", []string{"faces-32", "faces-64"}},
		{"cdcgan", []string{"fashion-cdcgan", "fashion-cdcgan/3e_180k_28x28"}},
		{"xyz", nil},
		{"fasces-23", []string{"faces-32", "faces-64"}}, // a letter too many and a swap: 2 edits
		{"nope", nil},
	} {
		if got := Nearest(c.in, names, 3); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Nearest(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
