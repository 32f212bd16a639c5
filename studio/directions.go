package studio

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"forger/gan"
	"forger/latent"
	"forger/runfolder"
	"forger/store"
)

// A model's directions and encoder live in its run folder (package
// runfolder): every checkpoint of a run shares them. Learn them on the
// checkpoint you serve (runs keep training; a direction learned on an
// earlier checkpoint fits a later one only roughly). A checkpoint outside a
// run folder has neither.

// validDirectionName accepts the names RunDirections gives: a direction
// file's name without .json, of letters, digits, '-' and '_'.
func validDirectionName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// RunDirections is the Directions of the run-folder convention above: a
// model's directions are the direction files (latent.Direction JSON) in
// <run>/directions/, each named by its file name without .json
// (smiling.json → "smiling"). The folder is read on every call, so a
// direction learned while the studio runs shows up at once. A name from a
// request only ever selects one of the files listed; it is never joined
// into a path.
type RunDirections struct{}

var _ Directions = RunDirections{}

// List names the readable direction files of the model's run, sorted.
// Files that are not direction files are left out, and named in the error
// (the list is still returned).
func (RunDirections) List(mi gan.ModelInfo) ([]string, error) {
	dir := runfolder.DirectionsOf(mi.Path)
	if dir == "" {
		return nil, nil
	}
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var names, bad []string
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".json")
		if !ok || !validDirectionName(name) || !e.Type().IsRegular() {
			continue
		}
		if _, err := latent.ReadDirection(filepath.Join(dir, e.Name())); err != nil {
			bad = append(bad, err.Error())
			continue
		}
		names = append(names, name)
	}
	sort.Strings(names)
	if len(bad) > 0 {
		return names, fmt.Errorf("skipped %d file(s) in %s: %s", len(bad), dir, strings.Join(bad, "; "))
	}
	return names, nil
}

// Direction reads the direction name of the model's run.
func (RunDirections) Direction(mi gan.ModelInfo, name string) (*latent.Direction, error) {
	dir := runfolder.DirectionsOf(mi.Path)
	if dir == "" || !validDirectionName(name) {
		return nil, fmt.Errorf("no direction %q", name)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("no direction %q: %w", name, err)
	}
	for _, e := range entries {
		if e.Name() == name+".json" && e.Type().IsRegular() {
			return latent.ReadDirection(filepath.Join(dir, e.Name()))
		}
	}
	return nil, fmt.Errorf("no direction %q in %s", name, dir)
}

// GalleryPhotoPath is where the studio keeps the photo of a gallery entry
// (added through POST /api/gallery), under dataDir; false when the entry's
// file name is not one the studio gives.
func GalleryPhotoPath(dataDir string, e store.GalleryEntry) (string, bool) {
	if !validUploadName(e.File) {
		return "", false
	}
	return filepath.Join(dataDir, galleryDir, e.File), true
}
