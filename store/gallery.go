package store

import (
	"context"
	"fmt"
	"time"
)

// GalleryEntry is one face of the look-alike gallery.
type GalleryEntry struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	File      string    `json:"-"` // relative to the data folder's gallery/
	Meta      string    `json:"-"` // JSON kept for the face index
	CreatedAt time.Time `json:"created_at"`
}

// AddGalleryEntry inserts e (its ID must come from NewID).
func (s *Store) AddGalleryEntry(ctx context.Context, e *GalleryEntry) error {
	if !ValidID(e.ID) {
		return fmt.Errorf("store: bad gallery id %q", e.ID)
	}
	if e.Meta == "" {
		e.Meta = "{}"
	}
	e.CreatedAt = time.Now().UTC().Truncate(time.Millisecond)
	_, err := s.exec(ctx, "INSERT INTO forger_gallery (id, name, file, meta, created_at) VALUES (?, ?, ?, ?, ?)",
		e.ID, e.Name, e.File, e.Meta, ms(e.CreatedAt))
	if err != nil {
		return fmt.Errorf("store: add gallery entry: %w", err)
	}
	return nil
}

// Gallery lists the gallery, oldest first.
func (s *Store) Gallery(ctx context.Context) ([]GalleryEntry, error) {
	rows, err := s.query(ctx, "SELECT id, name, file, meta, created_at FROM forger_gallery ORDER BY created_at, id")
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	out := []GalleryEntry{}
	for rows.Next() {
		var e GalleryEntry
		var created int64
		if err := rows.Scan(&e.ID, &e.Name, &e.File, &e.Meta, &created); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		e.CreatedAt = fromMS(created)
		out = append(out, e)
	}
	return out, rows.Err()
}

// GalleryEntryByID returns one entry or ErrNotFound.
func (s *Store) GalleryEntryByID(ctx context.Context, id string) (*GalleryEntry, error) {
	if !ValidID(id) {
		return nil, ErrNotFound
	}
	var e GalleryEntry
	var created int64
	err := s.queryRow(ctx, "SELECT id, name, file, meta, created_at FROM forger_gallery WHERE id = ?", id).
		Scan(&e.ID, &e.Name, &e.File, &e.Meta, &created)
	if err != nil {
		if isNoRows(err) {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("store: %w", err)
	}
	e.CreatedAt = fromMS(created)
	return &e, nil
}

// DeleteGalleryEntry removes an entry; ErrNotFound if there was none.
func (s *Store) DeleteGalleryEntry(ctx context.Context, id string) error {
	res, err := s.exec(ctx, "DELETE FROM forger_gallery WHERE id = ?", id)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return ErrNotFound
	}
	return nil
}

// ModelSettings are what an admin decided about a model found on disk.
type ModelSettings struct {
	Name      string    `json:"name"`
	Hidden    bool      `json:"hidden"`
	Title     string    `json:"title,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// ModelSettings returns the settings of every model that has some, by name.
func (s *Store) ModelSettings(ctx context.Context) (map[string]ModelSettings, error) {
	rows, err := s.query(ctx, "SELECT name, hidden, title, updated_at FROM forger_models")
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	out := map[string]ModelSettings{}
	for rows.Next() {
		var m ModelSettings
		var hidden int
		var updated int64
		if err := rows.Scan(&m.Name, &hidden, &m.Title, &updated); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		m.Hidden, m.UpdatedAt = hidden != 0, fromMS(updated)
		out[m.Name] = m
	}
	return out, rows.Err()
}

// SetModelSettings stores m (by name), replacing earlier settings.
func (s *Store) SetModelSettings(ctx context.Context, m *ModelSettings) error {
	m.UpdatedAt = time.Now().UTC().Truncate(time.Millisecond)
	hidden := 0
	if m.Hidden {
		hidden = 1
	}
	return s.InTx(ctx, func(tx *Tx) error {
		if err := tx.Exec(ctx, "DELETE FROM forger_models WHERE name = ?", m.Name); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		if err := tx.Exec(ctx, "INSERT INTO forger_models (name, hidden, title, updated_at) VALUES (?, ?, ?, ?)",
			m.Name, hidden, m.Title, ms(m.UpdatedAt)); err != nil {
			return fmt.Errorf("store: %w", err)
		}
		return nil
	})
}
