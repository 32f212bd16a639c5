package lookalike

// Test fixtures (package lookaliketest), a studio store and a test log.

import (
	"context"
	"log/slog"
	"os"
	"testing"

	"forger/lookalike/lookaliketest"
	"forger/store"
)

func TestMain(m *testing.M) {
	code := m.Run()
	lookaliketest.Cleanup()
	os.Exit(code)
}

var (
	faceModels  = lookaliketest.FaceModels
	samplePhoto = lookaliketest.Photo
	sampleIndex = lookaliketest.Index
	tinyFaceGAN = lookaliketest.FaceGAN
	writeSmile  = lookaliketest.WriteSmile
)

// testStore opens an SQLite studio store in a temporary data folder.
func testStore(t testing.TB) (*store.Store, string) {
	t.Helper()
	data := t.TempDir()
	st, err := store.Open(context.Background(), "", data, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, data
}

// testLog logs to the test.
func testLog(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(string(b[:len(b)-1]))
	return len(b), nil
}
