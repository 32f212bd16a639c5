package gan

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"forger/runfolder"
)

// ModelInfo describes a checkpoint for listings (`forger models list`, the
// studio's model picker).
type ModelInfo struct {
	Path     string   `json:"path"`
	Name     string   `json:"name"`
	Run      string   `json:"run,omitempty"` // the run's name, for a checkpoint in RUN/checkpoints/
	Arch     string   `json:"arch"`
	Size     int      `json:"size"`
	Channels int      `json:"channels"`
	Classes  []string `json:"classes"`
	Epochs   int      `json:"epochs"`
	Images   int64    `json:"images"`
}

// ReadInfo reads a checkpoint's description from its header alone, without
// reading its tensors (listing a folder of models stays quick).
func ReadInfo(path string) (ModelInfo, error) {
	meta, cfg, err := readHeader(path)
	if err != nil {
		return ModelInfo{}, err
	}
	return info(path, meta, cfg), nil
}

func info(path string, meta map[string]string, cfg Config) ModelInfo {
	var st struct {
		Epoch  int   `json:"epoch"`
		Images int64 `json:"images"`
	}
	json.Unmarshal([]byte(meta[MetaTrain]), &st)
	name, run := runfolder.ModelName(path)
	classes := cfg.Classes
	if classes == nil {
		classes = []string{}
	}
	return ModelInfo{Path: path, Name: name, Run: run, Arch: cfg.Arch, Size: cfg.Size, Channels: cfg.Channels,
		Classes: classes, Epochs: st.Epoch, Images: st.Images}
}

// FindModels lists the forger checkpoints under dir (recursively), sorted
// by path. Every forger checkpoint is listed whatever its name, a copied
// latest.safetensors included; a symbolic link is listed only when the file
// it points to is not (so a run's latest.safetensors link, a duplicate of
// its newest checkpoint, is not). Files that are not forger checkpoints
// are skipped.
func FindModels(dir string) ([]ModelInfo, error) { return findModels(dir, -1) }

// findModels is FindModels going at most maxDepth folders below dir (no
// limit when negative) and, when limited, skipping hidden folders.
func findModels(dir string, maxDepth int) ([]ModelInfo, error) {
	type found struct {
		mi   ModelInfo
		real string
		link bool
	}
	var all []found
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable corners are skipped, not fatal
		}
		if d.IsDir() {
			if maxDepth >= 0 && p != dir {
				rel, _ := filepath.Rel(dir, p)
				if strings.HasPrefix(d.Name(), ".") || strings.Count(rel, string(filepath.Separator)) >= maxDepth {
					return filepath.SkipDir
				}
			}
			return nil
		}
		if !strings.HasSuffix(p, ".safetensors") {
			return nil
		}
		link := d.Type()&os.ModeSymlink != 0
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			return nil // a dangling link
		}
		if st, err := os.Stat(real); err != nil || !st.Mode().IsRegular() {
			return nil
		}
		if mi, err := ReadInfo(p); err == nil {
			if abs, err := filepath.Abs(real); err == nil {
				real = abs
			}
			all = append(all, found{mi, real, link})
		}
		return nil
	})
	seen := map[string]bool{}
	for _, f := range all {
		if !f.link {
			seen[f.real] = true
		}
	}
	var out []ModelInfo
	for _, f := range all {
		if f.link {
			if seen[f.real] {
				continue
			}
			seen[f.real] = true
		}
		out = append(out, f.mi)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, err
}

// Newest keeps one entry per run: its newest checkpoint (the most images
// trained, as the run's latest.safetensors link points to), named after
// the run. Checkpoints outside a run folder are kept as they are. The
// order is that of infos.
func Newest(infos []ModelInfo) []ModelInfo {
	best := map[string]int{} // run → index in infos
	for i, mi := range infos {
		if mi.Run == "" {
			continue
		}
		j, ok := best[mi.Run]
		if !ok || newer(mi, infos[j]) {
			best[mi.Run] = i
		}
	}
	var out []ModelInfo
	done := map[string]bool{}
	for _, mi := range infos {
		if mi.Run == "" {
			out = append(out, mi)
			continue
		}
		if done[mi.Run] {
			continue
		}
		done[mi.Run] = true
		newest := infos[best[mi.Run]]
		newest.Name = mi.Run
		out = append(out, newest)
	}
	return out
}

