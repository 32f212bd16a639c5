package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// Job statuses, in the order a look-alike job goes through them.
const (
	StatusQueued    = "queued"
	StatusAligning  = "aligning"
	StatusMatching  = "matching"
	StatusRendering = "rendering"
	StatusDone      = "done"
	StatusFailed    = "failed"
)

// Finished reports whether status is final.
func Finished(status string) bool { return status == StatusDone || status == StatusFailed }

// Job is one look-alike job's record.
type Job struct {
	ID         string
	Kind       string
	Status     string
	Reason     string // why it failed, for the visitor
	Email      string // where to send the result, "" for none
	Upload     string // the stored photo, relative to uploads/
	CreatedAt  time.Time
	UpdatedAt  time.Time
	FinishedAt time.Time // zero until done or failed
	Attempts   int       // runs started (River may run a job more than once)
	Steps      map[string]Step
	Results    map[string]Result
	EmailedAt  time.Time // zero until the e-mail went out (or failed to)
	EmailError string
}

// Step is the timing of one step of a job (its last run).
type Step struct {
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished,omitzero"`
	MS       int64     `json:"ms"`
	Attempt  int       `json:"attempt"`
	Error    string    `json:"error,omitempty"`
}

// Result is one file a job produced, with what the page shows beside it.
type Result struct {
	File     string   `json:"file"` // relative to results/<id>/
	Label    string   `json:"label,omitempty"`
	Distance *float64 `json:"distance,omitempty"`
}

// NewID returns a fresh unguessable id: 128 random bits, base64url without
// padding (22 characters).
func NewID() string {
	var b [16]byte
	rand.Read(b[:]) // never fails (crypto/rand panics rather than return an error)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// ValidID reports whether s has the form of an id from NewID, so that
// anything else is turned away before it reaches a query or a file name.
func ValidID(s string) bool {
	if len(s) != 22 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

const jobColumns = "id, kind, status, reason, email, upload, created_at, updated_at, finished_at, attempts, steps, results, emailed_at, email_error"

// CreateJob inserts j (queued, times set now) and, in the same transaction,
// runs enqueue — the caller's River insert — so that a job record exists
// exactly when its queue entry does.
func (s *Store) CreateJob(ctx context.Context, j *Job, enqueue func(ctx context.Context, tx *Tx) error) error {
	if !ValidID(j.ID) {
		return fmt.Errorf("store: bad job id %q", j.ID)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	j.Status, j.CreatedAt, j.UpdatedAt = StatusQueued, now, now
	if j.Steps == nil {
		j.Steps = map[string]Step{}
	}
	if j.Results == nil {
		j.Results = map[string]Result{}
	}
	steps, _ := json.Marshal(j.Steps)
	results, _ := json.Marshal(j.Results)
	return s.InTx(ctx, func(tx *Tx) error {
		err := tx.Exec(ctx, "INSERT INTO forger_jobs ("+jobColumns+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?, 0, '')",
			j.ID, j.Kind, j.Status, j.Reason, j.Email, j.Upload, ms(now), ms(now), string(steps), string(results))
		if err != nil {
			return fmt.Errorf("store: insert job: %w", err)
		}
		if enqueue != nil {
			return enqueue(ctx, tx)
		}
		return nil
	})
}

type scanner interface{ Scan(...any) error }

func scanJob(row scanner) (*Job, error) {
	var j Job
	var created, updated, finished, emailed int64
	var steps, results string
	err := row.Scan(&j.ID, &j.Kind, &j.Status, &j.Reason, &j.Email, &j.Upload, &created, &updated, &finished,
		&j.Attempts, &steps, &results, &emailed, &j.EmailError)
	if errors.Is(err, sql.ErrNoRows) || errors.Is(err, errPgxNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("store: read job: %w", err)
	}
	j.CreatedAt, j.UpdatedAt, j.FinishedAt, j.EmailedAt = fromMS(created), fromMS(updated), fromMS(finished), fromMS(emailed)
	if err := json.Unmarshal([]byte(steps), &j.Steps); err != nil {
		return nil, fmt.Errorf("store: job %s steps: %w", j.ID, err)
	}
	if err := json.Unmarshal([]byte(results), &j.Results); err != nil {
		return nil, fmt.Errorf("store: job %s results: %w", j.ID, err)
	}
	if j.Steps == nil {
		j.Steps = map[string]Step{}
	}
	if j.Results == nil {
		j.Results = map[string]Result{}
	}
	return &j, nil
}

// Job returns the record with the given id, or ErrNotFound.
func (s *Store) Job(ctx context.Context, id string) (*Job, error) {
	if !ValidID(id) {
		return nil, ErrNotFound
	}
	return scanJob(s.queryRow(ctx, "SELECT "+jobColumns+" FROM forger_jobs WHERE id = ?", id))
}

// UpdateJob reads the job under a write lock, lets fn change it and writes
// it back, all in one transaction; UpdatedAt is set. When fn returns an
// error nothing is written and the error is returned. ErrNotFound when the
// job does not exist (for example after the retention sweep).
func (s *Store) UpdateJob(ctx context.Context, id string, fn func(j *Job) error) (*Job, error) {
	var out *Job
	err := s.InTx(ctx, func(tx *Tx) error {
		j, err := scanJob(tx.QueryRow(ctx, "SELECT "+jobColumns+" FROM forger_jobs WHERE id = ?"+s.forUpdate(), id))
		if err != nil {
			return err
		}
		if err := fn(j); err != nil {
			return err
		}
		j.UpdatedAt = time.Now().UTC().Truncate(time.Millisecond)
		steps, err := json.Marshal(j.Steps)
		if err != nil {
			return err
		}
		results, err := json.Marshal(j.Results)
		if err != nil {
			return err
		}
		err = tx.Exec(ctx, `UPDATE forger_jobs SET status = ?, reason = ?, email = ?, upload = ?, updated_at = ?, finished_at = ?,
			attempts = ?, steps = ?, results = ?, emailed_at = ?, email_error = ? WHERE id = ?`,
			j.Status, j.Reason, j.Email, j.Upload, ms(j.UpdatedAt), msOrZero(j.FinishedAt), j.Attempts, string(steps), string(results),
			msOrZero(j.EmailedAt), j.EmailError, j.ID)
		if err != nil {
			return fmt.Errorf("store: update job: %w", err)
		}
		out = j
		return nil
	})
	return out, err
}

func msOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return ms(t)
}

// JobsCreatedBefore returns the ids and uploads of the jobs created before t
// (for the retention sweep), at most limit of them, oldest first.
func (s *Store) JobsCreatedBefore(ctx context.Context, t time.Time, limit int) ([]Job, error) {
	rows, err := s.query(ctx, "SELECT id, upload FROM forger_jobs WHERE created_at < ? ORDER BY created_at LIMIT ?", ms(t), limit)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	defer rows.Close()
	var out []Job
	for rows.Next() {
		var j Job
		if err := rows.Scan(&j.ID, &j.Upload); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

// DeleteJob removes a job's record.
func (s *Store) DeleteJob(ctx context.Context, id string) error {
	_, err := s.exec(ctx, "DELETE FROM forger_jobs WHERE id = ?", id)
	return err
}

// CountJobs returns how many job records there are with each status.
func (s *Store) CountJobs(ctx context.Context) (map[string]int, error) {
	rows, err := s.query(ctx, "SELECT status, COUNT(*) FROM forger_jobs GROUP BY status")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, err
		}
		out[st] = n
	}
	return out, rows.Err()
}
