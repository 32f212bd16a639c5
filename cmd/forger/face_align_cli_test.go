package main

// forger face align through the built binary; needs the face models
// (forger models get face) and Debian's astronaut.png.

import (
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"image"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	xdraw "golang.org/x/image/draw"

	"forger/face"
)

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
