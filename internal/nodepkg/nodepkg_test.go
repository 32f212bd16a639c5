package nodepkg

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// TestPrepareOnceAcrossCallers runs Prepare from several goroutines at once
// (as parallel test packages do) with a fake npm that is slow and counts its
// runs: npm ci runs once, every caller gets the installed folder, and none
// sees it installed before npm has finished.
func TestPrepareOnceAcrossCallers(t *testing.T) {
	bin, dir := t.TempDir(), t.TempDir()
	count := filepath.Join(bin, "count")
	npm := `#!/bin/sh
echo run >> "` + count + `"
sleep 1
mkdir -p node_modules/dep
echo '{"version": "1.0.0"}' > node_modules/dep/package.json
`
	if err := os.WriteFile(filepath.Join(bin, "npm"), []byte(npm), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	os.WriteFile(filepath.Join(dir, "package.json"), []byte(`{"dependencies": {"dep": "1.0.0"}}`), 0o644)
	os.WriteFile(filepath.Join(dir, "package-lock.json"), []byte(`{}`), 0o644)

	d := Dir{Path: dir, CacheName: "test"}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got, err := d.Prepare(context.Background(), nil)
			if err == nil && got != dir {
				t.Errorf("Prepare gave %s, want %s", got, dir)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(count)
	if runs := strings.Count(string(b), "run"); runs != 1 {
		t.Fatalf("npm ci ran %d times, want 1", runs)
	}
	if !Installed(dir) {
		t.Fatal("not installed after Prepare")
	}
	// A node_modules that npm has not finished is not installed.
	os.Remove(filepath.Join(dir, "node_modules", installedMarker))
	if Installed(dir) {
		t.Fatal("installed without npm's completion marker")
	}
}
