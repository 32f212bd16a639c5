package main

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/spf13/cobra"

	"forger/gan"
	"forger/internal/atomicfile"
	"forger/interop/onnx"
	"forger/interop/onnx/onnxpb"
)

// exportCmd is `forger export onnx`: a generator as an ONNX model.
func exportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Send forger's models to other runtimes (export onnx)",
	}
	var (
		model, out, batch, checkOut string
		verify, truncInput          bool
		checkN                      int
		psi                         float64
	)
	ox := &cobra.Command{
		Use:   "onnx CKPT --out G.onnx [--batch dynamic]",
		Short: "Write a model's generator as an ONNX graph (z, and class for cdcgan, in; images NCHW in [-1, 1] out)",
		Long: `Writes the generator (the averaged one, g_ema, when the checkpoint has it, as
generate uses) as an ONNX model, opset 15: inputs z [N, nz] float32 and, for a
cdcgan, class [N] int64; output image [N, C, H, W] float32 in [-1, 1] (NCHW,
as ONNX Runtime users expect). A stylegan's graph renders z as generate does:
w truncated towards w_avg by --truncation (fixed in the graph, or with
--truncation-input a second input, truncation, a float32 scalar), the layers'
constant noise, the image clipped to [-1, 1]. --verify runs it in ONNX
Runtime (Node.js, npm onnxruntime-node, installed on first use) and prints
the largest difference from forger's own images.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 1 {
				if model != "" {
					return usagef("give the checkpoint once (argument or --model)")
				}
				model = args[0]
			}
			if out == "" {
				return usagef("--out G.onnx is required")
			}
			n := 0
			if batch != "dynamic" {
				b, err := strconv.Atoi(batch)
				if err != nil || b < 1 {
					return usagef("--batch %q: use dynamic or a positive number", batch)
				}
				n = b
			}
			if checkN < 1 || checkN > 1024 {
				return usagef("--check-n %d: use 1 to 1024", checkN)
			}
			gn, err := loadGeneratorNet("CKPT", &model)
			if err != nil {
				return err
			}
			c := gn.ModelConfig()
			sg, isStyle := gn.(*gan.StyleGenerator)
			g, isDC := gn.(*gan.Generator)
			if !isStyle && !isDC {
				return fmt.Errorf("a %s generator has no ONNX export", c.Arch)
			}
			if !isStyle {
				for _, f := range []string{"truncation", "truncation-input"} {
					if cmd.Flags().Changed(f) {
						return usagef("--%s is for stylegans, and this model is a %s (its graph takes z as given)", f, c.Arch)
					}
				}
			} else if math.IsNaN(psi) || math.IsInf(psi, 0) || psi < 0 {
				return usagef("--truncation %g: use 0 or more (1 = off, 0 the average image)", psi)
			}
			opts := onnx.Options{Batch: n, Source: model, TruncationInput: truncInput}
			var m *onnxpb.ModelProto
			if isStyle {
				m, err = onnx.StyleGenerator(sg, psi, opts)
			} else {
				m, err = onnx.Generator(g, opts)
			}
			if err != nil {
				return err
			}
			b, err := onnx.Marshal(m)
			if err != nil {
				return err
			}
			if err := atomicfile.WriteBytes(out, b); err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			in := fmt.Sprintf("z [%s,%d] float32", batch, c.NZ)
			if c.Conditional() {
				in += fmt.Sprintf(", class [%s] int64 (0–%d)", batch, len(c.Classes)-1)
			}
			if isStyle && truncInput {
				in += ", truncation [] float32"
			} else if isStyle {
				in += fmt.Sprintf(" (truncation %g)", psi)
			}
			fmt.Fprintf(w, "wrote %s (%d KB): %s -> image [%s,%d,%d,%d] float32 NCHW in [-1, 1]\n", out, len(b)/1024, in, batch, c.Channels, c.Size, c.Size)
			if checkOut == "" && !verify {
				return nil
			}
			if n > 0 {
				checkN = n
			}
			var check *onnx.CheckData
			if isStyle {
				check = onnx.MakeStyleCheck(sg, checkN, 1, psi)
			} else {
				check = onnx.MakeCheck(g, checkN, 1)
			}
			if checkOut != "" {
				js, err := json.Marshal(check)
				if err != nil {
					return err
				}
				if err := atomicfile.WriteBytes(checkOut, js); err != nil {
					return err
				}
				fmt.Fprintf(w, "wrote %s: z and forger's images for node scripts/interop/onnx-check.mjs %s %s\n", checkOut, out, checkOut)
			}
			if verify {
				diff, err := onnx.RunCheck(cmd.Context(), out, check, cmd.ErrOrStderr())
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "ONNX Runtime: %d images, max abs difference from forger %.3g\n", checkN, diff)
				if diff > 1e-4 {
					return fmt.Errorf("ONNX Runtime's images differ from forger's by %g (more than 1e-4)", diff)
				}
			}
			return nil
		},
	}
	f := ox.Flags()
	f.StringVar(&model, "model", "", "the checkpoint (or give it as the argument)")
	f.StringVar(&out, "out", "", "the .onnx file to write")
	f.StringVar(&batch, "batch", "1", "batch size of the graph: a number, or dynamic (any batch)")
	f.StringVar(&checkOut, "check-out", "", "also write fixed z (and classes) and forger's images, NCHW, as JSON for scripts/interop/onnx-check.mjs")
	f.IntVar(&checkN, "check-n", 4, "images in the check (the batch size when it is fixed)")
	f.BoolVar(&verify, "verify", false, "run the export in ONNX Runtime (node, npm onnxruntime-node) and compare with forger's images")
	f.Float64Var(&psi, "truncation", 1, "a stylegan's truncation, fixed in the graph: w towards w_avg (1 = off, 0 the average image; --verify and --check-out use it)")
	f.BoolVar(&truncInput, "truncation-input", false, "a stylegan's graph takes the truncation as a second input, truncation (float32 scalar), instead of fixing it")
	cmd.AddCommand(ox)
	return cmd
}
