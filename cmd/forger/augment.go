package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"forger/augment"
	"forger/dataset"
	"forger/picture"
)

func augmentCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "augment",
		Short: "See the augmentations that keep a discriminator from memorising small data sets",
	}
	var data, policy, out string
	var p float64
	var size, channels, n int
	var seed uint64
	preview := &cobra.Command{
		Use:   "preview --data DIR [--augment ada|diffaugment] [--p 0.5] --out grid.png",
		Short: "Write a grid of what the discriminator sees: the images, then rows of augmented copies",
		Long: `Write a grid of what the discriminator sees with forger train --augment:
the first row is the first --n images of --data as they are, each later row
the same images through a fresh draw of the augmentations (ada: x-flip,
quarter turns, scaling, rotation, fractional translation, then colour,
translation, cutout; diffaugment: the last three), each applied with
probability --p.

With ada, --p is what ADA's controller has reached (the progress line and
metrics.jsonl show it as p); with diffaugment every operation always applies.`,
		Example: "  forger augment preview --data my-photos --augment ada --p 0.5 --out grid.png",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if data == "" || out == "" {
				return usagef("--data and --out are required")
			}
			if err := augment.Check(policy); err != nil {
				return usagef("--augment %v", err)
			}
			if !cmd.Flags().Changed("p") && policy == augment.DiffAugment {
				p = 1
			}
			if p < 0 || p > 1 || p != p {
				return usagef("--p must be in [0, 1]")
			}
			if n < 1 || n > 64 {
				return usagef("-n must be between 1 and 64")
			}
			set, err := dataset.Open(data, dataset.Options{Size: size, Channels: channels, Limit: n, Progress: os.Stderr})
			if err != nil {
				return err
			}
			img, err := augment.Preview(set, policy, p, n, 8, seed)
			if err != nil {
				return err
			}
			if err := picture.WritePNG(out, img); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d images, then 7 rows augmented with %s at p = %.2f\n", out, set.Len(), policy, p)
			return nil
		},
	}
	f := preview.Flags()
	f.StringVar(&data, "data", "", "folder of images (or a built-in data set)")
	f.StringVar(&policy, "augment", augment.ADA, "policy: ada, diffaugment or none")
	f.Float64Var(&p, "p", 0.5, "probability of each operation (diffaugment: 1)")
	f.StringVar(&out, "out", "", "grid PNG to write")
	f.IntVar(&size, "size", 64, "image size: 28, 32, 64 or 128")
	f.IntVar(&channels, "channels", 3, "1 (gray) or 3 (RGB)")
	f.IntVarP(&n, "n", "n", 8, "images per row")
	f.Uint64Var(&seed, "seed", 1, "random seed of the augmentations")
	cmd.AddCommand(preview)
	return cmd
}
