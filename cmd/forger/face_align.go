package main

// forger face align INPUT OUT_DIR: find the face in each photo, turn,
// scale and shift it so that the eyes land on fixed places, crop, write a
// PNG; report.csv and contact-sheet.png say what happened to each photo.

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"forger/face"
	"forger/internal/atomicfile"
	"forger/picture"
)

func init() { faceSubcommands = append(faceSubcommands, faceAlignCmd) }

// Files written into OUT_DIR besides the crops.
const (
	alignReport = "report.csv"
	alignSheet  = "contact-sheet.png"
)

// alignRow is one line of report.csv and of --json: a face aligned, or a
// photo (or a face of it) skipped, with why.
type alignRow struct {
	File     string      `json:"file"`
	Faces    int         `json:"faces"`          // faces found in the photo
	Face     int         `json:"face,omitempty"` // which (1 = largest); 0 when none
	Status   string      `json:"status"`         // "ok" or "skipped"
	Reason   string      `json:"reason"`
	LeftEye  *[2]float64 `json:"left_eye"`  // in pixels of the photo as displayed
	RightEye *[2]float64 `json:"right_eye"` // (EXIF orientation applied)
	Output   string      `json:"output"`
}

const (
	statusOK      = "ok"
	statusSkipped = "skipped"
)

// Skip reasons (the start of the reason column).
const (
	reasonNotImage = "not an image"
	reasonNoFace   = "no face found"
	reasonNoEyes   = "eyes not found"
	reasonTooSmall = "face too small"
	reasonRead     = "cannot read the file"
	reasonWrite    = "cannot write the crop"
)

// alignOptions are the flags of `face align`.
type alignOptions struct {
	size       int
	all        bool
	asJSON     bool
	maxUpscale float64
	layout     string
	lay        face.Layout // resolved from layout
}

func faceAlignCmd(o *faceOptions) *cobra.Command {
	ao := &alignOptions{}
	cmd := &cobra.Command{
		Use:   "align INPUT OUT_DIR",
		Short: "Crop every face of a photo or folder with the eyes on fixed places (a dataset of aligned faces)",
		Long: `For each photo (INPUT is a file, or a folder searched recursively; hidden
files are left out; a JPEG's EXIF orientation is applied), find the face —
the largest, or every face with --all — and turn, scale and shift the photo
so that the eye centres (landmarks 36-41 and 42-47) land on (0.35, 0.40)
and (0.65, 0.40) of a size x size square (an FFHQ-like layout: the eyes
0.3 x size apart, the chin near the bottom), resampled with Catmull-Rom;
where the square reaches beyond the photo, its border pixels are repeated.

The crops are written as PNG under OUT_DIR with the input's relative path
(photo.jpg -> photo.png; with --all photo_1.png, photo_2.png, ... largest
first). OUT_DIR also gets report.csv (file, faces found, face, eye centres
in pixels of the photo as displayed, status ok/skipped, reason, output) and
contact-sheet.png (each photo with the crop's outline beside the crop; at
most the first 240 rows). Photos that are not images, have no face, whose
eyes are not found or whose face is too small (it would be magnified more
than --max-upscale times) are skipped with the reason in the report, and
the run goes on. Skipping photos is not an error: the exit code is 0 when
the report is written.`,
		Example: `  forger face align portraits/ aligned/ --size 128
  forger face align group.jpg faces/ --all --json`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if ao.size != 64 && ao.size != 128 && ao.size != 256 {
				return usagef("face align: --size %d: use 64, 128 or 256", ao.size)
			}
			if !(ao.maxUpscale > 0) {
				return usagef("face align: --max-upscale must be positive")
			}
			return runAlign(cmd, o, ao, args[0], args[1])
		},
	}
	cmd.Flags().IntVar(&ao.size, "size", 256, "side of the crops in pixels: 64, 128 or 256")
	cmd.Flags().BoolVar(&ao.all, "all", false, "crop every face of a photo, not only the largest")
	cmd.Flags().StringVar(&ao.layout, "layout", "ffhq", "where the eyes go: ffhq (the default above) or cartoon (as in forger data get cartoon-faces, for projecting into a GAN trained on it)")
	cmd.Flags().BoolVar(&ao.asJSON, "json", false, `print the report rows, one JSON object per line: {"file", "faces", "face", "status", "reason", "left_eye": [x,y], "right_eye": [x,y], "output"}`)
	cmd.Flags().Float64Var(&ao.maxUpscale, "max-upscale", 2, `skip faces that would be magnified more than this ("face too small")`)
	return cmd
}

