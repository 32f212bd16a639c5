package latent

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ReadLabels reads a labels CSV (forger direction learn --labels): rows of
// (seed, latent file or photo; 0/1, false/true or no/yes), an optional
// header row, # comments; relative paths are read from the CSV's folder,
// seeds (42 or seed:42) and absolute paths are kept as they are.
func ReadLabels(path string) (specs []string, labels []bool, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("reading labels: %w", err)
	}
	dir := filepath.Dir(path)
	header := false
	for i, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		a, l, ok := strings.Cut(line, ",")
		a, l = strings.Trim(strings.TrimSpace(a), `"`), strings.TrimSpace(l)
		var v bool
		switch strings.ToLower(l) {
		case "1", "true", "yes":
			v = true
		case "0", "false", "no":
		default:
			if len(specs) == 0 && !header {
				header = true // the first row names the columns
				continue
			}
			if !ok {
				return nil, nil, fmt.Errorf("%s line %d: want SEED|LATENT|PHOTO,LABEL", path, i+1)
			}
			return nil, nil, fmt.Errorf("%s line %d: the label is %q, want 0 or 1", path, i+1, l)
		}
		if _, err := strconv.ParseInt(strings.TrimPrefix(a, "seed:"), 10, 64); err != nil && !filepath.IsAbs(a) {
			a = filepath.Join(dir, a)
		}
		specs = append(specs, a)
		labels = append(labels, v)
	}
	if len(specs) == 0 {
		return nil, nil, fmt.Errorf("%s: no labelled rows (want lines of: seed, latent file or photo, then 0 or 1)", path)
	}
	return specs, labels, nil
}
