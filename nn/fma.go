package nn

// fmaddGo is the portable dst[i] += a[i]·b[i] (see fmadd).
func fmaddGo(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	for i := range dst {
		dst[i] += a[i] * b[i]
	}
}
