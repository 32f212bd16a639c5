package dataset

// cartoon-faces: a labelled face data set rendered on this machine, for
// where real labelled faces (CelebA) cannot be downloaded. The rendering is
// done by scripts/cartoon-faces/render.mjs, a small Node program using the
// npm packages facesjs (Apache-2.0) and @resvg/resvg-js (MPL-2.0); this
// file finds it, installs its packages with npm ci when needed, runs it
// with a progress bar, moves the result into place and reads it back.

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"

	"forger/internal/home"
	"forger/internal/nodepkg"
)

// Names of the rendered cartoon face sets, for Open: the aligned faces and
// those rendered with --misalign.
const (
	CartoonFaces           = "cartoon-faces"
	CartoonFacesMisaligned = "cartoon-faces-misaligned"
)

// Defaults and limits of CartoonOptions.
const (
	DefaultCartoonN    = 20000
	DefaultCartoonSize = 64
	maxCartoonN        = 1_000_000
	minCartoonSize     = 16
	maxCartoonSize     = 1024
)

// DefaultCartoonPersonN is the N of a person set (CartoonOptions.Person)
// when N is 0.
const DefaultCartoonPersonN = 300

const (
	// cartoonScript is the renderer, relative to the repository root.
	cartoonScript = "scripts/cartoon-faces/render.mjs"

	// personScript is the renderer of person sets, beside cartoonScript.
	personScript = "person.mjs"

	// cartoonManifestName is the file, in a rendered set, that records
	// how it was made; a set without it is incomplete.
	cartoonManifestName = "manifest.json"

	// cartoonFormat is the version of the manifest's layout.
	cartoonFormat = 1

	// nodeMissing is the error when Node.js or npm cannot be found.
	nodeMissing = "cartoon-faces needs Node.js and npm: apt-get install nodejs npm"

	// minNodeMajor is the oldest Node.js the renderer runs on.
	minNodeMajor = 18
)

// Columns of attributes.csv.
var (
	// CartoonFlagColumns are the 0/1 columns, in file order.
	CartoonFlagColumns = []string{"male", "mustache", "beard", "glasses", "smiling", "hat"}
	// CartoonMisalignColumns are the columns added by --misalign.
	CartoonMisalignColumns = []string{"rotation_deg", "scale", "shift_x", "shift_y"}
)

// CartoonOptions say which cartoon face set GetCartoonFaces renders.
type CartoonOptions struct {
	N        int   // number of faces; 0 means DefaultCartoonN
	Size     int   // image side in pixels; 0 means DefaultCartoonSize
	Misalign bool  // randomly rotate, scale and shift each face and record it
	Seed     int64 // the same seed (and N, Size) gives the same files
	// Person, if not nil, makes a person set: N photos of the one identity
	// *Person picks (skin, head, eyes, eyebrows, nose, ears, facial hair,
	// hair colour), with the hairdo, mouth, glasses, hat and shirt drawn
	// per photo from Seed, and a mild misalignment (rotation within ±5°,
	// scale 0.95–1.05, shift within ±5%) recorded in the misalignment
	// columns. Misalign must be false. See scripts/cartoon-faces/README.md.
	Person *int64
	// Dir is the destination folder; "" means CartoonDir(Size, Misalign),
	// or CartoonPersonDir(Size, *Person) for a person set.
	Dir string
}

// cartoonManifest is manifest.json of a rendered set.
type cartoonManifest struct {
	Format   int    `json:"format"`
	N        int    `json:"n"`
	Size     int    `json:"size"`
	Seed     int64  `json:"seed"`
	Misalign bool   `json:"misalign"`
	Person   *int64 `json:"person,omitempty"` // the identity of a person set; absent for general sets
	Renderer string `json:"renderer"`         // SHA-256 of the renderer's files, see rendererSum
	Created  string `json:"created"`
}

// CartoonDir returns the default folder of a cartoon face set:
// DataDir()/cartoon-faces-<size>, with "-misaligned" appended for
// misaligned sets.
func CartoonDir(size int, misalign bool) string {
	name := fmt.Sprintf("%s-%d", CartoonFaces, size)
	if misalign {
		name += "-misaligned"
	}
	return filepath.Join(home.DataDir(), name)
}

