package main

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"

	"forger/internal/atomicfile"
	"forger/interop/onnx"
)

// exportCmd is `forger export onnx`: a generator as an ONNX model.
func exportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export",
		Short: "Send forger's models to other runtimes (export onnx)",
	}
	var (
		model, out, batch, checkOut string
		verify                      bool
		checkN                      int
	)
	ox := &cobra.Command{
		Use:   "onnx CKPT --out G.onnx [--batch dynamic]",
		Short: "Write a model's generator as an ONNX graph (z, and class for cdcgan, in; images NCHW in [-1, 1] out)",
		Long: `Writes the generator (the averaged one, g_ema, when the checkpoint has it, as
generate uses) as an ONNX model, opset 15: inputs z [N, nz] float32 and, for a
cdcgan, class [N] int64; output image [N, C, H, W] float32 in [-1, 1] (NCHW,
as ONNX Runtime users expect). --verify runs it in ONNX Runtime (Node.js,
npm onnxruntime-node, installed on first use) and prints the largest
difference from forger's own images.`,
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
			g, err := loadGenerator("CKPT", &model)
			if err != nil {
				return err
			}
			m, err := onnx.Generator(g, onnx.Options{Batch: n, Source: model})
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
			c := g.Cfg
			w := cmd.OutOrStdout()
			in := fmt.Sprintf("z [%s,%d] float32", batch, c.NZ)
			if c.Conditional() {
				in += fmt.Sprintf(", class [%s] int64 (0–%d)", batch, len(c.Classes)-1)
			}
			fmt.Fprintf(w, "wrote %s (%d KB): %s -> image [%s,%d,%d,%d] float32 NCHW in [-1, 1]\n", out, len(b)/1024, in, batch, c.Channels, c.Size, c.Size)
			if checkOut == "" && !verify {
				return nil
			}
			if n > 0 {
				checkN = n
			}
			check := onnx.MakeCheck(g, checkN, 1)
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
	cmd.AddCommand(ox)
	return cmd
}
