package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image/gif"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"forger/gan"
	"forger/latent"
	"forger/runfolder"
)

// wTrain trains a tiny 32×32 model of the given architecture on discs
// (discFolder) from the command line and returns its run folder.
func wTrain(t *testing.T, arch, data, dir string) string {
	t.Helper()
	run := filepath.Join(dir, arch)
	args := []string{"train", "--model", arch, "--size", "32", "--data", data, "--out", run,
		"--epochs", "2", "--batch", "8", "--ngf", "8", "--nz", "16", "--json"}
	if arch == "stylegan" {
		args = append(args, "--mapping-layers", "2")
	} else {
		args = append(args, "--ndf", "8")
	}
	if _, e, code := forger(t, nil, args...); code != 0 {
		t.Fatalf("train %s: exit %d: %s", arch, code, e)
	}
	return run
}

// wHeldOut splits discFolder(n) into the first n−k images to train on and
// the last k, held out.
func wHeldOut(t *testing.T, n, k int) (train string, held []string) {
	t.Helper()
	train = discFolder(t, n)
	dir := t.TempDir()
	ents, err := os.ReadDir(train)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents[n-k:] {
		p := filepath.Join(dir, e.Name())
		if err := os.Rename(filepath.Join(train, e.Name()), p); err != nil {
			t.Fatal(err)
		}
		held = append(held, p)
	}
	return train, held
}

// oneLineFailure asserts a usage failure: non-zero exit, one line, no panic,
// mentioning want.
func oneLineFailure(t *testing.T, want string, args ...string) {
	t.Helper()
	_, e, code := forger(t, nil, args...)
	if code == 0 || strings.Count(strings.TrimSpace(e), "\n") != 0 || strings.Contains(e, "panic") || !strings.Contains(e, want) {
		t.Errorf("%v: exit %d, %q (want one line with %q)", args, code, e, want)
	}
}

// TestProjectSpaces trains a tiny stylegan and projects held-out discs in
// z and W+ with the same steps and loss (pixel + the stylegan's own
// discriminator features): W+ ends lower for each image and writes a W+
// latent file that blend reads back. An encoder trained for the stylegan
// predicts W+ codes and starts a W+ projection from them. W
// spaces of a DCGAN, unknown spaces, a missing encoder and an encoder of
// another space are one-line usage errors.
func TestProjectSpaces(t *testing.T) {
	data, held := wHeldOut(t, 40, 3)
	dir := t.TempDir()
	sg := wTrain(t, "stylegan", data, dir)
	final := map[string]float64{}
	for _, space := range []string{"z", "w+"} {
		for _, photo := range held {
			out := filepath.Join(dir, "p"+space, filepath.Base(photo))
			js, e, code := forger(t, nil, "project", "--model", sg, photo, "--out", out, "--space", space, "--steps", "60", "--json")
			if code != 0 {
				t.Fatalf("project --space %s: %s", space, e)
			}
			var rep latent.ProjectionReport
			if err := json.Unmarshal([]byte(js), &rep); err != nil {
				t.Fatal(err)
			}
			if string(rep.Space) != space || rep.Features != "disc" || rep.Loss != "both" {
				t.Fatalf("report %s", js)
			}
			f, err := latent.ReadFile(rep.Latent)
			if err != nil || f.Space.String() != space {
				t.Fatalf("latent file %+v: %v", f, err)
			}
			if space == "w+" && len(f.W) != 8*16 {
				t.Fatalf("a W+ latent of %d values, want 8 layers × 16", len(f.W))
			}
			final[space] += rep.FinalLoss / float64(len(held))
			t.Logf("%s %s: %.4g → %.4g", space, filepath.Base(photo), rep.InitialLoss, rep.FinalLoss)
		}
	}
	t.Logf("mean final loss: z %.4g, w+ %.4g", final["z"], final["w+"])
	if !(final["w+"] < final["z"]) {
		t.Fatalf("W+ projection ends at %g, z at %g: want W+ lower", final["w+"], final["z"])
	}
	lat := filepath.Join(dir, "pw+", filepath.Base(held[0]), "latent.json")
	child := filepath.Join(dir, "child.png")
	if _, e, code := forger(t, nil, "blend", "--model", sg, lat, "7", "--out", child); code != 0 {
		t.Fatalf("blend of a W+ file and a seed: %s", e)
	}

	dc := wTrain(t, "dcgan", data, dir)
	oneLineFailure(t, "stylegan", "project", "--model", dc, held[0], "--out", filepath.Join(dir, "x"), "--space", "w+")
	oneLineFailure(t, "unknown", "project", "--model", sg, held[0], "--out", filepath.Join(dir, "x"), "--space", "q")
	oneLineFailure(t, "encoder", "project", "--model", sg, held[0], "--out", filepath.Join(dir, "x"), "--init", "encoder", "--encoder", "e.safetensors")

	enc := filepath.Join(dir, "enc.safetensors")
	js, e, code := forger(t, nil, "encoder", "train", "--model", sg, "--out", enc, "--samples", "1024", "--batch", "16", "--width", "8", "--json")
	if code != 0 {
		t.Fatalf("encoder train on a stylegan: %s", e)
	}
	if !strings.Contains(js, `"space":"w+"`) {
		t.Fatalf("encoder train: %s, want space w+", js)
	}
	initial := map[string]float64{}
	for _, init := range []string{"mean", "encoder"} {
		js, e, code := forger(t, nil, "project", "--model", sg, held[0], "--out", filepath.Join(dir, "e"+init), "--init", init, "--encoder", enc, "--steps", "5", "--json")
		if code != 0 {
			t.Fatalf("project --init %s in w+: %s", init, e)
		}
		var rep latent.ProjectionReport
		if err := json.Unmarshal([]byte(js), &rep); err != nil || string(rep.Space) != "w+" {
			t.Fatalf("report %s: %v", js, err)
		}
		initial[init] = rep.InitialLoss
	}
	// Whether the start is better is latent's TestWPlusEncoder (on
	// generated images); this tiny model of discs draws nearly one image.
	t.Logf("initial loss in w+: w_avg %.4g, encoder %.4g", initial["mean"], initial["encoder"])
	if initial["encoder"] == initial["mean"] {
		t.Errorf("the encoder's start has w_avg's loss %g: the encoder was not used", initial["mean"])
	}
	oneLineFailure(t, "w+", "project", "--model", sg, held[0], "--out", filepath.Join(dir, "x"), "--init", "encoder", "--encoder", enc, "--space", "w")
	oneLineFailure(t, "stylegan", "blend", "--model", dc, "1", lat, "--out", child)
}