// CartoonPersonDir returns the default folder of a person set (see
// CartoonOptions.Person): DataDir()/cartoon-faces-<size>-person-<person>.
// Open(CartoonFaces) never finds these.
func CartoonPersonDir(size int, person int64) string {
	return filepath.Join(home.DataDir(), fmt.Sprintf("%s-%d-person-%d", CartoonFaces, size, person))
}

// GetCartoonFaces renders opts.N random cartoon faces of opts.Size pixels
// square into a folder and returns the folder: images/000000.png … and
// attributes.csv (see ReadAttributes), plus manifest.json. When the folder
// already holds a complete set rendered with the same N, size, seed and
// misalignment (and, when the renderer can be found, the same renderer),
// it returns at once. With opts.Person it renders a person set (photos of
// one identity, see CartoonOptions.Person) with person.mjs instead.
//
// It needs Node.js and npm. The renderer, scripts/cartoon-faces/render.mjs,
// is looked for beside the executable and above the current folder; its
// npm packages are installed with npm ci when missing. The set is rendered
// into a temporary folder next to the destination and renamed into place
// only when complete. Progress and the output of npm go to log, which may
// be nil. Once ctx is done it stops the renderer (SIGTERM), removes the
// temporary folder and returns an error wrapping ctx's.
func GetCartoonFaces(ctx context.Context, opts CartoonOptions, log io.Writer) (string, error) {
	if log == nil {
		log = io.Discard
	}
	if opts.N == 0 {
		opts.N = DefaultCartoonN
		if opts.Person != nil {
			opts.N = DefaultCartoonPersonN
		}
	}
	if opts.Size == 0 {
		opts.Size = DefaultCartoonSize
	}
	if opts.N < 1 || opts.N > maxCartoonN {
		return "", &OptionError{Pkg: "dataset", Option: "N", Value: opts.N, Reason: fmt.Sprintf("is out of range (1 to %d)", maxCartoonN)}
	}
	if opts.Size < minCartoonSize || opts.Size > maxCartoonSize {
		return "", &OptionError{Pkg: "dataset", Option: "Size", Value: opts.Size, Reason: fmt.Sprintf("is out of range (%d to %d)", minCartoonSize, maxCartoonSize)}
	}
	if opts.Person != nil {
		if *opts.Person < 0 {
			return "", &OptionError{Pkg: "dataset", Option: "Person", Value: *opts.Person, Reason: "is negative (want 0 or more)"}
		}
		if opts.Misalign {
			return "", &OptionError{Pkg: "dataset", Option: "Misalign", Value: nil, Reason: "does not apply to a person set: its photos are always slightly misaligned"}
		}
		p := *opts.Person // a copy, so that the caller's variable cannot change the set
		opts.Person = &p
	}
	dest := opts.Dir
	if dest == "" {
		dest = CartoonDir(opts.Size, opts.Misalign)
		if opts.Person != nil {
			dest = CartoonPersonDir(opts.Size, *opts.Person)
		}
	}
	dest, err := filepath.Abs(dest)
	if err != nil {
		return "", fmt.Errorf("cartoon-faces: %w", err)
	}
	want := cartoonManifest{Format: cartoonFormat, N: opts.N, Size: opts.Size, Seed: opts.Seed, Misalign: opts.Misalign, Person: opts.Person}

	// The general sets are rendered by render.mjs and person sets by
	// person.mjs; each set's manifest records the hash of its own
	// renderer's files.
	script, files := findCartoonScript(), rendererFiles
	if opts.Person != nil {
		files = personRendererFiles
	}
	if script != "" {
		if sum, err := rendererSum(filepath.Dir(script), files); err == nil {
			want.Renderer = sum
		}
	}
	if have, ok := readCartoonManifest(dest); ok && cartoonComplete(dest, opts.N) {
		if sameCartoonSet(have, want) {
			who := ""
			if opts.Person != nil {
				who = fmt.Sprintf(" of person %d", *opts.Person)
			}
			fmt.Fprintf(log, "cartoon-faces (%d faces%s, %dx%d, seed %d) is in %s\n", opts.N, who, opts.Size, opts.Size, opts.Seed, dest)
			return dest, nil
		}
		if have.Renderer != want.Renderer {
			have.Renderer = want.Renderer
			if sameCartoonSet(have, want) {
				fmt.Fprintf(log, "%s changed since %s was rendered: rendering it again\n", filepath.Dir(cartoonScript), dest)
			}
		}
	}
	if err := checkReplaceable(dest); err != nil {
		return "", err
	}
	if script == "" {
		return "", fmt.Errorf("cartoon-faces: %s was not found next to the forger binary or in the current folder or its parents: run forger from a forger checkout", cartoonScript)
	}
	if opts.Person != nil {
		if _, err := os.Stat(filepath.Join(filepath.Dir(script), personScript)); err != nil {
			return "", fmt.Errorf("cartoon-faces: person sets need %s beside %s: update the forger checkout", personScript, script)
		}
	}
	node, err := exec.LookPath("node")
	if err != nil {
		return "", errors.New(nodeMissing)
	}
	if err := checkNodeVersion(ctx, node); err != nil {
		return "", err
	}
	workDir, err := prepareRenderer(ctx, filepath.Dir(script), log)
	if err != nil {
		return "", err
	}

	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return "", fmt.Errorf("cartoon-faces: %w", err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".tmp-")
	if err != nil {
		return "", fmt.Errorf("cartoon-faces: %w", err)
	}
	done := false
	defer func() {
		if !done {
			os.RemoveAll(tmp)
		}
	}()
	args := []string{filepath.Join(workDir, filepath.Base(cartoonScript)),
		"--n", strconv.Itoa(opts.N), "--size", strconv.Itoa(opts.Size),
		"--seed", strconv.FormatInt(opts.Seed, 10), "--out", tmp}
	if opts.Misalign {
		args = append(args, "--misalign")
	}
	if opts.Person != nil {
		args[0] = filepath.Join(workDir, personScript)
		args = append(args, "--person", strconv.FormatInt(*opts.Person, 10))
	}
	kind, what := "", "cartoon faces"
	if opts.Misalign {
		kind = ", misaligned"
	}
	if opts.Person != nil {
		what = fmt.Sprintf("cartoon photos of person %d", *opts.Person)
		kind = ", slightly misaligned"
	}
	fmt.Fprintf(log, "rendering %d %s of %dx%d with facesjs (seed %d%s) into %s\n",
		opts.N, what, opts.Size, opts.Size, opts.Seed, kind, dest)
	if err := runRenderer(ctx, node, workDir, args, opts.N, log); err != nil {
		return "", err
	}
	if !cartoonComplete(tmp, opts.N) {
		return "", fmt.Errorf("cartoon-faces: the renderer finished but %s does not hold %d images and attributes.csv", tmp, opts.N)
	}
	if a, err := ReadAttributes(tmp); err != nil {
		return "", fmt.Errorf("cartoon-faces: the renderer wrote a bad attributes.csv: %w", err)
	} else if a.Len() != opts.N {
		return "", fmt.Errorf("cartoon-faces: the renderer wrote %d rows to attributes.csv, want %d", a.Len(), opts.N)
	}
	want.Created = time.Now().UTC().Format(time.RFC3339)
	m, _ := json.MarshalIndent(want, "", "  ")
	if err := os.WriteFile(filepath.Join(tmp, cartoonManifestName), append(m, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("cartoon-faces: %w", err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil { // MkdirTemp makes it 0700
		return "", fmt.Errorf("cartoon-faces: %w", err)
	}
	if err := replaceDir(dest, tmp); err != nil {
		return "", fmt.Errorf("cartoon-faces: %w", err)
	}
	done = true
	fmt.Fprintf(log, "cartoon-faces written to %s\n", dest)
	return dest, nil
}

// sameCartoonSet reports whether a set described by have can stand for
// want: same N, size, seed and misalignment, and the same renderer unless
// either is unknown.
func sameCartoonSet(have, want cartoonManifest) bool {
	if have.Format != want.Format || have.N != want.N || have.Size != want.Size ||
		have.Seed != want.Seed || have.Misalign != want.Misalign {
		return false
	}
	if (have.Person == nil) != (want.Person == nil) || (have.Person != nil && *have.Person != *want.Person) {
		return false // a person set never stands for a general set, nor one person for another
	}
	return have.Renderer == "" || want.Renderer == "" || have.Renderer == want.Renderer
}

// readCartoonManifest reads dir/manifest.json.
func readCartoonManifest(dir string) (cartoonManifest, bool) {
	var m cartoonManifest
	b, err := os.ReadFile(filepath.Join(dir, cartoonManifestName))
	if err != nil || json.Unmarshal(b, &m) != nil {
		return m, false
	}
	return m, true
}

// renderedCartoon reports whether dir holds the manifest GetCartoonFaces
// writes into every set it renders.
func renderedCartoon(dir string) bool {
	m, ok := readCartoonManifest(dir)
	return ok && m.Format > 0 && m.N > 0 && m.Size > 0
}

// IsCartoon reports whether the data option spec is cartoon faces: one of
// the names CartoonFaces and CartoonFacesMisaligned, or a folder
// GetCartoonFaces rendered (known by its manifest.json, not by its name)
// or that folder's images/.
func IsCartoon(spec string) bool {
	if spec == CartoonFaces || spec == CartoonFacesMisaligned {
		return true
	}
	if filepath.Base(spec) == "images" && renderedCartoon(filepath.Dir(spec)) {
		return true
	}
	return renderedCartoon(spec)
}

// cartoonComplete reports whether dir holds attributes.csv and exactly n
// PNG files in images/.
func cartoonComplete(dir string, n int) bool {
	if st, err := os.Stat(filepath.Join(dir, "attributes.csv")); err != nil || !st.Mode().IsRegular() {
		return false
	}
	entries, err := os.ReadDir(filepath.Join(dir, "images"))
	if err != nil {
		return false
	}
	count := 0
	for _, e := range entries {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".png") {
			count++
		}
	}
	return count == n
}

// checkReplaceable returns an error unless dest is absent, an empty
// folder, or a cartoon face set (which GetCartoonFaces may replace): a
// folder of other files is never moved away.
func checkReplaceable(dest string) error {
	st, err := os.Stat(dest)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cartoon-faces: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("cartoon-faces: %s exists and is not a folder", dest)
	}
	if renderedCartoon(dest) {
		return nil
	}
	entries, err := os.ReadDir(dest)
	if err != nil {
		return fmt.Errorf("cartoon-faces: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("cartoon-faces: %s exists and %w (no %s): remove it or choose another folder", dest, ErrNotCartoonSet, cartoonManifestName)
	}
	return nil
}

// replaceDir moves the folder tmp to dest. Readers see the old set or the
// new one, never a mixture: an old dest is first renamed aside, then tmp
// is renamed to dest, then the old set is removed.
func replaceDir(dest, tmp string) error {
	if _, err := os.Stat(dest); errors.Is(err, os.ErrNotExist) {
		return os.Rename(tmp, dest)
	}
	old, err := os.MkdirTemp(filepath.Dir(dest), "."+filepath.Base(dest)+".old-")
	if err != nil {
		return err
	}
	aside := filepath.Join(old, "set")
	if err := os.Rename(dest, aside); err != nil {
		os.Remove(old)
		return err
	}
	if err := os.Rename(tmp, dest); err != nil {
		os.Rename(aside, dest) // put the old set back
		os.Remove(old)
		return err
	}
	return os.RemoveAll(old)
}

func findCartoonScript() string { return home.Script(cartoonScript) }

// rendererFiles are the files of the renderer's folder that determine the
// output of render.mjs (the general sets), personRendererFiles those that
// determine person.mjs's (person sets); rendererSum hashes them.
var (
	rendererFiles       = []string{"render.mjs", "svg-string.mjs", "package.json", "package-lock.json"}
	personRendererFiles = []string{personScript, "svg-string.mjs", "package.json", "package-lock.json"}
)

// rendererSum returns the SHA-256 of files in dir, so that a set rendered
// by another version of the script is not taken for current.
func rendererSum(dir string, files []string) (string, error) {
	h := sha256.New()
	for _, name := range files {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", name, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// checkNodeVersion fails unless node is Node.js minNodeMajor or newer.
func checkNodeVersion(ctx context.Context, node string) error {
	out, err := exec.CommandContext(ctx, node, "--version").Output()
	if err != nil {
		return fmt.Errorf("%s (%s did not tell its version: %v)", nodeMissing, node, err)
	}
	v := strings.TrimSpace(string(out))
	major, _, _ := strings.Cut(strings.TrimPrefix(v, "v"), ".")
	if n, err := strconv.Atoi(major); err != nil || n < minNodeMajor {
		return fmt.Errorf("cartoon-faces needs Node.js %d or newer, and %s is %s", minNodeMajor, node, v)
	}
	return nil
}

// prepareRenderer makes sure the renderer's npm packages are installed and
// returns the folder to run it in: the script's own folder, or, when that
// lacks the packages and is not writable, a copy of it under forger's
// home.
func prepareRenderer(ctx context.Context, scriptDir string, log io.Writer) (string, error) {
	d := nodepkg.Dir{Path: scriptDir, CacheName: "cartoon-faces", Files: []string{"render.mjs", "svg-string.mjs", personScript}}
	dir, err := d.Prepare(ctx, log)
	if errors.Is(err, nodepkg.ErrNoNode) {
		return "", errors.New(nodeMissing)
	}
	if err != nil {
		return "", fmt.Errorf("cartoon-faces: %w", err)
	}
	return dir, nil
}

// renderProgress matches the renderer's progress lines
// ("rendered 1200/20000 (512.3 faces/s)").
var renderProgress = regexp.MustCompile(`^rendered (\d+)/(\d+)(?: \(([0-9.]+) faces/s\))?`)

// runRenderer runs node with args in dir, showing a progress bar on log fed
// from the renderer's progress lines; its other lines are passed on to log.
func runRenderer(ctx context.Context, node, dir string, args []string, n int, log io.Writer) error {
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = dir
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return fmt.Errorf("cartoon-faces: %w", err)
	}
	var tail tailBuffer
	cmd.Stdout = &tail
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("cartoon-faces: starting node: %w", err)
	}
	bar := progressbar.NewOptions(n,
		progressbar.OptionSetWriter(log),
		progressbar.OptionSetDescription("rendering faces"),
		progressbar.OptionShowCount(),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(100*time.Millisecond))
	var summary []string // the renderer's last words, shown after the bar
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		if m := renderProgress.FindStringSubmatch(line); m != nil {
			if m[3] != "" { // the renderer's own rate, which leaves out node's start-up
				bar.Describe("rendering faces (" + m[3] + " faces/s)")
			}
			if d, err := strconv.Atoi(m[1]); err == nil {
				bar.Set(d)
			}
			continue
		}
		tail.WriteString(line + "\n")
		if strings.HasPrefix(line, "done:") {
			summary = append(summary, line)
			continue
		}
		bar.Clear()
		fmt.Fprintln(log, line)
	}
	io.Copy(io.Discard, stderr) // a line too long for the scanner
	err = cmd.Wait()
	if err == nil {
		bar.Finish()
	} else {
		bar.Exit()
	}
	fmt.Fprintln(log)
	for _, line := range summary {
		fmt.Fprintln(log, line)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("cartoon-faces: %w", ctx.Err())
	}
	if err != nil {
		return fmt.Errorf("cartoon-faces: the renderer failed (%v): %s", err, tail.String())
	}
	return nil
}

// tailBuffer keeps the last lines written to it, for error messages.
type tailBuffer struct{ lines []string }

func (t *tailBuffer) Write(p []byte) (int, error) {
	for line := range strings.SplitSeq(strings.TrimRight(string(p), "\n"), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			t.lines = append(t.lines, line)
		}
	}
	if len(t.lines) > 8 {
		t.lines = slices.Clone(t.lines[len(t.lines)-8:])
	}
	return len(p), nil
}

