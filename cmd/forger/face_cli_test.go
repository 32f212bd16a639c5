package main

// Tests of `forger face detect | align | index | match` through the built
// binary (bin, from cli_test.go's TestMain). Those that run the networks
// need the face models (forger models get face) and skip without them;
// astronaut.png comes from Debian's python3-skimage.

import (
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image"
	"image/draw"
	"image/jpeg"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	xdraw "golang.org/x/image/draw"

	"forger/face"
	"forger/internal/fixture"
)

const astronautPNG = "/usr/lib/python3/dist-packages/skimage/data/astronaut.png"

// faceModels returns the installed face models' folder (the real one, not
// the temporary FORGER_HOME forger() gives the binary), or skips.
func faceModels(t *testing.T) string {
	t.Helper()
	dir := face.DefaultDir()
	for _, f := range []string{face.LandmarkManifest, face.DescriptorManifest} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			fixture.Missingf(t, "face models missing in %s: run 'forger models get face'", dir)
		}
	}
	return dir
}

func needFile(t *testing.T, path, hint string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		fixture.Missingf(t, "%s is missing (%s)", path, hint)
	}
}

// oneLineError checks a failed run: non-zero exit, one line on stderr
// starting "forger: ", no stack trace.
func oneLineError(t *testing.T, args []string, stderr string, code int) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if code == 0 || len(lines) != 1 || !strings.HasPrefix(lines[0], "forger: ") || strings.Contains(stderr, "goroutine") {
		t.Errorf("%v: exit %d, stderr %q", args, code, stderr)
	}
}

func writePNGFile(t *testing.T, path string, img image.Image) {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFaceCLIErrors(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "notes.png")
	os.WriteFile(text, []byte("not an image\n"), 0o644)
	tiny := filepath.Join(dir, "tiny.png")
	writePNGFile(t, tiny, image.NewRGBA(image.Rect(0, 0, 8, 8)))
	missing := filepath.Join(dir, "missing.png")
	for _, c := range []struct {
		args []string
		want string // in the message
		code int    // 0: any non-zero
	}{
		{[]string{"face", "detect", missing}, "no such file", 1},
		{[]string{"face", "detect", text}, "not a PNG, JPEG, GIF or WebP image", 1},
		{[]string{"face", "detect", tiny}, "face models are missing", 1}, // FORGER_HOME is empty
		{[]string{"face", "detect"}, "accepts 1 arg", 0},
		{[]string{"face", "align", filepath.Join(dir, "nothing"), filepath.Join(dir, "out")}, "no such file", 1},
		{[]string{"face", "align", tiny, filepath.Join(dir, "out"), "--size", "100"}, "--size 100", 2},
		{[]string{"face", "align", tiny, filepath.Join(dir, "out"), "--layout", "bogus"}, "use ffhq or cartoon", 2},
		{[]string{"face", "index", dir}, "--db FILE is required", 2},
		{[]string{"face", "index", tiny, "--db", filepath.Join(dir, "x.db")}, "is not a folder", 2},
		{[]string{"face", "match", tiny}, "--db FILE is required", 2},
		{[]string{"face", "match", missing, "--db", filepath.Join(dir, "x.db")}, "no such file", 1},
		{[]string{"face", "match", text, "--db", filepath.Join(dir, "x.db")}, "not a PNG", 1},
		{[]string{"face", "match", tiny, "--db", filepath.Join(dir, "x.db")}, "no face index", 1},
		{[]string{"face", "match", tiny, "--db", filepath.Join(dir, "x.db")}, "(build one with 'forger face index GALLERY --db FILE')", 1},
		{[]string{"face", "landmarks", "--raw", text}, "not a PNG, JPEG, GIF or WebP image", 1},
		{[]string{"face", "embed", "--raw", missing}, "no such file", 1},
		{[]string{"face", "match", tiny, "--db", text}, "not a face index", 1},
		{[]string{"face", "match", tiny, "--db", filepath.Join(dir, "x.db"), "-k", "0"}, "-k", 2},
	} {
		_, stderr, code := forger(t, nil, c.args...)
		oneLineError(t, c.args, stderr, code)
		if c.code != 0 && code != c.code {
			t.Errorf("%v: exit %d, want %d", c.args, code, c.code)
		}
		if !strings.Contains(stderr, c.want) {
			t.Errorf("%v: stderr %q lacks %q", c.args, stderr, c.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "x.db")); err == nil {
		t.Error("a failed match created the index file")
	}
	if _, err := os.Stat(filepath.Join(dir, "out")); err == nil {
		t.Error("a failed align created its output folder")
	}
}

// toRGBA copies img into a new *image.RGBA at (0, 0).
func testRGBA(img image.Image) *image.RGBA {
	b := img.Bounds()
	m := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(m, m.Rect, img, b.Min, draw.Src)
	return m
}

// transformed resamples src by the similarity s into a w×h image (black
// outside).
func transformed(src image.Image, s face.Similarity, w, h int) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	xdraw.CatmullRom.Transform(dst, s.Aff3(), src, src.Bounds(), xdraw.Src, nil)
	return dst
}

