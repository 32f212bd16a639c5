// Package atomicfile writes files so that readers see either the old
// content or the complete new content, never a partial file.
//
// The new content is written to a temporary file in the destination's
// directory, flushed to stable storage, and renamed over the destination.
// Rename within one directory is atomic on POSIX file systems, so a
// concurrent reader (a browser refreshing a sample grid, a dashboard
// polling a loss plot) never observes a half-written file, and a crash or
// error part way through leaves the previous file intact.
package atomicfile

import (
	"bufio"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// defaultPerm is the permission given to a newly created file. When the
// destination already exists its permission bits are kept instead.
const defaultPerm fs.FileMode = 0o644

// Write atomically replaces the file at path with the bytes produced by
// write. The parent directory is created if it does not exist, and an
// existing file's permission bits are kept (a new file gets 0644).
//
// write receives a buffered writer for a temporary file in the same
// directory as path. If write returns an error (or panics), or if any step
// of flushing, syncing or renaming fails, the temporary file is removed
// and path is left as it was. An error from write is returned unchanged,
// since the caller knows best how to describe it; other errors come from
// the os package (so they name the file and the operation) wrapped with
// an "atomicfile: " prefix.
func Write(path string, write func(w io.Writer) error) error {
	dir, perm, err := prepare(path)
	if err != nil {
		return err
	}
	// A leading dot keeps the temporary file out of casual listings and
	// glob patterns such as *.png.
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	tmp := f.Name()
	done := false
	defer func() {
		// Runs on error returns and on panics in write alike.
		if !done {
			f.Close()
			os.Remove(tmp)
		}
	}()

	bw := bufio.NewWriterSize(f, 64<<10)
	if err := write(bw); err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	if err := syncClose(f, perm); err != nil {
		return err
	}
	if err := commit(tmp, path, dir); err != nil {
		return err
	}
	done = true
	return nil
}

// WriteVia is like Write for content produced by something that needs a
// file name rather than an io.Writer, typically another program such as
// ffmpeg. It calls produce with the name of a new, empty temporary file
// in path's directory; produce must leave the complete content in that
// file (it may overwrite or replace it). The temporary name ends in the
// same extension as path, for tools that choose a format by extension.
// Errors are handled as by Write.
func WriteVia(path string, produce func(tmpPath string) error) error {
	dir, perm, err := prepare(path)
	if err != nil {
		return err
	}
	base := filepath.Base(path)
	ext := filepath.Ext(base)
	f, err := os.CreateTemp(dir, "."+base+".tmp-*"+ext)
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	tmp := f.Name()
	f.Close()
	done := false
	defer func() {
		if !done {
			os.Remove(tmp)
		}
	}()

	if err := produce(tmp); err != nil {
		return err
	}
	// produce may have replaced the file, so reopen it by name.
	f, err = os.OpenFile(tmp, os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	if err := syncClose(f, perm); err != nil {
		return err
	}
	if err := commit(tmp, path, dir); err != nil {
		return err
	}
	done = true
	return nil
}

// prepare checks path, creates its parent directory and returns that
// directory and the permission bits the new file should get.
func prepare(path string) (dir string, perm fs.FileMode, err error) {
	dir, base := filepath.Split(path)
	if base == "" {
		return "", 0, fmt.Errorf("atomicfile: %q names a directory", path)
	}
	if dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", 0, fmt.Errorf("atomicfile: %w", err)
	}
	perm = defaultPerm
	if fi, err := os.Stat(path); err == nil {
		if !fi.Mode().IsRegular() {
			return "", 0, fmt.Errorf("atomicfile: %s is not a regular file", path)
		}
		perm = fi.Mode().Perm()
	}
	return dir, perm, nil
}

// syncClose gives the temporary file its final permissions (CreateTemp
// uses 0600), flushes it to stable storage and closes it. The file is
// closed even on error.
func syncClose(f *os.File, perm fs.FileMode) error {
	err := f.Chmod(perm)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	return nil
}

// commit renames tmp over path and makes the rename durable.
func commit(tmp, path, dir string) error {
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	// Not all platforms or file systems support syncing a directory; the
	// new content is complete either way, so a failure here is ignored.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// WriteBytes atomically replaces the file at path with b.
// It is Write with a function that writes b.
func WriteBytes(path string, b []byte) error {
	return Write(path, func(w io.Writer) error {
		n, err := w.Write(b)
		if err == nil && n < len(b) {
			err = io.ErrShortWrite
		}
		return err
	})
}