func (t *tailBuffer) WriteString(s string) { t.Write([]byte(s)) }

func (t *tailBuffer) String() string { return strings.Join(t.lines, " | ") }

// ErrNotCartoonSet is wrapped by GetCartoonFaces when its destination exists
// and is something else.
var ErrNotCartoonSet = errors.New("is not a cartoon-faces set")

// A NotRenderedError reports a cartoon-faces set that Open needs and
// GetCartoonFaces has not rendered.
type NotRenderedError struct {
	Name     string // CartoonFaces or CartoonFacesMisaligned
	Misalign bool   // render it with CartoonOptions.Misalign
	Size     int    // render it at this size; 0: the default
}

func (e *NotRenderedError) Error() string {
	return e.Name + " is not rendered (rendering needs Node.js and npm)"
}

// openCartoon opens the rendered set name (CartoonFaces or
// CartoonFacesMisaligned) from DataDir(): the one rendered at o.Size if
// there is one, else the smallest larger one, else the largest. Its
// images/ folder is opened as an unlabelled folder set; the attributes are
// read with ReadAttributes.
func openCartoon(name string, o Options) (*Set, error) {
	misalign := name == CartoonFacesMisaligned
	dir := findCartoonSet(o.Size, misalign)
	if dir == "" {
		e := &NotRenderedError{Name: name, Misalign: misalign}
		if o.Size > DefaultCartoonSize {
			e.Size = o.Size
		}
		return nil, e
	}
	return openFolder(filepath.Join(dir, "images"), o)
}

