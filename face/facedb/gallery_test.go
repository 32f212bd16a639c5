package facedb

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// GalleryPhotos names a top-level photo by its file and a photo in a
// sub-folder (at any depth) by the sub-folder, and leaves hidden files
// and folders out.
func TestGalleryPhotos(t *testing.T) {
	root := t.TempDir()
	for _, f := range []string{"ada.jpg", "bob/1.png", "bob/old/2.jpg", ".hidden.jpg", ".trash/x.jpg", "bob/.y.jpg"} {
		p := filepath.Join(root, f)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := GalleryPhotos(root)
	want := []Photo{{filepath.Join(root, "ada.jpg"), "ada"}, {filepath.Join(root, "bob/1.png"), "bob"}, {filepath.Join(root, "bob/old/2.jpg"), "bob"}}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("GalleryPhotos: %v %v, want %v", got, err, want)
	}
}
