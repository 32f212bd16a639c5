package facedb

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"forger/face"
)

func randomDescriptor(rng *rand.Rand) face.Descriptor {
	var d face.Descriptor
	for i := range d {
		d[i] = float32(rng.NormFloat64() * 0.09)
	}
	return d
}

func TestUpdateLoad(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub", "faces.db")
	db, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rng := rand.New(rand.NewPCG(1, 1))
	gallery := "/g"
	a1, a2, b := randomDescriptor(rng), randomDescriptor(rng), randomDescriptor(rng)
	files := map[string][]Row{
		"/g/alice/1.jpg": {{Name: "alice", File: "/g/alice/1.jpg", Descriptor: a1}},
		"/g/alice/2.jpg": {{Name: "alice", File: "/g/alice/2.jpg", Descriptor: a2}},
		"/g/bob.jpg":     {{Name: "bob", File: "/g/bob.jpg", Descriptor: b}},
		"/g/empty.jpg":   nil,
	}
	if added, removed, err := db.Update(ctx, files, gallery); err != nil || added != 3 || removed != 0 {
		t.Fatalf("first update: %d added, %d removed, %v", added, removed, err)
	}
	// Indexing again replaces the rows: same content.
	if added, removed, err := db.Update(ctx, files, gallery); err != nil || added != 3 || removed != 3 {
		t.Fatalf("second update: %d added, %d removed, %v", added, removed, err)
	}
	if rows, people, err := db.Count(ctx); err != nil || rows != 3 || people != 2 {
		t.Fatalf("count %d rows %d people %v", rows, people, err)
	}
	g, err := db.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	best, _ := g.Match(a2, 2)
	if best[0].Name != "alice" || best[0].Distance > 1e-6 || best[1].Name != "bob" {
		t.Errorf("match %+v", best)
	}
	// A photo gone from the gallery loses its rows; another folder's stay.
	other := map[string][]Row{"/h/carol.jpg": {{Name: "carol", File: "/h/carol.jpg", Descriptor: b}}}
	if _, _, err := db.Update(ctx, other, "/h"); err != nil {
		t.Fatal(err)
	}
	delete(files, "/g/alice/2.jpg")
	if _, removed, err := db.Update(ctx, files, gallery); err != nil || removed != 3 {
		t.Fatalf("prune: removed %d (want 2 replaced + 1 gone), %v", removed, err)
	}
	if rows, people, _ := db.Count(ctx); rows != 3 || people != 3 {
		t.Fatalf("after prune: %d rows, %d people", rows, people)
	}
	// A failed update changes nothing.
	bad := map[string][]Row{"/g/bob.jpg": {{Name: "bob", File: "/elsewhere.jpg"}}}
	if _, _, err := db.Update(ctx, bad, gallery); err == nil {
		t.Fatal("an inconsistent row was written")
	}
	if rows, _, _ := db.Count(ctx); rows != 3 {
		t.Fatalf("a failed update changed the index: %d rows", rows)
	}
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	if _, err := OpenExisting(ctx, filepath.Join(dir, "missing.db")); !errors.Is(err, ErrNoIndex) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "missing.db")); err == nil {
		t.Error("OpenExisting created the file")
	}
	junk := filepath.Join(dir, "junk.db")
	os.WriteFile(junk, []byte("this is not a database, just some text long enough to be read"), 0o644)
	for _, open := range []func(context.Context, string) (*DB, error){Open, OpenExisting} {
		if _, err := open(ctx, junk); err == nil {
			t.Error("a text file opened as an index")
		}
	}
	if _, err := Open(ctx, "bad?name.db"); err == nil {
		t.Error("a name with ? was accepted")
	}
}

func TestDescriptorBlob(t *testing.T) {
	d := randomDescriptor(rand.New(rand.NewPCG(2, 2)))
	b := EncodeDescriptor(d)
	if len(b) != 512 {
		t.Fatalf("%d bytes", len(b))
	}
	back, err := DecodeDescriptor(b)
	if err != nil || back != d {
		t.Fatalf("round trip: %v", err)
	}
	if _, err := DecodeDescriptor(b[:100]); err == nil {
		t.Error("short blob accepted")
	}
}

