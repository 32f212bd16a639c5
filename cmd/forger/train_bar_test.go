package main

import (
	"bytes"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// A resumed run's bar shows the pace of this session: the images done
// before it are not counted as done in its first second.
func TestTrainBarOnResume(t *testing.T) {
	var out bytes.Buffer
	u := &trainUI{w: &out}
	u.Start(100_000, 80_000)
	for i := 1; i <= 12; i++ {
		time.Sleep(100 * time.Millisecond)
		u.Update(80_000+int64(16*i), 100_000, "step")
	}
	u.Finish()
	rates := regexp.MustCompile(`([0-9.]+) img/s`).FindAllStringSubmatch(out.String(), -1)
	if len(rates) == 0 {
		t.Fatalf("no rate in the bar: %q", out.String())
	}
	for _, m := range rates {
		// 16 images every 100 ms: 160 images/s, whatever the machine's load
		// adds to the sleeps.
		if r, err := strconv.ParseFloat(m[1], 64); err != nil || r > 1000 {
			t.Fatalf("the bar shows %s img/s for 160 images/s: %q", m[1], out.String())
		}
	}
	// The count is of this session's images too (the last update may be
	// throttled away).
	counts := regexp.MustCompile(`\(([0-9]+)/([0-9]+),`).FindAllStringSubmatch(out.String(), -1)
	last := counts[len(counts)-1]
	if n, _ := strconv.Atoi(last[1]); n < 16 || n > 192 || last[2] != "20000" {
		t.Errorf("the bar ends at %s/%s, want at most this session's 192 images of 20000: %q", last[1], last[2], out.String())
	}
}
