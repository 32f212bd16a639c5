package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"forger/latent"
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
// latent file that blend reads back. W spaces of a DCGAN, unknown spaces
// and an encoder start in W+ are one-line usage errors.
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
	oneLineFailure(t, "stylegan", "blend", "--model", dc, "1", lat, "--out", child)
}
