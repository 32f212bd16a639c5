package gan

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"forger/tensor"
)

// ModelInfo describes a checkpoint for listings (`forger models list`, the
// studio's model picker).
type ModelInfo struct {
	Path     string   `json:"path"`
	Name     string   `json:"name"`
	Arch     string   `json:"arch"`
	Size     int      `json:"size"`
	Channels int      `json:"channels"`
	Classes  []string `json:"classes"`
	Epochs   int      `json:"epochs"`
	Images   int64    `json:"images"`
}

// ReadInfo reads a checkpoint's description without loading its tensors
// into a network.
func ReadInfo(path string) (ModelInfo, error) {
	f, cfg, err := Open(path)
	if err != nil {
		return ModelInfo{}, err
	}
	return info(path, f, cfg), nil
}

func info(path string, f *tensor.File, cfg Config) ModelInfo {
	var st struct {
		Epoch  int   `json:"epoch"`
		Images int64 `json:"images"`
	}
	json.Unmarshal([]byte(f.Metadata[MetaTrain]), &st)
	name := strings.TrimSuffix(filepath.Base(path), ".safetensors")
	if dir := filepath.Dir(path); filepath.Base(dir) == "checkpoints" {
		name = filepath.Base(filepath.Dir(dir)) + "/" + name
	}
	classes := cfg.Classes
	if classes == nil {
		classes = []string{}
	}
	return ModelInfo{Path: path, Name: name, Arch: cfg.Arch, Size: cfg.Size, Channels: cfg.Channels,
		Classes: classes, Epochs: st.Epoch, Images: st.Images}
}

// FindModels lists the forger checkpoints under dir (recursively), skipping
// the latest.safetensors links and files that are not forger checkpoints.
func FindModels(dir string) ([]ModelInfo, error) {
	var out []ModelInfo
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable corners are skipped, not fatal
		}
		if d.IsDir() || !strings.HasSuffix(p, ".safetensors") || d.Name() == LatestName {
			return nil
		}
		if d.Type()&os.ModeSymlink != 0 {
			return nil
		}
		if mi, err := ReadInfo(p); err == nil {
			out = append(out, mi)
		}
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, err
}
