package store_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"forger/store"
	"forger/store/storetest"
)

func open(t *testing.T, url string) *store.Store {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, url, t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestIDs(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		id := store.NewID()
		if !store.ValidID(id) || len(id) != 22 || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		seen[id] = true
	}
	for _, bad := range []string{"", "short", "../../../../etc/passwd", strings.Repeat("a", 21) + "/", strings.Repeat("a", 23), strings.Repeat("a", 21) + "."} {
		if store.ValidID(bad) {
			t.Errorf("ValidID(%q) = true", bad)
		}
	}
}

func TestOpenURLs(t *testing.T) {
	ctx := context.Background()
	if _, err := store.Open(ctx, "mysql://x", t.TempDir(), nil); err == nil || !strings.Contains(err.Error(), "unsupported") {
		t.Errorf("mysql URL: err = %v", err)
	}
	if _, err := store.Open(ctx, "postgres://u:secret@127.0.0.1:1/none?connect_timeout=2", "", nil); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("unreachable postgres: err = %v (must fail without showing the password)", err)
	}
	dir := t.TempDir()
	st, err := store.Open(ctx, "", dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if st.Dialect() != store.SQLite || !strings.Contains(st.String(), dir) {
		t.Errorf("default store = %s, want SQLite under %s", st, dir)
	}
}

func TestStore(t *testing.T) {
	for _, db := range storetest.Databases(t) {
		t.Run(db.Name, func(t *testing.T) {
			t.Run("Migrate", func(t *testing.T) { testMigrate(t, db.URL) })
			t.Run("Jobs", func(t *testing.T) { testJobs(t, db.URL) })
			t.Run("ConcurrentUpdates", func(t *testing.T) { testConcurrentUpdates(t, db.URL) })
			t.Run("Gallery", func(t *testing.T) { testGallery(t, db.URL) })
			t.Run("MailConfirmation", func(t *testing.T) { testMailConfirmation(t, db.URL) })
		})
	}
}

func testMigrate(t *testing.T, url string) {
	st := open(t, url)
	ctx := context.Background()
	v, err := st.SchemaVersion(ctx)
	if err != nil || v < 2 {
		t.Fatalf("schema version %d, %v", v, err)
	}
	// Migrating again, and from several processes at once, changes nothing.
	var wg sync.WaitGroup
	errs := make(chan error, 3)
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s2, err := store.Open(ctx, url, t.TempDir(), nil)
			if err != nil {
				errs <- err
				return
			}
			defer s2.Close()
			errs <- s2.Migrate(ctx)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if v2, _ := st.SchemaVersion(ctx); v2 != v {
		t.Errorf("version %d after re-migrating, was %d", v2, v)
	}
	// River's tables are there.
	var n int
	if err := st.DB().QueryRowContext(ctx, "SELECT COUNT(*) FROM river_job").Scan(&n); err != nil {
		t.Errorf("river_job: %v", err)
	}
}

