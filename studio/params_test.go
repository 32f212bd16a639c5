package studio

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"forger/latent"
)

// Every numeric query parameter refuses NaN, ±Inf, overflow and junk with
// a 400 and a JSON sentence naming it; nothing is rendered or cached.
func TestNumericParamsRefuseNaN(t *testing.T) {
	h := newHarness(t, harnessOptions{noPipeline: true, directions: RunDirections{}})
	dir := filepath.Join(h.s.cfg.ModelsDir, "runs", "directions")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	d := &latent.Direction{Attribute: "smile", Direction: []float64{1, 0, 0, 0, 0, 0, 0, 0}, Accuracy: 0.9}
	if err := d.Write(filepath.Join(dir, "smile.json")); err != nil {
		t.Fatal(err)
	}
	img := "/api/image?model=runs/cond&class=b"
	morph := "/api/morph?model=tiny"
	var urls []string
	for _, bad := range []string{"NaN", "nan", "Inf", "-Inf", "+Infinity", "1e400", "-1e400", "0x", "1,5", " 1"} {
		v := strings.ReplaceAll(bad, "+", "%2B")
		v = strings.ReplaceAll(v, " ", "%20")
		urls = append(urls,
			img+"&seed=1&direction=smile&amount="+v,
			img+"&seed=1&amount="+v,
			img+"&seed=1&truncation="+v,
			img+"&seed="+v,
			morph+"&from=1&to=2&frames="+v,
			morph+"&from="+v+"&to=2",
			morph+"&from=1&to="+v,
			morph+"&from=1&to=2&truncation="+v,
		)
	}
	for _, u := range urls {
		status, hdr, body := h.do("GET", u, "", nil)
		var e apiError
		if status != 400 || json.Unmarshal(body, &e) != nil || !strings.Contains(e.Error, " must be ") {
			t.Errorf("GET %s: %d %s", u, status, body)
		}
		isJSONError(t, u, hdr, body)
	}
	if n := h.s.images.ll.Len(); n != 0 {
		t.Errorf("%d images cached from refused requests", n)
	}
	// Good values still work.
	for _, u := range []string{img + "&seed=1&direction=smile&amount=-2.5", img + "&seed=1&truncation=0.7", morph + "&from=1&to=2&frames=3"} {
		if status, _, body := h.do("GET", u, "", nil); status != 200 {
			t.Errorf("GET %s: %d %s", u, status, body)
		}
	}
}
