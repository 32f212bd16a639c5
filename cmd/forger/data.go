package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"forger/dataset"
)

func dataCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "data", Short: "Get data sets"}
	var dir string
	get := &cobra.Command{
		Use:   "get fashion-mnist|mnist",
		Short: "Make a built-in data set available and print where it is",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path, err := dataset.Get(args[0], dir, cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), path)
			return nil
		},
	}
	get.Flags().StringVar(&dir, "dir", "", "copy the files into this folder")
	cmd.AddCommand(get)
	return cmd
}