func runAlign(cmd *cobra.Command, o *faceOptions, ao *alignOptions, input, outDir string) error {
	lay, ok := face.Layouts[ao.layout]
	if !ok {
		return usagef("--layout %q: use ffhq or cartoon", ao.layout)
	}
	ao.lay = lay
	st, err := os.Stat(input)
	if err != nil {
		return err
	}
	files, err := alignInputs(input, st.IsDir(), outDir)
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("face align: no files in %s", input)
	}
	det, err := o.detector()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return err
	}
	names := alignOutputNames(files)
	bar := newBar(len(files), "align", st.IsDir())
	enc := json.NewEncoder(cmd.OutOrStdout())
	sheet := newContactSheet(240)
	var rows []alignRow
	ctx := cmd.Context()
	for i, f := range files {
		if err := ctx.Err(); err != nil {
			break
		}
		path := input
		if st.IsDir() {
			path = filepath.Join(input, f)
		}
		got := alignPhoto(det, ao, path, filepath.Join(outDir, names[i]), sheet)
		for _, r := range got {
			if ao.asJSON {
				if err := enc.Encode(r); err != nil {
					return err
				}
			}
		}
		rows = append(rows, got...)
		bar.Add(1)
	}
	bar.Finish()
	if err := writeAlignReport(filepath.Join(outDir, alignReport), rows); err != nil {
		return err
	}
	if err := picture.WritePNG(filepath.Join(outDir, alignSheet), sheet.image()); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("face align: interrupted after %d rows (written to the report): %w", len(rows), err)
	}
	if !ao.asJSON {
		ok := 0
		for _, r := range rows {
			if r.Status == statusOK {
				ok++
			}
		}
		fmt.Fprintf(cmd.OutOrStdout(), "aligned %d face%s from %d file%s into %s (%d skipped); see %s and %s\n",
			ok, facePlural(ok), len(files), facePlural(len(files)), outDir, len(rows)-ok,
			filepath.Join(outDir, alignReport), filepath.Join(outDir, alignSheet))
	}
	return nil
}

// alignInputs lists the files to align: input itself, or the regular files
// under the folder input (relative paths, sorted; hidden files and folders
// and the output folder left out).
func alignInputs(input string, isDir bool, outDir string) ([]string, error) {
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

// alignOutputNames gives each input its crop's path relative to OUT_DIR,
// without the extension: the input's relative path without its extension,
// or with it (dot → underscore) when two inputs would share the name
// (a.jpg and a.png → a_jpg, a_png).
func alignOutputNames(files []string) []string {
	stems := make([]string, len(files))
	count := map[string]int{}
	for i, f := range files {
		stems[i] = strings.TrimSuffix(f, filepath.Ext(f))
		count[strings.ToLower(stems[i])]++
	}
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = stems[i]
		if ext := filepath.Ext(f); count[strings.ToLower(stems[i])] > 1 && ext != "" {
			out[i] += "_" + strings.TrimPrefix(ext, ".")
		}
	}
	return out
}

// alignPhoto aligns the face(s) of one photo into outStem.png (or
// outStem_N.png with --all) and returns its report rows.
func alignPhoto(det *face.Detector, ao *alignOptions, path, outStem string, sheet *contactSheet) []alignRow {
	skip := func(r alignRow, reason string) alignRow {
		r.Status, r.Reason = statusSkipped, reason
		return r
	}
	base := alignRow{File: path}
	img, err := face.LoadImage(path)
	if err != nil {
		reason := reasonRead + ": " + oneLine(err)
		if errors.Is(err, face.ErrNotImage) {
			reason = reasonNotImage + " (" + strings.TrimPrefix(oneLine(err), path+": ") + ")"
		}
		sheet.add(nil, nil, nil)
		return []alignRow{skip(base, reason)}
	}
	faces := det.Detect(img)
	base.Faces = len(faces)
	if len(faces) == 0 {
		sheet.add(img, nil, nil)
		return []alignRow{skip(base, reasonNoFace)}
	}
	if !ao.all {
		faces = faces[:1]
	}
	var rows []alignRow
	for i := range faces {
		f := &faces[i]
		r := base
		r.Face = i + 1
		if !f.EyesOK {
			sheet.add(img, f, nil)
			rows = append(rows, skip(r, reasonNoEyes+": "+f.Problem))
			continue
		}
		le, re := facePointXY(f.LeftEye), facePointXY(f.RightEye)
		r.LeftEye, r.RightEye = &le, &re
		if up := face.Upscale(f.LeftEye, f.RightEye, ao.size); up > ao.maxUpscale {
			sheet.add(img, f, nil)
			need := (face.AlignRightX - face.AlignLeftX) * float64(ao.size) / ao.maxUpscale
			rows = append(rows, skip(r, fmt.Sprintf("%s: eyes %.1f px apart, need at least %.1f for --size %d (--max-upscale %g)",
				reasonTooSmall, f.EyeDistance(), need, ao.size, ao.maxUpscale)))
			continue
		}
		out := outStem + ".png"
		if ao.all {
			out = outStem + "_" + strconv.Itoa(i+1) + ".png"
		}
		crop := face.AlignLayout(img, f.LeftEye, f.RightEye, ao.size, ao.lay, face.EdgeReplicate)
		if err := picture.WritePNG(out, crop); err != nil {
			sheet.add(img, f, nil)
			rows = append(rows, skip(r, reasonWrite+": "+oneLine(err)))
			continue
		}
		sheet.add(img, f, crop)
		r.Status, r.Output = statusOK, out
		rows = append(rows, r)
	}
	return rows
}

// writeAlignReport writes the rows as CSV.
func writeAlignReport(path string, rows []alignRow) error {
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
