package studio

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	"forger/internal/atomicfile"
	"forger/picture"
	"forger/store"
)

// Pipeline is the work of a look-alike job, in three steps that the job
// runs in order, each under its own status (aligning, matching,
// rendering) with its time recorded:
//
//   - Align finds the face in the visitor's photo (EXIF orientation already
//     applied) and writes the aligned face (result "aligned").
//   - Match compares it with the gallery and writes the best and the worst
//     match (results "best" and "worst", with their names and distances).
//   - Render writes the morph animation from the visitor's projected face to
//     the best match (result "morph") and the visitor smiling (result
//     "smile").
//
// The real pipeline comes from the face and latent packages; the studio only
// runs it. Steps write their files through Results, which keeps them in a
// folder of their own until the job finishes, so a job run twice (River
// delivers at least once) still leaves one set of results. A step that
// cannot succeed on this photo (no face, say) returns an error made with
// Reject: the job fails at once with that reason. Any other error is
// retried, and fails the job only when River's attempts run out.
type Pipeline interface {
	Align(ctx context.Context, photo image.Image, out *Results) (*Face, error)
	Match(ctx context.Context, face *Face, out *Results) (*Match, error)
	Render(ctx context.Context, face *Face, match *Match, out *Results) error
}

// Face is what Align found, handed to the later steps of the same run.
type Face struct {
	Aligned image.Image
	Data    any // the pipeline's own state (embedding, projected latent…)
}

// Match is what Match found.
type Match struct {
	Best, Worst GalleryMatch
	Data        any
}

// GalleryMatch is one gallery face and its distance to the visitor's.
type GalleryMatch struct {
	ID       string  `json:"id"`
	Name     string  `json:"name"`
	Distance float64 `json:"distance"`
}

// RejectError is a failure that retrying cannot fix; Reason is shown to the
// visitor.
type RejectError struct{ Reason string }

func (e *RejectError) Error() string { return e.Reason }

// Reject returns an error that fails the job at once with reason (a
// sentence for the visitor, such as "no face found in the photo").
func Reject(reason string) error { return &RejectError{Reason: reason} }

// Results collects the files of one run of a job, in a private folder that
// becomes the job's results folder only when every step has succeeded.
type Results struct {
	dir     string
	entries map[string]store.Result
}

// ErrBadResult is returned for a result key or file name that is not a
// plain name.
var ErrBadResult = errors.New("studio: result keys are [a-z][a-z0-9_]* (at most 32) and files end in .png, .gif, .mp4 or .json")

func validKey(k string) bool {
	if len(k) == 0 || len(k) > 32 || k[0] < 'a' || k[0] > 'z' {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

var resultTypes = map[string]string{
	".png":  "image/png",
	".gif":  "image/gif",
	".mp4":  "video/mp4",
	".json": "application/json",
}

// Put writes the result key as the file key+ext (ext one of .png, .gif, .mp4,
// .json) with the content write produces, with a label and, when dist is
// not nil, a distance shown beside it. Putting a key again replaces it.
func (r *Results) Put(key, ext string, write func(w io.Writer) error, label string, dist *float64) error {
	if !validKey(key) || resultTypes[ext] == "" {
		return fmt.Errorf("%w: %q%s", ErrBadResult, key, ext)
	}
	file := key + ext
	if err := atomicfile.Write(filepath.Join(r.dir, file), write); err != nil {
		return err
	}
	if old, ok := r.entries[key]; ok && old.File != file {
		os.Remove(filepath.Join(r.dir, old.File))
	}
	r.entries[key] = store.Result{File: file, Label: label, Distance: dist}
	return nil
}

// PutPNG writes img as the result key (key.png).
func (r *Results) PutPNG(key string, img image.Image, label string, dist *float64) error {
	return r.Put(key, ".png", func(w io.Writer) error { return png.Encode(w, img) }, label, dist)
}

// PutGIF writes frames as a looping animation at fps (key.gif).
func (r *Results) PutGIF(key string, frames []image.Image, fps int, label string) error {
	if fps <= 0 || len(frames) == 0 {
		return fmt.Errorf("studio: PutGIF %s: %d frames at %d fps", key, len(frames), fps)
	}
	opts := picture.GIFOptions{Delay: time.Second / time.Duration(fps), Loop: true}
	return r.Put(key, ".gif", func(w io.Writer) error { return picture.EncodeGIF(w, frames, opts) }, label, nil)
}

// Keys lists the results written so far, sorted.
func (r *Results) Keys() []string {
	keys := make([]string, 0, len(r.entries))
	for k := range r.entries {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// NewResults returns a Results that writes into dir (created if needed):
// for running a Pipeline outside a job, in tests and tools. A job's runs
// get theirs from the Runner.
func NewResults(dir string) (*Results, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	return &Results{dir: dir, entries: map[string]store.Result{}}, nil
}

// Result returns the result written under key: its file (in Dir), label
// and distance.
func (r *Results) Result(key string) (store.Result, bool) {
	e, ok := r.entries[key]
	return e, ok
}

// Dir is the folder the results are written into.
func (r *Results) Dir() string { return r.dir }