// TestWDirectionsEditMorph learns a direction in a stylegan's W from
// labelled seeds (label: the seed's w above w_avg in its first value), so
// the file must record space w, a scale and point along that value; edits
// along a W direction change the image (of a seed and of a W+ file), a
// direction of the wrong length names the space, and morph walks W.
func TestWDirectionsEditMorph(t *testing.T) {
	data, held := wHeldOut(t, 40, 1)
	dir := t.TempDir()
	sg := wTrain(t, "stylegan", data, dir)
	g, err := gan.LoadGeneratorNet(runfolder.Resolve(sg))
	if err != nil {
		t.Fatal(err)
	}
	sgen := g.(*gan.StyleGenerator)
	var csv strings.Builder
	for seed := range 120 {
		c, err := latent.ToSpace(g, latent.FromSeed(sgen.Cfg, int64(seed), 0), latent.SpaceW)
		if err != nil {
			t.Fatal(err)
		}
		label := 0
		if c.Z[0] > sgen.Mapping.WAvg.Value.Data[0] {
			label = 1
		}
		fmt.Fprintf(&csv, "%d,%d\n", seed, label)
	}
	labels := filepath.Join(dir, "labels.csv")
	os.WriteFile(labels, []byte(csv.String()), 0o644)
	dirFile := filepath.Join(dir, "a.json")
	if _, e, code := forger(t, nil, "direction", "learn", "--model", sg, "--attribute", "a", "--labels", labels, "--out", dirFile, "--lambda", "0.01", "--json"); code != 0 {
		t.Fatalf("direction learn: %s", e)
	}
	d, err := latent.ReadDirection(dirFile)
	if err != nil {
		t.Fatal(err)
	}
	if d.Space != latent.SpaceW || !(d.Scale > 0) || len(d.Direction) != 16 || d.TrainAccuracy < 0.9 {
		t.Fatalf("direction in %q, scale %g, %d values, train accuracy %g", d.Space, d.Scale, len(d.Direction), d.TrainAccuracy)
	}
	for i, v := range d.Direction {
		if i > 0 && math.Abs(v) >= d.Direction[0] {
			t.Fatalf("the direction %v does not point along w's first value", d.Direction)
		}
	}

	tile := func(args ...string) []byte {
		t.Helper()
		p := filepath.Join(dir, "edit.png")
		if _, e, code := forger(t, nil, append([]string{"edit", "--model", sg, "--direction", dirFile, "--out", p}, args...)...); code != 0 {
			t.Fatalf("edit %v: %s", args, e)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if bytes.Equal(tile("--seed", "4", "--strengths", "0"), tile("--seed", "4", "--strengths", "3")) {
		t.Fatal("an edit of strength 3 in W leaves the seed's image as it was")
	}
	proj := filepath.Join(dir, "p")
	if _, e, code := forger(t, nil, "project", "--model", sg, held[0], "--out", proj, "--steps", "5"); code != 0 {
		t.Fatalf("project: %s", e)
	}
	lat := filepath.Join(proj, "latent.json")
	if bytes.Equal(tile("--latent", lat, "--strengths", "-3"), tile("--latent", lat, "--strengths", "3")) {
		t.Fatal("edits of a W+ latent along a W direction are one image")
	}
	// Layer-wise: the file keeps --layers, an edit moves those layers only
	// (so differs from one of every layer), layers the model lacks are
	// refused naming the flag.
	layered := filepath.Join(dir, "a-layers.json")
	if _, e, code := forger(t, nil, "direction", "learn", "--model", sg, "--attribute", "a", "--labels", labels, "--out", layered, "--lambda", "0.01", "--layers", "1-2"); code != 0 {
		t.Fatalf("direction learn --layers: %s", e)
	}
	if ld, err := latent.ReadDirection(layered); err != nil || !slices.Equal(ld.Layers, []int{1, 2}) {
		t.Fatalf("direction learn --layers 1-2 wrote layers %v (%v)", ld.Layers, err)
	}
	dirFile = layered
	if bytes.Equal(tile("--seed", "4", "--strengths", "3"), tile("--seed", "4", "--strengths", "3", "--layers", "all")) {
		t.Fatal("an edit of layers 1-2 is the edit of every layer")
	}
	if bytes.Equal(tile("--seed", "4", "--strengths", "0"), tile("--seed", "4", "--strengths", "3")) {
		t.Fatal("an edit of layers 1-2 leaves the seed's image as it was")
	}
	// --absolute: strength 0 puts the face on the boundary, which moves it.
	if bytes.Equal(tile("--seed", "4", "--strengths", "0"), tile("--seed", "4", "--strengths", "0", "--absolute")) {
		t.Fatal("an absolute edit of strength 0 left the seed where it was (on the boundary?)")
	}
	dirFile = filepath.Join(dir, "a.json")
	oneLineFailure(t, "--layers 99", "edit", "--model", sg, "--seed", "1", "--direction", layered, "--layers", "99", "--out", filepath.Join(dir, "x.png"))
	oneLineFailure(t, "--layers", "edit", "--model", sg, "--seed", "1", "--direction", layered, "--layers", "2-1", "--out", filepath.Join(dir, "x.png"))
	short := filepath.Join(dir, "short.json")
	(&latent.Direction{Attribute: "s", Direction: []float64{1, 0, 0}, Space: latent.SpaceW, Scale: 1}).Write(short)
	oneLineFailure(t, "w has 16", "edit", "--model", sg, "--seed", "1", "--direction", short, "--out", filepath.Join(dir, "x.png"))
	oneLineFailure(t, "w+", "direction", "learn", "--model", sg, "--attribute", "a", "--labels", labels, "--out", filepath.Join(dir, "y.json"), "--space", "w+")

	gifPath := filepath.Join(dir, "m.gif")
	js, e, code := forger(t, nil, "morph", "--model", sg, "--from", "1", "--to", "2", "--frames", "7", "--out", gifPath, "--json")
	var r struct {
		Frames int    `json:"frames"`
		Space  string `json:"space"`
	}
	if code != 0 || json.Unmarshal([]byte(js), &r) != nil || r.Frames != 7 || r.Space != "w" {
		t.Fatalf("morph: %s %s", js, e)
	}
	f, err := os.Open(gifPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	an, err := gif.DecodeAll(f)
	if err != nil || len(an.Image) != 7 {
		t.Fatalf("morph.gif: %v", err)
	}
	// Blends walk W by default: the ends are the seeds' images as in z
	// (PNGs, so exactly), the middle is another image, and the child's
	// latent file is in W.
	blend := func(space, weight string) []byte {
		t.Helper()
		p := filepath.Join(dir, "blend.png")
		args := []string{"blend", "--model", sg, "1", "2", "--weight", weight, "--out", p, "--latent-out", filepath.Join(dir, "child-"+space+".json")}
		if space != "" {
			args = append(args, "--space", space)
		}
		if _, e, code := forger(t, nil, args...); code != 0 {
			t.Fatalf("blend %v: %s", args, e)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if !bytes.Equal(blend("", "0"), blend("z", "0")) || !bytes.Equal(blend("", "1"), blend("z", "1")) {
		t.Fatal("the ends of a blend in W are not the seeds' images")
	}
	if bytes.Equal(blend("", "0.5"), blend("z", "0.5")) {
		t.Fatal("the middles of blends in W and z are one image")
	}
	if f, err := latent.ReadFile(filepath.Join(dir, "child-.json")); err != nil || f.Space != latent.SpaceW || len(f.W) != 16 {
		t.Fatalf("the child of a blend in W: %+v %v", f, err)
	}
	oneLineFailure(t, "spherical", "morph", "--model", sg, "--from", "1", "--to", "2", "--out", gifPath, "--spherical")
}

// TestWSpaceCommandsStopOnSIGINT: a stylegan's W+ projection, and a morph
// in W from a photo (projected first), stop within a second of Ctrl-C with
// exit code 130 and leave nothing behind.
func TestWSpaceCommandsStopOnSIGINT(t *testing.T) {
	data, held := wHeldOut(t, 20, 1)
	dir := t.TempDir()
	sg := wTrain(t, "stylegan", data, dir)
	out := t.TempDir()
	interrupted(t, out, "projecting", "project", "--model", sg, held[0], "--space", "w+", "--steps", "100000", "--out", filepath.Join(out, "p"))
	interrupted(t, out, "projecting", "morph", "--model", sg, "--from", held[0], "--to", "2", "--space", "w", "--project-steps", "100000", "--out", filepath.Join(out, "m.gif"))
}
