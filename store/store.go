// Package store keeps the studio's records — look-alike jobs, gallery
// entries, model settings — in SQLite (modernc.org/sqlite, no cgo) or
// PostgreSQL (pgx), with one schema for both applied by versioned
// migrations, next to River's own tables (migrated with rivermigrate).
//
// Both databases see the same SQL: times are BIGINT Unix milliseconds,
// structured fields are JSON in TEXT columns, queries are written with ?
// placeholders and rewritten to $n for PostgreSQL.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// Dialect names the database behind a Store.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DefaultSQLiteName is the database file created under the data folder when
// no URL is given.
const DefaultSQLiteName = "forger.db"

// ErrNotFound is returned for a record that does not exist.
var ErrNotFound = errors.New("not found")

// Store is an open database with the studio's schema.
type Store struct {
	dialect Dialect
	db      *sql.DB       // both dialects: the studio's own queries
	pool    *pgxpool.Pool // PostgreSQL: shared by db and River
	where   string        // for messages: the file or the host/db, no password
	log     *slog.Logger
}

// Open connects to the database named by rawURL: "" for an SQLite file
// forger.db in dataDir, "sqlite:PATH" or "sqlite://PATH" (or "file:PATH") for
// an SQLite file elsewhere, "postgres://…" or "postgresql://…" for
// PostgreSQL. It does not migrate: call Migrate.
func Open(ctx context.Context, rawURL, dataDir string, log *slog.Logger) (*Store, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	switch {
	case rawURL == "":
		if dataDir == "" {
			return nil, errors.New("store: no database URL and no data folder")
		}
		return openSQLite(filepath.Join(dataDir, DefaultSQLiteName), log)
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		return openPostgres(ctx, rawURL, log)
	case strings.HasPrefix(rawURL, "sqlite://"):
		return openSQLite(strings.TrimPrefix(rawURL, "sqlite://"), log)
	case strings.HasPrefix(rawURL, "sqlite:"):
		return openSQLite(strings.TrimPrefix(rawURL, "sqlite:"), log)
	case strings.HasPrefix(rawURL, "file:"):
		return openSQLite(strings.TrimPrefix(rawURL, "file:"), log)
	}
	return nil, fmt.Errorf("store: unsupported database URL %q (use postgres://…, sqlite:PATH, or none for %s in the data folder)", redact(rawURL), DefaultSQLiteName)
}

func openSQLite(path string, log *slog.Logger) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("store: bad SQLite file name %q", path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// WAL lets readers and one writer from several processes work together;
	// busy_timeout makes a writer wait for another instead of failing;
	// _txlock=immediate takes the write lock when a transaction begins, so
	// two read-then-write transactions cannot deadlock on the upgrade.
	dsn := "file:" + path + "?_pragma=busy_timeout(20000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(1)&_txlock=immediate"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// One connection per process, as River's SQLite driver asks: SQLite runs
	// one writer at a time anyway, and this keeps River's concurrent
	// maintenance from meeting SQLITE_BUSY inside the process.
	db.SetMaxOpenConns(1)
	db.SetConnMaxIdleTime(0)
	if err := db.Ping(); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: opening %s: %w", path, err)
	}
	return &Store{dialect: SQLite, db: db, where: path, log: log}, nil
}

func openPostgres(ctx context.Context, rawURL string, log *slog.Logger) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", redact(rawURL), err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: %s: %w", redact(rawURL), err)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := pool.Ping(pctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("store: connecting to %s: %w", redact(rawURL), err)
	}
	db := stdlib.OpenDBFromPool(pool)
	return &Store{dialect: Postgres, db: db, pool: pool, where: redact(rawURL), log: log}, nil
}

// redact removes the password from a database URL for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// Dialect reports which database the store uses.
func (s *Store) Dialect() Dialect { return s.dialect }

// String describes the database for logs (never with a password).
func (s *Store) String() string { return string(s.dialect) + " " + s.where }

// DB is the database/sql handle (both dialects).
func (s *Store) DB() *sql.DB { return s.db }

// Pool is the pgx pool behind a PostgreSQL store, nil for SQLite.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close closes the database.
func (s *Store) Close() error {
	err := s.db.Close()
	if s.pool != nil {
		s.pool.Close()
	}
	return err
}

// Tx is the transaction handed to InTx's callback: a *sql.Tx on SQLite, a
// pgx.Tx on PostgreSQL — the transaction types River's drivers take — so
// that a caller can insert a River job atomically with the store's rows.
type Tx struct {
	SQL *sql.Tx // SQLite
	Pgx pgx.Tx  // PostgreSQL
	s   *Store
}

// Exec runs a statement (with ? placeholders) in the transaction.
func (t *Tx) Exec(ctx context.Context, query string, args ...any) error {
	query = t.s.rebind(query)
	if t.Pgx != nil {
		_, err := t.Pgx.Exec(ctx, query, args...)
		return err
	}
	_, err := t.SQL.ExecContext(ctx, query, args...)
	return err
}

// QueryRow runs a query returning one row in the transaction.
func (t *Tx) QueryRow(ctx context.Context, query string, args ...any) interface{ Scan(...any) error } {
	query = t.s.rebind(query)
	if t.Pgx != nil {
		return t.Pgx.QueryRow(ctx, query, args...)
	}
	return t.SQL.QueryRowContext(ctx, query, args...)
}