// jpegWithOrientation encodes img as a JPEG carrying an APP1 Exif segment
// whose only tag is the orientation.
func jpegWithOrientation(t *testing.T, img image.Image, o uint16) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	tiff := []byte("II*\x00\x08\x00\x00\x00\x01\x00\x12\x01\x03\x00\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00")
	binary.LittleEndian.PutUint16(tiff[18:], o)
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := binary.BigEndian.AppendUint16([]byte{0xFF, 0xE1}, uint16(2+len(payload)))
	seg = append(seg, payload...)
	b := buf.Bytes()
	return append(append(append([]byte{}, b[:2]...), seg...), b[2:]...)
}

func meanAbsDiffFiles(t *testing.T, a, b string) float64 {
	t.Helper()
	load := func(p string) *image.RGBA {
		img, err := face.LoadImage(p)
		if err != nil {
			t.Fatal(err)
		}
		return testRGBA(img)
	}
	x, y := load(a), load(b)
	if x.Rect != y.Rect {
		t.Fatalf("%s is %v, %s is %v", a, x.Rect, b, y.Rect)
	}
	n := x.Rect.Dx()
	var sum float64
	cnt := 0
	for py := n / 5; py < n*9/10; py++ { // the face: eyes to chin
		for px := n / 5; px < n*4/5; px++ {
			i := x.PixOffset(px, py)
			for c := 0; c < 3; c++ {
				sum += math.Abs(float64(x.Pix[i+c]) - float64(y.Pix[i+c]))
				cnt++
			}
		}
	}
	return sum / float64(cnt)
}

