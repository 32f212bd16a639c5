// Package lookaliketest makes the fixtures of the look-alike pipeline's
// tests, for the lookalike package and the studio's browser test: face-api's
// demo photos (installed beside its models by scripts/face/get-models.sh), a
// face index of five of them, and a tiny face GAN trained on cartoon faces
// rendered for it. Each is made once per test binary, in a folder that
// Cleanup removes (call it from TestMain); a fixture that cannot be made
// here (no face models, no Node.js) skips the test, saying why.
package lookaliketest

import (
	"context"
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"forger/augment"
	"forger/dataset"
	"forger/face"
	"forger/face/facedb"
	"forger/internal/fixture"
	"forger/latent"
	"forger/runfolder"
	"forger/train"
)

var dir struct {
	once sync.Once
	path string
	err  error
}

// folder is the fixtures' folder, made on first use.
func folder(t testing.TB) string {
	t.Helper()
	dir.once.Do(func() { dir.path, dir.err = os.MkdirTemp("", "forger-lookalike") })
	if dir.err != nil {
		t.Fatal(dir.err)
	}
	return dir.path
}

// Cleanup removes what the fixtures made.
func Cleanup() {
	if dir.path != "" {
		os.RemoveAll(dir.path)
	}
}

// People are the index's people: the largest face of face-api's demo
// photos sample1–5.jpg, one person per photo, named after it.
var People = []string{"sample1", "sample2", "sample3", "sample4", "sample5"}

// FaceModels returns the folder of face-api's models and demo photos, or
// skips the test when they are missing.
func FaceModels(t testing.TB) string {
	t.Helper()
	d := face.DefaultDir()
	for _, f := range []string{face.LandmarkManifest, face.DescriptorManifest, "sample1.jpg", "sample5.jpg", "sample6.jpg"} {
		if _, err := os.Stat(filepath.Join(d, f)); err != nil {
			fixture.Missingf(t, "face-api's models or demo photos are missing in %s (install them with: bash scripts/face/get-models.sh)", d)
		}
	}
	return d
}

// PhotoPath is the file of face-api's demo photo name ("sample3").
func PhotoPath(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(FaceModels(t), name+".jpg")
}

