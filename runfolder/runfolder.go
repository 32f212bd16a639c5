// Package runfolder is the one place that knows the layout of a run folder,
// the folder forger train writes and every later command reads:
//
//	<run>/checkpoints/<E>e_<K>k_<S>x<S>.safetensors   checkpoints (CheckpointName)
//	<run>/checkpoints/latest.safetensors              link to the newest (Latest)
//	<run>/samples/epoch_NNN.png                       grid after each epoch, short ones on the sample clock (EpochGrid)
//	<run>/samples/epoch_NNN_KKKKKk.png                grids taken during epoch NNN+1 (StepGrid)
//	<run>/metrics.jsonl                               one JSON line per logging step
//	<run>/losses.png, <run>/progress.gif              loss curves, the grids as an animation
//	<run>/directions/<attribute>.json                 learned directions (forger direction learn)
//	<run>/encoder.safetensors                         the model's encoder (forger encoder train)
//
// Every name here is a contract with existing run folders and scripts. The
// package depends on nothing in forger, so gan, train, latent, studio and
// lookalike can all ask it.
//
// A checkpoint belongs to a run when it sits in a checkpoints/ folder; a
// checkpoint anywhere else has no run folder (Of returns ""), so no
// directions and no encoder.
package runfolder

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Names of the folders and files in a run folder.
const (
	CheckpointsDir = "checkpoints"
	LatestName     = "latest.safetensors" // in CheckpointsDir: a link to the newest checkpoint
	SamplesDir     = "samples"
	MetricsName    = "metrics.jsonl"
	LossesName     = "losses.png"
	ProgressName   = "progress.gif"
	DirectionsDir  = "directions"
	EncoderName    = "encoder.safetensors"
)

// Checkpoints is <run>/checkpoints.
func Checkpoints(run string) string { return filepath.Join(run, CheckpointsDir) }

// Latest is <run>/checkpoints/latest.safetensors.
func Latest(run string) string { return filepath.Join(run, CheckpointsDir, LatestName) }

// CheckpointName names the checkpoint taken after epochs epochs and images
// real images, of size×size images: "3e_180k_64x64.safetensors".
func CheckpointName(epochs int, images int64, size int) string {
	return fmt.Sprintf("%de_%dk_%dx%d.safetensors", epochs, images/1000, size, size)
}

// Samples is <run>/samples, the folder of sample grids.
func Samples(run string) string { return filepath.Join(run, SamplesDir) }

// EpochGrid is the grid drawn after epoch epoch (0: before training).
func EpochGrid(run string, epoch int) string {
	return filepath.Join(run, SamplesDir, fmt.Sprintf("epoch_%03d.png", epoch))
}

// StepGrid is a grid drawn during the epoch after epoch, once images real
// images had been seen: epoch_NNN_KKKKKk.png.
func StepGrid(run string, epoch int, images int64) string {
	return filepath.Join(run, SamplesDir, fmt.Sprintf("epoch_%03d_%05dk.png", epoch, images/1000))
}

// Metrics is <run>/metrics.jsonl.
func Metrics(run string) string { return filepath.Join(run, MetricsName) }

// Losses is <run>/losses.png.
func Losses(run string) string { return filepath.Join(run, LossesName) }

// Progress is <run>/progress.gif.
func Progress(run string) string { return filepath.Join(run, ProgressName) }

// Directions is <run>/directions.
func Directions(run string) string { return filepath.Join(run, DirectionsDir) }

// Direction is the file of attribute's learned direction,
// <run>/directions/<attribute>.json.
func Direction(run, attribute string) string {
	return filepath.Join(run, DirectionsDir, attribute+".json")
}

// Encoder is <run>/encoder.safetensors.
func Encoder(run string) string { return filepath.Join(run, EncoderName) }

// Resolve turns a run folder or its checkpoints folder into the path of its
// latest checkpoint; other paths, and paths that do not exist, are returned
// unchanged.
func Resolve(path string) string {
	st, err := os.Stat(path)
	if err != nil || !st.IsDir() {
		return path
	}
	for _, p := range []string{Latest(path), filepath.Join(path, LatestName)} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return Latest(path)
}

// Of returns the run folder of a checkpoint (a run folder itself resolves
// to its latest checkpoint first), or "" when the checkpoint is not in a
// checkpoints/ folder.
func Of(checkpoint string) string {
	if dir := filepath.Dir(Resolve(checkpoint)); filepath.Base(dir) == CheckpointsDir {
		return filepath.Dir(dir)
	}
	return ""
}

// DirectionsOf is the directions folder of a checkpoint's run, or "" when
// it has no run folder.
func DirectionsOf(checkpoint string) string {
	if run := Of(checkpoint); run != "" {
		return Directions(run)
	}
	return ""
}

// EncoderOf is the encoder of a checkpoint's run, or "" when it has no run
// folder.
func EncoderOf(checkpoint string) string {
	if run := Of(checkpoint); run != "" {
		return Encoder(run)
	}
	return ""
}

// ModelName names a checkpoint as forger models list shows it: "run/stem"
// for a checkpoint in a run's checkpoints/ folder (run is the run folder's
// base name, also returned), else the file's stem and run "". The path is
// taken as given, not resolved.
func ModelName(checkpoint string) (name, run string) {
	name = strings.TrimSuffix(filepath.Base(checkpoint), ".safetensors")
	if dir := filepath.Dir(checkpoint); filepath.Base(dir) == CheckpointsDir {
		run = filepath.Base(filepath.Dir(dir))
		name = run + "/" + name
	}
	return name, run
}
