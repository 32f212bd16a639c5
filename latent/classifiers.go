package latent

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
)

// ErrNoClassifierDir is FindClassifiers' error when other attributes are
// asked for (preserve or where) without a folder to find their classifiers
// in.
var ErrNoClassifierDir = errors.New("the other attributes' classifiers need a classifier folder")

// EditClassifiers are the classifiers an edit check reads (see Check).
type EditClassifiers struct {
	// Target is the classifier of the edited attribute.
	Target *Classifier
	// Others are the classifiers of the attributes the edit must keep, by
	// name; Names lists them sorted.
	Others map[string]*Classifier
	Names  []string
}

// FindClassifiers loads the classifiers of an edit of attribute: the
// target's from targetPath (default dir/ATTRIBUTE.safetensors), and those
// of the attributes named in preserve and where (default: every other
// NAME.safetensors in dir), each from dir/NAME.safetensors.
func FindClassifiers(dir, targetPath, attribute string, preserve []string, where map[string]bool) (*EditClassifiers, error) {
	if targetPath == "" {
		targetPath = filepath.Join(dir, attribute+".safetensors")
	}
	target, err := LoadClassifier(targetPath, "")
	if err != nil {
		return nil, err
	}
	target.Attribute = attribute
	names := preserve
	if len(names) == 0 && dir != "" {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if name, ok := strings.CutSuffix(e.Name(), ".safetensors"); ok && name != attribute {
				names = append(names, name)
			}
		}
	}
	names = slices.DeleteFunc(slices.Clone(names), func(n string) bool { return n == attribute })
	for name := range where {
		if !slices.Contains(names, name) && name != attribute {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	out := &EditClassifiers{Target: target, Others: map[string]*Classifier{}, Names: names}
	for _, name := range names {
		if dir == "" {
			return nil, ErrNoClassifierDir
		}
		c, err := LoadClassifier(filepath.Join(dir, name+".safetensors"), "")
		if err != nil {
			return nil, err
		}
		c.Attribute = name
		out.Others[name] = c
	}
	return out, nil
}