// Photo loads face-api's demo photo name ("sample3").
func Photo(t testing.TB, name string) image.Image {
	t.Helper()
	img, err := face.LoadImage(PhotoPath(t, name))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

var index struct {
	once sync.Once
	path string
	err  error
}

// Index returns a face index of People, made as forger face index makes
// one (face.DescribeLargest of each photo).
func Index(t testing.TB) string {
	t.Helper()
	models := FaceModels(t)
	out := folder(t)
	index.once.Do(func() {
		index.err = func() error {
			det, err := face.LoadDetector(models)
			if err != nil {
				return err
			}
			net, err := face.LoadDescriptorNet(models)
			if err != nil {
				return err
			}
			rows := map[string][]facedb.Row{}
			for _, name := range People {
				path := filepath.Join(models, name+".jpg")
				img, err := face.LoadImage(path)
				if err != nil {
					return err
				}
				d, _, err := face.DescribeLargest(det, net, img)
				if err != nil {
					return fmt.Errorf("%s: %v", path, err)
				}
				rows[path] = []facedb.Row{{Name: name, File: path, Descriptor: d}}
			}
			p := filepath.Join(out, "gallery.db")
			db, err := facedb.Open(context.Background(), p)
			if err != nil {
				return err
			}
			defer db.Close()
			if _, _, err := db.Update(context.Background(), rows, ""); err != nil {
				return err
			}
			index.path = p
			return nil
		}()
	})
	if index.err != nil {
		t.Fatal(index.err)
	}
	return index.path
}

var faceGAN struct {
	once sync.Once
	path string
	err  error
	skip string
}

// FaceGAN returns a tiny face GAN: a 32×32 DCGAN (nz 32, ngf = ndf = 32)
// trained for 200 steps of 32 on 320 cartoon faces rendered for it (forger
// data get cartoon-faces, which needs Node.js), in a run folder
// (.../runs/faces/checkpoints/) of its own. About 15 s on 2 cores.
func FaceGAN(t testing.TB) string {
	t.Helper()
	out := folder(t)
	faceGAN.once.Do(func() {
		t0 := time.Now()
		data, err := dataset.GetCartoonFaces(context.Background(), dataset.CartoonOptions{N: 320, Size: 32, Seed: 5, Dir: filepath.Join(out, "cartoon-faces-32")}, nil)
		if err != nil {
			faceGAN.skip = fmt.Sprintf("cannot render cartoon faces (Node.js and npm are needed: apt-get install nodejs npm): %v", err)
			return
		}
		o := train.Defaults()
		o.Data, o.Out = filepath.Join(data, "images"), filepath.Join(out, "runs", "faces")
		o.Size, o.Channels, o.NZ, o.NGF, o.NDF, o.Batch, o.Epochs = 32, 3, 32, 32, 32, 32, 20
		o.LRG, o.LRD = 5e-4, 5e-4
		o.SampleMinutes, o.Keep = 0, 1
		// The fixture the tests' thresholds were set on: no augmentation
		// (a 320-face set would otherwise get ADA by default).
		o.Augment = augment.None
		res, err := train.Run(context.Background(), o, quietUI{}, nil)
		if err != nil {
			faceGAN.err = err
			return
		}
		faceGAN.path = res.Checkpoint
		t.Logf("tiny face GAN: %d images in %.1f s (rendering and training: %s)", res.Images, res.Seconds, time.Since(t0).Round(time.Second))
	})
	if faceGAN.skip != "" {
		fixture.Missing(t, faceGAN.skip)
	}
	if faceGAN.err != nil {
		t.Fatal(faceGAN.err)
	}
	return faceGAN.path
}

var styleGAN struct {
	once sync.Once
	path string
	err  error
	skip string
}

// StyleFaceGAN returns a tiny stylegan of faces: 32×32, z and w of 32, 2
// mapping layers, feature maps of at most 32, trained (forger's stylegan recipe,
// train.StyleGANDefaults: DCGAN's discriminator) for 2 epochs of 16 on the 320 cartoon faces
// FaceGAN renders for itself, in a run folder (.../runs/style/) of its own.
func StyleFaceGAN(t testing.TB) string {
	t.Helper()
	out := folder(t)
	styleGAN.once.Do(func() {
		t0 := time.Now()
		data, err := dataset.GetCartoonFaces(context.Background(), dataset.CartoonOptions{N: 320, Size: 32, Seed: 5, Dir: filepath.Join(out, "cartoon-faces-32")}, nil)
		if err != nil {
			styleGAN.skip = fmt.Sprintf("cannot render cartoon faces (Node.js and npm are needed: apt-get install nodejs npm): %v", err)
			return
		}
		o := train.StyleGANDefaults(32)
		o.Data, o.Out = filepath.Join(data, "images"), filepath.Join(out, "runs", "style")
		o.Channels, o.NZ, o.NGF, o.NDF, o.Epochs, o.MappingLayers = 3, 32, 32, 32, 2, 2
		o.SampleMinutes, o.Keep, o.Augment = 0, 1, augment.None
		res, err := train.Run(context.Background(), o, quietUI{}, nil)
		if err != nil {
			styleGAN.err = err
			return
		}
		styleGAN.path = res.Checkpoint
		t.Logf("tiny face stylegan: %d images in %.1f s (rendering and training: %s)", res.Images, res.Seconds, time.Since(t0).Round(time.Second))
	})
	if styleGAN.skip != "" {
		fixture.Missing(t, styleGAN.skip)
	}
	if styleGAN.err != nil {
		t.Fatal(styleGAN.err)
	}
	return styleGAN.path
}

// quietUI is a train.UI that shows nothing.
type quietUI struct{}

func (quietUI) Start(int64, int64)          {}
func (quietUI) Update(int64, int64, string) {}
func (quietUI) Warn(train.Warning)          {}
func (quietUI) Finish()                     {}

// WriteSmile writes a smiling direction — a fixed random unit vector of nz
// values, not a learned one — as <run>/directions/smiling.json of the
// checkpoint's run, and returns the file.
func WriteSmile(t testing.TB, checkpoint string, nz int) string {
	return WriteSmileIn(t, checkpoint, nz, latent.SpaceZ)
}

// WriteSmileIn is WriteSmile for a direction of space (a stylegan's w:
// of the size of w, with scale 1).
func WriteSmileIn(t testing.TB, checkpoint string, nz int, space latent.Space) string {
	t.Helper()
	d := runfolder.DirectionsOf(checkpoint)
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	v := make([]float64, nz)
	for i := range v {
		v[i] = rng.NormFloat64()
	}
	p := runfolder.Direction(runfolder.Of(checkpoint), "smiling")
	dir := &latent.Direction{Attribute: "smiling", Model: checkpoint, Direction: v, Accuracy: 1}
	if space.IsW() {
		dir.Space, dir.Scale = space, 1
	}
	if err := dir.Write(p); err != nil {
		t.Fatal(err)
	}
	return p
}
