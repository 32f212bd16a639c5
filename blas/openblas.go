package blas

import (
	"fmt"
	"runtime"

	"github.com/ebitengine/purego"
)

// CBLAS enum values (cblas.h).
const (
	cblasRowMajor = 101
	cblasNoTrans  = 111
	cblasTrans    = 112
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
	var sgemm func(order, transA, transB, m, n, k int32, alpha float32, a *float32, lda int32, b *float32, ldb int32, beta float32, c *float32, ldc int32)
	var setThreads func(n int32)
	if err := registerFunc(&sgemm, lib, "cblas_sgemm"); err != nil {
		return nil, err
	}
	if registerFunc(&setThreads, lib, "openblas_set_num_threads") == nil && threads > 0 {
		setThreads(int32(threads))
	}
	return func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
		ta, tb := int32(cblasNoTrans), int32(cblasNoTrans)
		if transA {
			ta = cblasTrans
		}
		if transB {
			tb = cblasTrans
		}
		if k == 0 {
			// C = beta·C; OpenBLAS handles it but a and b may be empty.
			scale(beta, c, m, n, ldc)
			return
		}
		sgemm(cblasRowMajor, ta, tb, int32(m), int32(n), int32(k), alpha, &a[0], int32(lda), &b[0], int32(ldb), beta, &c[0], int32(ldc))
	}, nil
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