// index100k writes 100,000 random descriptors of 50,000 people into a new
// index and returns its path and a query.
func index100k(tb testing.TB) (string, face.Descriptor) {
	tb.Helper()
	ctx := context.Background()
	path := filepath.Join(tb.TempDir(), "100k.db")
	db, err := Open(ctx, path)
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	rng := rand.New(rand.NewPCG(3, 3))
	files := map[string][]Row{}
	for i := 0; i < 100_000; i++ {
		f := fmt.Sprintf("/gallery/person%05d/%d.jpg", i/2, i%2)
		files[f] = []Row{{Name: fmt.Sprintf("person%05d", i/2), File: f, Descriptor: randomDescriptor(rng)}}
	}
	t0 := time.Now()
	if _, _, err := db.Update(ctx, files, ""); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("inserted 100,000 rows in %v", time.Since(t0))
	return path, randomDescriptor(rng)
}

// BenchmarkMatch100kFromSQLite: an index of 100,000 faces in SQLite;
// reports the time to open and load it (load-ms) and, per op, one match.
func BenchmarkMatch100kFromSQLite(b *testing.B) {
	path, q := index100k(b)
	ctx := context.Background()
	t0 := time.Now()
	db, err := OpenExisting(ctx, path)
	if err != nil {
		b.Fatal(err)
	}
	g, err := db.Load(ctx)
	db.Close()
	if err != nil {
		b.Fatal(err)
	}
	load := time.Since(t0)
	if g.Len() != 100_000 || g.People() != 50_000 {
		b.Fatalf("loaded %d rows of %d people", g.Len(), g.People())
	}
	g.Match(q, 3)
	var times []time.Duration
	b.ResetTimer()
	for b.Loop() {
		t := time.Now()
		g.Match(q, 3)
		times = append(times, time.Since(t))
	}
	slices.Sort(times)
	b.ReportMetric(float64(load.Microseconds())/1000, "load-ms")
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "median-ms")
	b.ReportMetric(float64(times[0].Microseconds())/1000, "min-ms")
}

// The promise, from an SQLite file: matching 100,000 faces takes under
// 100 ms (fastest of five runs; opening and loading the file not counted,
// but logged).
func TestMatch100kFromSQLite(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a 100,000-row index")
	}
	path, q := index100k(t)
	ctx := context.Background()
	t0 := time.Now()
	db, err := OpenExisting(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	g, err := db.Load(ctx)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	load := time.Since(t0)
	fastest := time.Hour
	for i := 0; i < 5; i++ {
		t1 := time.Now()
		best, worst := g.Match(q, 3)
		fastest = min(fastest, time.Since(t1))
		if len(best) != 3 || len(worst) != 3 || best[0].Distance > worst[0].Distance {
			t.Fatalf("best %+v worst %+v", best, worst)
		}
	}
	t.Logf("100,000 faces: open+load %v, match %v (fastest of 5)", load, fastest)
	if fastest > 100*time.Millisecond && !raceEnabled {
		t.Errorf("matching took %v, want < 100 ms", fastest)
	}
}

// raceEnabled is set by race_test.go under the race detector, which slows
// the scan down too much for the timing promise.
var raceEnabled bool

func TestRowsKeepFiles(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, filepath.Join(t.TempDir(), "faces.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rng := rand.New(rand.NewPCG(2, 2))
	a, b := randomDescriptor(rng), randomDescriptor(rng)
	if _, _, err := db.Update(ctx, map[string][]Row{
		"/g/alice.jpg": {{Name: "alice", File: "/g/alice.jpg", Descriptor: a}},
		"/g/bob.jpg":   {{Name: "bob", File: "/g/bob.jpg", Descriptor: b}},
	}, ""); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Rows(ctx)
	if err != nil || len(rows) != 2 {
		t.Fatalf("rows %v, %v", rows, err)
	}
	slices.SortFunc(rows, func(x, y Row) int { return strings.Compare(x.Name, y.Name) })
	if rows[0] != (Row{Name: "alice", File: "/g/alice.jpg", Descriptor: a}) || rows[1] != (Row{Name: "bob", File: "/g/bob.jpg", Descriptor: b}) {
		t.Errorf("rows %+v", rows)
	}
}
