package main

// forger face …: face-api.js's face networks (package face). Every
// subcommand of `forger face` is built by a function registered in
// faceSubcommands; a new one (detect, align, index, match) goes in a file of
// its own with
//
//	func init() { faceSubcommands = append(faceSubcommands, faceDetectCmd) }
//
// and uses the shared --models flag through *faceOptions and the helpers
// below (o.descriptorNet, o.landmarkNet); images load with face.LoadImage
// (picture.Load: EXIF orientation, size limits).

import (
	"encoding/json"
	"fmt"
	"math"

	"github.com/spf13/cobra"

	"forger/face"
)

// faceOptions are the flags every `forger face` subcommand shares, and the
// networks loaded on first use.
type faceOptions struct {
	modelsDir string

	desc *face.DescriptorNet
	lm   *face.LandmarkNet
}

// faceSubcommands build the subcommands of `forger face`.
var faceSubcommands = []func(o *faceOptions) *cobra.Command{faceLandmarksCmd, faceEmbedCmd}

func faceCmd() *cobra.Command {
	o := &faceOptions{}
	cmd := &cobra.Command{
		Use:   "face",
		Short: "Faces: detect, align by the eyes, landmarks, descriptors, look-alike index and match",
	}
	cmd.PersistentFlags().StringVar(&o.modelsDir, "models", "", "folder of the face models (default $FORGER_HOME/models/face)")
	for _, sub := range faceSubcommands {
		cmd.AddCommand(sub(o))
	}
	return cmd
}

// dir is the models folder.
func (o *faceOptions) dir() string {
	if o.modelsDir != "" {
		return o.modelsDir
	}
	return face.DefaultDir()
}

// descriptorNet loads the descriptor network once.
func (o *faceOptions) descriptorNet() (*face.DescriptorNet, error) {
	if o.desc == nil {
		d, err := face.LoadDescriptorNet(o.dir())
		if err != nil {
			return nil, err
		}
		o.desc = d
	}
	return o.desc, nil
}

// landmarkNet loads the landmark network once.
func (o *faceOptions) landmarkNet() (*face.LandmarkNet, error) {
	if o.lm == nil {
		l, err := face.LoadLandmarkNet(o.dir())
		if err != nil {
			return nil, err
		}
		o.lm = l
	}
	return o.lm, nil
}

// rawCrop checks the --raw flag of a subcommand that works on one crop.
func rawCrop(name, raw string) error {
	if raw == "" {
		return usagef("face %s: --raw CROP is required (an image of one face, already cropped; for whole photos use face detect or face align)", name)
	}
	return nil
}

func faceLandmarksCmd(o *faceOptions) *cobra.Command {
	var (
		raw    string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "landmarks --raw CROP",
		Short: "Print the 68 face landmarks of a face crop, in its pixel coordinates",
		Long: `Print the 68 face landmarks (iBUG 300-W points: jaw 0-16, eyebrows 17-26,
nose 27-35, eyes 36-47, mouth 48-67) of a face crop, as face-api.js's
face_landmark_68_model finds them: x and y in pixels of CROP. A crop that is
not square is padded to a square (centred) first, as face-api does.`,
		Example: `  forger face landmarks --raw face.png
  forger face landmarks --raw face.png --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := rawCrop("landmarks", raw); err != nil {
				return err
			}
			img, err := face.LoadImage(raw)
			if err != nil {
				return err
			}
			net, err := o.landmarkNet()
			if err != nil {
				return err
			}
			lm := net.Landmarks(img)
			w := cmd.OutOrStdout()
			if asJSON {
				return json.NewEncoder(w).Encode(map[string]any{"landmarks": lm})
			}
			b := img.Bounds()
			fmt.Fprintf(w, "68 landmarks of %s (%dx%d), x y in pixels:\n", raw, b.Dx(), b.Dy())
			for i, p := range lm {
				fmt.Fprintf(w, "%2d %8.2f %8.2f\n", i, p[0], p[1])
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&raw, "raw", "", "the face crop (PNG, JPEG, GIF or WebP)")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"landmarks": [[x,y], …]}`)
	return cmd
}

func faceEmbedCmd(o *faceOptions) *cobra.Command {
	var (
		raw    string
		asJSON bool
	)
	cmd := &cobra.Command{
		Use:   "embed --raw CROP",
		Short: "Print the 128-D descriptor of a face crop",
		Long: `Print the 128-D descriptor of a face crop, as face-api.js's
face_recognition_model (dlib's ResNet) computes it. Descriptors of the same
person are usually less than 0.6 apart (Euclidean). A 150x150 crop is used as
is; other sizes are padded to a square (centred) and resized to 150x150 as
face-api does.`,
		Example: `  forger face embed --raw face.png --json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := rawCrop("embed", raw); err != nil {
				return err
			}
			img, err := face.LoadImage(raw)
			if err != nil {
				return err
			}
			net, err := o.descriptorNet()
			if err != nil {
				return err
			}
			d := net.Embed(img)
			w := cmd.OutOrStdout()
			if asJSON {
				return json.NewEncoder(w).Encode(map[string]any{"descriptor": d})
			}
			var norm float64
			for _, v := range d {
				norm += float64(v) * float64(v)
			}
			b := img.Bounds()
			fmt.Fprintf(w, "descriptor of %s (%dx%d), 128 values, length %.4f:\n", raw, b.Dx(), b.Dy(), math.Sqrt(norm))
			for i := 0; i < len(d); i += 8 {
				for j, v := range d[i : i+8] {
					if j > 0 {
						fmt.Fprint(w, " ")
					}
					fmt.Fprintf(w, "%9.6f", v)
				}
				fmt.Fprintln(w)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&raw, "raw", "", "the face crop (PNG, JPEG, GIF or WebP)")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print {"descriptor": [128 numbers]}`)
	return cmd
}
