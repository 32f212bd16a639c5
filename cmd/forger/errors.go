package main

// Library errors in the words of the command line: the packages name an
// option by its Go name (opterr.Error, re-exported as gan.OptionError,
// latent.OptionError, …); the CLI names its flag.

import (
	"errors"
	"strings"
	"unicode"

	"github.com/spf13/cobra"

	"forger/internal/opterr"
)

// explain returns err with the library option error in it (if any) worded
// in terms of cmd's flags.
func explain(cmd *cobra.Command, err error) error {
	var oe *opterr.Error
	if !errors.As(err, &oe) {
		return err
	}
	flag := flagFor(cmd, oe.Option)
	if flag == "" {
		return err
	}
	return errors.New(strings.Replace(err.Error(), oe.Error(), oe.Text(flag), 1))
}

// flagFor returns the flag of cmd that sets the library option named option
// ("LabelSmoothing": --label-smoothing; "Steps" in morph: --project-steps),
// or "" when cmd has none.
func flagFor(cmd *cobra.Command, option string) string {
	if cmd == nil {
		return ""
	}
	name := kebab(option)
	for _, f := range []string{name, "project-" + name} {
		if cmd.Flags().Lookup(f) != nil {
			return "--" + f
		}
	}
	return ""
}

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
