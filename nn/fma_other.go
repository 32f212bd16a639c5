//go:build !amd64

package nn

// fmadd sets dst[i] += a[i]·b[i] for i < len(dst).
func fmadd(dst, a, b []float32) { fmaddGo(dst, a, b) }
