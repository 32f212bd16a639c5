package face

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"forger/dataset"
	"forger/internal/atomicfile"
	"forger/picture"
)

// AlignOptions say how AlignFolder crops.
type AlignOptions struct {
	Size       int     // side of the crops in pixels
	All        bool    // every face of a photo, not only the largest
	Layout     Layout  // where the eyes go
	MaxUpscale float64 // skip faces that would be magnified more than this
}

// Statuses of an AlignRow.
const (
	AlignOK      = "ok"
	AlignSkipped = "skipped"
)

// Skip reasons: the start of a skipped AlignRow's Reason.
const (
	SkipNotImage = "not an image"
	SkipNoFace   = "no face found"
	SkipNoEyes   = "eyes not found"
	SkipTooSmall = "face too small"
	SkipRead     = "cannot read the file"
	SkipWrite    = "cannot write the crop"
)

// AlignRow is a face aligned, or a photo (or a face of it) skipped, with
// why: a line of forger face align's report.
type AlignRow struct {
	File     string      `json:"file"`
	Faces    int         `json:"faces"`          // faces found in the photo
	Face     int         `json:"face,omitempty"` // which (1 = largest); 0 when none
	Status   string      `json:"status"`         // AlignOK or AlignSkipped
	Reason   string      `json:"reason"`         // a Skip… constant, and details
	LeftEye  *[2]float64 `json:"left_eye"`       // in pixels of the photo as displayed
	RightEye *[2]float64 `json:"right_eye"`      // (EXIF orientation applied)
	Output   string      `json:"output"`

	// For a contact sheet: the photo (nil when it could not be read), the
	// face (nil: none) and the crop (nil: skipped).
	Photo image.Image `json:"-"`
	Found *Face       `json:"-"`
	Crop  *image.RGBA `json:"-"`
}

// AlignInputs lists the files AlignFolder aligns: input itself when it is
// a file, else the regular files under the folder input (relative paths,
// sorted; hidden files and folders, and the folder outDir, left out).
func AlignInputs(input string, isDir bool, outDir string) ([]string, error) {
	if !isDir {
		return []string{filepath.Base(input)}, nil
	}
	absOut, _ := filepath.Abs(outDir)
	var files []string
	err := filepath.WalkDir(input, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != input && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if a, _ := filepath.Abs(p); a == absOut && p != input {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(input, p)
		if err != nil {
			return err
		}
		files = append(files, rel)
		return nil
	})
	slices.Sort(files)
	return files, err
}

// AlignOutputNames gives each input its crop's path relative to the output
// folder, without the extension: the input's relative path without its
// extension, or with it (dot → underscore) when two inputs would share
// the name (a.jpg and a.png → a_jpg, a_png) or the crop would take the
// contact sheet's (contact-sheet.jpg → contact-sheet_jpg).
func AlignOutputNames(files []string) []string {
	sheet := strings.TrimSuffix(dataset.AlignSheet, filepath.Ext(dataset.AlignSheet))
	stems := make([]string, len(files))
	count := map[string]int{}
	for i, f := range files {
		stems[i] = strings.TrimSuffix(f, filepath.Ext(f))
		count[strings.ToLower(stems[i])]++
	}
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = stems[i]
		isSheet := strings.EqualFold(stems[i], sheet)
		if ext := filepath.Ext(f); (count[strings.ToLower(stems[i])] > 1 || isSheet) && ext != "" {
			out[i] += "_" + strings.TrimPrefix(ext, ".")
		} else if isSheet {
			out[i] += "_"
		}
	}
	return out
}

// AlignFolder aligns the faces of files (AlignInputs of input) into PNGs
// under outDir (AlignOutputNames; with o.All, _1, _2, … largest first) and
// hands each photo's rows to each as the photo is done. A photo that
// cannot be aligned is a skipped row, not an error. It checks ctx before
// each photo and returns its error once it is done; it stops at each's
// first error.
func AlignFolder(ctx context.Context, det *Detector, input string, isDir bool, files []string, outDir string, o AlignOptions, each func(rows []AlignRow) error) error {
	names := AlignOutputNames(files)
	for i, f := range files {
		if err := ctx.Err(); err != nil {
			return err
		}
		path := input
		if isDir {
			path = filepath.Join(input, f)
		}
		if err := each(alignPhoto(det, o, path, filepath.Join(outDir, names[i]))); err != nil {
			return err
		}
	}
	return nil
}

