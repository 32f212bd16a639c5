package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"forger/blas"
	"forger/parallel"
)

func versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print forger's version and the active GEMM back-end",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "forger %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			fmt.Fprintf(out, "gemm: %s, threads: %d (%s; pure-Go kernel: %s)\n", blas.Backend(), parallel.Workers(), blas.Reason(), blas.Kernel())
			if err := blas.OpenBLASError(); err != nil {
				fmt.Fprintf(out, "openblas: not in use: %v\n", err)
			}
			return nil
		},
	}
}
