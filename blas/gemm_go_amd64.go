//go:build amd64 && !purego

package blas

import "golang.org/x/sys/cpu"

// kernelAVX512 is the 8×32 AVX-512F micro-kernel (gemm_go_amd64.s): see
// microKernel for what it computes.
//
//go:noescape
func kernelAVX512(k int, a *float32, ars, acs int, b, c *float32, ldc int, alpha, beta float32)

// kernelAVX2 is the 6×16 AVX2+FMA micro-kernel (gemm_go_amd64.s).
//
//go:noescape
func kernelAVX2(k int, a *float32, ars, acs int, b, c *float32, ldc int, alpha, beta float32)

// transposeAVX transposes in 8×8 blocks with AVX (gemm_go_amd64.s); see
// microKernel.transpose.
//
//go:noescape
func transposeAVX(dst, src *float32, ld, k, nr int)

// copyRowsAVX copies rows with AVX (gemm_go_amd64.s); see
// microKernel.copyRows.
//
//go:noescape
func copyRowsAVX(dst, src *float32, ld, k, nr int)

var (
	avx512Kernel = &microKernel{name: "avx512", mr: 8, nr: 32, asm: kernelAVX512, transpose: transposeAVX, copyRows: copyRowsAVX}
	avx2Kernel   = &microKernel{name: "avx2", mr: 6, nr: 16, asm: kernelAVX2, transpose: transposeAVX, copyRows: copyRowsAVX}
)

// supportedKernels lists the micro-kernels that the CPU and OS support,
// fastest first.
func supportedKernels() []*microKernel {
	var ks []*microKernel
	if cpu.X86.HasAVX512F {
		ks = append(ks, avx512Kernel)
	}
	if cpu.X86.HasAVX2 && cpu.X86.HasFMA {
		ks = append(ks, avx2Kernel)
	}
	return append(ks, genericKernel)
}