func testJobs(t *testing.T, url string) {
	st := open(t, url)
	ctx := context.Background()
	id := store.NewID()
	j := &store.Job{ID: id, Kind: "test", Email: "a@example.com", Upload: id + ".png"}
	if err := st.CreateJob(ctx, j, nil); err != nil {
		t.Fatal(err)
	}
	// A failing enqueue rolls the record back.
	id2 := store.NewID()
	boom := errors.New("boom")
	if err := st.CreateJob(ctx, &store.Job{ID: id2, Kind: "test"}, func(ctx context.Context, tx *store.Tx) error { return boom }); !errors.Is(err, boom) {
		t.Fatalf("CreateJob with failing enqueue: %v", err)
	}
	if _, err := st.Job(ctx, id2); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("rolled-back job: %v, want ErrNotFound", err)
	}
	if err := st.CreateJob(ctx, &store.Job{ID: "../x", Kind: "test"}, nil); err == nil {
		t.Error("CreateJob accepted a bad id")
	}

	got, err := st.Job(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.StatusQueued || got.Email != "a@example.com" || got.CreatedAt.IsZero() || len(got.Steps) != 0 {
		t.Fatalf("job = %+v", got)
	}
	d := 0.25
	start := time.Now().UTC().Truncate(time.Millisecond)
	_, err = st.UpdateJob(ctx, id, func(j *store.Job) error {
		j.Status = store.StatusDone
		j.Attempts++
		j.Steps["align"] = store.Step{Started: start, Finished: start.Add(time.Second), MS: 1000, Attempt: 1}
		j.Results["best"] = store.Result{File: "best.png", Label: "Ada", Distance: &d}
		j.FinishedAt = start
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err = st.Job(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != store.StatusDone || got.Attempts != 1 || got.Steps["align"].MS != 1000 || !got.Steps["align"].Started.Equal(start) ||
		got.Results["best"].File != "best.png" || *got.Results["best"].Distance != 0.25 || !got.FinishedAt.Equal(start) {
		t.Fatalf("after update: %+v", got)
	}
	// An error from fn writes nothing.
	_, err = st.UpdateJob(ctx, id, func(j *store.Job) error { j.Status = store.StatusFailed; return boom })
	if !errors.Is(err, boom) {
		t.Fatal(err)
	}
	if got, _ := st.Job(ctx, id); got.Status != store.StatusDone {
		t.Errorf("status %s after a failed update", got.Status)
	}
	if _, err := st.UpdateJob(ctx, store.NewID(), func(*store.Job) error { return nil }); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateJob of a missing job: %v", err)
	}
	counts, err := st.CountJobs(ctx)
	if err != nil || counts[store.StatusDone] != 1 {
		t.Errorf("counts %v, %v", counts, err)
	}
	// Retention.
	old, err := st.JobsCreatedBefore(ctx, time.Now().Add(time.Hour), 10)
	if err != nil || len(old) != 1 || old[0].ID != id || old[0].Upload != id+".png" {
		t.Fatalf("JobsCreatedBefore: %v, %v", old, err)
	}
	if none, _ := st.JobsCreatedBefore(ctx, time.Now().Add(-time.Hour), 10); len(none) != 0 {
		t.Errorf("JobsCreatedBefore an hour ago: %v", none)
	}
	if err := st.DeleteJob(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Job(ctx, id); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted job: %v", err)
	}
	if _, err := st.Job(ctx, "not an id"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("bad id: %v", err)
	}
}

// testConcurrentUpdates: read-modify-write transactions from many
// goroutines lose no update.
func testConcurrentUpdates(t *testing.T, url string) {
	st := open(t, url)
	ctx := context.Background()
	id := store.NewID()
	if err := st.CreateJob(ctx, &store.Job{ID: id, Kind: "test"}, nil); err != nil {
		t.Fatal(err)
	}
	const n = 20
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := st.UpdateJob(ctx, id, func(j *store.Job) error { j.Attempts++; return nil }); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if got, _ := st.Job(ctx, id); got.Attempts != n {
		t.Errorf("attempts = %d after %d concurrent increments", got.Attempts, n)
	}
}

func testGallery(t *testing.T, url string) {
	st := open(t, url)
	ctx := context.Background()
	a := &store.GalleryEntry{ID: store.NewID(), Name: "Ada", File: "a.png"}
	b := &store.GalleryEntry{ID: store.NewID(), Name: "Grace", File: "b.png"}
	for _, e := range []*store.GalleryEntry{a, b} {
		if err := st.AddGalleryEntry(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	list, err := st.Gallery(ctx)
	if err != nil || len(list) != 2 {
		t.Fatalf("gallery %v, %v", list, err)
	}
	got, err := st.GalleryEntryByID(ctx, b.ID)
	if err != nil || got.Name != "Grace" || got.File != "b.png" {
		t.Fatalf("entry %+v, %v", got, err)
	}
	if err := st.DeleteGalleryEntry(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteGalleryEntry(ctx, a.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting twice: %v", err)
	}
	// Model settings.
	if err := st.SetModelSettings(ctx, &store.ModelSettings{Name: "run/epoch1", Hidden: true, Title: "First"}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetModelSettings(ctx, &store.ModelSettings{Name: "run/epoch1", Hidden: false, Title: "Second"}); err != nil {
		t.Fatal(err)
	}
	ms, err := st.ModelSettings(ctx)
	if err != nil || len(ms) != 1 || ms["run/epoch1"].Hidden || ms["run/epoch1"].Title != "Second" {
		t.Errorf("model settings %v, %v", ms, err)
	}
}
