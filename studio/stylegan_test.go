package studio

import (
	"bytes"
	"context"
	"image"
	"image/gif"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
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
	run := filepath.Join(h.s.cfg.ModelsDir, "sg")
	saveStyleGAN(t, filepath.Join(run, "checkpoints", "style.safetensors"))
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

// saveStyleGAN saves a tiny untrained 8×8 stylegan (z of 8, w of 12) whose
// w_avg is not 0, so that truncation towards it differs from truncation
// of z towards 0.
func saveStyleGAN(t *testing.T, path string) {
	t.Helper()
	sc := stylegan.DefaultConfig(8, 3)
	sc.ZDim, sc.WDim, sc.MappingLayers, sc.ChannelBase, sc.ChannelMax = 8, 12, 2, 64, 16
	cfg := gan.StyleConfig(sc)
	rng := rand.New(rand.NewPCG(1, 2))
	g, err := gan.NewStyleGenerator(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	for i := range g.Mapping.WAvg.Value.Data {
		g.Mapping.WAvg.Value.Data[i] = float32(rng.NormFloat64())
	}
	d, err := gan.NewStyleDiscriminator(cfg, rng)
	if err != nil {
		t.Fatal(err)
	}
	ck := &gan.Checkpoint{Config: cfg, G: g, D: d, OptG: optim.NewAdam(g.Params(), 1e-4, 0, 0.99),
		OptD: optim.NewAdam(d.Params(), 1e-4, 0, 0.99), TrainState: `{"epoch":1,"images":100}`}
	if err := ck.Save(path); err != nil {
		t.Fatal(err)
	}
}

// TestStyleGANTruncatesInW: the studio truncates a stylegan's seeds in W,
// towards w_avg, as forger generate does (gan.GenerateSeeds): its images
// and generated images at truncation 0.5 and 0 (w_avg's image, for every
// seed) are generate's, and so is a morph's first frame; truncation 0
// is refused for a dcgan.
func TestStyleGANTruncatesInW(t *testing.T) {
	h := newHarness(t, harnessOptions{noPipeline: true})
	path := filepath.Join(h.s.cfg.ModelsDir, "sg", "checkpoints", "style.safetensors")
	saveStyleGAN(t, path)
	if _, err := h.s.models.scan(); err != nil {
		t.Fatal(err)
	}
	g, err := gan.LoadGeneratorNet(path)
	if err != nil {
		t.Fatal(err)
	}
	generate := func(psi float64, seeds ...int64) [][]byte {
		var out [][]byte
		err := gan.GenerateSeeds(context.Background(), g, seeds, nil, psi, func(_ int, img image.Image) error {
			out = append(out, pixels(img))
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	for _, psi := range []string{"0.5", "0"} {
		p, _ := strconv.ParseFloat(psi, 64)
		want := generate(p, 5, 6)
		if bytes.Equal(want[0], generate(1, 5)[0]) {
			t.Fatalf("truncation %s changes nothing: the test model cannot tell", psi)
		}
		for i, seed := range []string{"5", "6"} {
			img, _ := fetchPNG(t, h, "/api/image?model=sg&seed="+seed+"&truncation="+psi)
			if !bytes.Equal(pixels(img), want[i]) {
				t.Errorf("image of seed %s at truncation %s is not forger generate's", seed, psi)
			}
		}
		var out struct {
			Images []struct{ URL string } `json:"images"`
		}
		if status, _ := h.json("POST", "/api/generate", map[string]any{"model": "sg", "n": 2, "seed": 5, "truncation": p}, &out); status != 200 || len(out.Images) != 2 {
			t.Fatalf("generate at truncation %s: %d %+v", psi, status, out)
		}
		for i, im := range out.Images {
			if img, _ := fetchPNG(t, h, im.URL); !bytes.Equal(pixels(img), want[i]) {
				t.Errorf("generated image %d at truncation %s is not forger generate's", i, psi)
			}
		}
		codes, err := morphCodes(g, nil, 5, 6, p, 3)
		if err != nil {
			t.Fatal(err)
		}
		first := latent.Render(g, codes[:1])
		if got := pixels(pictures(first, 1, first.Len(), g.ModelConfig())[0]); !bytes.Equal(got, want[0]) {
			t.Errorf("morph from seed 5 at truncation %s does not start at forger generate's image", psi)
		}
	}
	if !bytes.Equal(generate(0, 5)[0], generate(0, 6)[0]) {
		t.Error("truncation 0: two seeds, two images (want w_avg's for both)")
	}
	if status, _, body := h.do("GET", "/api/image?model=tiny&seed=1&truncation=0", "", nil); status != 400 || !strings.Contains(string(body), "truncation must be") {
		t.Errorf("a dcgan at truncation 0: %d %s", status, body)
	}
}
