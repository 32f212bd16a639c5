package main

// The look-alike path of forger serve, end to end through the built binary.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"forger/gan"
	"forger/latent"
)

// TestServeLookalike runs the whole look-alike path through the command
// line: forger face index makes a gallery of face-api's demo photos
// sample1–5.jpg, forger serve --gallery picks the only RGB model (in a run
// folder with a smiling direction) for the morph, and a job for
// sample6.jpg, a photo not in the gallery, ends with every result.
func TestServeLookalike(t *testing.T) {
	faces := faceModels(t)
	home := t.TempDir() // FORGER_HOME with the real face models
	mkdir(t, filepath.Join(home, "models"))
	if err := os.Symlink(faces, filepath.Join(home, "models", "face")); err != nil {
		t.Fatal(err)
	}
	env := []string{"FORGER_HOME=" + home}
	people := mkdir(t, filepath.Join(t.TempDir(), "people"))
	for i, name := range []string{"Ada", "Bea", "Cleo", "Dana", "Eve"} {
		src := filepath.Join(faces, fmt.Sprintf("sample%d.jpg", i+1))
		needFile(t, src, "bash scripts/face/get-models.sh")
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(people, name+".jpg"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	needFile(t, filepath.Join(faces, "sample6.jpg"), "bash scripts/face/get-models.sh")
	db := filepath.Join(t.TempDir(), "gallery.db")
	if out, stderr, code := forger(t, env, "face", "index", people, "--db", db); code != 0 || !strings.Contains(out, "5 faces of 5 people") {
		t.Fatalf("face index: exit %d %s %s", code, out, stderr)
	}
	models := t.TempDir()
	saveModel(t, filepath.Join(mkdir(t, filepath.Join(models, "faces", "checkpoints")), "1e_0k_32x32.safetensors"),
		gan.Config{Arch: gan.DCGAN, Size: 32, Channels: 3, NZ: 8, NGF: 8, NDF: 8})
	saveModel(t, filepath.Join(models, "gray.safetensors"), gan.Config{Arch: gan.DCGAN, Size: 28, Channels: 1, NZ: 8, NGF: 8, NDF: 8})
	dir := &latent.Direction{Attribute: "smiling", Direction: []float64{1, 2, 3, 4, 5, 6, 7, 8}, Accuracy: 0.9}
	if err := dir.Write(filepath.Join(mkdir(t, filepath.Join(models, "faces", "directions")), "smiling.json")); err != nil {
		t.Fatal(err)
	}
	url, _, log := startServeEnv(t, env, "--models", models, "--data", t.TempDir(), "--gallery", db, "--rate", "0")
	for _, want := range []string{"face GAN for the morph", "faces/1e_0k_32x32", "its run has directions/smiling.json",
		"lookalike=\"yes (2 workers here; gallery: index " + db + " (5 faces of 5 people)", "smile: yes",
		"directions=\"yes (1 of 2 models have learned directions"} {
		if !strings.Contains(log.String(), want) {
			t.Errorf("the startup log does not say %q:\n%s", want, log)
		}
	}
	var caps map[string]bool
	getJSON(t, url+"/api/capabilities", &caps)
	if !caps["lookalike"] || !caps["directions"] {
		t.Errorf("capabilities %v", caps)
	}
	var dirs struct{ Directions []string }
	getJSON(t, url+"/api/directions?model=faces/1e_0k_32x32", &dirs)
	if strings.Join(dirs.Directions, ",") != "smiling" {
		t.Errorf("directions %v", dirs)
	}

	photo, err := os.ReadFile(filepath.Join(faces, "sample6.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("photo", "me.jpg")
	fw.Write(photo)
	mw.Close()
	res, err := http.Post(url+"/api/jobs", mw.FormDataContentType(), &body)
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("POST /api/jobs: %v %v", res, err)
	}
	var job struct {
		ID      string
		Status  string
		Reason  string
		Steps   map[string]struct{ MS int64 }
		Results map[string]struct {
			URL      string
			Label    string
			Distance *float64
		}
	}
	json.NewDecoder(res.Body).Decode(&job)
	res.Body.Close()
	deadline := time.Now().Add(2 * time.Minute)
	for job.Status != "done" && job.Status != "failed" && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		getJSON(t, url+"/api/jobs/"+job.ID, &job)
	}
	if job.Status != "done" {
		t.Fatalf("job %s: %s", job.Status, job.Reason)
	}
	var keys []string
	for k := range job.Results {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "aligned,best,morph,projection,smile,worst" {
		t.Errorf("results %v", keys)
	}
	best, worst := job.Results["best"], job.Results["worst"]
	if best.Distance == nil || worst.Distance == nil || best.Label == worst.Label || *best.Distance >= *worst.Distance {
		t.Errorf("best %+v, worst %+v", best, worst)
	}
	t.Logf("best %s %.3f, worst %s %.3f; steps %+v", best.Label, *best.Distance, worst.Label, *worst.Distance, job.Steps)
	for k, r := range job.Results {
		res, err := http.Get(url + r.URL)
		if err != nil || res.StatusCode != 200 {
			t.Errorf("%s: %v %v", k, res, err)
			continue
		}
		res.Body.Close()
	}
	// A photo with no face: the job fails with a reason for the visitor.
	body.Reset()
	mw = multipart.NewWriter(&body)
	fw, _ = mw.CreateFormFile("photo", "wall.png")
	wall := image.NewNRGBA(image.Rect(0, 0, 200, 150))
	for i := range wall.Pix {
		wall.Pix[i] = uint8(i * 31)
	}
	png.Encode(fw, wall)
	mw.Close()
	res, err = http.Post(url+"/api/jobs", mw.FormDataContentType(), &body)
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("POST /api/jobs: %v %v", res, err)
	}
	json.NewDecoder(res.Body).Decode(&job)
	res.Body.Close()
	for job.Status != "done" && job.Status != "failed" && time.Now().Before(deadline) {
		time.Sleep(200 * time.Millisecond)
		getJSON(t, url+"/api/jobs/"+job.ID, &job)
	}
	if job.Status != "failed" || job.Reason != "no face found in the photo" {
		t.Errorf("a photo without a face: %s (%s)", job.Status, job.Reason)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, res.StatusCode)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}
