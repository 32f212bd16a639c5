package studio

import (
	"fmt"
	"testing"
)

// The image cache holds its budget in bytes, evicting the least recently
// used pictures, whatever their number; a picture too big for it is not
// kept.
func TestImageCacheBytes(t *testing.T) {
	const budget = 64 << 10
	c := newImageCache(budget)
	pic := func(i int) []byte { return make([]byte, 4<<10+i) }
	for i := range 100 {
		c.add(fmt.Sprint("k", i), pic(i))
		if i == 5 {
			c.get("k0") // k0 is used again: it stays longer than k1
		}
		if _, b := c.stats(); b > budget {
			t.Fatalf("after %d pictures the cache holds %d bytes, budget %d", i+1, b, budget)
		}
	}
	n, b := c.stats()
	if n < 10 || n > 16 || b < budget*3/4 {
		t.Errorf("%d pictures, %d bytes kept of a %d-byte budget", n, b, budget)
	}
	if _, ok := c.get("k99"); !ok {
		t.Error("the newest picture was evicted")
	}
	if _, ok := c.get("k1"); ok {
		t.Error("the oldest picture was kept")
	}
	// Replacing a picture counts its new size, not both.
	c.add("k99", make([]byte, 100))
	if _, b2 := c.stats(); b2 >= b {
		t.Errorf("replacing k99 by 100 bytes: %d bytes, was %d", b2, b)
	}
	c.add("huge", make([]byte, budget/4))
	if _, ok := c.get("huge"); ok {
		t.Error("a picture of a quarter of the budget was kept")
	}
}

// Distinct morphs — the largest pictures the studio makes — keep the
// server's cache within the budget it was given.
func TestServerImageCacheBudget(t *testing.T) {
	h := newHarness(t, harnessOptions{noPipeline: true, imageCacheBytes: 512 << 10})
	for i := range 40 {
		u := fmt.Sprintf("/api/morph?model=tiny&from=%d&to=%d&frames=48", i, i+100)
		if status, _, body := h.do("GET", u, "", nil); status != 200 {
			t.Fatalf("GET %s: %d %s", u, status, body)
		}
	}
	n, b := h.s.images.stats()
	if b > 512<<10 || n == 0 || n >= 40 {
		t.Errorf("%d morphs cached in %d bytes, budget %d", n, b, 512<<10)
	}
}

func TestDefaultImageCacheBytes(t *testing.T) {
	for mem, want := range map[int64]int64{0: 256 << 20, 512 << 20: 64 << 20, 4 << 30: 128 << 20, 24 << 30: 256 << 20, 64 << 30: 256 << 20} {
		if got := DefaultImageCacheBytes(mem); got != want {
			t.Errorf("%d MB of memory: %d MB of cache, want %d", mem>>20, got>>20, want>>20)
		}
	}
	if MachineMemory() <= 0 {
		t.Error("the machine's memory could not be read")
	}
}
