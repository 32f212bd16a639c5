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
// The environment variable FORGER_GEMM=openblas|go forces one of them;
// otherwise OpenBLAS is used when it can be loaded. Backend reports which one
// is active.
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
	loadErr error
)

func choose() {
	want := os.Getenv(Env)
	switch want {
	case "", "auto", "openblas":
		f, err := loadOpenBLAS(runtime.GOMAXPROCS(0))
		if err == nil {
			active, name = f, "openblas"
			return
		}
		loadErr = err
		if want == "openblas" {
			// A forced back-end that cannot load is an error the user must see.
			fmt.Fprintf(os.Stderr, "forger: %s=openblas but %v; using the pure-Go kernel\n", Env, err)
		}
	case "go":
	default:
		fmt.Fprintf(os.Stderr, "forger: unknown %s=%q (use openblas or go); using the pure-Go kernel\n", Env, want)
	}
	active, name = goSgemm, "go"
}

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
