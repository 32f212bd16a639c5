//go:build race

package blas

// The race detector makes sync.Pool drop items on purpose, so calls allocate.
func init() { raceEnabled = true }