// findCartoonSet returns the folder in DataDir() of the rendered set best
// suited to size, or "".
func findCartoonSet(size int, misalign bool) string {
	re := regexp.MustCompile(`^cartoon-faces-(\d+)$`)
	if misalign {
		re = regexp.MustCompile(`^cartoon-faces-(\d+)-misaligned$`)
	}
	entries, err := os.ReadDir(home.DataDir())
	if err != nil {
		return ""
	}
	var sizes []int
	for _, e := range entries {
		m := re.FindStringSubmatch(e.Name())
		if m == nil {
			continue
		}
		s, _ := strconv.Atoi(m[1])
		dir := filepath.Join(home.DataDir(), e.Name())
		if man, ok := readCartoonManifest(dir); ok && man.Size == s && man.Person == nil && cartoonComplete(dir, man.N) {
			sizes = append(sizes, s)
		}
	}
	if len(sizes) == 0 {
		return ""
	}
	slices.Sort(sizes)
	best := sizes[len(sizes)-1]
	if i, _ := slices.BinarySearch(sizes, size); i < len(sizes) {
		best = sizes[i]
	}
	return CartoonDir(best, misalign)
}

// Attributes is the table in attributes.csv of a cartoon face set, one row
// per image. Row i describes Files[i]; since the files are named in
// rendering order (000000.png, 000001.png, …), the rows are also in the
// order in which Open loads the images, as long as none was skipped.
type Attributes struct {
	Files []string // image file names, relative to the set's images/ folder

	// Flags holds the 0/1 columns by name: male, mustache, beard,
	// glasses, smiling and hat (CartoonFlagColumns).
	Flags map[string][]int

	// SkinTone is the skin colour facesjs gave each face, "#rrggbb". Each
	// colour belongs to one of facesjs's palettes (white, black, brown,
	// asian); see scripts/cartoon-faces/README.md.
	SkinTone []string

	// Misalign holds rotation_deg, scale, shift_x and shift_y
	// (CartoonMisalignColumns) for sets rendered with --misalign, and is
	// nil otherwise.
	Misalign map[string][]float64

	// Extra holds any further columns, as text.
	Extra map[string][]string
}

