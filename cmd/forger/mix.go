package main

import (
	"encoding/json"
	"fmt"
	"image/color"

	"github.com/spf13/cobra"

	"forger/gan"
	"forger/picture"
)

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
				layers = min(gan.MixCoarseLayers, numWs)
			}
			if layers < 0 || layers > numWs {
				return usagef("--layers %d: this model has %d layers of W+ (use 0 to %d)", layers, numWs, numWs)
			}
			m := sg.MixSeeds(rs, cs, layers, psi)
			grid := picture.Upscale(picture.TableGrid(m.Cols, m.Rows, m.Cells, 2, color.White), max(1, 64/sg.Cfg.Size))
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
	f.IntVar(&layers, "layers", gan.MixCoarseLayers, "how many ws of W+ (coarse first) come from the row seed; the rest come from the column seed")
	f.Float64Var(&psi, "truncation", 1, "truncation in W towards w_avg (1 = off)")
	f.StringVar(&out, "out", "", "the grid's PNG file")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}