// newer orders checkpoints of one run: more images, then more epochs, then
// a file of its own before a copy named latest.
func newer(a, b ModelInfo) bool {
	if a.Images != b.Images {
		return a.Images > b.Images
	}
	if a.Epochs != b.Epochs {
		return a.Epochs > b.Epochs
	}
	return filepath.Base(b.Path) == runfolder.LatestName && filepath.Base(a.Path) != runfolder.LatestName
}

// FindDepth is how many folders below its folder FindModel looks: enough
// for runs/<run>/checkpoints/<file>.
const FindDepth = 4

// ModelNotFoundError is returned by FindModel when no model has the name;
// Nearest holds the closest names there are (at most three).
type ModelNotFoundError struct {
	Name    string
	Dir     string
	Nearest []string
}

func (e *ModelNotFoundError) Error() string {
	s := fmt.Sprintf("no model named %q under %s", e.Name, e.Dir)
	if len(e.Nearest) > 0 {
		s += " (nearest: " + strings.Join(e.Nearest, ", ") + ")"
	}
	return s
}

// FindModel looks a model up by name under dir: a checkpoint's name as
// FindModels gives it (run/stem, or the stem of a file outside a run), or
// a run's name, which stands for its newest checkpoint. It looks at most
// FindDepth folders deep and not in hidden folders. A name that matches
// nothing gives a *ModelNotFoundError with the nearest names.
func FindModel(dir, name string) (ModelInfo, error) {
	infos, _ := findModels(dir, FindDepth)
	runs := Newest(infos)
	for _, list := range [][]ModelInfo{runs, infos} {
		for _, mi := range list {
			if mi.Name == name {
				return mi, nil
			}
		}
	}
	var names []string
	for _, mi := range runs {
		names = append(names, mi.Name)
	}
	for _, mi := range infos {
		if mi.Run != "" {
			names = append(names, mi.Name)
		}
	}
	return ModelInfo{}, &ModelNotFoundError{Name: name, Dir: dir, Nearest: Nearest(name, names, 3)}
}

// Nearest returns up to k of names closest to name: those that contain it
// or that it contains, then by edit distance (a swap of two neighbours
// counts one), leaving out names too far to be a typo of it (more than a
// third of its length, or one edit for short names).
func Nearest(name string, names []string, k int) []string {
	type cand struct {
		s string
		d int
	}
	lname := strings.ToLower(name)
	var cs []cand
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			continue
		}
		seen[n] = true
		ln := strings.ToLower(n)
		d := editDistance(lname, ln)
		if lname != "" && (strings.Contains(ln, lname) || strings.Contains(lname, ln)) {
			d = 0
		} else if d > max(1, len([]rune(name))/3) {
			continue
		}
		cs = append(cs, cand{n, d})
	}
	sort.SliceStable(cs, func(i, j int) bool {
		if cs[i].d != cs[j].d {
			return cs[i].d < cs[j].d
		}
		return cs[i].s < cs[j].s
	})
	var out []string
	for i := 0; i < len(cs) && i < k; i++ {
		out = append(out, cs[i].s)
	}
	return out
}

// editDistance is the optimal-string-alignment distance between a and b,
// in runes: insertions, deletions, substitutions and swaps of neighbours.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	d := make([][]int, len(ra)+1)
	for i := range d {
		d[i] = make([]int, len(rb)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(ra); i++ {
		for j := 1; j <= len(rb); j++ {
			c := 1
			if ra[i-1] == rb[j-1] {
				c = 0
			}
			d[i][j] = min(d[i-1][j-1]+c, d[i-1][j]+1, d[i][j-1]+1)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(ra)][len(rb)]
}
