package nn

// The depthwise convolution's inner loop, dst += a·b element-wise, is the
// one place where forger's layers need SIMD that Go does not generate: an
// AVX2/FMA kernel when the CPU and OS support it, plain Go otherwise.

//go:noescape
func fmaddAVX2(dst, a, b []float32)

func cpuid(eaxArg, ecxArg uint32) (eax, ebx, ecx, edx uint32)
func xgetbv() (eax, edx uint32)

var hasAVX2FMA = detectAVX2FMA()

func detectAVX2FMA() bool {
	maxID, _, _, _ := cpuid(0, 0)
	if maxID < 7 {
		return false
	}
	_, _, ecx1, _ := cpuid(1, 0)
	const fma, osxsave, avx = 1 << 12, 1 << 27, 1 << 28
	if ecx1&fma == 0 || ecx1&osxsave == 0 || ecx1&avx == 0 {
		return false
	}
	if xcr0, _ := xgetbv(); xcr0&6 != 6 { // the OS saves XMM and YMM state
		return false
	}
	_, ebx7, _, _ := cpuid(7, 0)
	return ebx7&(1<<5) != 0 // AVX2
}

// fmadd sets dst[i] += a[i]·b[i] for i < len(dst) (fused, so rounded once).
func fmadd(dst, a, b []float32) {
	a, b = a[:len(dst)], b[:len(dst)]
	if hasAVX2FMA {
		fmaddAVX2(dst, a, b)
		return
	}
	fmaddGo(dst, a, b)
}
