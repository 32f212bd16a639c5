package main

// forger's latent-space commands (package latent): morph, blend,
// project, encoder, direction, attribute and edit, one file per family
// (morph.go, project.go, project_flags.go, project_compare.go, encoder.go,
// direction.go, edit.go); this file holds what they share: loading the
// model and --class, reading seeds, latent files and photos as codes,
// writing pictures and animations, printing JSON.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"forger/gan"
	"forger/latent"
	"forger/picture"
)

// latentCmds are the commands of the latent space, added to the root.
func latentCmds() []*cobra.Command {
	return []*cobra.Command{morphCmd(), blendCmd(), projectCmd(), encoderCmd(), directionCmd(), attributeCmd(), editCmd()}
}

// Defaults of the projection, chosen by measurement (latent/README.md).
const (
	latDefaultProjectLoss     = latent.LossBoth
	latDefaultProjectFeatures = "auto" // judge with --features-judge, else disc
)

// latMinSide is the side small images are upscaled to (at least) in strips
// and animations.
const latMinSide = latent.MinSide

// latLoadModel loads the generator of --model (a checkpoint, a run folder
// or a model name) and sets *model to its checkpoint's path.
func latLoadModel(model *string) (*gan.Generator, error) {
	return loadGenerator("--model", model)
}

// latLoadAny is latLoadModel for generators of any architecture (a
// stylegan's W and W+ included).
func latLoadAny(model *string) (gan.GeneratorNet, error) {
	return loadGeneratorNet("--model", model)
}

// latWalkCodes resolves the arguments of a walk (morph, blend) into codes
// of one space: --space, or by default z for a DCGAN and w for a stylegan
// (a W+ code, such as a photo projected in the default w+, makes the walk
// W+; latent.ToCommonSpace). Spherical interpolation is for z alone.
func latWalkCodes(ctx context.Context, g gan.GeneratorNet, model string, args []string, class int, space string, spherical bool, pf *latProjectFlags) ([]latent.Code, latent.Space, error) {
	walk := latent.SpaceZ
	if g.ModelConfig().Arch == gan.StyleGAN {
		walk = latent.SpaceW
	}
	if space != "" {
		var err error
		if walk, err = latSpaceFlag(g, space); err != nil {
			return nil, "", err
		}
		pf.space = walk
	}
	if err := latent.CheckInterpolation(walk, spherical); err != nil {
		return nil, "", usagef("--spherical: %v (use --space z)", err)
	}
	codes, err := latResolveCodes(ctx, g, model, args, class, pf)
	if err != nil {
		return nil, "", err
	}
	if codes, err = latent.ToCommonSpace(g, codes, walk); err != nil {
		return nil, "", usageError{err}
	}
	if err := latent.CheckInterpolation(codes[0].Space, spherical); err != nil {
		return nil, "", usagef("--spherical: %v (use --space z)", err)
	}
	return codes, codes[0].Space, nil
}

// latSpaceFlag parses --space for g: "" is the model's default (w+ for a
// stylegan, z otherwise).
func latSpaceFlag(g gan.GeneratorNet, space string) (latent.Space, error) {
	if space == "" {
		return latent.DefaultSpace(g.ModelConfig()), nil
	}
	s, err := latent.ParseSpace(space)
	if err == nil {
		_, err = s.Dim(g.ModelConfig())
	}
	if err != nil {
		return "", usagef("--space: %v", err)
	}
	return s, nil
}

// latClassFlag turns --class (a class name, case-insensitive, or index:
// gan.Config.ClassIndex) into an index: -1 when not given.
func latClassFlag(cfg gan.Config, class string) (int, error) {
	if class == "" {
		return -1, nil
	}
	if !cfg.Conditional() {
		return 0, usagef("--class: this model (%s) has no classes", cfg.Arch)
	}
	c, err := cfg.ClassIndex(class)
	if err != nil {
		return 0, usageError{fmt.Errorf("--class %w", err)}
	}
	return int(c), nil
}

// latSame returns n copies of class.
func latSame(class, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = class
	}
	return out
}

// latCodeSpec is what a seed, latent file or photo argument names.
type latCodeSpec struct {
	arg   string
	seed  *int64
	file  *latent.File
	photo string
}

