package studio

import (
	"math"
	"runtime/debug"
	"testing"
)

// MemoryLimit: the requested limit wins, then $GOMEMLIMIT, then the default for the
// machine and the cache.
func TestMemoryLimit(t *testing.T) {
	const gb = 1 << 30
	for _, c := range []struct {
		req        int
		env        string
		mem, cache int64
		want       int64
	}{
		{0, "", 8 * gb, 256 << 20, 1536 << 20},      // a gigabyte and twice the cache
		{0, "", 8 * gb, 0, 1 * gb},                  // a worker: no cache
		{0, "", 2 * gb, 256 << 20, 1 * gb},          // at most half the machine
		{0, "", 0, 256 << 20, 0},                    // unknown machine: none
		{0, "3GiB", 8 * gb, 256 << 20, 0},           // GOMEMLIMIT stays as the runtime read it
		{700, "3GiB", 8 * gb, 256 << 20, 700 << 20}, // the request wins
		{-1, "", 8 * gb, 256 << 20, 0},              // none
	} {
		if got := MemoryLimit(c.req, c.env, c.mem, c.cache); got != c.want {
			t.Errorf("MemoryLimit(%d, %q, %d, %d) = %d, want %d", c.req, c.env, c.mem, c.cache, got, c.want)
		}
	}
}

// SetMemoryLimit sets the runtime's limit and reports it; a negative
// request removes it.
func TestSetMemoryLimit(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	if got := SetMemoryLimit(700, 0, true); got != 700<<20 || debug.SetMemoryLimit(-1) != 700<<20 {
		t.Errorf("SetMemoryLimit(700) = %d, runtime %d", got, debug.SetMemoryLimit(-1))
	}
	if got := SetMemoryLimit(-1, 0, false); got != math.MaxInt64 {
		t.Errorf("SetMemoryLimit(-1) = %d, want none", got)
	}
}
