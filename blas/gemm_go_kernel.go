package blas

// microKernel is a register-blocked kernel that computes one mr×nr tile of C:
//
//	C[i][j] = alpha·Σ_p A[i][p]·b[p·nr+j] + beta·C[i][j],  i < mr, j < nr,
//
// where A[i][p] is a[i·ars+p·acs], C[i][j] is c[i·ldc+j], the sum runs over
// p = 0, 1, …, k-1 in that order, and beta == 0 means that C is overwritten
// without being read. b is a packed micro-panel of op(B) (see packB). A is
// column-major (ars = 1: a panel packed by packA, acs = mr, or part of a
// block packed by packAT, acs = its column stride) or row-major (acs = 1: mr
// rows of A read in place, ars = lda).
type microKernel struct {
	name   string
	mr, nr int
	// asm is the assembly implementation; nil selects kernelGo (which then
	// requires mr = nr = 4).
	asm func(k int, a *float32, ars, acs int, b, c *float32, ldc int, alpha, beta float32)
	// transpose and copyRows, if not nil, are assembly helpers for packB:
	// for p < k and c < nr (nr a multiple of 8), transpose sets
	// dst[p·nr+c] = src[c·ld+p] (k a multiple of 8) and copyRows sets
	// dst[p·nr+c] = src[p·ld+c].
	transpose, copyRows func(dst, src *float32, ld, k, nr int)
}

// genericKernel is the portable kernel, used when no assembly kernel fits the
// CPU. Its 4×4 tile keeps 16 accumulators in scalar registers.
var genericKernel = &microKernel{name: "generic", mr: 4, nr: 4}

// run calls the kernel for k ≥ 1. The slice checks make the assembly safe:
// it reads only A[:mr][:k], b[:k·nr] and the tile of c.
func (mk *microKernel) run(k int, a []float32, ars, acs int, b, c []float32, ldc int, alpha, beta float32) {
	_ = a[(mk.mr-1)*ars+(k-1)*acs]
	_ = b[k*mk.nr-1]
	_ = c[(mk.mr-1)*ldc+mk.nr-1]
	if mk.asm != nil {
		mk.asm(k, &a[0], ars, acs, &b[0], &c[0], ldc, alpha, beta)
		return
	}
	kernelGo(k, a, ars, acs, b, c, ldc, alpha, beta)
}

// kernelGo is the 4×4 micro-kernel in plain Go.
func kernelGo(k int, a []float32, ars, acs int, b, c []float32, ldc int, alpha, beta float32) {
	var (
		c00, c01, c02, c03 float32
		c10, c11, c12, c13 float32
		c20, c21, c22, c23 float32
		c30, c31, c32, c33 float32
	)
	b = b[:4*k]
	for p := 0; len(b) >= 4; p += acs {
		a0, a1, a2, a3 := a[p], a[p+ars], a[p+2*ars], a[p+3*ars]
		b0, b1, b2, b3 := b[0], b[1], b[2], b[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
		b = b[4:]
	}
	storeRow4(c[0*ldc:0*ldc+4], c00, c01, c02, c03, alpha, beta)
	storeRow4(c[1*ldc:1*ldc+4], c10, c11, c12, c13, alpha, beta)
	storeRow4(c[2*ldc:2*ldc+4], c20, c21, c22, c23, alpha, beta)
	storeRow4(c[3*ldc:3*ldc+4], c30, c31, c32, c33, alpha, beta)
}

// storeRow4 finishes one row of kernelGo's tile: row = alpha·s + beta·row.
func storeRow4(row []float32, s0, s1, s2, s3, alpha, beta float32) {
	row = row[:4]
	if beta == 0 {
		row[0], row[1], row[2], row[3] = alpha*s0, alpha*s1, alpha*s2, alpha*s3
		return
	}
	row[0] = alpha*s0 + beta*row[0]
	row[1] = alpha*s1 + beta*row[1]
	row[2] = alpha*s2 + beta*row[2]
	row[3] = alpha*s3 + beta*row[3]
}
