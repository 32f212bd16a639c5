package main

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"

	"github.com/spf13/cobra"

	"forger/gan"
	"forger/picture"
	"forger/tensor"
)

// MixCoarseLayers is mix's default crossover: the ws of the 4×4 and 8×8
// blocks, StyleGAN's "coarse styles" (pose, face shape, hair style).
const MixCoarseLayers = 4

func mixCmd() *cobra.Command {
	var (
		model, rows, cols, out string
		layers                 int
		psi                    float64
		asJSON                 bool
	)
	cmd := &cobra.Command{
		Use:   "mix --model CKPT --rows SEEDS --cols SEEDS --out grid.png",
		Short: "Style-mixing grid of a stylegan: each row's coarse styles with each column's fine ones",
		Long: `Render StyleGAN's style-mixing figure: the top row shows the column seeds'
images, the left column the row seeds'; cell (r, c) takes the first
--layers ws of W+ (the coarse styles: pose, shape) from row seed r and the
rest (the fine styles: colours, texture) from column seed c. Seeds name
the same images as forger generate --seed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usagef("--out grid.png is required")
			}
			if psi < 0 {
				return usagef("--truncation must be ≥ 0 (1 = off)")
			}
			if rows == "" || cols == "" {
				return usagef("--rows and --cols are required (seeds as a list or ranges, e.g. 1-4 or 3,7,42)")
			}
			rs, err := seedList(false, 0, rows, 0)
			if err != nil {
				return usagef("--rows: %v", err)
			}
			cs, err := seedList(false, 0, cols, 0)
			if err != nil {
				return usagef("--cols: %v", err)
			}
			if len(rs)*len(cs) > 400 {
				return usagef("--rows and --cols: %d×%d images is more than 400", len(rs), len(cs))
			}
			g, err := loadGeneratorNet("--model", &model)
			if err != nil {
				return err
			}
			sg, ok := g.(*gan.StyleGenerator)
			if !ok {
				return usagef("--model %s is a %s: style mixing needs a stylegan (forger train --model stylegan)", model, g.ModelConfig().Arch)
			}
			numWs := sg.NumWs()
			if !cmd.Flags().Changed("layers") {
				layers = min(MixCoarseLayers, numWs)
			}
			if layers < 0 || layers > numWs {
				return usagef("--layers %d: this model has %d layers of W+ (use 0 to %d)", layers, numWs, numWs)
			}
			cfg := sg.ModelConfig()
			zd := cfg.NZ
			latents := func(seeds []int64) *tensor.Tensor {
				z := tensor.New(len(seeds), zd)
				for i, s := range seeds {
					gan.LatentForSeed(s, 1, z.Data[i*zd:(i+1)*zd])
				}
				return z
			}
			tile := func(imgs *tensor.Tensor, i int) image.Image {
				per := imgs.Len() / imgs.Shape[0]
				return picture.FromTensor(imgs.Data[i*per:(i+1)*per], cfg.Size, cfg.Channels)
			}
			rowImgs := sg.Truncated(latents(rs), psi).Clone()
			colImgs := sg.Truncated(latents(cs), psi).Clone()
			coarse, fine := tensor.New(len(rs)*len(cs), zd), tensor.New(len(rs)*len(cs), zd)
			for r, rseed := range rs {
				for c, cseed := range cs {
					k := r*len(cs) + c
					gan.LatentForSeed(rseed, 1, coarse.Data[k*zd:(k+1)*zd])
					gan.LatentForSeed(cseed, 1, fine.Data[k*zd:(k+1)*zd])
				}
			}
			mixed := sg.MixGrid(coarse, fine, layers, psi)
			blank := image.NewRGBA(image.Rect(0, 0, cfg.Size, cfg.Size))
			for i := range blank.Pix {
				blank.Pix[i] = 255
			}
			var tiles []image.Image
			tiles = append(tiles, blank)
			for c := range cs {
				tiles = append(tiles, tile(colImgs, c))
			}
			for r := range rs {
				tiles = append(tiles, tile(rowImgs, r))
				for c := range cs {
					tiles = append(tiles, tile(mixed, r*len(cs)+c))
				}
			}
			grid := picture.Upscale(picture.Grid(tiles, len(cs)+1, 2, color.White), max(1, 64/cfg.Size))
			if err := picture.WritePNG(out, grid); err != nil {
				return err
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"grid": out, "rows": rs, "cols": cs, "layers": layers, "num_ws": numWs})
			}
			fmt.Fprintln(cmd.OutOrStdout(), out)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "a stylegan checkpoint, run folder, or a name from forger models list")
	f.StringVar(&rows, "rows", "", "seeds of the rows (their coarse styles), e.g. 1-4 or 3,7,42")
	f.StringVar(&cols, "cols", "", "seeds of the columns (their fine styles)")
	f.IntVar(&layers, "layers", MixCoarseLayers, "how many ws of W+ (coarse first) come from the row seed; the rest come from the column seed")
	f.Float64Var(&psi, "truncation", 1, "truncation in W towards w_avg (1 = off)")
	f.StringVar(&out, "out", "", "the grid's PNG file")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}
