//go:build !amd64 || purego

package blas

// supportedKernels lists the micro-kernels for this build: only the portable
// one, as there is no assembly for this architecture (or the purego build tag
// asks for none).
func supportedKernels() []*microKernel { return []*microKernel{genericKernel} }