// InTx runs fn in a transaction of the store's native kind and commits it
// when fn returns nil.
func (s *Store) InTx(ctx context.Context, fn func(tx *Tx) error) error {
	if s.dialect == Postgres {
		ptx, err := s.pool.Begin(ctx)
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		defer ptx.Rollback(context.WithoutCancel(ctx))
		if err := fn(&Tx{Pgx: ptx, s: s}); err != nil {
			return err
		}
		return ptx.Commit(ctx)
	}
	stx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer stx.Rollback()
	if err := fn(&Tx{SQL: stx, s: s}); err != nil {
		return err
	}
	return stx.Commit()
}

// rebind turns ? placeholders into $1, $2, … for PostgreSQL. The store's
// queries have no ? inside string literals.
func (s *Store) rebind(q string) string {
	if s.dialect != Postgres || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

func (s *Store) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	return s.db.ExecContext(ctx, s.rebind(q), args...)
}

func (s *Store) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	return s.db.QueryRowContext(ctx, s.rebind(q), args...)
}

func (s *Store) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	return s.db.QueryContext(ctx, s.rebind(q), args...)
}

// forUpdate is the locking clause of a read-then-write transaction: SQLite
// locks the whole database at BEGIN (_txlock=immediate) instead.
func (s *Store) forUpdate() string {
	if s.dialect == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// Migrate brings the studio's schema and River's up to date. It is safe to
// run from several processes at once: on PostgreSQL an advisory lock
// serialises them, on SQLite the immediate transaction does.
func (s *Store) Migrate(ctx context.Context) error {
	if err := s.migrateOwn(ctx); err != nil {
		return err
	}
	return s.migrateRiver(ctx)
}

// migrationLock is the PostgreSQL advisory lock key taken while migrating
// ("forger" in ASCII).
const migrationLock = 0x666f72676572

func (s *Store) migrateRiver(ctx context.Context) error {
	logger := s.log.With("component", "rivermigrate")
	var res *rivermigrate.MigrateResult
	var err error
	if s.dialect == Postgres {
		res, err = s.migrateRiverPostgres(ctx, logger)
	} else {
		// SQLite: all of River's migrations in one immediate transaction,
		// which also keeps other processes out meanwhile.
		err = s.InTx(ctx, func(tx *Tx) error {
			m, err := rivermigrate.New(riversqlite.New(s.db), &rivermigrate.Config{Logger: logger})
			if err != nil {
				return err
			}
			res, err = m.MigrateTx(ctx, tx.SQL, rivermigrate.DirectionUp, nil)
			return err
		})
	}
	if err != nil {
		return fmt.Errorf("store: River migrations: %w", err)
	}
	for _, v := range res.Versions {
		s.log.Info("applied River migration", "version", v.Version, "name", v.Name)
	}
	return nil
}

// migrateRiverPostgres runs River's migrations each in its own transaction
// (some add enum values that later statements use, which PostgreSQL refuses
// within one transaction) while holding a session advisory lock.
func (s *Store) migrateRiverPostgres(ctx context.Context, logger *slog.Logger) (*rivermigrate.MigrateResult, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", int64(migrationLock)+1); err != nil {
		return nil, err
	}
	defer conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", int64(migrationLock)+1)
	m, err := rivermigrate.New(riverpgxv5.New(s.pool), &rivermigrate.Config{Logger: logger})
	if err != nil {
		return nil, err
	}
	return m.Migrate(ctx, rivermigrate.DirectionUp, nil)
}

func (s *Store) migrateOwn(ctx context.Context) error {
	return s.InTx(ctx, func(tx *Tx) error {
		if s.dialect == Postgres {
			if err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock(?)", int64(migrationLock)); err != nil {
				return fmt.Errorf("store: migration lock: %w", err)
			}
		}
		if err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS forger_schema_migrations (
			version INTEGER PRIMARY KEY,
			name TEXT NOT NULL,
			applied_at BIGINT NOT NULL)`); err != nil {
			return fmt.Errorf("store: migrations table: %w", err)
		}
		var have int
		if err := tx.QueryRow(ctx, "SELECT COALESCE(MAX(version), 0) FROM forger_schema_migrations").Scan(&have); err != nil {
			return fmt.Errorf("store: schema version: %w", err)
		}
		if have > len(migrations) {
			return fmt.Errorf("store: the database has schema version %d, newer than this forger knows (%d): upgrade forger", have, len(migrations))
		}
		for i := have; i < len(migrations); i++ {
			m := migrations[i]
			for _, stmt := range m.stmts {
				if err := tx.Exec(ctx, stmt); err != nil {
					return fmt.Errorf("store: migration %d (%s): %w", i+1, m.name, err)
				}
			}
			if err := tx.Exec(ctx, "INSERT INTO forger_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", i+1, m.name, ms(time.Now())); err != nil {
				return fmt.Errorf("store: migration %d: %w", i+1, err)
			}
			s.log.Info("applied schema migration", "version", i+1, "name", m.name)
		}
		return nil
	})
}

// SchemaVersion returns the studio's applied schema version.
func (s *Store) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := s.queryRow(ctx, "SELECT COALESCE(MAX(version), 0) FROM forger_schema_migrations").Scan(&v)
	return v, err
}

// Ping checks that the database answers (for /healthz).
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

var errPgxNoRows = pgx.ErrNoRows

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) || errors.Is(err, errPgxNoRows) }
