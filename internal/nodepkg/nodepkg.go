// Package nodepkg prepares the folder of a small Node.js program that ships
// with forger (under scripts/): its npm packages, pinned by package.json and
// package-lock.json, are installed with npm ci on first use — in the script's
// own folder, or, when that is not writable, in a copy under forger's home.
//
// It is the general form of what dataset/cartoon.go does for the cartoon
// renderer (prepareRenderer), so that other scripts need not copy it.
package nodepkg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"forger/internal/home"
)

// ErrNoNode is wrapped when Node.js or npm cannot be found.
var ErrNoNode = errors.New("needs Node.js and npm: apt-get install nodejs npm")

// Dir describes a script folder.
type Dir struct {
	Path      string   // the folder holding package.json
	CacheName string   // the copy's name under forger's home cache, when Path is read-only
	Files     []string // the files to copy along with package.json and package-lock.json
	NPMArgs   []string // extra npm ci arguments, e.g. --ignore-scripts
	MinNode   int      // the oldest Node.js major version the script runs on
}

// Node returns the node executable, checked against d.MinNode.
func (d Dir) Node(ctx context.Context) (string, error) {
	node, err := exec.LookPath("node")
	if err != nil {
		return "", ErrNoNode
	}
	if d.MinNode > 0 {
		out, err := exec.CommandContext(ctx, node, "--version").Output()
		if err != nil {
			return "", fmt.Errorf("%w (%s did not tell its version: %v)", ErrNoNode, node, err)
		}
		v := strings.TrimSpace(string(out))
		major, _, _ := strings.Cut(strings.TrimPrefix(v, "v"), ".")
		if n, err := strconv.Atoi(major); err != nil || n < d.MinNode {
			return "", fmt.Errorf("needs Node.js %d or newer, and %s is %s", d.MinNode, node, v)
		}
	}
	return node, nil
}

// Prepare installs the packages when missing and returns the folder to run
// the script in. npm's output goes to log (nil: discarded).
//
// Several processes may prepare the same folder at once (go test runs
// packages in parallel): the install holds an exclusive lock on the folder,
// and a folder counts as installed only once npm ci has finished there
// (installedMarker), so no process runs a script from node_modules that
// another is still writing or that npm ci is about to remove.
func (d Dir) Prepare(ctx context.Context, log io.Writer) (string, error) {
	if log == nil {
		log = io.Discard
	}
	if Installed(d.Path) {
		return d.Path, nil
	}
	dir := d.Path
	if !writable(dir) {
		dir = filepath.Join(home.Dir(), "cache", d.CacheName)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", err
		}
	}
	unlock, err := lock(ctx, dir)
	if err != nil {
		return "", err
	}
	defer unlock()
	if dir != d.Path {
		for _, name := range append([]string{"package.json", "package-lock.json"}, d.Files...) {
			if err := copyFile(filepath.Join(dir, name), filepath.Join(d.Path, name)); err != nil {
				return "", fmt.Errorf("%s is not writable and copying it failed: %w", d.Path, err)
			}
		}
	}
	if Installed(dir) { // another process installed it while we waited
		return dir, nil
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		return "", ErrNoNode
	}
	args := append([]string{"ci", "--no-audit", "--no-fund"}, d.NPMArgs...)
	fmt.Fprintf(log, "installing npm packages (npm %s in %s)\n", strings.Join(args, " "), dir)
	var out strings.Builder
	cmd := exec.CommandContext(ctx, npm, args...)
	cmd.Dir = dir
	cmd.Stdout = io.MultiWriter(log, &out)
	cmd.Stderr = cmd.Stdout
	if err := cmd.Run(); err != nil {
		s := strings.TrimSpace(out.String())
		if len(s) > 400 {
			s = "…" + s[len(s)-400:]
		}
		return "", fmt.Errorf("npm ci in %s failed (%v): %s", dir, err, strings.ReplaceAll(s, "\n", " | "))
	}
	if err := os.WriteFile(filepath.Join(dir, "node_modules", installedMarker), nil, 0o644); err != nil {
		return "", err
	}
	if !Installed(dir) {
		return "", fmt.Errorf("npm ci in %s did not install the packages package.json asks for", dir)
	}
	return dir, nil
}

// installedMarker is written into node_modules when npm ci has finished.
const installedMarker = ".forger-installed"

// lock takes an exclusive lock on dir (a file in it, flock), waiting for
// other processes; it gives up when ctx ends.
func lock(ctx context.Context, dir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, ".forger-npm.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return func() { syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", dir, err)
		}
		select {
		case <-ctx.Done():
			f.Close()
			return nil, ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// Installed reports whether npm ci finished in dir and dir/node_modules
// holds every dependency of dir/package.json at the version it pins.
func Installed(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, "node_modules", installedMarker)); err != nil {
		return false
	}
	var pkg struct{ Dependencies map[string]string }
	b, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil || json.Unmarshal(b, &pkg) != nil || len(pkg.Dependencies) == 0 {
		return false
	}
	for name, version := range pkg.Dependencies {
		var dep struct{ Version string }
		b, err := os.ReadFile(filepath.Join(dir, "node_modules", filepath.FromSlash(name), "package.json"))
		if err != nil || json.Unmarshal(b, &dep) != nil || dep.Version != version {
			return false
		}
	}
	return true
}

func writable(dir string) bool {
	f, err := os.CreateTemp(dir, ".forger-write-test-")
	if err != nil {
		return false
	}
	f.Close()
	os.Remove(f.Name())
	return true
}

func copyFile(dst, src string) error {
	b, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, b, 0o644)
}
