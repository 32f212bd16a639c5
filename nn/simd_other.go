//go:build !amd64

package nn

func leaky(y, x []float32, slope float32)          { leakyGo(y, x, slope) }
func leakyGrad(dx, dy, x []float32, slope float32) { leakyGradGo(dx, dy, x, slope) }
func addTo(dst, src []float32)                     { addToGo(dst, src) }
func affineAct(y, x, a, b []float32, c int, slope float32, act bool) {
	affineActGo(y, x, a, b, c, slope, act)
}
func bnGradRows(dx, dy, x, y, ca, cb, cc []float32, c int, slope float32, fused bool) {
	bnGradGo(dx, dy, x, y, ca, cb, cc, c, slope, fused)
}
func bnReduceRows(s, q, x, d, y []float32, rows, stride int, slope float32, fused bool) {
	bnReduceGo(s, q, x, d, y, rows, stride, slope, fused)
}

// hasAVX2FMA is false off amd64: the portable loops run everywhere.
var hasAVX2FMA = false
