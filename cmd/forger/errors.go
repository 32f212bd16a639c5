package main

// Library errors in the words of the command line: the packages name an
// option by its Go name (opterr.Error, re-exported as gan.OptionError,
// latent.OptionError, …); the CLI names its flag.

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"unicode"

	"github.com/spf13/cobra"

	"forger/dataset"
	"forger/face/facedb"
	"forger/gan"
	"forger/internal/opterr"
	"forger/latent"
	"forger/metrics"
	"forger/train"
)

// explain returns err worded in terms of cmd's flags: the library option
// error in it (if any) names its flag, and the library sentinels in it
// read as the command line's sentences, with their advice.
func explain(cmd *cobra.Command, err error) error {
	msg := err.Error()
	var oe *opterr.Error
	if errors.As(err, &oe) {
		if flag := flagFor(cmd, oe.Option); flag != "" {
			msg = strings.Replace(msg, oe.Error(), oe.Text(flag), 1)
		}
	}
	for _, s := range sentences {
		if errors.Is(err, s.err) {
			if s.say != "" {
				msg = strings.Replace(msg, s.err.Error(), s.say, 1)
			}
			msg += s.advice
		}
	}
	var few *latent.TooFewError
	if errors.As(err, &few) {
		msg = strings.Replace(msg, few.Error(), fmt.Sprintf("only %d of %d generated faces lack %q and match --where: use a larger --max-tries or fewer -n", few.Found, few.Tried, few.Attribute), 1)
	}
	var nr *dataset.NotRenderedError
	if errors.As(err, &nr) {
		flags := ""
		if nr.Misalign {
			flags += " --misalign"
		}
		if nr.Size > 0 {
			flags += fmt.Sprintf(" --size %d", nr.Size)
		}
		msg += fmt.Sprintf(": run 'forger data get cartoon-faces%s'", flags)
	}
	if msg == err.Error() {
		return err
	}
	return errors.New(msg)
}

// sentences are the library sentinels the command line words its own way:
// say replaces the sentinel's text, advice follows the message.
var sentences = []struct {
	err         error
	say, advice string
}{
	{train.ErrResumeNoLength, "--resume: the run trained until the clock; say how long to go on with --minutes M (or --epochs N, in all)", ""},
	{train.ErrNoLength, "--epochs must be at least 1 (or leave it out and give --minutes to train until the clock)", ""},
	{train.ErrR1BatchNorm, "--r1 needs a discriminator without batch norm: add --spectral-norm or --d-norm none", ""},
	{train.ErrNoCheckpoint, "--resume: no checkpoint", " (start without --resume)"},
	{train.ErrHasCheckpoints, "", ": add --resume to continue it, or choose another --out"},
	{train.ErrDataChanged, "", " (resume needs the same --data and --limit)"},
	{gan.ErrFewClasses, "", " (--model dcgan needs none)"},
	{gan.ErrNotDCGAN, "this command takes dcgan and cdcgan models only", " (generate, mix, project, morph, blend, direction, edit, encoder train, serve and export onnx take stylegans)"},
	{gan.ErrNoDiscriminator, "", ": use --features judge with --features-judge JUDGE, or --loss pixel"},
	{dataset.ErrNotCartoonSet, "", " (--dir)"},
	{facedb.ErrNoIndex, "", " (build one with 'forger face index GALLERY --db FILE')"},
	{metrics.ErrNotJudgesData, "", " (make one with: forger judge train --data DATA --out JUDGE)"},
}

// makeOne adds to the error of a file that does not exist the command that
// makes one.
func makeOne(err error, command string) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w (make one with: %s)", err, command)
	}
	return err
}

// flagFor returns the flag of cmd that sets the library option named option
// ("LabelSmoothing": --label-smoothing; "Steps" in morph: --project-steps),
// or "" when cmd has none.
func flagFor(cmd *cobra.Command, option string) string {
	if cmd == nil {
		return ""
	}
	name := kebab(option)
	if f, ok := flagNames[option]; ok {
		name = f
	}
	for _, f := range setBy[option] {
		if cmd.Flags().Changed(f) {
			name = f // the one given
			break
		}
	}
	for _, f := range []string{name, "project-" + name} {
		if cmd.Flags().Lookup(f) != nil {
			if len(f) == 1 {
				return "-" + f // -n
			}
			return "--" + f
		}
	}
	return ""
}

// flagNames are the options whose flags kebab does not spell.
var flagNames = map[string]string{"LRG": "lr-g", "LRD": "lr-d", "Pairs": "ppl-n", "MinibatchStd": "mbstd", "DNoNorm": "d-norm"}

// setBy are the options that either of two flags sets: an error names the
// one given.
var setBy = map[string][]string{"SpectralNorm": {"d-norm", "spectral-norm"}, "DNoNorm": {"d-norm", "spectral-norm"}}

// kebab turns a Go name into a flag name: LabelSmoothing → label-smoothing,
// GCond → g-cond, ADATarget → ada-target, R1Every → r1-every, NZ → nz.
func kebab(name string) string {
	rs := []rune(name)
	var b strings.Builder
	for i, r := range rs {
		if i > 0 && unicode.IsUpper(r) {
			prev := rs[i-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || nextLower {
				b.WriteByte('-')
			}
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}
