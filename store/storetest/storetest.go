// Package storetest gives tests fresh databases: an SQLite file in a
// temporary folder always, and a new PostgreSQL database — created on the
// server FORGER_TEST_PG names (a postgres:// URL whose user may create
// databases, see scripts/ci-postgres.sh) and dropped when the test ends —
// when that variable is set.
package storetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"forger/internal/fixture"
)

// EnvPostgres names the variable holding the PostgreSQL server's URL.
const EnvPostgres = "FORGER_TEST_PG"

// DB is a fresh database for one test.
type DB struct {
	Name string // "sqlite" or "postgres", for t.Run
	URL  string // for store.Open
}

// Databases returns a fresh SQLite database and, when FORGER_TEST_PG is
// set, a fresh PostgreSQL database.
func Databases(t testing.TB) []DB {
	t.Helper()
	dbs := []DB{{"sqlite", SQLite(t)}}
	if os.Getenv(EnvPostgres) != "" {
		dbs = append(dbs, DB{"postgres", Postgres(t)})
	}
	return dbs
}

// SQLite returns the URL of a new SQLite file in a temporary folder.
func SQLite(t testing.TB) string {
	t.Helper()
	return "sqlite:" + filepath.Join(t.TempDir(), "test.db")
}

// Postgres creates a database on the FORGER_TEST_PG server and returns its
// URL; it skips the test when the variable is not set.
func Postgres(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		fixture.Missing(t, EnvPostgres+" not set (scripts/ci-postgres.sh starts a server and prints it)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgres, err)
	}
	defer conn.Close(context.Background())
	var b [6]byte
	rand.Read(b[:])
	name := "forger_test_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("creating a test database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, base)
		if err != nil {
			t.Logf("dropping %s: %v", name, err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Logf("dropping %s: %v", name, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("%s: %v", EnvPostgres, err)
	}
	u.Path = "/" + name
	return u.String()
}
