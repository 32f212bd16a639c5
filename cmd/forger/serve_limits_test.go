package main

import (
	"strings"
	"testing"
)

func TestMemoryLimit(t *testing.T) {
	const gb = 1 << 30
	for _, c := range []struct {
		flag int
		env  string
		mem  int64
		want int64
	}{
		{0, "", 8 * gb, 4 * gb},          // half the machine
		{0, "", 0, 0},                    // unknown machine: none
		{0, "3GiB", 8 * gb, 0},           // GOMEMLIMIT stays as the runtime read it
		{700, "3GiB", 8 * gb, 700 << 20}, // the flag wins
		{-1, "", 8 * gb, 0},              // none
	} {
		if got := memoryLimit(c.flag, c.env, c.mem); got != c.want {
			t.Errorf("memoryLimit(%d, %q, %d) = %d, want %d", c.flag, c.env, c.mem, got, c.want)
		}
	}
}

// forger serve sets the Go memory limit and sizes its image cache, and
// logs both.
func TestServeMemoryFlags(t *testing.T) {
	models := t.TempDir()
	_, _, log := startServe(t, "--models", models, "--data", t.TempDir(), "--workers", "0",
		"--memory-limit-mb", "700", "--image-cache-mb", "33")
	if s := log.String(); !strings.Contains(s, "memory limit") || !strings.Contains(s, "mb=700") || !strings.Contains(s, "image_cache_mb=33") {
		t.Errorf("the log does not show the limits: %s", s)
	}
}