// Len returns the number of rows.
func (a *Attributes) Len() int { return len(a.Files) }

// Flag returns the 0/1 column name, or an error naming the columns there
// are.
func (a *Attributes) Flag(name string) ([]int, error) {
	if v, ok := a.Flags[name]; ok {
		return v, nil
	}
	if name == DarkSkin {
		v := make([]int, len(a.SkinTone))
		for i, hex := range a.SkinTone {
			dark, err := IsDarkSkin(hex)
			if err != nil {
				return nil, fmt.Errorf("row %d: %w", i+1, err)
			}
			if dark {
				v[i] = 1
			}
		}
		return v, nil
	}
	return nil, fmt.Errorf("no 0/1 attribute %q (have %s, %s)", name, strings.Join(CartoonFlagColumns, ", "), DarkSkin)
}

// DarkSkin is a 0/1 attribute derived from skin_tone: 1 when the colour's
// luma (Rec. 601, 0…255) is below darkSkinLuma, which splits facesjs's 11
// skin colours into the 6 darker and the 5 lighter ones (about half the
// faces each). Edits that must not change a face's skin (a smile) are
// learnt orthogonal to its direction.
const DarkSkin = "dark_skin"

const darkSkinLuma = 160

// Skin tone buckets of SkinBucket, by the colour's luma (Rec. 601): facesjs's
// five light colours (luma above 185), four medium (110 to 150) and two dark
// (below 85), with wide gaps between the groups. A face judge learns these
// rather than the eleven colours, some of which differ by a few levels: a
// classifier of exact colours has features that jump at any change of
// colour.
var SkinBuckets = []string{"dark", "light", "medium"}

