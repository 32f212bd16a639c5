package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"forger/gan"
	"forger/vae"
)

func benchCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure training and generation speed of the standard DCGAN on random data",
	}
	for _, mode := range []string{"train", "generate"} {
		o := gan.BenchOptions{}
		var asJSON bool
		sub := &cobra.Command{
			Use:   mode,
			Short: "Time the DCGAN " + mode + " step",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				if o.Steps < 1 || o.Batch < 1 {
					return usagef("--steps and --batch must be at least 1")
				}
				switch o.Model {
				case gan.DCGAN:
					o.Model = ""
				case gan.StyleGAN:
					// train's stylegan defaults, where not given.
					for _, d := range []struct {
						name string
						v    *int
						def  int
					}{{"batch", &o.Batch, 16}, {"nz", &o.NZ, 256}, {"ngf", &o.NGF, 256}, {"size", &o.Size, 32}} {
						if !cmd.Flags().Changed(d.name) {
							*d.v = d.def
						}
					}
				case gan.VAE:
				default:
					return usagef("--model %q: use dcgan, stylegan or vae", o.Model)
				}
				run := gan.BenchTrain
				if o.Model == gan.VAE {
					run = vae.BenchTrain
				}
				if mode == "generate" {
					run = gan.BenchGenerate
				}
				bar := newBar(o.Steps, "bench "+mode, !asJSON)
				o.Progress = func(int) { bar.Add(1) }
				r, err := run(o)
				bar.Finish()
				if err != nil {
					return usageError{err}
				}
				if asJSON {
					return json.NewEncoder(cmd.OutOrStdout()).Encode(r)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%s %dx%dx%d batch %d: %.1f images/s, %.3f s/step, gemm %s, peak RSS %.0f MB, %.0f allocations/step\n",
					mode, r.Size, r.Size, r.Channels, r.Batch, r.ImagesPerSec, r.SecondsPerStep, r.Gemm, float64(r.PeakRSSBytes)/1e6, r.AllocsPerStep)
				return nil
			},
		}
		f := sub.Flags()
		f.IntVar(&o.Size, "size", 64, "image size (28, 32, 64 or 128)")
		f.IntVar(&o.Channels, "channels", 3, "image channels (1 or 3)")
		f.IntVar(&o.Batch, "batch", 64, "batch size")
		f.IntVar(&o.Steps, "steps", 10, "timed steps")
		f.IntVar(&o.Warmup, "warmup", 2, "untimed steps first")
		f.IntVar(&o.NZ, "nz", 100, "latent size")
		f.IntVar(&o.NGF, "ngf", 64, "generator width")
		f.IntVar(&o.NDF, "ndf", 64, "discriminator width")
		f.StringVar(&o.DArch, "d-arch", "", "discriminator shape: dcgan or deep; a stylegan's residual (StyleGAN2's, the bench's default: the network bench/compare-stylegan.sh times in PyTorch too) or dcgan/deep (DCGAN's of --ndf, forger train --model stylegan's default)")
		f.StringVar(&o.Model, "model", gan.DCGAN, "dcgan, stylegan (forger train --model stylegan's networks; defaults then --size 32 --batch 16 --nz 256 --ngf 256, the widest feature maps; no mixing or regularisers) or vae (its encoder, reparameterisation and DCGAN's generator as decoder; generate times the decoder)")
		f.BoolVar(&asJSON, "json", false, "print one JSON object")
		cmd.AddCommand(sub)
	}
	cmd.AddCommand(benchServeCmd())
	return cmd
}
