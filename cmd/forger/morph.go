package main

// forger morph and forger blend: walks through the latent space.

import (
	"fmt"
	"image"
	"image/color"

	"github.com/spf13/cobra"

	"forger/latent"
	"forger/picture"
)

func morphCmd() *cobra.Command {
	var (
		model, from, to, out, class string
		space                       string
		via                         []string
		frames, fps                 int
		spherical, asJSON           bool
		pf                          latProjectFlags
	)
	cmd := &cobra.Command{
		Use:   "morph --model CKPT --from A --to B [--via C…] --out FILE.gif|FILE.mp4",
		Short: "Animate a walk through the latent space between seeds, latent files or photos",
		Long: `Animate a walk through the latent space from A to B (through the --via
points in order). A, B and C are seeds (42 or seed:42), latent files
(latent.json) or photos, which are projected first (see forger project; the
--project-* flags set how).

--spherical interpolates along great circles (slerp), which keeps the path
where Gaussian latents live; the default is a straight line (lerp). A
stylegan walks in W by default (--space z|w|w+; seeds go through the
mapping network, photos are projected in w+ unless --space says, and one
W+ code makes the walk W+), always linearly: --spherical is for z. The
frames are spread evenly over the legs, the first is A and the last B.
.mp4 needs ffmpeg; without it a .gif is written beside.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" || to == "" {
				return usagef("--from A and --to B are required (seeds, latent files or photos)")
			}
			if err := latCheckAnimationPath(out); err != nil {
				return err
			}
			if frames < 2 || frames > 10000 {
				return usagef("--frames must be between 2 and 10000")
			}
			if fps < 1 || fps > 100 {
				return usagef("--fps must be between 1 and 100")
			}
			g, k, err := latModelClass(&model, class)
			if err != nil {
				return err
			}
			args := append(append([]string{from}, via...), to)
			codes, walk, err := latWalkCodes(cmd.Context(), g, model, args, k, space, spherical, &pf)
			if err != nil {
				return err
			}
			path, err := latent.Path(codes, frames, spherical)
			if err != nil {
				return usageError{err}
			}
			rendered, err := latent.RenderAll(cmd.Context(), g, path)
			if err != nil {
				return err
			}
			imgs := latPictures(g.ModelConfig(), rendered, latMinSide)
			written, err := latWriteAnimation(cmd.Context(), out, imgs, fps)
			if err != nil {
				return err
			}
			if asJSON {
				return latPrintJSON(cmd, map[string]any{"out": written, "frames": len(imgs), "spherical": spherical, "space": walk})
			}
			fmt.Fprintln(cmd.OutOrStdout(), written)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "checkpoint (.safetensors), run folder, or a name from forger models list")
	f.StringVar(&from, "from", "", "start: a seed, a latent file or a photo")
	f.StringVar(&to, "to", "", "end: a seed, a latent file or a photo")
	f.StringArrayVar(&via, "via", nil, "a waypoint (repeatable, in order)")
	f.IntVar(&frames, "frames", 60, "frames in all")
	f.IntVar(&fps, "fps", 20, "frames per second")
	f.BoolVar(&spherical, "spherical", false, "interpolate spherically (slerp) instead of linearly (z only)")
	f.StringVar(&space, "space", "", "latent space of the walk: z, or for a stylegan w or w+ (default: z, w for a stylegan)")
	f.StringVar(&class, "class", "", "class name or index (conditional models; default: each latent file's, else 0)")
	f.StringVar(&out, "out", "", "animation to write: FILE.gif or FILE.mp4")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	pf.register(cmd, "project-")
	return cmd
}

func blendCmd() *cobra.Command {
	var (
		model, out, class, latentOut, family string
		space                                string
		weight                               float64
		spherical, asJSON                    bool
		pf                                   latProjectFlags
	)
	cmd := &cobra.Command{
		Use:   "blend --model CKPT A B [--weight 0.5] --out FILE.png",
		Short: "The child of two faces: the image of a point between two latents",
		Long: `Write the image of the latent a fraction --weight of the way from A to B
(0 gives A, 1 gives B): the "child" of the two. A and B are seeds, latent
files or photos (projected first). --latent-out also saves the child's
latent. A stylegan blends in W by default (see forger morph --help).`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usagef("blend takes two parents A and B (seeds, latent files or photos), got %d", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("--out FILE.png is required")
			}
			if !(weight >= 0 && weight <= 1) {
				return usagef("--weight must be between 0 and 1")
			}
			g, k, err := latModelClass(&model, class)
			if err != nil {
				return err
			}
			codes, _, err := latWalkCodes(cmd.Context(), g, model, args, k, space, spherical, &pf)
			if err != nil {
				return err
			}
			child := latent.Mix(codes[0], codes[1], weight, spherical)
			// With --family the parents are drawn in the same batch, the child
			// in the middle.
			batch, at := []latent.Code{child}, 0
			if family != "" {
				batch, at = []latent.Code{codes[0], child, codes[1]}, 1
			}
			imgs := latent.Render(g, batch).Data
			cfg := g.ModelConfig()
			n := cfg.Size * cfg.Size * cfg.Channels
			if err := picture.WritePNG(out, picture.FromTensor(imgs[at*n:(at+1)*n], cfg.Size, cfg.Channels)); err != nil {
				return err
			}
			res := map[string]any{"out": out, "weight": weight}
			if family != "" {
				tiles := make([]image.Image, 3)
				for i := range tiles {
					tiles[i] = latent.Picture(imgs, i, cfg.Size, cfg.Channels, latMinSide)
				}
				if err := picture.WritePNG(family, picture.Grid(tiles, 3, 2, color.White)); err != nil {
					return err
				}
				res["family"] = family
			}
			if latentOut != "" {
				if err := latent.FileOf(model, child).Write(latentOut); err != nil {
					return err
				}
				res["latent"] = latentOut
			}
			if asJSON {
				return latPrintJSON(cmd, res)
			}
			fmt.Fprintln(cmd.OutOrStdout(), out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "checkpoint (.safetensors), run folder, or a name from forger models list")
	f.Float64Var(&weight, "weight", 0.5, "how far from A towards B (0…1)")
	f.BoolVar(&spherical, "spherical", false, "interpolate spherically (slerp; z only)")
	f.StringVar(&space, "space", "", "latent space of the blend: z, or for a stylegan w or w+ (default: z, w for a stylegan)")
	f.StringVar(&class, "class", "", "class name or index (conditional models)")
	f.StringVar(&out, "out", "", "image to write (.png)")
	f.StringVar(&latentOut, "latent-out", "", "also write the child's latent file")
	f.StringVar(&family, "family", "", "also write A | child | B side by side (.png)")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	pf.register(cmd, "project-")
	return cmd
}