// alignPhoto aligns the face(s) of one photo into outStem.png (or
// outStem_N.png with o.All) and returns its rows.
func alignPhoto(det *Detector, o AlignOptions, path, outStem string) []AlignRow {
	skip := func(r AlignRow, reason string) AlignRow {
		r.Status, r.Reason = AlignSkipped, reason
		return r
	}
	oneLine := func(err error) string { return strings.ReplaceAll(err.Error(), "\n", " ") }
	base := AlignRow{File: path}
	img, err := LoadImage(path)
	if err != nil {
		reason := SkipRead + ": " + oneLine(err)
		if errors.Is(err, ErrNotImage) {
			reason = SkipNotImage + " (" + strings.TrimPrefix(oneLine(err), path+": ") + ")"
		}
		return []AlignRow{skip(base, reason)}
	}
	base.Photo = img
	faces := det.Detect(img)
	base.Faces = len(faces)
	if len(faces) == 0 {
		return []AlignRow{skip(base, SkipNoFace)}
	}
	if !o.All {
		faces = faces[:1]
	}
	var rows []AlignRow
	for i := range faces {
		f := &faces[i]
		r := base
		r.Face, r.Found = i+1, f
		if !f.EyesOK {
			rows = append(rows, skip(r, SkipNoEyes+": "+f.Problem))
			continue
		}
		le, re := pointXY(f.LeftEye), pointXY(f.RightEye)
		r.LeftEye, r.RightEye = &le, &re
		if up := Upscale(f.LeftEye, f.RightEye, o.Size); up > o.MaxUpscale {
			need := (AlignRightX - AlignLeftX) * float64(o.Size) / o.MaxUpscale
			rows = append(rows, skip(r, fmt.Sprintf("%s: eyes %.1f px apart, need at least %.1f", SkipTooSmall, f.EyeDistance(), need)))
			continue
		}
		out := outStem + ".png"
		if o.All {
			out = outStem + "_" + strconv.Itoa(i+1) + ".png"
		}
		crop := AlignLayout(img, f.LeftEye, f.RightEye, o.Size, o.Layout, EdgeReplicate)
		if err := picture.WritePNG(out, crop); err != nil {
			rows = append(rows, skip(r, SkipWrite+": "+oneLine(err)))
			continue
		}
		r.Status, r.Output, r.Crop = AlignOK, out, crop
		rows = append(rows, r)
	}
	return rows
}

// pointXY is p rounded to 1/100 pixel, for reports.
func pointXY(p Point) [2]float64 {
	return [2]float64{math.Round(p[0]*100) / 100, math.Round(p[1]*100) / 100}
}

// WriteAlignReport writes rows to path as CSV (forger face align's
// report.csv: file, faces, face, the eye centres, status, reason, output),
// atomically.
func WriteAlignReport(path string, rows []AlignRow) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		c := csv.NewWriter(w)
		c.Write([]string{"file", "faces", "face", "left_eye_x", "left_eye_y", "right_eye_x", "right_eye_y", "status", "reason", "output"})
		num := func(p *[2]float64, i int) string {
			if p == nil {
				return ""
			}
			return strconv.FormatFloat(p[i], 'f', 2, 64)
		}
		for _, r := range rows {
			fc := ""
			if r.Face > 0 {
				fc = strconv.Itoa(r.Face)
			}
			c.Write([]string{r.File, strconv.Itoa(r.Faces), fc,
				num(r.LeftEye, 0), num(r.LeftEye, 1), num(r.RightEye, 0), num(r.RightEye, 1),
				r.Status, r.Reason, r.Output})
		}
		c.Flush()
		return c.Error()
	})
}
