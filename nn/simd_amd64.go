package nn

// Dispatch to the AVX2/FMA kernels of simd_amd64.s when the CPU has them;
// each kernel does whole groups of 8 floats, and Go does the rest.

//go:noescape
func leakyAVX2(y, x []float32, slope float32)

//go:noescape
func leakyGradAVX2(dx, dy, x []float32, slope float32)

//go:noescape
func addToAVX2(dst, src []float32)

//go:noescape
func affineActAVX2(y, x, a, b []float32, rows, c int, slope float32, act int)

//go:noescape
func bnGradAVX2(dx, dy, x, y, ca, cb, cc []float32, rows, c int, slope float32, fused int)

//go:noescape
func bnReduceAVX2(s, q, x, d, y []float32, rows, stride int, slope float32, fused int)

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// leaky sets y = x for x ≥ 0 and x·slope otherwise, for i < len(y).
func leaky(y, x []float32, slope float32) {
	x = x[:len(y)]
	if hasAVX2FMA && len(y) >= 8 {
		n := len(y) &^ 7
		leakyAVX2(y[:n], x[:n], slope)
		y, x = y[n:], x[n:]
	}
	leakyGo(y, x, slope)
}

// leakyGrad sets dx = dy where x > 0 and dy·slope elsewhere.
func leakyGrad(dx, dy, x []float32, slope float32) {
	dy, x = dy[:len(dx)], x[:len(dx)]
	if hasAVX2FMA && len(dx) >= 8 {
		n := len(dx) &^ 7
		leakyGradAVX2(dx[:n], dy[:n], x[:n], slope)
		dx, dy, x = dx[n:], dy[n:], x[n:]
	}
	leakyGradGo(dx, dy, x, slope)
}

// addTo sets dst += src for i < len(dst).
func addTo(dst, src []float32) {
	src = src[:len(dst)]
	if hasAVX2FMA && len(dst) >= 8 {
		n := len(dst) &^ 7
		addToAVX2(dst[:n], src[:n])
		dst, src = dst[n:], src[n:]
	}
	addToGo(dst, src)
}

// affineAct: see affineActGo. len(x) is a multiple of c; y is as long.
func affineAct(y, x, a, b []float32, c int, slope float32, act bool) {
	if hasAVX2FMA && c%8 == 0 && c > 0 {
		rows := len(x) / c
		affineActAVX2(y[:rows*c], x[:rows*c], a[:c], b[:c], rows, c, slope, b2i(act))
		return
	}
	affineActGo(y, x, a, b, c, slope, act)
}

// bnGradRows: see bnGradGo. len(dx) is a multiple of c; dy, x (and y when
// fused) are as long.
func bnGradRows(dx, dy, x, y, ca, cb, cc []float32, c int, slope float32, fused bool) {
	if hasAVX2FMA && c%8 == 0 && c > 0 {
		rows := len(dx) / c
		n := rows * c
		if !fused {
			y = x // not read
		}
		bnGradAVX2(dx[:n], dy[:n], x[:n], y[:n], ca[:c], cb[:c], cc[:c], rows, c, slope, b2i(fused))
		return
	}
	bnGradGo(dx, dy, x, y, ca, cb, cc, c, slope, fused)
}

// bnReduceRows: see bnReduceGo.
func bnReduceRows(s, q, x, d, y []float32, rows, stride int, slope float32, fused bool) {
	n := len(s)
	if hasAVX2FMA && n%8 == 0 && rows > 0 {
		end := (rows-1)*stride + n
		if !fused {
			y = x // not read
		}
		bnReduceAVX2(s, q[:n], x[:end], d[:end], y[:end], rows, stride, slope, b2i(fused))
		return
	}
	bnReduceGo(s, q, x, d, y, rows, stride, slope, fused)
}
