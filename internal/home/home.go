// Package home locates forger's per-user directory, where downloaded data
// sets and trained models are kept.
//
// The directory is $FORGER_HOME when that is set, so that tests and
// shared machines can redirect it, and $HOME/.forger otherwise.
package home

import (
	"os"
	"path/filepath"
)

// Dir returns forger's home directory: $FORGER_HOME if set, else
// $HOME/.forger. It does not create the directory. If neither variable
// is usable it falls back to ".forger" in the current directory, so that
// callers always get a path and fail later, with a clear error, when
// they try to use it.
func Dir() string {
	if d := os.Getenv("FORGER_HOME"); d != "" {
		return d
	}
	h, err := os.UserHomeDir()
	if err != nil {
		return ".forger"
	}
	return filepath.Join(h, ".forger")
}

// DataDir returns the directory for downloaded data sets, Dir()/data.
func DataDir() string { return filepath.Join(Dir(), "data") }

// ModelsDir returns the directory for trained models, Dir()/models.
func ModelsDir() string { return filepath.Join(Dir(), "models") }