// SkinBucket returns the bucket of a skin_tone colour "#rrggbb".
func SkinBucket(hex string) (string, error) {
	l, err := luma(hex)
	switch {
	case err != nil:
		return "", err
	case l > 170:
		return "light", nil
	case l > 100:
		return "medium", nil
	}
	return "dark", nil
}

func luma(hex string) (float64, error) {
	var r, g, b int
	if _, err := fmt.Sscanf(hex, "#%02x%02x%02x", &r, &g, &b); err != nil || len(hex) != 7 {
		return 0, fmt.Errorf("skin_tone %q is not #rrggbb", hex)
	}
	return 0.299*float64(r) + 0.587*float64(g) + 0.114*float64(b), nil
}

// IsDarkSkin reports whether a skin_tone colour "#rrggbb" counts as
// DarkSkin.
func IsDarkSkin(hex string) (bool, error) {
	l, err := luma(hex)
	return l < darkSkinLuma, err
}

// ReadAttributes reads attributes.csv of a cartoon face set. path is the
// set's folder, its images/ folder, or the CSV file itself. The header
// must name file, the six 0/1 columns and skin_tone, and either all or
// none of the misalignment columns; every value must parse.
func ReadAttributes(path string) (*Attributes, error) {
	file := path
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		file = filepath.Join(path, "attributes.csv")
		if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) && filepath.Base(path) == "images" {
			file = filepath.Join(filepath.Dir(path), "attributes.csv")
		}
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("reading attributes: %w", err)
	}
	defer f.Close()
	a, err := parseAttributes(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return a, nil
}

