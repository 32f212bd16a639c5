package main

// forger models get face / forger models path: install face-api.js's face
// models (68-point landmarks, 128-D descriptor, tiny face detector) and say
// where they are. The download itself is scripts/face/get-models.sh, which
// fetches the npm package with npm and checks every file's SHA-256.

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"forger/internal/home"
)

// faceModelsScript is the installer, relative to the repository root.
const faceModelsScript = "scripts/face/get-models.sh"

// faceModelFiles are the files the face networks load; `models path`
// reports the folder as missing unless all of them are there.
var faceModelFiles = []string{
	"face_landmark_68_model-weights_manifest.json",
	"face_landmark_68_model.bin",
	"face_recognition_model-weights_manifest.json",
	"face_recognition_model.bin",
	"tiny_face_detector_model-weights_manifest.json",
	"tiny_face_detector_model.bin",
}

// faceModelsManual is what to run by hand when the installer script cannot
// be found (%s is the destination folder, shell-quoted).
const faceModelsManual = `cd "$(mktemp -d)" && npm pack @vladmandic/face-api@1.7.15 && tar -xzf vladmandic-face-api-1.7.15.tgz && mkdir -p %[1]s && cp package/model/face_landmark_68_model* package/model/face_recognition_model* package/model/tiny_face_detector_model* package/demo/sample[1-6].jpg package/LICENSE %[1]s/`

// faceModelDir is the folder holding the face models: $FORGER_HOME/models/face
// (or $HOME/.forger/models/face).
func faceModelDir() string { return filepath.Join(home.ModelsDir(), "face") }

// missingFaceModelFiles lists the files of faceModelFiles that dir lacks.
func missingFaceModelFiles(dir string) []string {
	var missing []string
	for _, f := range faceModelFiles {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || !st.Mode().IsRegular() {
			missing = append(missing, f)
		}
	}
	return missing
}

func modelsGetCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:       "get face",
		Short:     "Download face-api.js's face models (npm package @vladmandic/face-api, MIT) and check their SHA-256 sums",
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"face"},
		RunE: func(cmd *cobra.Command, args []string) error {
			if args[0] != "face" {
				return usagef("models get: unknown model set %q (known: face)", args[0])
			}
			dest := dir
			if dest == "" {
				dest = faceModelDir()
			}
			if abs, err := filepath.Abs(dest); err == nil {
				dest = abs
			}
			script := findFaceModelsScript()
			if script == "" {
				q := shellQuote(dest)
				fmt.Fprintf(cmd.ErrOrStderr(), "forger: %s was not found next to the forger binary or in the current folder or its parents.\n"+
					"Run it from a forger checkout (bash %s %s), or install the files by hand (needs npm; the checksums are in scripts/face/SHA256SUMS):\n  %s\n",
					faceModelsScript, faceModelsScript, q, fmt.Sprintf(faceModelsManual, q))
				return errors.New("models get face: " + faceModelsScript + " not found; see the manual command above")
			}
			run := exec.CommandContext(cmd.Context(), "bash", script, dest)
			run.Stdin = nil
			run.Stdout = cmd.OutOrStdout()
			run.Stderr = cmd.ErrOrStderr()
			if err := run.Run(); err != nil {
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					return fmt.Errorf("models get face: %s failed (exit code %d)", script, ee.ExitCode())
				}
				return fmt.Errorf("models get face: running %s: %w", script, err)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "install into this folder (default $FORGER_HOME/models/face)")
	return cmd
}

func modelsPathCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "path",
		Short: "Print the face model folder; fails when its files are missing",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			dir := faceModelDir()
			if missing := missingFaceModelFiles(dir); len(missing) > 0 {
				return fmt.Errorf("face models are missing: run 'forger models get face' (%s lacks %s)", dir, strings.Join(missing, ", "))
			}
			fmt.Fprintln(cmd.OutOrStdout(), dir)
			return nil
		},
	}
}

func findFaceModelsScript() string { return home.Script(faceModelsScript) }

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("/._-+=:,@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
