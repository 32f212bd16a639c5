package lookalike

import (
	"context"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"forger/gan"
	"forger/internal/priority"
	"forger/latent"
	"forger/runfolder"
	"forger/store"
	"forger/studio"
)

func newPipeline(t testing.TB, cfg Config) *Pipeline {
	t.Helper()
	faceModels(t)
	if cfg.Log == nil {
		cfg.Log = testLog(t)
	}
	p, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func newResults(t testing.TB) *studio.Results {
	t.Helper()
	r, err := studio.NewResults(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// decodeResult decodes a result file: a PNG's image, or a GIF's frames.
func decodeResult(t testing.TB, out *studio.Results, key string) (store.Result, []image.Image) {
	t.Helper()
	res, ok := out.Result(key)
	if !ok {
		t.Fatalf("no result %q (have %v)", key, out.Keys())
	}
	f, err := os.Open(filepath.Join(out.Dir(), res.File))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if strings.HasSuffix(res.File, ".gif") {
		g, err := gif.DecodeAll(f)
		if err != nil {
			t.Fatalf("%s: %v", res.File, err)
		}
		frames := make([]image.Image, len(g.Image))
		for i, m := range g.Image {
			frames[i] = m
		}
		return res, frames
	}
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", res.File, err)
	}
	return res, []image.Image{img}
}

// meanDiff is the mean absolute difference of two images' RGB values, 0–255.
func meanDiff(a, b image.Image) float64 {
	if a.Bounds().Size() != b.Bounds().Size() {
		return math.Inf(1)
	}
	var s float64
	ab, bb := a.Bounds(), b.Bounds()
	for y := 0; y < ab.Dy(); y++ {
		for x := 0; x < ab.Dx(); x++ {
			p := color.NRGBAModel.Convert(a.At(ab.Min.X+x, ab.Min.Y+y)).(color.NRGBA)
			q := color.NRGBAModel.Convert(b.At(bb.Min.X+x, bb.Min.Y+y)).(color.NRGBA)
			s += math.Abs(float64(p.R)-float64(q.R)) + math.Abs(float64(p.G)-float64(q.G)) + math.Abs(float64(p.B)-float64(q.B))
		}
	}
	return s / float64(3*ab.Dx()*ab.Dy())
}

func rejection(err error) string {
	var rej *studio.RejectError
	if errors.As(err, &rej) {
		return rej.Reason
	}
	return ""
}

// gradient is a photo with no face.
func gradient(w, h int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.NRGBA{uint8(x * 255 / w), uint8(y * 255 / h), 90, 255})
		}
	}
	return img
}

func TestAlign(t *testing.T) {
	p := newPipeline(t, Config{})
	ctx := context.Background()
	out := newResults(t)
	sf, err := p.Align(ctx, samplePhoto(t, "sample1"), out)
	if err != nil {
		t.Fatal(err)
	}
	_, imgs := decodeResult(t, out, "aligned")
	if b := imgs[0].Bounds(); b.Dx() != AlignSize || b.Dy() != AlignSize || sf.Aligned.Bounds() != b {
		t.Errorf("aligned face %v, Face.Aligned %v", b, sf.Aligned.Bounds())
	}
	v := sf.Data.(*visitor)
	// sample1.jpg's largest face is the one on the right (face detect).
	if c := v.face.Box.Center(); c[0] < 800 || c[0] > 1100 || c[1] < 400 || c[1] > 700 {
		t.Errorf("the largest face of sample1.jpg is at %.0f, not near (935, 557)", c)
	}
	// The eyes are level in the aligned face: the face cut out of the
	// photo and turned by 20° aligns to about the same picture.
	c := v.face.Box.Center()
	crop := image.Rect(int(c[0])-300, int(c[1])-300, int(c[0])+300, int(c[1])+300)
	turned := turn20(samplePhoto(t, "sample1"), crop)
	sf2, err := p.Align(ctx, turned, newResults(t))
	if err != nil {
		t.Fatal(err)
	}
	same, other := meanDiff(sf.Aligned, sf2.Aligned), meanDiff(sf.Aligned, gradient(AlignSize, AlignSize))
	t.Logf("aligned face vs the turned face's: %.1f; vs a gradient: %.1f", same, other)
	if same > 12 || same > other/4 {
		t.Errorf("aligned faces of the photo and of the face turned by 20° differ by %.1f (a gradient: %.1f)", same, other)
	}

	for _, photo := range []image.Image{gradient(640, 480), image.NewGray(image.Rect(0, 0, 30, 20)), image.NewGray(image.Rect(0, 0, 1, 1))} {
		out := newResults(t)
		sf, err := p.Align(ctx, photo, out)
		if got := rejection(err); got != ReasonNoFace || sf != nil || len(out.Keys()) != 0 {
			t.Errorf("photo without a face %v: %v (%q), %v, results %v", photo.Bounds(), err, got, sf, out.Keys())
		}
	}
	// A cancelled job does not wait for the networks.
	_, release, _ := p.acquire(ctx)
	cctx, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if _, err := p.Align(cctx, samplePhoto(t, "sample1"), newResults(t)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Align while the networks are busy and the job times out: %v", err)
	}
	release()
}

