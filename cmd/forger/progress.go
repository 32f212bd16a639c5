package main

import (
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
)

// newBar returns a progress bar on stderr showing items/s and the ETA, or a
// silent one when show is false.
func newBar(n int, desc string, show bool) *progressbar.ProgressBar {
	var w io.Writer = os.Stderr
	if !show {
		w = io.Discard
	}
	return progressbar.NewOptions(n,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription(desc),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("it"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100_000_000),
		progressbar.OptionClearOnFinish(),
	)
}
