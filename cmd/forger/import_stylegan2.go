package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"forger/gan"
	"forger/interop/torch"
)

// maxNetworkPickle bounds the network pickles import stylegan2 reads: it is
// checked on the file's size before anything is read (NVIDIA's 1024×1024
// FFHQ snapshot is 380 MB).
const maxNetworkPickle = 4 << 30

// importStyleGAN2Cmd is `forger import stylegan2`: an NVIDIA network
// pickle's generator as a forger stylegan checkpoint.
func importStyleGAN2Cmd() *cobra.Command {
	var key, out string
	cmd := &cobra.Command{
		Use:   "stylegan2 NETWORK.pkl [--key G_ema] --out CKPT.safetensors",
		Short: "Import the generator of an NVIDIA stylegan2-ada-pytorch (or stylegan3-repo StyleGAN2) network pickle",
		Long: `Reads a network pickle written by NVIDIA's stylegan2-ada-pytorch (or a
StyleGAN2 of the stylegan3 repository) without Python or a GPU, and writes
its generator (G_ema unless --key says otherwise) as a forger stylegan
checkpoint, without a discriminator: generate, mix, project, edit and serve
run it on the CPU. StyleGAN3 and conditional networks are refused.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("--out CKPT.safetensors is required")
			}
			path := args[0]
			st, err := os.Stat(path)
			if err != nil {
				return err
			}
			if st.Size() > maxNetworkPickle {
				return usagef("%s: %d bytes, more than a network pickle's %d", path, st.Size(), int64(maxNetworkPickle))
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			ck, err := torch.ImportStyleGAN2(data, torch.StyleGAN2Options{Key: key, Source: filepath.Base(path), MaxBytes: maxNetworkPickle})
			if err != nil {
				if errors.Is(err, torch.ErrFormat) || errors.Is(err, torch.ErrUnsupported) {
					return usagef("%s: %v", path, err)
				}
				return fmt.Errorf("%s: %w", path, err)
			}
			if err := ck.Save(out); err != nil {
				return err
			}
			if _, err := gan.LoadGeneratorNet(out); err != nil {
				return fmt.Errorf("%s: written but not readable: %w", out, err)
			}
			c := ck.Config.StyleGAN
			if key == "" {
				key = "G_ema"
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "imported %s (%s): stylegan %d×%d×%d, z %d, w %d, %d mapping layers, widths min(%d/res, %d)",
				path, key, c.Size, c.Size, c.Channels, c.ZDim, c.WDim, c.MappingLayers, c.ChannelBase, c.ChannelMax)
			if c.ConvClamp > 0 {
				fmt.Fprintf(w, ", conv_clamp %g", c.ConvClamp)
			}
			fmt.Fprintf(w, "\nwrote %s (the generator alone)\n", out)
			return nil
		},
	}
	cmd.Flags().StringVar(&key, "key", "", "the snapshot's network to import: G_ema (default) or G")
	cmd.Flags().StringVar(&out, "out", "", "the forger checkpoint to write")
	return cmd
}