// latParseSpec sorts an argument into seed, latent file or photo.
func latParseSpec(arg string) (latCodeSpec, error) {
	s := latCodeSpec{arg: arg}
	if v, err := strconv.ParseInt(strings.TrimPrefix(arg, "seed:"), 10, 64); err == nil {
		s.seed = &v
		return s, nil
	}
	st, err := os.Stat(arg)
	if err != nil {
		return s, usagef("%q is not a seed, a latent file or a photo: %v", arg, errors.Unwrap(err))
	}
	if st.IsDir() {
		return s, usagef("%q is a folder, not a seed, a latent file or a photo", arg)
	}
	if strings.EqualFold(filepath.Ext(arg), ".json") {
		f, err := latent.ReadFile(arg)
		if err != nil {
			return s, err
		}
		s.file = f
		return s, nil
	}
	s.photo = arg
	return s, nil
}

// latResolveCodes turns arguments into codes: seeds and latent files at once,
// photos projected first (all in one batch) with pf.
func latResolveCodes(ctx context.Context, g gan.GeneratorNet, model string, args []string, class int, pf *latProjectFlags) ([]latent.Code, error) {
	cfg := g.ModelConfig()
	specs := make([]latCodeSpec, len(args))
	var photos []string
	for i, a := range args {
		s, err := latParseSpec(a)
		if err != nil {
			return nil, err
		}
		specs[i] = s
		if s.photo != "" {
			photos = append(photos, s.photo)
		}
	}
	var projected []latent.Code
	if len(photos) > 0 {
		t, err := latPhotoTensor(cfg, photos)
		if err != nil {
			return nil, err
		}
		pr, err := pf.setup(g, model)
		if err != nil {
			return nil, err
		}
		res, err := pr.run(ctx, t, latSame(class, len(photos)), 0, "projecting")
		if err != nil {
			return nil, err
		}
		projected = res.Codes
	}
	out := make([]latent.Code, len(args))
	for i, s := range specs {
		switch {
		case s.seed != nil:
			out[i] = latent.FromSeed(cfg, *s.seed, max(class, 0))
		case s.file != nil:
			c, err := s.file.CodeOf(cfg, class)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", s.arg, err)
			}
			out[i] = c
		default:
			out[i], projected = projected[0], projected[1:]
		}
	}
	return out, nil
}

// latWriteAnimation writes frames as path's format; an .mp4 without ffmpeg
// becomes a .gif beside it, with a warning. It returns the file written.
func latWriteAnimation(ctx context.Context, path string, frames []image.Image, fps int) (string, error) {
	err := picture.WriteAnimation(ctx, path, frames, fps)
	if errors.Is(err, picture.ErrNoFFmpeg) {
		gif := strings.TrimSuffix(path, filepath.Ext(path)) + ".gif"
		fmt.Fprintf(os.Stderr, "warning: ffmpeg is not installed (apt-get install ffmpeg): writing %s instead\n", gif)
		return gif, picture.WriteAnimation(ctx, gif, frames, fps)
	}
	return path, err
}

func latCheckAnimationPath(out string) error {
	if out == "" {
		return usagef("--out FILE.gif|FILE.mp4 is required")
	}
	switch strings.ToLower(filepath.Ext(out)) {
	case ".gif", ".mp4":
		return nil
	}
	return usagef("--out %s: want a .gif or .mp4 file", out)
}

// latPictures converts a batch of images to latPictures upscaled to latMinSide.
func latPictures(cfg gan.Config, imgs []float32, side int) []image.Image {
	per := cfg.Size * cfg.Size * cfg.Channels
	out := make([]image.Image, len(imgs)/per)
	for i := range out {
		out[i] = latent.Picture(imgs, i, cfg.Size, cfg.Channels, side)
	}
	return out
}

func latPrintJSON(cmd *cobra.Command, v any) error {
	return json.NewEncoder(cmd.OutOrStdout()).Encode(v)
}

// latModelClass loads the generator of a checkpoint and resolves --class for
// it (-1 when the flag is empty), the first step of most latent commands.
func latModelClass(model *string, class string) (gan.GeneratorNet, int, error) {
	g, err := latLoadAny(model)
	if err != nil {
		return nil, 0, err
	}
	k, err := latClassFlag(g.ModelConfig(), class)
	if err != nil {
		return nil, 0, err
	}
	return g, k, nil
}