// parseAttributes parses the CSV text of attributes.csv.
func parseAttributes(r io.Reader) (*Attributes, error) {
	cr := csv.NewReader(r)
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("empty file, want a header line")
	}
	if err != nil {
		return nil, err
	}
	col := map[string]int{}
	for i, name := range header {
		if _, dup := col[name]; dup {
			return nil, fmt.Errorf("column %q appears twice", name)
		}
		col[name] = i
	}
	if len(header) == 0 || header[0] != "file" {
		return nil, errors.New(`the first column must be "file"`)
	}
	for _, name := range append(slices.Clone(CartoonFlagColumns), "skin_tone") {
		if _, ok := col[name]; !ok {
			return nil, fmt.Errorf("no %q column", name)
		}
	}
	misalign := 0
	for _, name := range CartoonMisalignColumns {
		if _, ok := col[name]; ok {
			misalign++
		}
	}
	if misalign != 0 && misalign != len(CartoonMisalignColumns) {
		return nil, fmt.Errorf("some but not all of the columns %s", strings.Join(CartoonMisalignColumns, ", "))
	}

	a := &Attributes{Flags: map[string][]int{}}
	known := map[string]bool{"file": true, "skin_tone": true}
	for _, name := range CartoonFlagColumns {
		known[name] = true
	}
	if misalign > 0 {
		a.Misalign = map[string][]float64{}
		for _, name := range CartoonMisalignColumns {
			known[name] = true
			a.Misalign[name] = nil
		}
	}
	for _, name := range header {
		if !known[name] {
			if a.Extra == nil {
				a.Extra = map[string][]string{}
			}
			a.Extra[name] = nil
		}
	}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err // csv's errors name the line
		}
		line, _ := cr.FieldPos(0)
		if rec[0] == "" {
			return nil, fmt.Errorf("line %d: empty file name", line)
		}
		a.Files = append(a.Files, rec[0])
		for _, name := range CartoonFlagColumns {
			v := rec[col[name]]
			if v != "0" && v != "1" {
				return nil, fmt.Errorf("line %d: %s is %q, want 0 or 1", line, name, v)
			}
			a.Flags[name] = append(a.Flags[name], int(v[0]-'0'))
		}
		a.SkinTone = append(a.SkinTone, rec[col["skin_tone"]])
		for name := range a.Misalign {
			v, err := strconv.ParseFloat(rec[col[name]], 64)
			if err != nil {
				return nil, fmt.Errorf("line %d: %s is %q, want a number", line, name, rec[col[name]])
			}
			a.Misalign[name] = append(a.Misalign[name], v)
		}
		for name := range a.Extra {
			a.Extra[name] = append(a.Extra[name], rec[col[name]])
		}
	}
	if len(a.Files) == 0 {
		return nil, errors.New("no rows")
	}
	return a, nil
}

