package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"forger/gan"
	"forger/runfolder"
)

// modelKinds says what a model argument may be.
const modelKinds = "a model is a .safetensors checkpoint, a run folder or a name from forger models list"

// modelArg turns a model argument into the path of a checkpoint file: a
// checkpoint, a run folder (its latest checkpoint) or a name as forger
// models list shows it (a run's name stands for its newest checkpoint),
// looked up under the current folder. Its errors say what a model may be
// and name the nearest there are.
func modelArg(flag, arg string) (string, error) {
	if arg == "" {
		return "", usagef("%s is required: %s", flag, modelKinds)
	}
	if st, err := os.Stat(arg); err == nil {
		if !st.IsDir() {
			return arg, nil
		}
		p := runfolder.Resolve(arg)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		hint := ""
		if infos, _ := gan.FindModels(arg); len(infos) > 0 {
			hint = fmt.Sprintf("; it holds %d checkpoint(s), e.g. %s (forger models list %s)", len(infos), infos[len(infos)-1].Path, arg)
		}
		return "", usagef("%s %s: a folder without %s, so not a run folder (%s)%s", flag, arg, runfolder.Latest(""), modelKinds, hint)
	}
	mi, err := gan.FindModel(".", arg)
	if err == nil {
		return mi.Path, nil
	}
	var near []string
	var nf *gan.ModelNotFoundError
	if errors.As(err, &nf) {
		near = nf.Nearest
	}
	near = append(nearbyPaths(arg), near...)
	if len(near) > 3 {
		near = near[:3]
	}
	msg := fmt.Sprintf("%s %s: no such checkpoint, run folder or model name here (%s)", flag, arg, modelKinds)
	if len(near) > 0 {
		msg += "; nearest: " + strings.Join(near, ", ")
	}
	return "", usagef("%s", msg)
}

// nearbyPaths suggests files and folders beside a mistyped path: those of
// its folder whose names are nearest to its own.
func nearbyPaths(arg string) []string {
	dir, base := filepath.Split(arg)
	if dir == "" {
		dir = "."
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".safetensors") {
			names = append(names, e.Name())
		}
	}
	var out []string
	for _, n := range gan.Nearest(base, names, 3) {
		out = append(out, filepath.Join(filepath.Dir(arg), n))
	}
	return out
}

// loadGeneratorNet is loadGenerator for models of any architecture
// (stylegan included).
func loadGeneratorNet(flag string, model *string) (gan.GeneratorNet, error) {
	return loadModel(flag, model, gan.LoadGeneratorNet)
}

// loadGenerator loads the generator a model argument names; when it is a
// model name, it sets *model to the checkpoint's path (paths are kept as
// given).
func loadGenerator(flag string, model *string) (*gan.Generator, error) {
	return loadModel(flag, model, gan.LoadGenerator)
}

// loadModel resolves a model argument and loads it with load, wording a
// file that is no checkpoint with the flag.
func loadModel[T any](flag string, model *string, load func(string) (T, error)) (T, error) {
	var zero T
	path, err := modelArg(flag, *model)
	if err != nil {
		return zero, err
	}
	g, err := load(path)
	if errors.Is(err, gan.ErrNotCheckpoint) {
		return zero, usagef("%s %s: not a forger checkpoint (%s)", flag, *model, modelKinds)
	}
	if err != nil {
		return zero, err
	}
	if _, err := os.Stat(*model); err != nil {
		*model = path
	}
	return g, nil
}
