package studio

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"forger/latent"
)

// The Explore page's sliders: a run's directions/*.json are listed for its
// models when they fit the model's z, and /api/image moves the seed's latent
// along one.
func TestRunDirections(t *testing.T) {
	h := newHarness(t, harnessOptions{noPipeline: true, directions: RunDirections{}})
	dir := filepath.Join(h.s.cfg.ModelsDir, "runs", "directions") // runs/cond's run folder
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name string, v []float64) {
		d := &latent.Direction{Attribute: strings.TrimSuffix(name, ".json"), Direction: v, Accuracy: 0.9}
		if err := d.Write(filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	write("smile.json", []float64{3, 0, 0, 4, 0, 0, 0, 0}) // nz 8; unit (0.6, 0, 0, 0.8, …)
	write("wrong.json", []float64{1, 0, 0})                // another model's
	os.WriteFile(filepath.Join(dir, "junk.json"), []byte("{"), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("hello"), 0o644)

	var caps map[string]bool
	h.json("GET", "/api/capabilities", nil, &caps)
	if !caps["directions"] {
		t.Errorf("capabilities %v", caps)
	}
	var out struct {
		Model      string   `json:"model"`
		Directions []string `json:"directions"`
	}
	h.json("GET", "/api/directions?model=runs/cond", nil, &out)
	if out.Model != "runs/cond" || strings.Join(out.Directions, ",") != "smile" {
		t.Errorf("directions of runs/cond: %+v", out)
	}
	h.json("GET", "/api/directions?model=tiny", nil, &out) // a loose checkpoint: no run folder
	if len(out.Directions) != 0 {
		t.Errorf("directions of tiny: %+v", out)
	}
	base := "/api/image?model=runs/cond&seed=5&class=b"
	_, plain := fetchPNG(t, h, base)
	_, zero := fetchPNG(t, h, base+"&direction=smile&amount=0")
	_, moved := fetchPNG(t, h, base+"&direction=smile&amount=3")
	if !bytes.Equal(plain, zero) || bytes.Equal(plain, moved) {
		t.Errorf("amount 0 should change nothing (%v) and amount 3 something (%v)", bytes.Equal(plain, zero), !bytes.Equal(plain, moved))
	}
	for _, bad := range []string{"nope", "../runs/directions/smile", "junk", "notes.txt", "smile.json", "wrong"} {
		status, hdr, body := h.do("GET", base+"&amount=1&direction="+bad, "", nil)
		if status != 404 {
			t.Errorf("direction %q: %d", bad, status)
		}
		isJSONError(t, bad, hdr, body)
	}
	if d, err := (RunDirections{}).Direction(h.s.models.byName["runs/cond"], "smile"); err != nil || d.Space != "" {
		t.Errorf("Direction: %v, %v", d, err)
	} else if v := d.Scaled(); len(v) != 8 || v[0] != 0.6 || v[3] != 0.8 {
		t.Errorf("Scaled: %v", v)
	}
}
