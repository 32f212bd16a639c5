package main

import "github.com/spf13/cobra"

// exportCmd is `forger export onnx`.
func exportCmd() *cobra.Command {
	return &cobra.Command{Use: "export", Short: "Send forger's models to other runtimes (export onnx)"}
}
