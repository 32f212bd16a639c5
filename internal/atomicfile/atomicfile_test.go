package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// entries returns the names in dir, failing the test on error.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

func TestWriteCreatesFileAndParents(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a", "b", "out.txt")
	if err := Write(path, func(w io.Writer) error {
		_, err := io.WriteString(w, "hello")
		return err
	}); err != nil {
		t.Fatalf("Write: %v", err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "hello" {
		t.Errorf("content = %q, want %q", got, "hello")
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != defaultPerm {
		t.Errorf("perm = %v, want %v", perm, defaultPerm)
	}
	if names := entries(t, filepath.Dir(path)); len(names) != 1 {
		t.Errorf("directory holds %q, want only out.txt", names)
	}
}

func TestWriteBytesReplaces(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.bin")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := WriteBytes(path, []byte("new content")); err != nil {
		t.Fatalf("WriteBytes: %v", err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "new content" {
		t.Errorf("content = %q, want %q", got, "new content")
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o600 {
		t.Errorf("perm = %v, want existing 0600 kept", perm)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Errorf("directory holds %q, want only out.bin", names)
	}
}

func TestWriteErrorKeepsOldContent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	errBoom := errors.New("boom")
	err := Write(path, func(w io.Writer) error {
		// Write more than the buffer holds so that part of the new
		// content really reaches the temporary file before failing.
		if _, err := w.Write(make([]byte, 1<<20)); err != nil {
			return err
		}
		return errBoom
	})
	if err != errBoom {
		t.Fatalf("Write error = %v, want %v unchanged", err, errBoom)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "old" {
		t.Errorf("content = %q, want old content kept", got)
	}
	if names := entries(t, dir); len(names) != 1 || names[0] != "out.txt" {
		t.Errorf("directory holds %q, want only out.txt (temporary file left behind)", names)
	}
}

func TestWritePanicRemovesTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.txt")
	func() {
		defer func() {
			if recover() == nil {
				t.Error("panic did not propagate")
			}
		}()
		Write(path, func(w io.Writer) error {
			io.WriteString(w, "partial")
			panic("boom")
		})
	}()
	if names := entries(t, dir); len(names) != 0 {
		t.Errorf("directory holds %q, want nothing", names)
	}
}

func TestWriteRefusesDirectory(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	err := WriteBytes(sub, []byte("x"))
	if err == nil || !strings.Contains(err.Error(), sub) {
		t.Errorf("WriteBytes over a directory: err = %v, want error naming %s", err, sub)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Errorf("directory holds %q, want only sub", names)
	}
}

func TestWriteParentIsFile(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := WriteBytes(filepath.Join(file, "out.txt"), []byte("y"))
	if err == nil || !strings.HasPrefix(err.Error(), "atomicfile: ") {
		t.Errorf("err = %v, want an atomicfile error", err)
	}
}

func TestWriteVia(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "video.mp4")
	var seen string
	err := WriteVia(path, func(tmp string) error {
		seen = tmp
		if filepath.Dir(tmp) != filepath.Dir(path) {
			t.Errorf("temp file %s not in %s", tmp, filepath.Dir(path))
		}
		if filepath.Ext(tmp) != ".mp4" {
			t.Errorf("temp file %s does not end in .mp4", tmp)
		}
		// Replace the file, as some programs do.
		if err := os.Remove(tmp); err != nil {
			return err
		}
		return os.WriteFile(tmp, []byte("movie"), 0o600)
	})
	if err != nil {
		t.Fatalf("WriteVia: %v", err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "movie" {
		t.Errorf("content = %q, want %q", got, "movie")
	}
	if fi, err := os.Stat(path); err != nil {
		t.Error(err)
	} else if perm := fi.Mode().Perm(); perm != defaultPerm {
		t.Errorf("perm = %v, want %v", perm, defaultPerm)
	}
	if _, err := os.Stat(seen); !os.IsNotExist(err) {
		t.Errorf("temp file %s still exists", seen)
	}
}

func TestWriteViaErrorKeepsOldContent(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "video.mp4")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	errBoom := errors.New("boom")
	err := WriteVia(path, func(tmp string) error {
		os.WriteFile(tmp, []byte("half"), 0o644)
		return errBoom
	})
	if err != errBoom {
		t.Fatalf("err = %v, want %v unchanged", err, errBoom)
	}
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Errorf("content = %q, want old content kept", got)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Errorf("directory holds %q, want only video.mp4", names)
	}
}
