package studio

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"forger/gan"
	"forger/optim"
	"forger/runfolder"
)

// The model menu holds one entry per run, its newest checkpoint named after
// the run; ?all=1 lists every checkpoint by its own name, and both names
// generate (issue 23, item 4). A copied latest.safetensors is a model; the
// run's own latest link is not listed twice (item 3).
func TestModelMenuOnePerRun(t *testing.T) {
	h := newHarness(t, harnessOptions{noPipeline: true, admin: "s3cret"})
	dir := h.s.cfg.ModelsDir
	cfg := gan.Config{Arch: gan.DCGAN, Size: 32, Channels: 3, NZ: 8, NGF: 8, NDF: 8}
	ck := filepath.Join(dir, "faces-32", "checkpoints")
	makeRunCheckpoint(t, filepath.Join(ck, "16e_159k_32x32.safetensors"), cfg, 159000)
	makeRunCheckpoint(t, filepath.Join(ck, "15e_149k_32x32.safetensors"), cfg, 149000)
	if err := os.Symlink("16e_159k_32x32.safetensors", filepath.Join(ck, runfolder.LatestName)); err != nil {
		t.Fatal(err)
	}
	makeModel(t, filepath.Join(dir, "copied", "latest.safetensors"), cfg)
	auth := []string{"Authorization", "Bearer s3cret"}
	if status, _, b := h.do("POST", "/api/models/rescan", "", nil, auth...); status != 200 {
		t.Fatalf("rescan: %d %s", status, b)
	}

	list := func(url string) map[string]modelJSON {
		var out struct{ Models []modelJSON }
		if status, _ := h.json("GET", url, nil, &out); status != 200 {
			t.Fatalf("GET %s: %d", url, status)
		}
		m := map[string]modelJSON{}
		for _, x := range out.Models {
			m[x.Name] = x
		}
		return m
	}
	names := func(m map[string]modelJSON) string {
		var s []string
		for n := range m {
			s = append(s, n)
		}
		sort.Strings(s)
		return strings.Join(s, " ")
	}
	menu := list("/api/models")
	if got := names(menu); got != "faces-32 latest runs tiny" {
		t.Fatalf("menu: %q", got)
	}
	if f := menu["faces-32"]; f.Checkpoint != "16e_159k_32x32" || f.Images != 159000 || f.Run != "faces-32" {
		t.Fatalf("faces-32 = %+v", f)
	}
	every := list("/api/models?all=1")
	if got := names(every); got != "faces-32/15e_149k_32x32 faces-32/16e_159k_32x32 latest runs/cond tiny" {
		t.Fatalf("every checkpoint: %q", got)
	}
	for _, name := range []string{"faces-32", "faces-32/15e_149k_32x32", "latest"} {
		var res genResult
		if status, _ := h.json("POST", "/api/generate", map[string]any{"model": name, "n": 1, "seed": 3}, &res); status != 200 || len(res.Images) != 1 {
			t.Errorf("generate from %s: %d %+v", name, status, res)
		}
	}
}

// makeRunCheckpoint saves an untrained checkpoint that says it trained
// images images.
func makeRunCheckpoint(t *testing.T, path string, cfg gan.Config, images int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(1, 2))
	g, err := gan.NewGenerator(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	d, err := gan.NewDiscriminator(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	ck := &gan.Checkpoint{Config: g.Cfg, G: g, D: d, OptG: optim.NewAdam(g.Params(), 1e-4, 0.5, 0.9),
		OptD: optim.NewAdam(d.Params(), 1e-4, 0.5, 0.9), TrainState: fmt.Sprintf(`{"epoch":%d,"images":%d}`, images/10000, images)}
	if err := ck.Save(path); err != nil {
		t.Fatal(err)
	}
}
