// Package blas is forger's matrix-multiplication provider.
//
// Every convolution and linear layer in forger ends in one call to Sgemm, so
// this is where most of the time of training and generation goes. Two
// back-ends implement it:
//
//   - "openblas": OpenBLAS's cblas_sgemm, loaded at run time with purego
//     (dlopen of libopenblas.so.0, Debian package libopenblas0). No cgo is
//     needed to build forger; the library is used when it is present.
//   - "go": a pure-Go kernel that always works and is deterministic: the same
//     inputs give bit-identical outputs on every run with the same number of
//     threads.
//
// The environment variable FORGER_GEMM=openblas|go forces one of them.
// Otherwise ("auto") forger takes the faster: its own kernel where the CPU
// has AVX-512 (there it measured about twice the speed of Debian's OpenBLAS
// 0.3.21, which predates the CPUs it runs on: see README), else OpenBLAS when
// it can be loaded, else its own kernel. Backend reports which one is active
// and Reason why.
//
// Matrices are row-major, as in the rest of forger.
package blas

import (
	"fmt"
	"os"
	"runtime"
	"sync"
)

// Env is the environment variable that forces a back-end.
const Env = "FORGER_GEMM"

type gemmFunc func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)

var (
	once    sync.Once
	active  gemmFunc
	name    string
	reason  string
	loadErr error
)

func choose() {
	want := os.Getenv(Env)
	switch want {
	case "", "auto":
		if kernel.name == "avx512" {
			active, name, reason = goSgemm, "go", "auto: forger's AVX-512 kernel outruns OpenBLAS on this CPU"
			return
		}
		f, err := loadOpenBLAS(runtime.GOMAXPROCS(0))
		if err == nil {
			active, name, reason = f, "openblas", "auto: OpenBLAS found"
			return
		}
		loadErr = err
		active, name, reason = goSgemm, "go", "auto: OpenBLAS not found"
		return
	case "openblas":
		f, err := loadOpenBLAS(runtime.GOMAXPROCS(0))
		if err == nil {
			active, name, reason = f, "openblas", Env+"=openblas"
			return
		}
		loadErr = err
		// A forced back-end that cannot load is an error the user must see.
		fmt.Fprintf(os.Stderr, "forger: %s=openblas but %v; using the pure-Go kernel\n", Env, err)
		reason = Env + "=openblas, but it could not be loaded"
	case "go":
		reason = Env + "=go"
	default:
		fmt.Fprintf(os.Stderr, "forger: unknown %s=%q (use openblas, go or auto); using the pure-Go kernel\n", Env, want)
		reason = "unknown " + Env
	}
	active, name = goSgemm, "go"
}

// Reason says why the active back-end was chosen.
func Reason() string {
	once.Do(choose)
	return reason
}

// Kernel names the pure-Go micro-kernel for this CPU: avx512, avx2 or generic.
func Kernel() string { return kernel.name }

// Backend returns the name of the active back-end: "openblas" or "go".
func Backend() string {
	once.Do(choose)
	return name
}

// OpenBLASError says why OpenBLAS is not in use, or nil if it is (or was not
// tried because FORGER_GEMM=go).
func OpenBLASError() error {
	once.Do(choose)
	return loadErr
}

// Sgemm computes C = alpha·op(A)·op(B) + beta·C for row-major matrices, where
// op(X) is X or its transpose. op(A) is m×k, op(B) is k×n and C is m×n; lda,
// ldb and ldc are the row strides of A, B and C as stored.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	once.Do(choose)
	if m == 0 || n == 0 {
		return
	}
	checkSizes(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	active(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// checkSizes panics when a slice is too short for the matrix it is said to
// hold: a programming error that must not reach C code as a wild read.
func checkSizes(transA, transB bool, m, n, k, la, lda, lb, ldb, lc, ldc int) {
	ar, ac := m, k
	if transA {
		ar, ac = k, m
	}
	br, bc := k, n
	if transB {
		br, bc = n, k
	}
	need := func(what string, l, rows, cols, ld int) {
		if ld < cols || (rows > 0 && cols > 0 && l < (rows-1)*ld+cols) {
			panic(fmt.Sprintf("blas: %s is %d floats with stride %d, too short for %d×%d", what, l, ld, rows, cols))
		}
	}
	if k > 0 {
		need("A", la, ar, ac, lda)
		need("B", lb, br, bc, ldb)
	}
	need("C", lc, m, n, ldc)
}
