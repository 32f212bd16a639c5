// Command forger is a GAN studio: train generators on your images, generate,
// judge, and explore their latent space — on the CPU, in one binary.
//
// This file only wires commands; the work is done by the packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		// The first Ctrl-C asks the command to stop; a second one, should
		// it still run, ends the process at once.
		<-ctx.Done()
		stop()
	}()
	root := &cobra.Command{
		Use:           "forger",
		Short:         "forger trains GANs on your images and generates new ones, on the CPU",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(versionCmd(), benchCmd(), dataCmd(), trainCmd(), generateCmd(), mixCmd(), modelsCmd(), faceCmd(), serveCmd())
	root.AddCommand(judgeCmd(), evalCmd(), augmentCmd())
	root.AddCommand(latentCmds()...)
	root.AddCommand(importCmd(), exportCmd())
	if cmd, err := root.ExecuteContextC(ctx); err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			// Ctrl-C: the command stopped where it was; what it had
			// written is whole (files are written to a temporary file and
			// renamed), what it had not is not there.
			fmt.Fprintln(os.Stderr, "forger: interrupted")
			os.Exit(exitInterrupted)
		}
		fmt.Fprintln(os.Stderr, "forger:", oneLine(explain(cmd, err)))
		code := 1
		var ue usageError
		if errors.As(err, &ue) {
			code = 2
		}
		os.Exit(code)
	}
}

// exitInterrupted is the exit code of a command stopped by Ctrl-C (128 +
// SIGINT, as shells report it).
const exitInterrupted = 130

// usageError marks errors in how forger was called (exit code 2).
type usageError struct{ error }

func (e usageError) Unwrap() error { return e.error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// oneLine keeps an error message on one line, as the CLI promises.
func oneLine(err error) string {
	s := err.Error()
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r == '\n' || r == '\r' {
			r = ' '
		}
		out = append(out, r)
	}
	return string(out)
}