// turn20 cuts the rectangle r out of img and turns it by 20° about its
// centre.
func turn20(img image.Image, r image.Rectangle) image.Image {
	b := r
	rgba := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			rgba.Set(x, y, img.At(b.Min.X+x, b.Min.Y+y))
		}
	}
	c := [2]float64{float64(b.Dx()) / 2, float64(b.Dy()) / 2}
	a := 20 * math.Pi / 180
	out := image.NewRGBA(rgba.Rect)
	for y := 0; y < b.Dy(); y++ {
		for x := 0; x < b.Dx(); x++ {
			dx, dy := float64(x)-c[0], float64(y)-c[1]
			sx := int(math.Cos(a)*dx + math.Sin(a)*dy + c[0])
			sy := int(-math.Sin(a)*dx + math.Cos(a)*dy + c[1])
			if sx >= 0 && sy >= 0 && sx < b.Dx() && sy < b.Dy() {
				out.SetRGBA(x, y, rgba.RGBAAt(sx, sy))
			}
		}
	}
	return out
}

// addEntry adds a photo to the studio's gallery, as POST /api/gallery does.
func addEntry(t testing.TB, st *store.Store, data, name string, img image.Image) store.GalleryEntry {
	t.Helper()
	e := store.GalleryEntry{ID: store.NewID(), Name: name}
	e.File = e.ID + ".png"
	path, ok := studio.GalleryPhotoPath(data, e)
	if !ok {
		t.Fatal("bad gallery file name")
	}
	os.MkdirAll(filepath.Dir(path), 0o755)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := st.AddGalleryEntry(context.Background(), &e); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestMatch(t *testing.T) {
	idx := sampleIndex(t)
	st, data := testStore(t)
	p := newPipeline(t, Config{Index: idx, Store: st, DataDir: data})
	ctx := context.Background()
	run := func(photo image.Image) (*studio.Match, *studio.Results, error) {
		t.Helper()
		out := newResults(t)
		sf, err := p.Align(ctx, photo, out)
		if err != nil {
			t.Fatal(err)
		}
		m, err := p.Match(ctx, sf, out)
		return m, out, err
	}

	// The index holds sample3.jpg: the visitor's same photo is at distance
	// about 0 (the same pixels give the same descriptor).
	m, out, err := run(samplePhoto(t, "sample3"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("sample3: best %+v, worst %+v", m.Best, m.Worst)
	if m.Best.Name != "sample3" || m.Best.Distance > 1e-4 {
		t.Errorf("best match of sample3.jpg: %+v, want sample3 at distance 0", m.Best)
	}
	if m.Worst.Name == m.Best.Name || m.Worst.Distance < 0.6 {
		t.Errorf("worst match %+v: want another person, farther than 0.6", m.Worst)
	}
	best, bimg := decodeResult(t, out, "best")
	worst, _ := decodeResult(t, out, "worst")
	if best.Label != "sample3" || best.Distance == nil || *best.Distance != m.Best.Distance ||
		worst.Label != m.Worst.Name || worst.Distance == nil || *worst.Distance != m.Worst.Distance {
		t.Errorf("results best %+v, worst %+v", best, worst)
	}
	// The best match's face is the visitor's own, aligned the same way.
	_, aimg := decodeResult(t, out, "aligned")
	if d := meanDiff(aimg[0], bimg[0]); d > 1 {
		t.Errorf("the best match's face differs from the visitor's by %.2f", d)
	}
	// Every other person is farther than the best and nearer than the worst.
	if _, ok := m.Data.(*match); !ok {
		t.Errorf("Match.Data %T", m.Data)
	}

	// A photo added through the studio's gallery counts too; its
	// descriptor is computed once and kept (matching again works with the
	// photo gone), and a photo without a face is left out.
	addEntry(t, st, data, "Frida", samplePhoto(t, "sample6"))
	nobody := addEntry(t, st, data, "Nobody", gradient(300, 300))
	for i := range 2 {
		m, _, err = run(samplePhoto(t, "sample6"))
		if err != nil {
			t.Fatal(err)
		}
		if m.Best.Name != "Frida" || m.Best.Distance > 1e-4 || m.Worst.Name == "Nobody" {
			t.Errorf("run %d: sample6.jpg matched %+v, worst %+v", i+1, m.Best, m.Worst)
		}
		if i == 0 {
			entries, _ := st.Gallery(ctx)
			for _, e := range entries {
				path, _ := studio.GalleryPhotoPath(data, e)
				os.Remove(path)
			}
		}
	}
	// A deleted entry is no longer matched.
	st.DeleteGalleryEntry(ctx, nobody.ID)
	if _, _, err := run(samplePhoto(t, "sample6")); err != nil {
		t.Fatal(err)
	}
	if _, ok := p.gallery.entries[nobody.ID]; ok {
		t.Error("the deleted entry's descriptor is still kept")
	}

	// An empty gallery rejects the job, with a reason for the visitor.
	st2, data2 := testStore(t)
	p2 := newPipeline(t, Config{Store: st2, DataDir: data2})
	out2 := newResults(t)
	sf, err := p2.Align(ctx, samplePhoto(t, "sample2"), out2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p2.Match(ctx, sf, out2); rejection(err) != ReasonEmptyGallery {
		t.Errorf("empty gallery: %v", err)
	}
}

func TestRender(t *testing.T) {
	ck := tinyFaceGAN(t)
	idx := sampleIndex(t)
	p := newPipeline(t, Config{Index: idx, Model: ck})
	g, err := gan.LoadGenerator(ck)
	if err != nil {
		t.Fatal(err)
	}
	if d := p.Describe(); !strings.Contains(d, "morph with faces/") || !strings.Contains(d, "from the mean") ||
		!strings.Contains(d, "cartoon-faces' layout") || !strings.Contains(d, "smile: no") {
		t.Errorf("Describe: %s", d)
	}
	// The jobs yield to a foreground section open throughout; the gate's
	// guard (1 ns) lets each checkpoint through at once, and counts it.
	gate := priority.New(time.Nanosecond)
	defer gate.Foreground()()
	ctx := priority.NewContext(context.Background(), gate)
	job := func(photo string) (*studio.Results, time.Duration) {
		t.Helper()
		out := newResults(t)
		sf, err := p.Align(ctx, samplePhoto(t, photo), out)
		if err != nil {
			t.Fatal(err)
		}
		m, err := p.Match(ctx, sf, out)
		if err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		if err := p.Render(ctx, sf, m, out); err != nil {
			t.Fatal(err)
		}
		return out, time.Since(t0)
	}

	// No smiling direction: projection and morph, and the morph says why
	// there is no smile. (sample6.jpg is not in the gallery.)
	out, took := job("sample6")
	t.Logf("render (visitor and match projected): %v", took)
	// A checkpoint before each piece of compute: one per projection step,
	// per 4 frames, ...; all found the foreground busy.
	if st := gate.Stats(); st.Checkpoints < DefaultSteps+DefaultFrames/pictureBatch || st.Forced != st.Checkpoints {
		t.Errorf("gate %+v: want at least %d checkpoints, each forced", st, DefaultSteps+DefaultFrames/pictureBatch)
	}
	if keys := strings.Join(out.Keys(), ","); keys != "aligned,best,projection,morph,worst" && keys != "aligned,best,morph,projection,worst" {
		t.Errorf("results %s", keys)
	}
	proj, pimg := decodeResult(t, out, "projection")
	morph, frames := decodeResult(t, out, "morph")
	if len(frames) != DefaultFrames || frames[0].Bounds().Dx() != 128 || pimg[0].Bounds().Dx() != 128 {
		t.Fatalf("morph of %d frames of %v, projection %v", len(frames), frames[0].Bounds(), pimg[0].Bounds())
	}
	if !strings.Contains(proj.Label, "faces/") || !strings.HasPrefix(morph.Label, "you → sample") || !strings.Contains(morph.Label, "no smile: the model has no learned smiling direction") {
		t.Errorf("labels: projection %q, morph %q", proj.Label, morph.Label)
	}
	// The morph starts at the visitor's projection and moves away from it.
	first, last := meanDiff(frames[0], pimg[0]), meanDiff(frames[len(frames)-1], pimg[0])
	t.Logf("morph: %s; frames differ from the projection by %.1f (first) and %.1f (last)", morph.Label, first, last)
	if first > 6 || last < first+3 {
		t.Errorf("morph frames differ from the projection by %.1f (first) and %.1f (last)", first, last)
	}

	// With a smiling direction: the smile, from the projection on.
	writeSmile(t, ck, g.Cfg.NZ)
	out, took = job("sample6")
	t.Logf("render (match's projection cached): %v", took)
	smile, sframes := decodeResult(t, out, "smile")
	_, pimg = decodeResult(t, out, "projection")
	morph, _ = decodeResult(t, out, "morph")
	if len(sframes) != SmileFrames || !strings.Contains(smile.Label, "smiling") || strings.Contains(morph.Label, "no smile") {
		t.Fatalf("smile: %d frames, label %q; morph label %q", len(sframes), smile.Label, morph.Label)
	}
	a, b := meanDiff(sframes[0], pimg[0]), meanDiff(sframes[len(sframes)-1], pimg[0])
	t.Logf("smile frames differ from the projection by %.1f (first) and %.1f (last)", a, b)
	if a > 6 || b < a+3 {
		t.Errorf("smile frames differ from the projection by %.1f (first) and %.1f (last)", a, b)
	}
	if d := p.Describe(); !strings.Contains(d, "smile: yes") {
		t.Errorf("Describe with a direction: %s", d)
	}

	// With an encoder in the run folder, projections start from its guess.
	enc, err := latent.TrainEncoder(ctx, g, ck, latent.EncoderOptions{Samples: 1024, Batch: 32, Width: 16, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := enc.Save(runfolder.EncoderOf(ck)); err != nil {
		t.Fatal(err)
	}
	out, took = job("sample4")
	t.Logf("render from the encoder: %v", took)
	if proj, _ := decodeResult(t, out, "projection"); !strings.Contains(proj.Label, "from the run's encoder") {
		t.Errorf("projection label %q", proj.Label)
	}
}

// A look-alike job run by the studio's Runner, twice (River delivers at
// least once): done, with one set of results.
func TestJobTwice(t *testing.T) {
	ck := tinyFaceGAN(t)
	idx := sampleIndex(t)
	st, data := testStore(t)
	log := testLog(t)
	p := newPipeline(t, Config{Index: idx, Store: st, DataDir: data, Model: ck, Log: log})
	writeSmile(t, ck, 32)
	ctx := context.Background()
	id := store.NewID()
	// The upload as the studio stores it: uploads/<id>.png (studio/runner.go).
	os.MkdirAll(filepath.Join(data, "uploads"), 0o755)
	f, err := os.Create(filepath.Join(data, "uploads", id+".png"))
	if err != nil {
		t.Fatal(err)
	}
	png.Encode(f, samplePhoto(t, "sample5"))
	f.Close()
	if err := st.CreateJob(ctx, &store.Job{ID: id, Kind: "lookalike", Upload: id + ".png"}, func(context.Context, *store.Tx) error { return nil }); err != nil {
		t.Fatal(err)
	}
	r := &studio.Runner{Store: st, Pipeline: p, DataDir: data, Log: log}
	for attempt := 1; attempt <= 2; attempt++ {
		if err := r.Run(ctx, id, attempt, 5); err != nil {
			t.Fatalf("run %d: %v", attempt, err)
		}
	}
	j, err := st.Job(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != store.StatusDone || len(j.Results) != 6 || j.Results["best"].Label != "sample5" || j.Attempts != 1 {
		t.Errorf("job %s (%s), %d attempts, results %v", j.Status, j.Reason, j.Attempts, j.Results)
	}
	entries, _ := os.ReadDir(filepath.Join(data, "results"))
	files, _ := os.ReadDir(filepath.Join(data, "results", id))
	var names []string
	for _, f := range files {
		names = append(names, f.Name())
	}
	if len(entries) != 1 || strings.Join(names, ",") != "aligned.png,best.png,morph.gif,projection.png,smile.gif,worst.png" {
		t.Errorf("results folder: %d entries, %v", len(entries), names)
	}
	for k, s := range j.Steps {
		t.Logf("step %s: %d ms", k, s.MS)
	}
}
