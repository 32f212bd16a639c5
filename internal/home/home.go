// Package home locates forger's per-user directory, where downloaded data
// sets and trained models are kept.
//
// The directory is $FORGER_HOME when that is set, so that tests and
// shared machines can redirect it, and $HOME/.forger otherwise. Script finds
// the helper scripts of a forger checkout (Node renderers, downloads).
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

// Script finds one of forger's helper scripts by its path relative to the
// repository (for example "scripts/face/get-models.sh"): in the folder above
// the executable's (bin/forger in a checkout), in the executable's own
// folder, then in the current folder and each of its parents. It returns ""
// when there is none.
func Script(rel string) string {
	var dirs []string
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		d := filepath.Dir(exe)
		dirs = append(dirs, filepath.Dir(d), d)
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			dirs = append(dirs, d)
			if filepath.Dir(d) == d {
				break
			}
		}
	}
	for _, d := range dirs {
		p := filepath.Join(d, filepath.FromSlash(rel))
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
	}
	return ""
}
