package face

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"image"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"forger/internal/fixture"
)

// reference is face/testdata/reference.json: face-api.js's outputs for the
// crops in face/testdata, one case per input and TF.js back-end (see
// face/testdata/README.md).
type reference struct {
	ReferenceBackend string `json:"reference_backend"`
	Cases            []struct {
		Input        string       `json:"input"`
		SHA256       string       `json:"sha256"`
		Width        int          `json:"width"`
		Height       int          `json:"height"`
		Backend      string       `json:"backend"`
		Descriptor   []float64    `json:"descriptor"`
		Landmarks    [][2]float64 `json:"landmarks"`
		LandmarksNet []float64    `json:"landmarks_net"`
	} `json:"cases"`
}

// The promise: face-api's results within these.
const (
	maxDescriptorDistance = 0.001
	maxLandmarkError      = 0.05 // px
)

func loadReference(t *testing.T) *reference {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "reference.json"))
	if errors.Is(err, os.ErrNotExist) {
		fixture.Missing(t, "face/testdata/reference.json is missing (scripts/face/reference.mjs writes it)")
	}
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatalf("reference.json: %v", err)
	}
	if len(ref.Cases) == 0 {
		t.Fatal("reference.json has no cases")
	}
	return &ref
}

func readPNG(t *testing.T, name, wantSum string) image.Image {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(raw); wantSum != "" && hex.EncodeToString(sum[:]) != wantSum {
		t.Fatalf("%s: SHA-256 differs from the one reference.json was made from", name)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return img
}

// TestMatchesFaceAPI checks descriptors and landmarks against face-api.js
// on every input and back-end of reference.json, one image at a time and as
// one batch.
func TestMatchesFaceAPI(t *testing.T) {
	ref := loadReference(t)
	d, l := loadDescriptor(t), loadLandmarks(t)
	type worst struct{ desc, lm, net float64 }
	per := map[string]*worst{}
	imgs := map[string]image.Image{}
	var names []string
	for _, c := range ref.Cases {
		img, ok := imgs[c.Input]
		if !ok {
			img = readPNG(t, c.Input, c.SHA256)
			imgs[c.Input] = img
			names = append(names, c.Input)
		}
		if b := img.Bounds(); b.Dx() != c.Width || b.Dy() != c.Height {
			t.Fatalf("%s: %dx%d, reference says %dx%d", c.Input, b.Dx(), b.Dy(), c.Width, c.Height)
		}
		if len(c.Descriptor) != 128 || len(c.Landmarks) != 68 {
			t.Fatalf("%s/%s: malformed case", c.Input, c.Backend)
		}
		w := per[c.Backend]
		if w == nil {
			w = &worst{}
			per[c.Backend] = w
		}
		desc := d.Embed(img)
		var s float64
		for i, v := range c.Descriptor {
			s += (float64(desc[i]) - v) * (float64(desc[i]) - v)
		}
		dist := math.Sqrt(s)
		w.desc = math.Max(w.desc, dist)
		if dist > maxDescriptorDistance {
			t.Errorf("%s (%s): descriptor %.3g from face-api's, want ≤ %g", c.Input, c.Backend, dist, maxDescriptorDistance)
		}
		lm := l.Landmarks(img)
		var e float64
		for i, p := range c.Landmarks {
			e = math.Max(e, math.Hypot(float64(lm[i][0])-p[0], float64(lm[i][1])-p[1]))
		}
		w.lm = math.Max(w.lm, e)
		if e > maxLandmarkError {
			t.Errorf("%s (%s): a landmark is %.3g px from face-api's, want ≤ %g", c.Input, c.Backend, e, maxLandmarkError)
		}
		if len(c.LandmarksNet) == 136 {
			out := l.Forward(ImageTensor(img)).Data
			for i, v := range c.LandmarksNet {
				w.net = math.Max(w.net, math.Abs(float64(out[i])-v))
			}
		}
	}
	backends := make([]string, 0, len(per))
	for b := range per {
		backends = append(backends, b)
	}
	sort.Strings(backends)
	for _, b := range backends {
		w := per[b]
		t.Logf("vs face-api %s: max descriptor distance %.3g, max landmark error %.3g px, max raw landmark output difference %.3g",
			b, w.desc, w.lm, w.net)
	}

	// The batch path gives the same (each crop padded and resized alone).
	list := make([]image.Image, len(names))
	for i, n := range names {
		list[i] = imgs[n]
	}
	descs, lms := d.EmbedBatch(list), l.LandmarksBatch(list)
	for i, img := range list {
		one, lm := d.Embed(img), l.Landmarks(img)
		if dist := one.Distance(descs[i]); dist > 1e-5 {
			t.Errorf("%s: batch descriptor %.3g from the single one", names[i], dist)
		}
		for j := range lm {
			if math.Hypot(float64(lm[j][0]-lms[i][j][0]), float64(lm[j][1]-lms[i][j][1])) > 1e-3 {
				t.Errorf("%s: batch landmark %d differs", names[i], j)
				break
			}
		}
	}
}

// TestDescriptorsSeparatePeople checks the descriptors do their job on the
// fixtures: the two crops of one face (B) are far closer than any two
// different people.
func TestDescriptorsSeparatePeople(t *testing.T) {
	ref := loadReference(t)
	d := loadDescriptor(t)
	descs := map[string]Descriptor{}
	for _, c := range ref.Cases {
		if _, ok := descs[c.Input]; !ok {
			descs[c.Input] = d.Embed(readPNG(t, c.Input, c.SHA256))
		}
	}
	a, b := descs["face_b_s6.png"], descs["face_b_s6_shift.png"]
	if a == (Descriptor{}) || b == (Descriptor{}) {
		t.Skip("reference.json lacks the two crops of face B")
	}
	same := a.Distance(b)
	closest := math.Inf(1)
	for n1, d1 := range descs {
		for n2, d2 := range descs {
			if n1 < n2 && !(n1 == "face_b_s6.png" && n2 == "face_b_s6_shift.png") {
				closest = math.Min(closest, d1.Distance(d2))
			}
		}
	}
	t.Logf("same face: %.3f; closest different people: %.3f", same, closest)
	if same >= 0.6 || closest <= same {
		t.Errorf("same face %.3f apart, different people as close as %.3f", same, closest)
	}
}
