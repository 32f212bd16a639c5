package nn

// The element-wise loops that dominate a small GAN's training step besides
// GEMM: batch norm's passes, leaky ReLU and col2im's sums. Go does not
// vectorise loops, and the sign tests of (leaky) ReLU mispredict on
// activations whose signs are random, so on amd64 these run as AVX2/FMA
// kernels (simd_amd64.s) that compute with masks instead of branches. The
// Go versions here are the portable fallback and the tests' reference; the
// two agree to rounding (the kernels fuse multiply-adds), and either one is
// deterministic for any thread count.

// leakyGo sets y = x for x ≥ 0 and x·slope otherwise (slope 0: ReLU).
func leakyGo(y, x []float32, slope float32) {
	x = x[:len(y)]
	for i, v := range x {
		if v < 0 {
			v *= slope
		}
		y[i] = v
	}
}

// leakyGradGo sets dx = dy where x > 0 and dy·slope elsewhere.
func leakyGradGo(dx, dy, x []float32, slope float32) {
	dy, x = dy[:len(dx)], x[:len(dx)]
	for i, v := range x {
		if v > 0 {
			dx[i] = dy[i]
		} else {
			dx[i] = dy[i] * slope
		}
	}
}

// addToGo sets dst += src element-wise.
func addToGo(dst, src []float32) {
	src = src[:len(dst)]
	for i, v := range src {
		dst[i] += v
	}
}

// affineActGo sets, for each row of c values, y = x·a + b (per channel) and,
// when act, applies leaky ReLU with slope to it.
func affineActGo(y, x, a, b []float32, c int, slope float32, act bool) {
	a, b = a[:c], b[:c]
	for r := 0; r+c <= len(x); r += c {
		xr, yr := x[r:r+c], y[r:r+c]
		for i := range yr {
			yr[i] = xr[i]*a[i] + b[i]
		}
		if act {
			for i, v := range yr {
				if v < 0 {
					yr[i] = v * slope
				}
			}
		}
	}
}

// bnGradGo sets, for each row of c values, dx = d·ca + x·cb + cc, where d is
// dy, or, when fused, dy masked by the activation: dy·slope where y ≤ 0.
func bnGradGo(dx, dy, x, y, ca, cb, cc []float32, c int, slope float32, fused bool) {
	ca, cb, cc = ca[:c], cb[:c], cc[:c]
	for r := 0; r+c <= len(dx); r += c {
		xr, dr, out := x[r:r+c], dy[r:r+c], dx[r:r+c]
		if fused {
			yr := y[r : r+c]
			for i, v := range yr {
				d := dr[i]
				if v <= 0 {
					d *= slope
				}
				out[i] = d*ca[i] + xr[i]*cb[i] + cc[i]
			}
			continue
		}
		for i, d := range dr {
			out[i] = d*ca[i] + xr[i]*cb[i] + cc[i]
		}
	}
}

// bnReduceGo sets s = Σd and q = Σd·x over rows, for the len(s) channels
// that start each row (rows are stride apart in x, d and y); d is masked by
// the activation (d·slope where y ≤ 0) when fused.
func bnReduceGo(s, q, x, d, y []float32, rows, stride int, slope float32, fused bool) {
	n := len(s)
	clear(s)
	clear(q)
	for r := 0; r < rows; r++ {
		xr, dr := x[r*stride:r*stride+n], d[r*stride:r*stride+n]
		if fused {
			yr := y[r*stride : r*stride+n]
			for i, v := range dr {
				if yr[i] <= 0 {
					v *= slope
				}
				s[i] += v
				q[i] += v * xr[i]
			}
			continue
		}
		for i, v := range dr {
			s[i] += v
			q[i] += v * xr[i]
		}
	}
}
