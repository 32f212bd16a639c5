// Package facedb keeps a face index — labelled 128-D face descriptors — in
// an SQLite file (modernc.org/sqlite, no cgo), for `forger face index` and
// `forger face match`; it also owns a gallery folder's layout
// (GalleryPhotos) and turning its photos into rows (Describe).
//
// The file holds one table of faces, one row per face of a photo:
//
//	CREATE TABLE faces (
//	    id         INTEGER PRIMARY KEY,
//	    name       TEXT NOT NULL,  -- the person
//	    file       TEXT NOT NULL,  -- the photo (absolute path)
//	    descriptor BLOB NOT NULL   -- 128 float32, little-endian (512 bytes)
//	);
//
// and a meta table (key, value) naming the format. Matching loads the whole
// table into a face.Gallery and scans it in memory.
package facedb

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"forger/face"
)

// Format is the meta table's "format" value.
const Format = "forger face index 1"

// ErrNoIndex is wrapped by OpenExisting's error when the file does not
// exist.
var ErrNoIndex = errors.New("no face index")

// DB is an open face index.
type DB struct {
	db   *sql.DB
	path string
}

const schema = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS faces (
    id         INTEGER PRIMARY KEY,
    name       TEXT NOT NULL,
    file       TEXT NOT NULL,
    descriptor BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS faces_file ON faces (file);
INSERT OR IGNORE INTO meta (key, value) VALUES ('format', '` + Format + `');
`

// Open opens the index at path, creating the file (and its folder) when
// it does not exist.
func Open(ctx context.Context, path string) (*DB, error) {
	if err := checkPath(path); err != nil {
		return nil, err
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
	}
	return open(ctx, path, true)
}

// OpenExisting opens the index at path, which must exist.
func OpenExisting(ctx context.Context, path string) (*DB, error) {
	if err := checkPath(path); err != nil {
		return nil, err
	}
	st, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w at %s", ErrNoIndex, path)
	}
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s is not a file", path)
	}
	return open(ctx, path, false)
}

func checkPath(path string) error {
	if path == "" || strings.ContainsAny(path, "?#") {
		return fmt.Errorf("bad index file name %q (empty, or with ? or #)", path)
	}
	return nil
}

func open(ctx context.Context, path string, create bool) (*DB, error) {
	// busy_timeout: wait for another writer instead of failing;
	// _txlock=immediate: a transaction takes the write lock when it begins.
	dsn := "file:" + path + "?_pragma=busy_timeout(10000)&_txlock=immediate"
	if !create {
		dsn += "&mode=rw"
	}
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	d := &DB{db: db, path: path}
	if err := d.init(ctx, create); err != nil {
		db.Close()
		return nil, err
	}
	return d, nil
}

// init checks the file is a face index, creating the schema if create.
func (d *DB) init(ctx context.Context, create bool) error {
	var tables int
	if err := d.db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master`).Scan(&tables); err != nil {
		return fmt.Errorf("%s is not a face index (%v)", d.path, err)
	}
	if tables == 0 && create {
		if _, err := d.db.ExecContext(ctx, schema); err != nil {
			return fmt.Errorf("%s: creating the index: %w", d.path, err)
		}
	}
	var format string
	err := d.db.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'format'`).Scan(&format)
	if err != nil || format != Format {
		return fmt.Errorf("%s is not a face index (want meta format %q)", d.path, Format)
	}
	return nil
}

// Close closes the database.
func (d *DB) Close() error { return d.db.Close() }

// Path is the index file.
func (d *DB) Path() string { return d.path }

// Row is one face of a photo.
type Row struct {
	Name       string
	File       string
	Descriptor face.Descriptor
}

// Update replaces, in one transaction, the rows of every file in files
// (a file mapped to no rows loses its old ones), and when prune is not
// empty also deletes the rows of files under the folder prune that are
// not in files. It returns the number of rows written and deleted.
func (d *DB) Update(ctx context.Context, files map[string][]Row, prune string) (added, removed int, err error) {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return 0, 0, err
	}
	defer tx.Rollback()
	del, err := tx.PrepareContext(ctx, `DELETE FROM faces WHERE file = ?`)
	if err != nil {
		return 0, 0, err
	}
	ins, err := tx.PrepareContext(ctx, `INSERT INTO faces (name, file, descriptor) VALUES (?, ?, ?)`)
	if err != nil {
		return 0, 0, err
	}
	for file, rows := range files {
		res, err := del.ExecContext(ctx, file)
		if err != nil {
			return 0, 0, err
		}
		n, _ := res.RowsAffected()
		removed += int(n)
		for _, r := range rows {
			if r.File != file {
				return 0, 0, fmt.Errorf("facedb: row of %s filed under %s", r.File, file)
			}
			if _, err := ins.ExecContext(ctx, r.Name, r.File, EncodeDescriptor(r.Descriptor)); err != nil {
				return 0, 0, err
			}
			added++
		}
	}
	if prune != "" {
		n, err := d.prune(ctx, tx, files, prune)
		if err != nil {
			return 0, 0, err
		}
		removed += n
	}
	if err := tx.Commit(); err != nil {
		return 0, 0, err
	}
	return added, removed, nil
}

// prune deletes the rows of files under dir that are not in keep.
func (d *DB) prune(ctx context.Context, tx *sql.Tx, keep map[string][]Row, dir string) (int, error) {
	prefix := strings.TrimSuffix(dir, string(filepath.Separator)) + string(filepath.Separator)
	rows, err := tx.QueryContext(ctx, `SELECT DISTINCT file FROM faces WHERE substr(file, 1, ?) = ?`, len(prefix), prefix)
	if err != nil {
		return 0, err
	}
	var gone []string
	for rows.Next() {
		var f string
		if err := rows.Scan(&f); err != nil {
			rows.Close()
			return 0, err
		}
		if _, ok := keep[f]; !ok {
			gone = append(gone, f)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	n := 0
	for _, f := range gone {
		res, err := tx.ExecContext(ctx, `DELETE FROM faces WHERE file = ?`, f)
		if err != nil {
			return 0, err
		}
		k, _ := res.RowsAffected()
		n += int(k)
	}
	return n, nil
}

// Count is the number of rows and of distinct names.
func (d *DB) Count(ctx context.Context) (rows, people int, err error) {
	err = d.db.QueryRowContext(ctx, `SELECT count(*), count(DISTINCT name) FROM faces`).Scan(&rows, &people)
	return rows, people, err
}

// Load reads every row into a gallery for matching.
func (d *DB) Load(ctx context.Context) (*face.Gallery, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT name, descriptor FROM faces ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	g := face.NewGallery()
	var (
		name string
		blob []byte
	)
	for rows.Next() {
		if err := rows.Scan(&name, &blob); err != nil {
			return nil, err
		}
		desc, err := DecodeDescriptor(blob)
		if err != nil {
			return nil, fmt.Errorf("%s: row of %q: %w", d.path, name, err)
		}
		g.Add(name, desc)
	}
	return g, rows.Err()
}

// Rows reads every row — name, photo file and descriptor — in the order
// they were written. Unlike Load it keeps the files, for callers that show
// the photo of a match (the studio's look-alike pipeline).
func (d *DB) Rows(ctx context.Context) ([]Row, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT name, file, descriptor FROM faces ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []Row
	for rows.Next() {
		var (
			r    Row
			blob []byte
		)
		if err := rows.Scan(&r.Name, &r.File, &blob); err != nil {
			return nil, err
		}
		if r.Descriptor, err = DecodeDescriptor(blob); err != nil {
			return nil, fmt.Errorf("%s: row of %q: %w", d.path, r.Name, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// EncodeDescriptor is a descriptor's BLOB: 128 little-endian float32.
func EncodeDescriptor(desc face.Descriptor) []byte {
	b := make([]byte, 4*len(desc))
	for i, v := range desc {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

// DecodeDescriptor is the inverse of EncodeDescriptor.
func DecodeDescriptor(b []byte) (face.Descriptor, error) {
	var desc face.Descriptor
	if len(b) != 4*len(desc) {
		return desc, fmt.Errorf("descriptor of %d bytes, want %d", len(b), 4*len(desc))
	}
	for i := range desc {
		desc[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return desc, nil
}
