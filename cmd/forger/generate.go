package main

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"forger/gan"
	"forger/picture"
)

func generateCmd() *cobra.Command {
	var (
		model, seeds, class, out string
		n                        int
		seed                     int64
		psi                      float64
		grid, asJSON             bool
	)
	cmd := &cobra.Command{
		Use:   "generate --model CKPT",
		Short: "Generate images from a trained model; a seed names the same image every time",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if psi < 0 {
				return usagef("--truncation must be positive (1 = off)")
			}
			list, err := seedList(cmd.Flags().Changed("seed"), seed, seeds, n)
			if err != nil {
				return usageError{err}
			}
			g, err := loadGeneratorNet("--model", &model)
			if err != nil {
				return err
			}
			cfg := g.ModelConfig()
			if _, isStyle := g.(*gan.StyleGenerator); !isStyle && psi == 0 {
				return usagef("--truncation must be positive (1 = off) for a %s (0 is for a stylegan: its average image)", cfg.Arch)
			}
			k, err := latClassFlag(cfg, class)
			if err != nil {
				return err
			}
			label := int32(k)
			var labels []int32
			if cfg.Conditional() {
				labels = make([]int32, len(list))
				for i := range labels {
					if label >= 0 {
						labels[i] = label
					} else {
						labels[i] = int32(i % len(cfg.Classes)) // no class asked: cycle through them
					}
				}
			}
			var files []string
			tiles := make([]image.Image, len(list))
			bar := newBar(len(list), "generating", !asJSON && len(list) > gan.SeedBatch)
			err = gan.GenerateSeeds(cmd.Context(), g, list, labels, psi, func(i int, img image.Image) error {
				tiles[i] = img
				name := fmt.Sprintf("seed%04d.png", list[i])
				if labels != nil {
					name = fmt.Sprintf("seed%04d_%s.png", list[i], safeName(cfg.Classes[labels[i]]))
				}
				p := filepath.Join(out, name)
				if err := picture.WritePNG(p, img); err != nil {
					return err
				}
				files = append(files, p)
				bar.Add(1)
				return nil
			})
			bar.Finish()
			if err != nil {
				return err // Ctrl-C: the files written so far are whole
			}
			result := map[string]any{"files": files}
			if grid {
				p := filepath.Join(out, "grid.png")
				cols := min(len(tiles), 10)
				if err := picture.WritePNG(p, picture.Upscale(picture.Grid(tiles, cols, 2, color.White), max(1, 64/cfg.Size))); err != nil {
					return err
				}
				result["grid"] = p
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(result)
			}
			for _, f := range files {
				fmt.Fprintln(cmd.OutOrStdout(), f)
			}
			if p, ok := result["grid"]; ok {
				fmt.Fprintln(cmd.OutOrStdout(), p)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&model, "model", "", "checkpoint (.safetensors), run folder, or a name from forger models list")
	f.IntVarP(&n, "n", "n", 10, "number of images")
	f.Int64Var(&seed, "seed", 0, "first seed (images use seeds S, S+1, …)")
	f.StringVar(&seeds, "seeds", "", "seeds as a list or ranges, e.g. 1-10 or 3,7,42")
	f.StringVar(&class, "class", "", "class name or index (conditional models)")
	f.Float64Var(&psi, "truncation", 1, "scale latents towards the mean: < 1 trades variety for quality (a stylegan's w towards w_avg, where 0 gives the average image; a dcgan's z towards 0)")
	f.BoolVar(&grid, "grid", false, "also write grid.png")
	f.StringVar(&out, "out", ".", "output folder")
	f.BoolVar(&asJSON, "json", false, "print the files written as JSON")
	return cmd
}

// seedList returns the seeds to render: --seeds when given, else n seeds
// from --seed (default 0).
func seedList(haveSeed bool, seed int64, spec string, n int) ([]int64, error) {
	if spec != "" && haveSeed {
		return nil, fmt.Errorf("use either --seed or --seeds")
	}
	if spec == "" {
		if n < 1 || n > 10000 {
			return nil, fmt.Errorf("-n must be between 1 and 10000")
		}
		out := make([]int64, n)
		for i := range out {
			out[i] = seed + int64(i)
		}
		return out, nil
	}
	var out []int64
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseInt(lo, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("--seeds %q: %q is not a seed", spec, part)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseInt(hi, 10, 64); err != nil || b < a {
				return nil, fmt.Errorf("--seeds %q: %q is not a range", spec, part)
			}
		}
		if len(out)+int(b-a+1) > 10000 {
			return nil, fmt.Errorf("--seeds %q: more than 10000 seeds", spec)
		}
		for s := a; s <= b; s++ {
			out = append(out, s)
		}
	}
	return out, nil
}

// safeName makes a class name usable in a file name.
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '-'
	}, s)
}

func modelsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "models", Short: "List and manage models"}
	var asJSON bool
	list := &cobra.Command{
		Use:   "list [DIR]",
		Short: "List the checkpoints found under DIR (default .): their names, for --model",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			st, err := os.Stat(dir)
			if err != nil {
				return usagef("models list %s: no such folder", dir)
			}
			infos, err := gan.FindModels(dir)
			if err != nil {
				return err
			}
			if !st.IsDir() && len(infos) == 0 {
				return usagef("models list %s: not a folder or a forger checkpoint", dir)
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]any{"models": infos})
			}
			if len(infos) == 0 {
				fmt.Fprintf(cmd.OutOrStdout(), "no checkpoints under %s\n", dir)
				return nil
			}
			w := cmd.OutOrStdout()
			// NAME is what --model takes (a run's name stands for its newest
			// checkpoint, marked *).
			newest := map[string]bool{}
			for _, m := range gan.Newest(infos) {
				newest[m.Path] = m.Run != ""
			}
			archW := len("ARCH") // as wide as the longest ("stylegan")
			for _, m := range infos {
				archW = max(archW, len(m.Arch))
			}
			fmt.Fprintf(w, "%-36s %-*s %-9s %-7s %-7s %-30s %s\n", "NAME", archW, "ARCH", "SIZE", "EPOCHS", "KIMG", "CLASSES", "PATH")
			marked := false
			for _, m := range infos {
				name := m.Name
				if newest[m.Path] {
					name, marked = name+" *", true
				}
				fmt.Fprintf(w, "%-36s %-*s %-9s %-7d %-7.1f %-30s %s\n", name, archW, m.Arch, fmt.Sprintf("%dx%dx%d", m.Size, m.Size, m.Channels), m.Epochs, float64(m.Images)/1000, truncate(strings.Join(m.Classes, ","), 30), m.Path)
			}
			if marked {
				fmt.Fprintln(w, "* its run's newest checkpoint: the run's name (the part before /) names it too")
			}
			return nil
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	cmd.AddCommand(list, modelsGetCmd(), modelsPathCmd())
	return cmd
}

// truncate shortens s to n runes, marking the cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
