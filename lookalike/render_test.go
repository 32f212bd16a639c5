package lookalike

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"forger/dataset"
	"forger/face"
	"forger/gan"
	"forger/internal/fixture"
)

// The renderer frames photos as the model's training data framed its
// faces: cartoon-faces' layout for the built-in names and for a set forger
// data get cartoon-faces rendered, whatever its folder is called; forger
// face align's for any other folder, even one whose path says
// "cartoon-faces".
func TestFaceLayout(t *testing.T) {
	rendered, err := dataset.GetCartoonFaces(context.Background(), dataset.CartoonOptions{N: 2, Size: 16, Seed: 3, Dir: filepath.Join(t.TempDir(), "faces")}, nil)
	if err != nil {
		fixture.Missing(t, fmt.Sprintf("cannot render cartoon faces (Node.js and npm are needed: apt-get install nodejs npm): %v", err))
	}
	for data, want := range map[string]face.Layout{
		dataset.CartoonFaces:                           face.CartoonLayout,
		dataset.CartoonFacesMisaligned:                 face.CartoonLayout,
		filepath.Join(rendered, "images"):              face.CartoonLayout,
		"/home/me/cartoon-faces-fans/photos":           face.DefaultLayout,
		filepath.Join(t.TempDir(), "cartoon-faces-64"): face.DefaultLayout,
		dataset.FashionMNIST:                           face.DefaultLayout,
	} {
		ck := filepath.Join(t.TempDir(), "model.safetensors")
		saveUntrained(t, ck, data)
		r, err := newRenderer(ck, 1, 1, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		if r.layout != want {
			t.Errorf("trained on %s: layout %+v (%s), want %+v", data, r.layout, r.layoutName, want)
		}
	}
}

// saveUntrained writes an untrained 28×28 dcgan whose run says it was
// trained on data.
func saveUntrained(t *testing.T, path, data string) {
	t.Helper()
	g, err := gan.NewGenerator(gan.Config{Arch: gan.DCGAN, Size: 28, Channels: 3, NZ: 8, NGF: 4, NDF: 4}, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	state := fmt.Sprintf(`{"options":{"data":%q}}`, data)
	if err := (&gan.Checkpoint{Config: g.Cfg, G: g, TrainState: state}).Save(path); err != nil {
		t.Fatal(err)
	}
}
