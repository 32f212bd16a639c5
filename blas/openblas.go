package blas

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"github.com/ebitengine/purego"
)

// libNames are tried in order; Debian's libopenblas0 provides the first.
var libNames = []string{"libopenblas.so.0", "libopenblas.so", "libopenblasp-r0.3.21.so"}

func loadOpenBLAS(threads int) (gemmFunc, error) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" && runtime.GOOS != "freebsd" {
		return nil, fmt.Errorf("OpenBLAS loading is not supported on %s", runtime.GOOS)
	}
	var lib uintptr
	var err error
	for _, n := range libNames {
		lib, err = purego.Dlopen(n, purego.RTLD_NOW|purego.RTLD_GLOBAL)
		if err == nil {
			break
		}
	}
	if err != nil {
		return nil, fmt.Errorf("libopenblas.so.0 not found (install Debian's libopenblas0): %w", err)
	}
	sgemm, err := purego.Dlsym(lib, "sgemm_")
	if err != nil {
		return nil, fmt.Errorf("OpenBLAS has no sgemm_: %w", err)
	}
	var setThreads func(n int32)
	if registerFunc(&setThreads, lib, "openblas_set_num_threads") == nil && threads > 0 {
		setThreads(int32(threads))
	}
	return func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
		if k == 0 {
			// C = beta·C; a and b may be empty.
			scale(beta, c, m, n, ldc)
			return
		}
		// Fortran's sgemm_ takes every argument by reference and is
		// column-major: the row-major C = op(A)·op(B) is the column-major
		// Cᵀ = op(B)ᵀ·op(A)ᵀ, so A and B swap places. Calling it through
		// SyscallN (rather than cblas_sgemm, whose float arguments need
		// purego's reflection-based calls) allocates nothing.
		p := argPool.Get().(*fortranArgs)
		p.transA, p.transB = trans(transB), trans(transA)
		p.m, p.n, p.k = int32(n), int32(m), int32(k)
		p.alpha, p.beta = alpha, beta
		p.lda, p.ldb, p.ldc = int32(ldb), int32(lda), int32(ldc)
		// The argument list lives in p too, so the variadic call allocates
		// nothing. Every pointer in it refers to heap memory that stays
		// referenced (p, a, b, c) until the call returns, and Go's heap
		// does not move.
		p.args = [13]uintptr{
			uintptr(unsafe.Pointer(&p.transA)), uintptr(unsafe.Pointer(&p.transB)),
			uintptr(unsafe.Pointer(&p.m)), uintptr(unsafe.Pointer(&p.n)), uintptr(unsafe.Pointer(&p.k)),
			uintptr(unsafe.Pointer(&p.alpha)), uintptr(unsafe.Pointer(&b[0])), uintptr(unsafe.Pointer(&p.lda)),
			uintptr(unsafe.Pointer(&a[0])), uintptr(unsafe.Pointer(&p.ldb)),
			uintptr(unsafe.Pointer(&p.beta)), uintptr(unsafe.Pointer(&c[0])), uintptr(unsafe.Pointer(&p.ldc))}
		purego.SyscallN(sgemm, p.args[:]...)
		runtime.KeepAlive(p)
		runtime.KeepAlive(a)
		runtime.KeepAlive(b)
		runtime.KeepAlive(c)
		argPool.Put(p)
	}, nil
}

// fortranArgs holds sgemm_'s by-reference scalars in heap memory that is
// reused from call to call.
type fortranArgs struct {
	transA, transB byte
	m, n, k        int32
	alpha, beta    float32
	lda, ldb, ldc  int32
	args           [13]uintptr
}

var argPool = sync.Pool{New: func() any { return new(fortranArgs) }}

func trans(t bool) byte {
	if t {
		return 'T'
	}
	return 'N'
}

// registerFunc binds a C symbol, turning purego's panic on a missing symbol
// into an error.
func registerFunc(fptr any, lib uintptr, sym string) (err error) {
	if _, err := purego.Dlsym(lib, sym); err != nil {
		return fmt.Errorf("OpenBLAS has no %s: %w", sym, err)
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("binding %s: %v", sym, r)
		}
	}()
	purego.RegisterLibFunc(fptr, lib, sym)
	return nil
}

func scale(beta float32, c []float32, m, n, ldc int) {
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}
