package facedb

import (
	"context"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"

	"forger/face"
)

// Photo is a photo of a gallery folder and whose it is.
type Photo struct {
	Path string // absolute when the gallery's root is
	Name string // the person
}

// GalleryPhotos lists a gallery folder: root/<name>.<ext> (the person is
// the file name without its extension) and root/<name>/**/* (the
// sub-folder), hidden files and folders left out, sorted by path. Which
// files are images is left to Describe.
func GalleryPhotos(root string) ([]Photo, error) {
	var out []Photo
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		parts := strings.Split(filepath.ToSlash(rel), "/")
		name := parts[0]
		if len(parts) == 1 {
			name = strings.TrimSuffix(name, filepath.Ext(name))
		}
		out = append(out, Photo{Path: p, Name: name})
		return nil
	})
	slices.SortFunc(out, func(a, b Photo) int { return strings.Compare(a.Path, b.Path) })
	return out, err
}

// Describe computes the rows of photos for Update: each photo's largest
// face (face.DescribeLargest), or no row for a photo without a face, so
// that Update drops its old ones. A photo that cannot be read or has no
// face is listed in skipped, one line each, naming it. done, if not nil,
// is called after each photo. Describe checks ctx before each photo and
// returns its error once it is done.
func Describe(ctx context.Context, det *face.Detector, net *face.DescriptorNet, photos []Photo, done func()) (rows map[string][]Row, skipped []string, err error) {
	rows = map[string][]Row{}
	for _, p := range photos {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		if done != nil {
			done()
		}
		img, err := face.LoadImage(p.Path)
		if err != nil {
			skipped = append(skipped, strings.ReplaceAll(err.Error(), "\n", " "))
			continue
		}
		d, _, err := face.DescribeLargest(det, net, img)
		rows[p.Path] = nil // replaces the photo's old rows even when it has no face now
		if err != nil {
			skipped = append(skipped, p.Path+": "+err.Error())
			continue
		}
		rows[p.Path] = []Row{{Name: p.Name, File: p.Path, Descriptor: d}}
	}
	return rows, skipped, nil
}