// ErrNotLabelled is wrapped by LabelledDir when a folder is not a labelled
// face set.
var ErrNotLabelled = errors.New("not a labelled face set (want images/ and attributes.csv)")

// LabelledDir returns the folder of a labelled face set (images/ and
// attributes.csv): for CartoonFaces, the rendered set in DataDir() at size,
// else the smallest larger one, else the largest; otherwise spec itself
// (the set's folder or its images/ folder).
func LabelledDir(spec string, size int) (string, error) {
	if spec == CartoonFaces {
		dir := findCartoonSet(size, false)
		if dir == "" {
			return "", fmt.Errorf("%s is not rendered: run 'forger data get cartoon-faces' (needs Node.js and npm)", CartoonFaces)
		}
		return dir, nil
	}
	dir := spec
	if filepath.Base(dir) == "images" {
		dir = filepath.Dir(dir)
	}
	st, err := os.Stat(filepath.Join(dir, "images"))
	if err != nil || !st.IsDir() {
		return "", fmt.Errorf("%s: %w", spec, ErrNotLabelled)
	}
	if _, err := os.Stat(filepath.Join(dir, "attributes.csv")); err != nil {
		return "", fmt.Errorf("%s: %w", spec, ErrNotLabelled)
	}
	return dir, nil
}

// OpenLabelled loads a labelled face set (see LabelledDir; size picks the
// rendered cartoon-faces set) with its attributes table: image i is row i.
// With o.Limit the first Limit images and rows are kept. Images that cannot
// be read are an error here, since the rows would no longer match.
func OpenLabelled(spec string, o Options) (*Set, *Attributes, error) {
	dir, err := LabelledDir(spec, o.Size)
	if err != nil {
		return nil, nil, err
	}
	attrs, err := ReadAttributes(dir)
	if err != nil {
		return nil, nil, err
	}
	if !slices.IsSorted(attrs.Files) {
		return nil, nil, fmt.Errorf("%s: attributes.csv is not in file order", dir)
	}
	set, err := Open(filepath.Join(dir, "images"), o)
	if err != nil {
		return nil, nil, err
	}
	if set.Skipped > 0 {
		return nil, nil, fmt.Errorf("%s: %d images could not be read (first: %s), so the rows of attributes.csv no longer match", dir, set.Skipped, set.SkipExamples[0])
	}
	n := set.Len()
	if n > attrs.Len() || (o.Limit == 0 && n != attrs.Len()) {
		return nil, nil, fmt.Errorf("%s: %d images but %d rows in attributes.csv", dir, n, attrs.Len())
	}
	set.Name = spec
	return set, attrs, nil
}

// IsLabelled reports whether spec names a labelled face set (see
// LabelledDir).
func IsLabelled(spec string) bool {
	if spec == CartoonFaces {
		return true
	}
	_, err := LabelledDir(spec, DefaultCartoonSize)
	return err == nil
}
