package studio

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// MachineMemory returns the machine's memory in bytes (Linux's MemTotal,
// or a cgroup's memory.max when lower), or 0 when it cannot be read.
func MachineMemory() int64 {
	var total int64
	if f, err := os.Open("/proc/meminfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if rest, ok := strings.CutPrefix(sc.Text(), "MemTotal:"); ok {
				kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
				if err == nil {
					total = kb << 10
				}
				break
			}
		}
		f.Close()
	}
	if b, err := os.ReadFile("/sys/fs/cgroup/memory.max"); err == nil {
		if v, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && v > 0 && (total == 0 || v < total) {
			total = v
		}
	}
	return total
}

// Image cache budget: DefaultImageCacheBytes of a machine's memory.
const (
	MinImageCacheBytes = 64 << 20
	MaxImageCacheBytes = 1 << 30
	// fallbackImageCacheBytes is the budget when the machine's memory is
	// unknown.
	fallbackImageCacheBytes = 256 << 20
)

// DefaultImageCacheBytes is the image cache's budget on a machine with
// mem bytes of memory: a sixteenth of it, between 64 MB and 1 GB (256 MB
// when mem is unknown, 0).
func DefaultImageCacheBytes(mem int64) int64 {
	if mem <= 0 {
		return fallbackImageCacheBytes
	}
	return min(max(mem/16, MinImageCacheBytes), MaxImageCacheBytes)
}

// DefaultMemoryLimit is the Go memory limit forger serve sets on a machine
// with mem bytes of memory: half of it (0, none, when mem is unknown).
func DefaultMemoryLimit(mem int64) int64 {
	return mem / 2
}
