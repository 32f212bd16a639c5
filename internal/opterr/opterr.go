// Package opterr defines the error forger's library packages return for an
// option value they cannot use. A library names the option by its Go name
// (Steps, Config.Size), never by a command-line flag: only cmd/forger knows
// how its users spell an option, and it turns an *Error into a sentence that
// names the flag (Error.Text).
//
// Each library re-exports the type (type OptionError = opterr.Error), so a
// Go user of gan, train or latent can errors.As it without importing an
// internal package, and cmd/forger handles one type for all of them.
//
// The package's test also checks that no library error message names a flag.
package opterr

import "fmt"

// An Error reports an option value a library cannot use.
type Error struct {
	Pkg    string // the package that refused it, e.g. "latent"
	Option string // the option's Go name, e.g. "Steps"
	Value  any    // the value given; nil when Reason says all
	Reason string // what is wrong, e.g. "must be ≥ 1" or "is not supported (use 1 or 3)"
	Colon  bool   // Reason is a clause of its own, after a colon: `FaceModel "x": no such model`
	Err    error  // the error underneath, if any (Unwrap returns it)
}

// New returns an *Error.
func New(pkg, option string, value any, reason string) *Error {
	return &Error{Pkg: pkg, Option: option, Value: value, Reason: reason}
}

func (e *Error) Error() string { return e.Pkg + ": " + e.Text(e.Option) }

// Unwrap returns the error underneath, if any.
func (e *Error) Unwrap() error { return e.Err }

// Text is the message with the option called name (a flag, say), without
// the package: the name, the value and the Reason, after a space or (Colon)
// a colon.
func (e *Error) Text(name string) string {
	sep := " "
	if e.Colon {
		sep = ": "
	}
	switch v := e.Value.(type) {
	case nil:
		return name + sep + e.Reason
	case string:
		return fmt.Sprintf("%s %q%s%s", name, v, sep, e.Reason)
	default:
		return fmt.Sprintf("%s %v%s%s", name, v, sep, e.Reason)
	}
}
