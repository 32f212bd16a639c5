package main

// forger morph, blend and edit through the built binary on a tiny model.

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"forger/latent"
)

func TestMorphBlendEdit(t *testing.T) {
	dir := t.TempDir()
	model := latTinyModel(t, dir)

	// morph: the frame count asked for, through a waypoint, lerp and slerp.
	for _, sph := range []string{"--spherical=false", "--spherical"} {
		g := filepath.Join(dir, "morph.gif")
		out := latRun(t, "morph", "--model", model, "--from", "1", "--to", "2", "--via", "3", "--frames", "9", sph, "--out", g, "--json")
		var r struct {
			Out    string `json:"out"`
			Frames int    `json:"frames"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil || r.Out != g || r.Frames != 9 {
			t.Fatalf("morph result %q: %v", out, err)
		}
		if n := latGIFFrames(t, g); n != 9 {
			t.Fatalf("%s has %d frames, want 9", g, n)
		}
	}

	// blend: weight 0 and 1 give the parents, as generate draws them.
	latRun(t, "generate", "--model", model, "--seeds", "1,2", "--out", dir)
	for w, seed := range map[string]string{"0": "1", "1": "2"} {
		p := filepath.Join(dir, "child"+w+".png")
		latRun(t, "blend", "--model", model, "1", "2", "--weight", w, "--out", p)
		if !latSamePixels(latDecodePNG(t, p), latDecodePNG(t, filepath.Join(dir, "seed000"+seed+".png"))) {
			t.Errorf("blend --weight %s is not seed %s", w, seed)
		}
	}
	child := filepath.Join(dir, "child.png")
	lat := filepath.Join(dir, "child.json")
	family := filepath.Join(dir, "family.png")
	latRun(t, "blend", "--model", model, "1", "2", "--spherical", "--out", child, "--latent-out", lat, "--family", family)
	// --family: parent, child, parent, three square tiles with 2 px gaps.
	if b := latDecodePNG(t, family).Bounds(); b.Dy() < 28+4 || b.Dx() != 3*(b.Dy()-4)+4*2 {
		t.Errorf("family strip is %v", b)
	}
	if lf, err := latent.ReadFile(lat); err != nil || len(lf.Z) != 16 {
		t.Fatalf("child latent: %v", err)
	}
	// A latent file is a parent too.
	latRun(t, "blend", "--model", model, lat, "2", "--weight", "0", "--out", filepath.Join(dir, "c2.png"))
	if !latSamePixels(latDecodePNG(t, child), latDecodePNG(t, filepath.Join(dir, "c2.png"))) {
		t.Error("blending from the child's latent file with weight 0 is not the child")
	}

	// edit: a strip of 7 tiles upscaled to ≥ 64 px (28·3 = 84) with 2 px gaps.
	v := make([]float64, 16)
	v[0] = 1
	dirFile := filepath.Join(dir, "d.json")
	latWriteDirection(t, dirFile, "x", v)
	strip := filepath.Join(dir, "strip.png")
	latRun(t, "edit", "--model", model, "--seed", "4", "--direction", dirFile, "--strengths", "-3:3:7", "--out", strip)
	if b := latDecodePNG(t, strip).Bounds(); b.Dx() != 7*84+8*2 || b.Dy() != 84+2*2 {
		t.Errorf("strip is %v, want %dx%d", b, 7*84+8*2, 84+4)
	}
	latRun(t, "edit", "--model", model, "--latent", lat, "--direction", dirFile, "--strengths", "-2:2:5", "--out", filepath.Join(dir, "edit.gif"))
	if n := latGIFFrames(t, filepath.Join(dir, "edit.gif")); n != 5 {
		t.Errorf("edit.gif has %d frames, want 5", n)
	}
}
