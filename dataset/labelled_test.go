package dataset

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSkinBucket checks facesjs's eleven skin colours: five light, four
// medium, two dark, and dark_skin is exactly "not light".
func TestSkinBucket(t *testing.T) {
	colours := []string{"#f2d6cb", "#ddb7a0", "#fedac7", "#f0c5a3", "#eab687", "#bb876f", "#aa816f", "#a67358", "#ad6453", "#74453d", "#5c3937"}
	count := map[string]int{}
	for _, c := range colours {
		b, err := SkinBucket(c)
		if err != nil {
			t.Fatal(err)
		}
		count[b]++
		dark, _ := IsDarkSkin(c)
		if dark != (b != "light") {
			t.Errorf("%s: bucket %s, dark_skin %v", c, b, dark)
		}
	}
	if count["light"] != 5 || count["medium"] != 4 || count["dark"] != 2 {
		t.Errorf("buckets %v, want 5 light, 4 medium, 2 dark", count)
	}
	if _, err := SkinBucket("brown"); err == nil {
		t.Error("SkinBucket(brown): no error")
	}
}

// TestOpenLabelled loads a small labelled set, and refuses one whose rows
// and images do not match.
func TestOpenLabelled(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "images"), 0o755)
	for i, name := range []string{"000000.png", "000001.png"} {
		img := image.NewRGBA(image.Rect(0, 0, 8, 8))
		for p := range img.Pix {
			img.Pix[p] = uint8(100 * i)
		}
		img.Set(0, 0, color.White)
		f, _ := os.Create(filepath.Join(dir, "images", name))
		png.Encode(f, img)
		f.Close()
	}
	csv := "file,male,mustache,beard,glasses,smiling,hat,skin_tone\n000000.png,1,0,0,1,0,0,#f2d6cb\n000001.png,0,0,0,0,1,1,#5c3937\n"
	os.WriteFile(filepath.Join(dir, "attributes.csv"), []byte(csv), 0o644)
	set, attrs, err := OpenLabelled(filepath.Join(dir, "images"), Options{Size: 28, Channels: 3})
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 2 || attrs.Len() != 2 || attrs.Flags["hat"][1] != 1 {
		t.Fatalf("%d images, %d rows, hats %v", set.Len(), attrs.Len(), attrs.Flags["hat"])
	}
	os.WriteFile(filepath.Join(dir, "attributes.csv"), []byte(csv+"000002.png,0,0,0,0,0,0,#f2d6cb\n"), 0o644)
	if _, _, err := OpenLabelled(dir, Options{Size: 28, Channels: 3}); err == nil || !strings.Contains(err.Error(), "2 images but 3 rows") {
		t.Fatalf("3 rows for 2 images: %v", err)
	}
	if _, _, err := OpenLabelled(t.TempDir(), Options{Size: 28, Channels: 3}); err == nil {
		t.Fatal("a folder without images/: no error")
	}
}
