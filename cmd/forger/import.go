package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"forger/gan"
	"forger/interop/torch"
)

// importCmd is `forger import pytorch` (a PyTorch DCGAN checkpoint) and
// `forger import stylegan2` (an NVIDIA network pickle) as forger
// checkpoints.
func importCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Bring models trained elsewhere into forger (import pytorch, import stylegan2)",
	}
	var (
		arch, dFile, out, classes string
		size, nz                  int
	)
	pt := &cobra.Command{
		Use:   "pytorch FILE.pth --arch dcgan|cdcgan --out CKPT.safetensors",
		Short: "Import pytorch/examples' DCGAN (or the standard conditional DCGAN) saved with torch.save",
		Long: `Reads a PyTorch checkpoint written by torch.save (zip or legacy format; a
state_dict, a dict holding netG/netD state_dicts, or a module saved whole)
without Python, maps pytorch/examples' DCGAN generator (and discriminator,
from the same file or --d) onto forger's layers and writes a forger
checkpoint that generate, serve, morph, project and eval read.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("--out CKPT.safetensors is required")
			}
			if arch != gan.DCGAN && arch != gan.CDCGAN {
				return usagef("--arch %q: use dcgan or cdcgan", arch)
			}
			sd, err := readStateDict(args[0])
			if err != nil {
				return err
			}
			g, d, err := torch.Split(sd)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if dFile != "" {
				if d != nil {
					return usagef("--d %s: %s holds a discriminator already", dFile, args[0])
				}
				dsd, err := readStateDict(dFile)
				if err != nil {
					return err
				}
				if d, _, err = torch.Split(dsd); err != nil {
					return fmt.Errorf("%s: %w", dFile, err)
				}
			}
			o := torch.DCGANOptions{Arch: arch, Size: size, NZ: nz, Source: filepath.Base(args[0])}
			if classes != "" {
				o.Classes = strings.Split(classes, ",")
			}
			if arch == gan.CDCGAN && nz == 0 {
				o.NZ = 100
			}
			ck, notes, err := torch.ImportDCGAN(g, d, o)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if err := ck.Save(out); err != nil {
				return err
			}
			// What the other commands will read.
			if _, err := gan.LoadGenerator(out); err != nil {
				return fmt.Errorf("%s: written but not readable: %w", out, err)
			}
			c := ck.Config
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "imported %s: %s %d×%d×%d, nz %d, ngf %d, ndf %d", args[0], c.Arch, c.Size, c.Size, c.Channels, c.NZ, c.NGF, c.NDF)
			if c.Conditional() {
				fmt.Fprintf(w, ", %d classes", len(c.Classes))
			}
			fmt.Fprintf(w, "\nwrote %s\n", out)
			for _, n := range notes {
				fmt.Fprintln(w, "note:", n)
			}
			return nil
		},
	}
	f := pt.Flags()
	f.StringVar(&arch, "arch", "", "dcgan (pytorch/examples) or cdcgan (z and the one-hot class in G, one-hot maps beside the image in D)")
	f.IntVar(&size, "size", 64, "image size: 64 (pytorch/examples), 28, 32 or 128")
	f.IntVar(&nz, "nz", 0, "size of z (default: dcgan the generator's inputs, cdcgan 100)")
	f.StringVar(&dFile, "d", "", "the discriminator's file (pytorch/examples' netD_epoch_N.pth)")
	f.StringVar(&classes, "classes", "", "cdcgan: class names, comma-separated (default 0,1,…)")
	f.StringVar(&out, "out", "", "the forger checkpoint to write")
	cmd.AddCommand(pt, importStyleGAN2Cmd())
	return cmd
}

func readStateDict(path string) ([]torch.Named, error) {
	v, err := torch.LoadFile(path, nil)
	if err != nil {
		if errors.Is(err, torch.ErrFormat) {
			return nil, usagef("%s: %v", path, err)
		}
		return nil, err
	}
	sd, err := torch.StateDict(v)
	if err != nil {
		return nil, usagef("%s: %v", path, err)
	}
	return sd, nil
}
