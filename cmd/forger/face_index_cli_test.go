package main

// forger face index and match through the built binary on face-api's
// demo photos; needs the face models.

import (
	"encoding/json"
	"fmt"
	"image"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"forger/face"
)

// The demo photos' people (face/testdata/README.md: boxes found by
// face-api's own detector), one person per photo file of the gallery.
var demoPeople = []struct {
	name, photo string
	box         [4]float64 // x, y, w, h
}{
	{"a_sample3", "sample3.jpg", [4]float64{563, 369, 250, 250}},
	{"b_sample6", "sample6.jpg", [4]float64{639, 384, 256, 256}},
	{"c_sample5", "sample5.jpg", [4]float64{766, 137, 198, 198}},
	{"d_sample1", "sample1.jpg", [4]float64{395, 401, 217, 217}},
	{"e_sample4", "sample4.jpg", [4]float64{636, 92, 228, 228}},
	{"f_sample3", "sample3.jpg", [4]float64{1436, 338, 312, 260}},
	{"g_sample2", "sample2.jpg", [4]float64{1425, 163, 238, 271}},
}

// cropAround cuts from img a square of side grow·max(w,h) centred on the
// box's centre moved by (dx, dy), scaled to out pixels.
func cropAround(img image.Image, box [4]float64, grow, dx, dy float64, out int) *image.RGBA {
	side := grow * math.Max(box[2], box[3])
	cx, cy := box[0]+box[2]/2+dx, box[1]+box[3]/2+dy
	k := float64(out) / side
	s := face.Similarity{Scale: k, Tx: float64(out)/2 - k*cx, Ty: float64(out)/2 - k*cy}
	return face.Warp(testRGBA(img), s, out, out, face.EdgeReplicate)
}

func TestFaceIndexMatch(t *testing.T) {
	models := faceModels(t)
	photos := map[string]image.Image{}
	for _, p := range demoPeople {
		path := filepath.Join(models, p.photo)
		needFile(t, path, "forger models get face")
		if photos[p.photo] == nil {
			img, err := face.LoadImage(path)
			if err != nil {
				t.Fatal(err)
			}
			photos[p.photo] = img
		}
	}
	gallery := filepath.Join(t.TempDir(), "people")
	os.MkdirAll(gallery, 0o755)
	for _, p := range demoPeople {
		writePNGFile(t, filepath.Join(gallery, p.name+".png"), cropAround(photos[p.photo], p.box, 1.6, 0, 0, 320))
	}
	db := filepath.Join(t.TempDir(), "people.db")
	for run := 0; run < 2; run++ { // indexing again replaces the rows
		stdout, stderr, code := forger(t, nil, "face", "index", gallery, "--db", db, "--models", models)
		if code != 0 {
			t.Fatalf("index: exit %d: %s", code, stderr)
		}
		want := fmt.Sprintf("holds %d faces of %d people", len(demoPeople), len(demoPeople))
		if !strings.Contains(stdout, want) || strings.Contains(stdout, "skipped") {
			t.Fatalf("index run %d: %q, want %q", run+1, stdout, want)
		}
	}
	// The query: person b, a looser crop, off-centre, smaller.
	b := demoPeople[1]
	query := filepath.Join(t.TempDir(), "query.png")
	writePNGFile(t, query, cropAround(photos[b.photo], b.box, 2.2, 30, -20, 260))
	stdout, stderr, code := forger(t, nil, "face", "match", query, "--db", db, "-k", "3", "--json", "--models", models)
	if code != 0 {
		t.Fatalf("match: exit %d: %s", code, stderr)
	}
	// The shape, exactly: {"best": [{name, distance, same_person}…], "worst": […]}.
	var shape map[string][]map[string]any
	if err := json.Unmarshal([]byte(stdout), &shape); err != nil {
		t.Fatalf("match --json %q: %v", stdout, err)
	}
	if len(shape) != 2 || len(shape["best"]) != 3 || len(shape["worst"]) != 3 {
		t.Fatalf("match --json: %s", stdout)
	}
	for _, list := range shape {
		for _, m := range list {
			_, n := m["name"].(string)
			_, d := m["distance"].(float64)
			_, s := m["same_person"].(bool)
			if len(m) != 3 || !n || !d || !s {
				t.Errorf("match entry %v: want exactly name, distance, same_person", m)
			}
		}
	}
	type match struct {
		Name       string  `json:"name"`
		Distance   float64 `json:"distance"`
		SamePerson bool    `json:"same_person"`
	}
	var res struct{ Best, Worst []match }
	json.Unmarshal([]byte(stdout), &res)
	t.Logf("best %+v", res.Best)
	t.Logf("worst %+v", res.Worst)
	if res.Best[0].Name != b.name || !res.Best[0].SamePerson {
		t.Errorf("best match %+v, want %s (same person)", res.Best[0], b.name)
	}
	for i := 1; i < 3; i++ {
		if res.Best[i].Distance < res.Best[i-1].Distance || res.Worst[i].Distance > res.Worst[i-1].Distance {
			t.Errorf("not sorted: best %v worst %v", res.Best, res.Worst)
		}
		if res.Best[i].SamePerson {
			t.Errorf("%+v is the same person as %s?", res.Best[i], b.name)
		}
	}
	for _, m := range res.Worst {
		if m.SamePerson || m.Name == b.name {
			t.Errorf("worst %+v", m)
		}
	}
	stdout, _, code = forger(t, nil, "face", "match", query, "--db", db, "--models", models)
	if code != 0 || !strings.Contains(stdout, "1. "+b.name) || !strings.Contains(stdout, "same person") {
		t.Errorf("match (text): %q", stdout)
	}
	// The same crop turned by 25°: still b (the index describes faces
	// turned upright).
	q, _ := face.LoadImage(query)
	turn := face.Similarity{Scale: 1, Angle: 25 * math.Pi / 180}
	c := turn.Apply(face.Point{130, 130})
	turn.Tx, turn.Ty = 130-c[0], 130-c[1]
	writePNGFile(t, query, face.Warp(testRGBA(q), turn, 260, 260, face.EdgeReplicate))
	stdout, _, code = forger(t, nil, "face", "match", query, "--db", db, "-k", "1", "--json", "--models", models)
	res.Best = nil
	if err := json.Unmarshal([]byte(stdout), &res); code != 0 || err != nil || len(res.Best) != 1 || res.Best[0].Name != b.name || !res.Best[0].SamePerson {
		t.Errorf("turned query: exit %d, %q", code, stdout)
	}
	t.Logf("turned 25°: best %+v", res.Best)
}
