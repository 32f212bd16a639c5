package dataset

import (
	"fmt"
	"image"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/image/draw"

	"forger/picture"
)

const (
	// progressMin is the number of files above which openFolder shows a
	// progress bar; smaller folders load in about a second.
	progressMin = 300

	// maxPixels bounds the size of an image file openFolder will decode,
	// so that one huge (or malicious) file cannot exhaust memory.
	maxPixels = 1 << 26

	// maxSkipExamples is the number of skipped files Set.SkipExamples
	// keeps.
	maxSkipExamples = 5
)

// The notes forger face align writes into its output folder beside the
// crops. That folder is meant to be trained on, so a folder holding
// AlignReport is read without its AlignSheet: the sheet is a picture of the
// alignment, not a face.
const (
	AlignReport = "report.csv"
	AlignSheet  = "contact-sheet.png"
)

// isImage reports whether name has the extension of a decodable image.
func isImage(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".png", ".jpg", ".jpeg", ".gif", ".webp":
		return true
	}
	return false
}

// openFolder loads the images below dir. Hidden files and folders (names
// starting with ".") are ignored, as is an alignment's contact sheet. A dir that is a symbolic link is read as
// the folder it points to (WalkDir alone would not enter it); links below
// it are not followed.
func openFolder(dir string, o Options) (*Set, error) {
	root := dir // messages name the folder as given
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		root = real
	}
	var paths []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() && isImage(d.Name()) && !alignNote(p) {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading image folder: %w", err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no images (png, jpeg, gif, webp) in %s", dir)
	}
	slices.Sort(paths)

	classes, labels := folderClasses(root, paths)
	want := len(paths)
	if o.Limit > 0 {
		want = min(want, o.Limit)
	}
	s := &Set{Size: o.Size, Channels: o.Channels, Classes: classes}
	s.Images = make([]float32, want*s.ImageSize())
	s.Labels = make([]int32, 0, want)

	var bar *progressbar.ProgressBar
	if o.Progress != nil && len(paths) > progressMin {
		bar = progressbar.NewOptions(want,
			progressbar.OptionSetWriter(o.Progress),
			progressbar.OptionSetDescription("loading "+dir),
			progressbar.OptionShowCount(),
			progressbar.OptionThrottle(100*time.Millisecond))
	}

	// Decode in rounds: the first round decodes the first want files, and
	// each further round as many more as files were skipped, until the set
	// is full or the files run out. Results are written in place and then
	// compacted, so the order is that of the sorted paths.
	sz := s.ImageSize()
	next := 0
	for s.Len() < want && next < len(paths) {
		have := s.Len()
		batch := paths[next : next+min(want-have, len(paths)-next)]
		if bar != nil && next > 0 {
			bar.AddMax(len(batch))
		}
		errs := make([]error, len(batch))
		parallel(len(batch), func() func(int) {
			dst := image.NewRGBA(image.Rect(0, 0, o.Size, o.Size))
			return func(i int) {
				at := (have + i) * sz
				errs[i] = decode(batch[i], dst, s.Images[at:at+sz], o.Channels)
				if bar != nil {
					bar.Add(1)
				}
			}
		})
		for i, err := range errs {
			if err != nil {
				s.Skipped++
				if len(s.SkipExamples) < maxSkipExamples {
					s.SkipExamples = append(s.SkipExamples, batch[i]+": "+err.Error())
				}
				continue
			}
			n := s.Len()
			copy(s.Images[n*sz:(n+1)*sz], s.Images[(have+i)*sz:])
			s.Labels = append(s.Labels, labels[next+i])
		}
		next += len(batch)
	}
	if bar != nil {
		bar.Finish()
		fmt.Fprintln(o.Progress)
	}
	if s.Len() == 0 {
		return nil, fmt.Errorf("none of the %d images in %s could be decoded (first: %s)", s.Skipped, dir, s.SkipExamples[0])
	}
	s.Images = s.Images[:s.Len()*sz]
	return s, nil
}

// alignNote reports whether the file at p is the contact sheet of an
// alignment: AlignSheet with AlignReport beside it.
func alignNote(p string) bool {
	if filepath.Base(p) != AlignSheet {
		return false
	}
	_, err := os.Stat(filepath.Join(filepath.Dir(p), AlignReport))
	return err == nil
}

// folderClasses returns the class names and the label of each path. The
// classes are the sorted names of the first-level sub-folders of dir, if
// every path lies in one; otherwise there are none and all labels are 0.
func folderClasses(dir string, paths []string) (classes []string, labels []int32) {
	names := make([]string, len(paths))
	for i, p := range paths {
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return nil, make([]int32, len(paths))
		}
		class, _, ok := strings.Cut(filepath.ToSlash(rel), "/")
		if !ok {
			return nil, make([]int32, len(paths))
		}
		names[i] = class
	}
	classes = slices.Compact(slices.Sorted(slices.Values(names)))
	labels = make([]int32, len(paths))
	for i, name := range names {
		j, _ := slices.BinarySearch(classes, name)
		labels[i] = int32(j)
	}
	return classes, labels
}

// decode reads the image file at path, centre-crops it to a square,
// resizes it into dst with Catmull-Rom filtering and writes it to out as
// floats. Transparent pixels become black.
func decode(path string, dst *image.RGBA, out []float32, channels int) (err error) {
	// The decoders should not panic on bad input, but a file that makes
	// one do so must cost only itself, not the whole load.
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("decoder panic: %v", r)
		}
	}()
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	// picture.Load's decoding, without the path in its errors (the caller
	// names the file): EXIF orientation, the size checked before decoding.
	m, err := picture.DecodeBytes(data, picture.Limits{MaxPixels: maxPixels})
	if err != nil {
		return err
	}
	draw.CatmullRom.Scale(dst, dst.Bounds(), m, centreSquare(m.Bounds()), draw.Src, nil)
	toFloats(out, dst, channels)
	return nil
}