func TestFaceAlignFolder(t *testing.T) {
	models := faceModels(t)
	needFile(t, astronautPNG, "apt-get install python3-skimage")
	src, err := face.LoadImage(astronautPNG)
	if err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(t.TempDir(), "photos")
	os.MkdirAll(filepath.Join(in, "more"), 0o755)
	writePNGFile(t, filepath.Join(in, "astronaut.png"), src)
	// Turned 20° clockwise about the centre.
	rot := face.Similarity{Scale: 1, Angle: 20 * math.Pi / 180}
	c := rot.Apply(face.Point{256, 256})
	rot.Tx, rot.Ty = 256-c[0], 256-c[1]
	writePNGFile(t, filepath.Join(in, "more", "rotated.png"), transformed(src, rot, 512, 512))
	// Stored turned 90° counter-clockwise, tagged "turn 90° clockwise".
	os.WriteFile(filepath.Join(in, "exif.jpg"), jpegWithOrientation(t, face.Orient(src, 8), 6), 0o644)
	// Too small for --size 128: the eyes 15 px apart.
	writePNGFile(t, filepath.Join(in, "tiny.png"), transformed(src, face.Similarity{Scale: 0.35}, 180, 180))
	os.WriteFile(filepath.Join(in, "notes.txt"), []byte("not a photo\n"), 0o644)
	os.WriteFile(filepath.Join(in, ".hidden.png"), []byte("ignored"), 0o644)
	coffee := filepath.Join(filepath.Dir(astronautPNG), "coffee.png")
	needFile(t, coffee, "apt-get install python3-skimage")
	cof, _ := face.LoadImage(coffee)
	writePNGFile(t, filepath.Join(in, "coffee.png"), cof)

	out := filepath.Join(t.TempDir(), "aligned")
	stdout, stderr, code := forger(t, nil, "face", "align", in, out, "--size", "128", "--json", "--models", models)
	if code != 0 {
		t.Fatalf("align: exit %d: %s", code, stderr)
	}
	rows := map[string]map[string]any{}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		for _, k := range []string{"file", "status", "reason", "left_eye", "right_eye", "output"} {
			if _, ok := r[k]; !ok {
				t.Errorf("row %s lacks %q", line, k)
			}
		}
		rel, _ := filepath.Rel(in, r["file"].(string))
		rows[filepath.ToSlash(rel)] = r
	}
	want := map[string]struct{ status, reason string }{
		"astronaut.png":    {"ok", ""},
		"more/rotated.png": {"ok", ""},
		"exif.jpg":         {"ok", ""},
		"tiny.png":         {"skipped", "face too small"},
		"notes.txt":        {"skipped", "not an image"},
		"coffee.png":       {"skipped", "no face found"},
	}
	if len(rows) != len(want) {
		t.Errorf("%d rows, want %d: %v", len(rows), len(want), rows)
	}
	for f, w := range want {
		r, ok := rows[f]
		if !ok {
			t.Errorf("no row for %s", f)
			continue
		}
		if r["status"] != w.status || !strings.HasPrefix(r["reason"].(string), w.reason) || (w.reason == "") != (r["reason"] == "") {
			t.Errorf("%s: status %v reason %q, want %s %q…", f, r["status"], r["reason"], w.status, w.reason)
		}
		if w.status == "ok" {
			if r["left_eye"] == nil || r["right_eye"] == nil {
				t.Errorf("%s: no eyes", f)
			}
			img, err := face.LoadImage(r["output"].(string))
			if err != nil || img.Bounds().Dx() != 128 || img.Bounds().Dy() != 128 {
				t.Errorf("%s: output %v: %v", f, r["output"], err)
			}
		} else if r["output"] != "" {
			t.Errorf("%s: skipped but output %v", f, r["output"])
		}
	}
	eye := func(f, k string) face.Point {
		v := rows[f][k].([]any)
		return face.Point{v[0].(float64), v[1].(float64)}
	}
	// The EXIF-turned copy's eyes are the upright photo's (the report is
	// in the photo's displayed pixels).
	for _, k := range []string{"left_eye", "right_eye"} {
		a, b := eye("astronaut.png", k), eye("exif.jpg", k)
		if d := math.Hypot(a[0]-b[0], a[1]-b[1]); d > 1.5 {
			t.Errorf("exif.jpg %s %v, upright photo's %v", k, b, a)
		}
		r := rot.Apply(a)
		if g := eye("more/rotated.png", k); math.Hypot(g[0]-r[0], g[1]-r[1]) > 1.5 {
			t.Errorf("rotated.png %s %v, want the original's turned: %v", k, g, r)
		}
	}
	// The proof: the crops of the original and of its turned copy agree.
	for _, f := range []string{"more/rotated.png", "exif.jpg"} {
		d := meanAbsDiffFiles(t, rows["astronaut.png"]["output"].(string), rows[f]["output"].(string))
		t.Logf("%s: aligned crop differs from the original's by %.2f levels on average", f, d)
		if d > 6 {
			t.Errorf("%s: aligned crop differs from the original's by %.2f levels", f, d)
		}
	}
	if _, err := os.Stat(filepath.Join(out, "more", "rotated.png")); err != nil {
		t.Errorf("the crop does not keep the input's sub-folder: %v", err)
	}
	// report.csv: a header and one line per row.
	f, err := os.Open(filepath.Join(out, "report.csv"))
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(recs) != len(want)+1 || strings.Join(recs[0], ",") != "file,faces,face,left_eye_x,left_eye_y,right_eye_x,right_eye_y,status,reason,output" {
		t.Errorf("report.csv: %v, %v", recs, err)
	}
	sheet, err := face.LoadImage(filepath.Join(out, "contact-sheet.png"))
	if err != nil || sheet.Bounds().Dx() < 4*256 {
		t.Errorf("contact sheet: %v", err)
	}

	// One file, every face: a crop per face.
	out2 := filepath.Join(t.TempDir(), "one")
	stdout, stderr, code = forger(t, nil, "face", "align", filepath.Join(in, "astronaut.png"), out2, "--all", "--size", "64", "--models", models)
	if code != 0 || !strings.Contains(stdout, "aligned 1 face from 1 file") {
		t.Fatalf("align one file: exit %d %q %s", code, stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(out2, "astronaut_1.png")); err != nil {
		t.Error(err)
	}
}

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
