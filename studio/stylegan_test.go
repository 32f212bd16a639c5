package studio

import (
	"bytes"
	"image/gif"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"forger/gan"
	"forger/latent"
	"forger/optim"
	"forger/stylegan"
)

// The Explore page with a stylegan: its images, its directions (in W, of
// w's 12 values, and in z, of 8; a W direction of 3 values does not fit),
// edits along a W direction, and its morph.
func TestStyleGANPages(t *testing.T) {
	h := newHarness(t, harnessOptions{noPipeline: true, directions: RunDirections{}})
	sc := stylegan.DefaultConfig(8, 3)
	sc.ZDim, sc.WDim, sc.MappingLayers, sc.ChannelBase, sc.ChannelMax = 8, 12, 2, 64, 16
	cfg := gan.StyleConfig(sc)
	rng := rand.New(rand.NewPCG(1, 2))
	g, err := gan.NewStyleGenerator(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	d, err := gan.NewStyleDiscriminator(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(h.s.cfg.ModelsDir, "sg")
	ck := &gan.Checkpoint{Config: cfg, G: g, D: d, OptG: optim.NewAdam(g.Params(), 1e-4, 0, 0.99),
		OptD: optim.NewAdam(d.Params(), 1e-4, 0, 0.99), TrainState: `{"epoch":1,"images":100}`}
	if err := ck.Save(filepath.Join(run, "checkpoints", "style.safetensors")); err != nil {
		t.Fatal(err)
	}
	dirs := filepath.Join(run, "directions")
	os.MkdirAll(dirs, 0o755)
	w := make([]float64, 12)
	w[0] = 1
	(&latent.Direction{Attribute: "smile", Direction: w, Space: latent.SpaceW, Scale: 2}).Write(filepath.Join(dirs, "smile.json"))
	(&latent.Direction{Attribute: "short", Direction: []float64{1, 2, 3}, Space: latent.SpaceW}).Write(filepath.Join(dirs, "short.json"))
	(&latent.Direction{Attribute: "zdir", Direction: []float64{1, 0, 0, 0, 0, 0, 0, 0}}).Write(filepath.Join(dirs, "zdir.json"))
	if _, err := h.s.models.scan(); err != nil {
		t.Fatal(err)
	}

	var out struct {
		Directions []string `json:"directions"`
	}
	h.json("GET", "/api/directions?model=sg", nil, &out)
	if strings.Join(out.Directions, ",") != "smile,zdir" {
		t.Fatalf("directions of the stylegan: %v", out.Directions)
	}
	base := "/api/image?model=sg&seed=5"
	_, plain := fetchPNG(t, h, base)
	_, zero := fetchPNG(t, h, base+"&direction=smile&amount=0")
	_, moved := fetchPNG(t, h, base+"&direction=smile&amount=3")
	_, other := fetchPNG(t, h, "/api/image?model=sg&seed=6")
	if !bytes.Equal(plain, zero) || bytes.Equal(plain, moved) || bytes.Equal(plain, other) {
		t.Errorf("W edit: amount 0 the same %v, amount 3 different %v; two seeds different %v", bytes.Equal(plain, zero), !bytes.Equal(plain, moved), !bytes.Equal(plain, other))
	}
	status, hdr, body := h.do("GET", "/api/morph?model=sg&from=1&to=2&frames=5", "", nil)
	if status != 200 || hdr.Get("Content-Type") != "image/gif" {
		t.Fatalf("morph: %d %s %.200q", status, hdr.Get("Content-Type"), body)
	}
	if a, err := gif.DecodeAll(bytes.NewReader(body)); err != nil || len(a.Image) != 8 {
		t.Fatalf("morph GIF: %v", err)
	}
}
