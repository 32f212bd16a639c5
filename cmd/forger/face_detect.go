package main

// forger face detect IMAGE: faces (pigo's cascade) with their 68 landmarks
// (face-api.js's network), in the image's pixel coordinates.

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/spf13/cobra"

	"forger/face"
)

func init() { faceSubcommands = append(faceSubcommands, faceDetectCmd) }

// detector makes a face detector on the shared landmark network.
func (o *faceOptions) detector() (*face.Detector, error) {
	lm, err := o.landmarkNet()
	if err != nil {
		return nil, err
	}
	return face.NewDetector(lm, face.DetectOptions{})
}

// faceRound2 rounds to 1/100 (pixels in the JSON output).
func faceRound2(v float64) float64 { return math.Round(v*100) / 100 }

func facePointXY(p face.Point) [2]float64 { return [2]float64{faceRound2(p[0]), faceRound2(p[1])} }

// detectedFace is one face of `face detect --json`.
type detectedFace struct {
	Box       [4]float64     `json:"box"` // x, y, width, height
	Score     float64        `json:"score"`
	LeftEye   [2]float64     `json:"left_eye"`
	RightEye  [2]float64     `json:"right_eye"`
	Angle     float64        `json:"angle"` // degrees, positive when the right eye is lower
	EyesOK    bool           `json:"eyes_ok"`
	Problem   string         `json:"problem,omitempty"`
	Landmarks [68][2]float64 `json:"landmarks"`
}

func toDetected(f *face.Face) detectedFace {
	d := detectedFace{
		Box:      [4]float64{faceRound2(f.Box.X), faceRound2(f.Box.Y), faceRound2(f.Box.W), faceRound2(f.Box.H)},
		Score:    faceRound2(f.Score),
		LeftEye:  facePointXY(f.LeftEye),
		RightEye: facePointXY(f.RightEye),
		Angle:    faceRound2(f.Angle * 180 / math.Pi),
		EyesOK:   f.EyesOK,
		Problem:  f.Problem,
	}
	for i, q := range f.Landmarks {
		d.Landmarks[i] = [2]float64{faceRound2(float64(q[0])), faceRound2(float64(q[1]))}
	}
	return d
}

func faceDetectCmd(o *faceOptions) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "detect IMAGE",
		Short: "Find the faces in a photo, with their box, score and 68 landmarks",
		Long: `Find the faces in a photo (PNG, JPEG, GIF or WebP; a JPEG's EXIF orientation
is applied first): pigo's face cascade proposes windows, face-api.js's
68-point landmark network places the landmarks, refined on crops re-centred
and turned upright until they settle. Windows where the landmarks do not
settle on a face of the window's size, or where the cascade does not see a
face again in the upright crop, are dropped.

For each face, largest first: its box (the landmarks' bounding box grown by
10% on each side: x, y, width, height), pigo's score, the eye centres (the
means of landmarks 36-41 and 42-47; "left" is the eye on the image's left),
the eye line's angle, whether the eyes passed the checks (pigo's pupil
cascade agrees, the mouth is below the eyes) and the 68 landmarks (iBUG
300-W: jaw 0-16, eyebrows 17-26, nose 27-35, eyes 36-47, mouth 48-67), all
in pixels of the image as displayed.`,
		Example: `  forger face detect group.jpg
  forger face detect group.jpg --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			img, err := face.LoadImage(args[0])
			if err != nil {
				return err
			}
			det, err := o.detector()
			if err != nil {
				return err
			}
			faces := det.Detect(img)
			b := img.Bounds()
			w := cmd.OutOrStdout()
			if asJSON {
				out := struct {
					File   string         `json:"file"`
					Width  int            `json:"width"`
					Height int            `json:"height"`
					Faces  []detectedFace `json:"faces"`
				}{File: args[0], Width: b.Dx(), Height: b.Dy(), Faces: []detectedFace{}}
				for i := range faces {
					out.Faces = append(out.Faces, toDetected(&faces[i]))
				}
				return json.NewEncoder(w).Encode(out)
			}
			fmt.Fprintf(w, "%s (%dx%d): %d face%s\n", args[0], b.Dx(), b.Dy(), len(faces), facePlural(len(faces)))
			for i := range faces {
				f := toDetected(&faces[i])
				ok := "eyes ok"
				if !f.EyesOK {
					ok = "eyes not found: " + f.Problem
				}
				fmt.Fprintf(w, "face %d: box %.1f,%.1f %.1fx%.1f  score %.1f  left eye %.1f,%.1f  right eye %.1f,%.1f  angle %.1f°  %s\n",
					i+1, f.Box[0], f.Box[1], f.Box[2], f.Box[3], f.Score,
					f.LeftEye[0], f.LeftEye[1], f.RightEye[0], f.RightEye[1], f.Angle, ok)
				for j := 0; j < len(f.Landmarks); j += 4 {
					fmt.Fprint(w, " ")
					for k := j; k < min(j+4, len(f.Landmarks)); k++ {
						fmt.Fprintf(w, "  %2d %7.1f %7.1f", k, f.Landmarks[k][0], f.Landmarks[k][1])
					}
					fmt.Fprintln(w)
				}
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"file", "width", "height", "faces": [{"box": [x,y,w,h], "score", "left_eye", "right_eye", "angle", "eyes_ok", "problem", "landmarks": [[x,y] ×68]}]}`)
	return cmd
}

func facePlural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
