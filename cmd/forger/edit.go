package main

// forger edit: a face moved along a direction.

import (
	"fmt"
	"image/color"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"forger/latent"
	"forger/picture"
)

func editCmd() *cobra.Command {
	var (
		model, latentPath, dirPath, strengths, out, class string
		layers                                            string
		seed                                              int64
		fps                                               int
		asJSON, absolute                                  bool
	)
	cmd := &cobra.Command{
		Use:   "edit --model CKPT (--latent FILE | --seed S) --direction DIR.json [--strengths -3:3:7] --out FILE.png|FILE.gif",
		Short: "Move a face along an attribute direction: a strip of images, or an animation",
		Long: `Move a latent along a direction (forger direction learn): z + s·d for each
strength s of START:END:COUNT (default -3:3:7); for a direction in a
stylegan's W, w + s·scale·d (a seed is taken to its w, a W+ latent file
moves in every layer). --out FILE.png writes the
images side by side; FILE.gif (or .mp4) animates them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			haveSeed := cmd.Flags().Changed("seed")
			if (latentPath == "") == !haveSeed {
				return usagef("give one of --latent FILE or --seed S")
			}
			if dirPath == "" {
				return usagef("--direction DIR.json is required")
			}
			if out == "" {
				return usagef("--out FILE.png|FILE.gif is required")
			}
			ext := strings.ToLower(filepath.Ext(out))
			if ext != ".png" && ext != ".gif" && ext != ".mp4" {
				return usagef("--out %s: want a .png strip or a .gif/.mp4 animation", out)
			}
			if fps < 1 || fps > 100 {
				return usagef("--fps must be between 1 and 100")
			}
			ss, err := latent.ParseStrengths(strengths)
			if err != nil {
				return usageError{err}
			}
			d, err := latent.ReadDirection(dirPath)
			if err != nil {
				return err
			}
			g, err := latLoadAny(&model)
			if err != nil {
				return err
			}
			cfg := g.ModelConfig()
			k, err := latClassFlag(cfg, class)
			if err != nil {
				return err
			}
			var code latent.Code
			if haveSeed {
				code = latent.FromSeed(cfg, seed, max(k, 0))
			} else {
				lf, err := latent.ReadFile(latentPath)
				if err != nil {
					return err
				}
				if code, err = lf.CodeOf(cfg, k); err != nil {
					return usagef("%s: %v", latentPath, err)
				}
			}
			if err := latLayers(cmd, layers, d, cfg); err != nil {
				return err
			}
			if err := d.CheckFor(cfg); err != nil {
				return usagef("%s: %v", dirPath, err)
			}
			// A W direction moves every layer of a W+ code (or its
			// --layers); other codes are taken to the direction's space (a
			// seed's z to its w).
			code, v, err := d.Prepare(g, code)
			if err != nil {
				return usagef("the direction %s is in %s: %v", dirPath, d.Space, err)
			}
			var edits []latent.Code
			if absolute {
				dim, err := d.Space.Dim(cfg)
				if err != nil {
					return err
				}
				edits = latent.EditTo(code, v, dim, d.Bias, ss)
			} else {
				edits = latent.Edit(code, v, ss)
			}
			rendered, err := latent.RenderAll(cmd.Context(), g, edits)
			if err != nil {
				return err
			}
			tiles := latPictures(cfg, rendered, 64)
			written := out
			if ext == ".png" {
				err = picture.WritePNG(out, picture.Grid(tiles, len(tiles), 2, color.White))
			} else {
				written, err = latWriteAnimation(cmd.Context(), out, tiles, fps)
			}
			if err != nil {
				return err
			}
			if asJSON {
				return latPrintJSON(cmd, map[string]any{"out": written, "strengths": ss, "attribute": d.Attribute})
			}
			fmt.Fprintln(cmd.OutOrStdout(), written)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "checkpoint (.safetensors), run folder, or a name from forger models list")
	f.StringVar(&latentPath, "latent", "", "latent file to edit")
	f.Int64Var(&seed, "seed", 0, "seed to edit")
	f.StringVar(&class, "class", "", "class name or index (conditional models)")
	f.StringVar(&dirPath, "direction", "", "direction file (forger direction learn)")
	f.StringVar(&strengths, "strengths", "-3:3:7", "strengths START:END:COUNT, or one number")
	f.StringVar(&layers, "layers", "", layersHelp)
	f.BoolVar(&absolute, "absolute", false, absoluteHelp)
	f.IntVar(&fps, "fps", 4, "frames per second of an animation")
	f.StringVar(&out, "out", "", "FILE.png (a strip) or FILE.gif/.mp4 (an animation)")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}
