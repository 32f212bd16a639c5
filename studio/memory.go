package studio

import (
	"bufio"
	"math"
	"os"
	"runtime/debug"
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
	MaxImageCacheBytes = 256 << 20
	// fallbackImageCacheBytes is the budget when the machine's memory is
	// unknown.
	fallbackImageCacheBytes = 256 << 20
)

// DefaultImageCacheBytes is the image cache's budget on a machine with
// mem bytes of memory: a thirty-second of it, between 64 MB and 256 MB
// (256 MB when mem is unknown, 0). A larger cache saves little: a cached
// picture is a request's recomputation, tens of milliseconds, and the
// cache's bytes weigh twice in the heap under the garbage collector's
// default headroom.
func DefaultImageCacheBytes(mem int64) int64 {
	if mem <= 0 {
		return fallbackImageCacheBytes
	}
	return min(max(mem/32, MinImageCacheBytes), MaxImageCacheBytes)
}

// WorkingBytes is the memory a server needs beside its image cache: the
// models, the face networks, the decode budget of uploads in flight and
// the working tensors of requests and jobs.
const WorkingBytes = 1 << 30

// DefaultMemoryLimit is the Go memory limit forger serve sets on a machine
// with mem bytes of memory and an image cache of cacheBytes: WorkingBytes
// plus twice the cache, so the garbage collector works harder before the
// heap outgrows what the server holds, and never more than half the
// machine (0, none, when mem is unknown). It is a soft limit: a heap that
// needs more gets more.
func DefaultMemoryLimit(mem, cacheBytes int64) int64 {
	if mem <= 0 {
		return 0
	}
	return min(WorkingBytes+2*max(cacheBytes, 0), mem/2)
}

// MemoryLimit is the Go memory limit a server sets, in bytes, or 0 to
// leave the runtime's: requestedMB megabytes when positive; 0 when
// requestedMB is negative (no limit) or env, the value of $GOMEMLIMIT, is
// set (the runtime applied it already); else DefaultMemoryLimit(mem,
// cacheBytes).
func MemoryLimit(requestedMB int, env string, mem, cacheBytes int64) int64 {
	switch {
	case requestedMB > 0:
		return int64(requestedMB) << 20
	case requestedMB < 0 || env != "":
		return 0
	}
	return DefaultMemoryLimit(mem, cacheBytes)
}

// SetMemoryLimit applies MemoryLimit to this process, on this machine and
// with this $GOMEMLIMIT, and returns the limit in force (math.MaxInt64:
// none). A negative requestedMB removes any limit. imageCacheBytes is the
// server's image cache as configured (0: DefaultImageCacheBytes); a
// worker, which holds no image cache, passes withCache false.
func SetMemoryLimit(requestedMB int, imageCacheBytes int64, withCache bool) int64 {
	mem := MachineMemory()
	var cache int64
	if withCache {
		cache = imageCacheBytes
		if cache <= 0 {
			cache = DefaultImageCacheBytes(mem)
		}
	}
	if l := MemoryLimit(requestedMB, os.Getenv("GOMEMLIMIT"), mem, cache); l > 0 {
		debug.SetMemoryLimit(l)
	} else if requestedMB < 0 {
		debug.SetMemoryLimit(math.MaxInt64)
	}
	return debug.SetMemoryLimit(-1)
}
