package main

// forger face align INPUT OUT_DIR: find the face in each photo, turn,
// scale and shift it so that the eyes land on fixed places, crop, write a
// PNG; report.csv and contact-sheet.png say what happened to each photo.

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"forger/dataset"
	"forger/face"
	"forger/picture"
)

func init() { faceSubcommands = append(faceSubcommands, faceAlignCmd) }

// Files written into OUT_DIR besides the crops (a data set read from
// OUT_DIR leaves the sheet out).
const (
	alignReport = dataset.AlignReport
	alignSheet  = dataset.AlignSheet
)

// alignOptions are the flags of `face align`.
type alignOptions struct {
	size       int
	all        bool
	asJSON     bool
	maxUpscale float64
	layout     string
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
first; a.jpg beside a.png -> a_jpg.png and a_png.png, and contact-sheet.jpg
-> contact-sheet_jpg.png, clear of the contact sheet). OUT_DIR also gets report.csv (file, faces found, face, eye centres
in pixels of the photo as displayed, status ok/skipped, reason, output) and
contact-sheet.png (each photo with the crop's outline beside the crop; at
most the first 240 rows). Photos that are not images, have no face, whose
eyes are not found or whose face is too small (it would be magnified more
than --max-upscale times) are skipped with the reason in the report, and
the run goes on. Skipping photos is not an error: the exit code is 0 when
the report is written. OUT_DIR is a data set as it is (forger train --data
OUT_DIR): the contact sheet beside report.csv is not read as a face.`,
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
	st, err := os.Stat(input)
	if err != nil {
		return err
	}
	files, err := face.AlignInputs(input, st.IsDir(), outDir)
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
	bar := newBar(len(files), "align", st.IsDir())
	enc := json.NewEncoder(cmd.OutOrStdout())
	sheet := face.NewContactSheet(240)
	var rows []face.AlignRow
	ctx := cmd.Context()
	opts := face.AlignOptions{Size: ao.size, All: ao.all, Layout: lay, MaxUpscale: ao.maxUpscale}
	err = face.AlignFolder(ctx, det, input, st.IsDir(), files, outDir, opts, func(got []face.AlignRow) error {
		for _, r := range got {
			sheet.Add(r.Photo, r.Found, r.Crop)
			r.Photo, r.Found, r.Crop = nil, nil, nil // the report keeps only its columns
			if strings.HasPrefix(r.Reason, face.SkipTooSmall) {
				r.Reason += fmt.Sprintf(" for --size %d (--max-upscale %g)", ao.size, ao.maxUpscale)
			}
			if ao.asJSON {
				if err := enc.Encode(r); err != nil {
					return err
				}
			}
			rows = append(rows, r)
		}
		bar.Add(1)
		return nil
	})
	bar.Finish()
	if err != nil && ctx.Err() == nil {
		return err
	}
	if err := face.WriteAlignReport(filepath.Join(outDir, alignReport), rows); err != nil {
		return err
	}
	if err := picture.WritePNG(filepath.Join(outDir, alignSheet), sheet.Image()); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("face align: interrupted after %d rows (written to the report): %w", len(rows), err)
	}
	if !ao.asJSON {
		ok := 0
		for _, r := range rows {
			if r.Status == face.AlignOK {
				ok++
			}
		}
		fmt.Fprintf(cmd.OutOrStdout(), "aligned %d face%s from %d file%s into %s (%d skipped); see %s and %s\n",
			ok, facePlural(ok), len(files), facePlural(len(files)), outDir, len(rows)-ok,
			filepath.Join(outDir, alignReport), filepath.Join(outDir, alignSheet))
	}
	return nil
}
