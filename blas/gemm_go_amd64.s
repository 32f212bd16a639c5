//go:build amd64 && !purego

#include "textflag.h"

// Register-blocked GEMM micro-kernels for goSgemm; microKernel in
// gemm_go_kernel.go states what they compute. In short, an MR×NR tile of C
// gets alpha·A·B + beta·C, where B is a packed micro-panel (k rows of NR
// floats) and A, MR rows by k columns, is addressed through two strides:
// element (i, p) is at a + 4·(i·ars + p·acs), and ars or acs is 1.
//
// The tile lives in vector registers for the whole k loop. Each step loads
// one NR-wide row of B into NR/W registers (W = 16 floats per ZMM, 8 per
// YMM), broadcasts each of the MR values of column p of A in turn and issues
// NR/W FMAs with it. So every float of C is one accumulator lane summed in
// the fixed order p = 0, 1, …, k-1, and the AVX-512 kernel does 16 FMAs per
// 2 loads of B and 8 broadcasts, enough to keep both FMA pipes busy.
//
// There are two k loops, each unrolled four times with a remainder loop for
// k mod 4: one for column-major A (ars = 1: packed panels and blocks), which
// broadcasts from one pointer moved by acs per step, and one for row-major A
// (acs = 1: rows of op(A) read straight from the caller's matrix, ars = lda),
// which addresses the MR rows from three base registers and the row stride.
// The first is also the path when ars = acs = 1, which only k = 1 allows.
//
// Arguments (ABI0): k+0 a+8 ars+16 acs+24 b+32 c+40 ldc+48 alpha+56 beta+60;
// strides are in floats.

// ---------------------------------------------------------------------------
// AVX-512F: 8×32 tile in Z0–Z15 (row i in Z(2i), Z(2i+1)); the B row in Z16,
// Z17; broadcasts alternate between Z18 and Z19.

// ZROW multiplies the A value at addr into the accumulators c0, c1 of a row.
#define ZROW(addr, t, c0, c1) \
	VBROADCASTSS addr, t; \
	VFMADD231PS  Z16, t, c0; \
	VFMADD231PS  Z17, t, c1

// ZLOADB loads row u of the B panel at BX.
#define ZLOADB(u) \
	VMOVUPS (128*u)(BX), Z16; \
	VMOVUPS (128*u+64)(BX), Z17

// ZSTEPC is a k step with column-major A at AX; it advances AX by acs (R11).
#define ZSTEPC(u) \
	ZLOADB(u); \
	ZROW(0(AX), Z18, Z0, Z1); \
	ZROW(4(AX), Z19, Z2, Z3); \
	ZROW(8(AX), Z18, Z4, Z5); \
	ZROW(12(AX), Z19, Z6, Z7); \
	ZROW(16(AX), Z18, Z8, Z9); \
	ZROW(20(AX), Z19, Z10, Z11); \
	ZROW(24(AX), Z18, Z12, Z13); \
	ZROW(28(AX), Z19, Z14, Z15); \
	ADDQ R11, AX

// ZSTEPR is step u of four with row-major A: row r is at AX + r·ars, with
// R8 = ars, R9 = AX + 4·ars and R10 = AX + 3·ars (all in bytes).
#define ZSTEPR(u) \
	ZLOADB(u); \
	ZROW((4*u)(AX), Z18, Z0, Z1); \
	ZROW((4*u)(AX)(R8*1), Z19, Z2, Z3); \
	ZROW((4*u)(AX)(R8*2), Z18, Z4, Z5); \
	ZROW((4*u)(R10), Z19, Z6, Z7); \
	ZROW((4*u)(R9), Z18, Z8, Z9); \
	ZROW((4*u)(R10)(R8*2), Z19, Z10, Z11); \
	ZROW((4*u)(R9)(R8*2), Z18, Z12, Z13); \
	ZROW((4*u)(R10)(R8*4), Z19, Z14, Z15)

// ZSCALE multiplies a row by alpha (Z30).
#define ZSCALE(c0, c1) \
	VMULPS Z30, c0, c0; \
	VMULPS Z30, c1, c1

// ZSTORE writes a row to C at DI and moves DI to the next row (DX = ldc in
// bytes).
#define ZSTORE(c0, c1) \
	VMOVUPS c0, (DI); \
	VMOVUPS c1, 64(DI); \
	ADDQ    DX, DI

// ZUPDATE is ZSTORE after adding beta (Z31) times the old C row.
#define ZUPDATE(c0, c1) \
	VFMADD231PS (DI), Z31, c0; \
	VFMADD231PS 64(DI), Z31, c1; \
	ZSTORE(c0, c1)

// ZPREFETCHC prefetches a 128-byte C row at SI and moves SI to the next row.
#define ZPREFETCHC \
	PREFETCHT0 (SI); \
	PREFETCHT0 64(SI); \
	ADDQ       DX, SI

// func kernelAVX512(k int, a *float32, ars, acs int, b, c *float32, ldc int, alpha, beta float32)
TEXT ·kernelAVX512(SB), NOSPLIT, $0-64
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), AX
	MOVQ ars+16(FP), R8
	SHLQ $2, R8
	MOVQ acs+24(FP), R11
	SHLQ $2, R11
	MOVQ b+32(FP), BX
	MOVQ c+40(FP), DI
	MOVQ ldc+48(FP), DX
	SHLQ $2, DX

	// Start loading the C tile; the epilogue needs it.
	MOVQ DI, SI
	ZPREFETCHC
	ZPREFETCHC
	ZPREFETCHC
	ZPREFETCHC
	ZPREFETCHC
	ZPREFETCHC
	ZPREFETCHC
	ZPREFETCHC

	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11
	VPXORD Z12, Z12, Z12
	VPXORD Z13, Z13, Z13
	VPXORD Z14, Z14, Z14
	VPXORD Z15, Z15, Z15

	CMPQ R8, $4
	JNE  zrowmajor

	// Column-major A.
	CMPQ CX, $4
	JLT  zcrest

zcloop4:
	ZSTEPC(0)
	ZSTEPC(1)
	ZSTEPC(2)
	ZSTEPC(3)
	ADDQ $512, BX
	SUBQ $4, CX
	CMPQ CX, $4
	JGE  zcloop4

zcrest:
	TESTQ CX, CX
	JEQ   zdone

zcloop1:
	ZSTEPC(0)
	ADDQ $128, BX
	DECQ CX
	JNE  zcloop1
	JMP  zdone

	// Row-major A.
zrowmajor:
	LEAQ (AX)(R8*4), R9
	LEAQ (AX)(R8*2), R10
	ADDQ R8, R10
	CMPQ CX, $4
	JLT  zrrest

zrloop4:
	ZSTEPR(0)
	ZSTEPR(1)
	ZSTEPR(2)
	ZSTEPR(3)
	ADDQ $16, AX
	ADDQ $16, R9
	ADDQ $16, R10
	ADDQ $512, BX
	SUBQ $4, CX
	CMPQ CX, $4
	JGE  zrloop4

zrrest:
	TESTQ CX, CX
	JEQ   zdone

zrloop1:
	ZSTEPR(0)
	ADDQ $4, AX
	ADDQ $4, R9
	ADDQ $4, R10
	ADDQ $128, BX
	DECQ CX
	JNE  zrloop1

zdone:
	VBROADCASTSS alpha+56(FP), Z30
	ZSCALE(Z0, Z1)
	ZSCALE(Z2, Z3)
	ZSCALE(Z4, Z5)
	ZSCALE(Z6, Z7)
	ZSCALE(Z8, Z9)
	ZSCALE(Z10, Z11)
	ZSCALE(Z12, Z13)
	ZSCALE(Z14, Z15)

	// beta == 0 (or -0) overwrites C without reading it; NaN reads it.
	VMOVSS   beta+60(FP), X31
	VPXORD   Z30, Z30, Z30
	VUCOMISS X30, X31
	JNE      zupdate
	JPS      zupdate
	ZSTORE(Z0, Z1)
	ZSTORE(Z2, Z3)
	ZSTORE(Z4, Z5)
	ZSTORE(Z6, Z7)
	ZSTORE(Z8, Z9)
	ZSTORE(Z10, Z11)
	ZSTORE(Z12, Z13)
	ZSTORE(Z14, Z15)
	VZEROUPPER
	RET

zupdate:
	VBROADCASTSS X31, Z31
	ZUPDATE(Z0, Z1)
	ZUPDATE(Z2, Z3)
	ZUPDATE(Z4, Z5)
	ZUPDATE(Z6, Z7)
	ZUPDATE(Z8, Z9)
	ZUPDATE(Z10, Z11)
	ZUPDATE(Z12, Z13)
	ZUPDATE(Z14, Z15)
	VZEROUPPER
	RET

// ---------------------------------------------------------------------------
// AVX2+FMA: 6×16 tile in Y0–Y11 (row i in Y(2i), Y(2i+1)); the B row in Y12,
// Y13; broadcasts alternate between Y14 and Y15.

#define YROW(addr, t, c0, c1) \
	VBROADCASTSS addr, t; \
	VFMADD231PS  Y12, t, c0; \
	VFMADD231PS  Y13, t, c1

#define YLOADB(u) \
	VMOVUPS (64*u)(BX), Y12; \
	VMOVUPS (64*u+32)(BX), Y13

#define YSTEPC(u) \
	YLOADB(u); \
	YROW(0(AX), Y14, Y0, Y1); \
	YROW(4(AX), Y15, Y2, Y3); \
	YROW(8(AX), Y14, Y4, Y5); \
	YROW(12(AX), Y15, Y6, Y7); \
	YROW(16(AX), Y14, Y8, Y9); \
	YROW(20(AX), Y15, Y10, Y11); \
	ADDQ R11, AX

// YSTEPR: row r of A is at AX + r·ars, with R8 = ars and R10 = AX + 3·ars.
#define YSTEPR(u) \
	YLOADB(u); \
	YROW((4*u)(AX), Y14, Y0, Y1); \
	YROW((4*u)(AX)(R8*1), Y15, Y2, Y3); \
	YROW((4*u)(AX)(R8*2), Y14, Y4, Y5); \
	YROW((4*u)(R10), Y15, Y6, Y7); \
	YROW((4*u)(AX)(R8*4), Y14, Y8, Y9); \
	YROW((4*u)(R10)(R8*2), Y15, Y10, Y11)

// YSCALE multiplies a row by alpha (Y14).
#define YSCALE(c0, c1) \
	VMULPS Y14, c0, c0; \
	VMULPS Y14, c1, c1

#define YSTORE(c0, c1) \
	VMOVUPS c0, (DI); \
	VMOVUPS c1, 32(DI); \
	ADDQ    DX, DI

// YUPDATE is YSTORE after adding beta (Y15) times the old C row.
#define YUPDATE(c0, c1) \
	VFMADD231PS (DI), Y15, c0; \
	VFMADD231PS 32(DI), Y15, c1; \
	YSTORE(c0, c1)

#define YPREFETCHC \
	PREFETCHT0 (SI); \
	ADDQ       DX, SI

// func kernelAVX2(k int, a *float32, ars, acs int, b, c *float32, ldc int, alpha, beta float32)
TEXT ·kernelAVX2(SB), NOSPLIT, $0-64
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), AX
	MOVQ ars+16(FP), R8
	SHLQ $2, R8
	MOVQ acs+24(FP), R11
	SHLQ $2, R11
	MOVQ b+32(FP), BX
	MOVQ c+40(FP), DI
	MOVQ ldc+48(FP), DX
	SHLQ $2, DX

	MOVQ DI, SI
	YPREFETCHC
	YPREFETCHC
	YPREFETCHC
	YPREFETCHC
	YPREFETCHC
	YPREFETCHC

	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

	CMPQ R8, $4
	JNE  yrowmajor

	CMPQ CX, $4
	JLT  ycrest

ycloop4:
	YSTEPC(0)
	YSTEPC(1)
	YSTEPC(2)
	YSTEPC(3)
	ADDQ $256, BX
	SUBQ $4, CX
	CMPQ CX, $4
	JGE  ycloop4

ycrest:
	TESTQ CX, CX
	JEQ   ydone

ycloop1:
	YSTEPC(0)
	ADDQ $64, BX
	DECQ CX
	JNE  ycloop1
	JMP  ydone

yrowmajor:
	LEAQ (AX)(R8*2), R10
	ADDQ R8, R10
	CMPQ CX, $4
	JLT  yrrest

yrloop4:
	YSTEPR(0)
	YSTEPR(1)
	YSTEPR(2)
	YSTEPR(3)
	ADDQ $16, AX
	ADDQ $16, R10
	ADDQ $256, BX
	SUBQ $4, CX
	CMPQ CX, $4
	JGE  yrloop4

yrrest:
	TESTQ CX, CX
	JEQ   ydone

yrloop1:
	YSTEPR(0)
	ADDQ $4, AX
	ADDQ $4, R10
	ADDQ $64, BX
	DECQ CX
	JNE  yrloop1

ydone:
	VBROADCASTSS alpha+56(FP), Y14
	YSCALE(Y0, Y1)
	YSCALE(Y2, Y3)
	YSCALE(Y4, Y5)
	YSCALE(Y6, Y7)
	YSCALE(Y8, Y9)
	YSCALE(Y10, Y11)

	VMOVSS   beta+60(FP), X15
	VXORPS   X14, X14, X14
	VUCOMISS X14, X15
	JNE      yupdate
	JPS      yupdate
	YSTORE(Y0, Y1)
	YSTORE(Y2, Y3)
	YSTORE(Y4, Y5)
	YSTORE(Y6, Y7)
	YSTORE(Y8, Y9)
	YSTORE(Y10, Y11)
	VZEROUPPER
	RET

yupdate:
	VBROADCASTSS X15, Y15
	YUPDATE(Y0, Y1)
	YUPDATE(Y2, Y3)
	YUPDATE(Y4, Y5)
	YUPDATE(Y6, Y7)
	YUPDATE(Y8, Y9)
	YUPDATE(Y10, Y11)
	VZEROUPPER
	RET

// ---------------------------------------------------------------------------
// func transposeAVX(dst, src *float32, ld, k, nr int)
//
// dst[p·nr+c] = src[c·ld+p] for p < k, c < nr (k, nr multiples of 8), one
// 8×8 block at a time: eight rows of src are loaded into Y0–Y7 and
// transposed in three rounds of shuffles (pairs of floats, then quads, then
// 128-bit halves) into eight rows of dst.
TEXT ·transposeAVX(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), DX
	SHLQ $2, DX          // DX = row stride of src in bytes
	MOVQ nr+32(FP), R8
	SHLQ $2, R8          // R8 = row stride of dst in bytes
	LEAQ (DX)(DX*2), R9  // R9 = 3 rows of src
	MOVQ nr+32(FP), R12  // columns of dst left

tcols:
	// One band of 8 columns of dst (8 rows of src) at DI, SI.
	MOVQ k+24(FP), CX
	MOVQ SI, R10
	MOVQ DI, R11
	LEAQ (SI)(DX*4), R13 // src rows 4–7

tblock:
	VMOVUPS (R10), Y0
	VMOVUPS (R10)(DX*1), Y1
	VMOVUPS (R10)(DX*2), Y2
	VMOVUPS (R10)(R9*1), Y3
	VMOVUPS (R13), Y4
	VMOVUPS (R13)(DX*1), Y5
	VMOVUPS (R13)(DX*2), Y6
	VMOVUPS (R13)(R9*1), Y7

	VUNPCKLPS Y1, Y0, Y8 // a0 b0 a1 b1 | a4 b4 a5 b5
	VUNPCKHPS Y1, Y0, Y9 // a2 b2 a3 b3 | a6 b6 a7 b7
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15

	VSHUFPS $0x44, Y10, Y8, Y0 // a0 b0 c0 d0 | a4 b4 c4 d4
	VSHUFPS $0xEE, Y10, Y8, Y1 // a1 b1 c1 d1 | a5 b5 c5 d5
	VSHUFPS $0x44, Y11, Y9, Y2 // a2 … | a6 …
	VSHUFPS $0xEE, Y11, Y9, Y3 // a3 … | a7 …
	VSHUFPS $0x44, Y14, Y12, Y4 // e0 f0 g0 h0 | e4 f4 g4 h4
	VSHUFPS $0xEE, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xEE, Y15, Y13, Y7

	VPERM2F128 $0x20, Y4, Y0, Y8  // a0 … h0
	VPERM2F128 $0x20, Y5, Y1, Y9  // a1 … h1
	VPERM2F128 $0x20, Y6, Y2, Y10 // a2 … h2
	VPERM2F128 $0x20, Y7, Y3, Y11 // a3 … h3
	VPERM2F128 $0x31, Y4, Y0, Y12 // a4 … h4
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15

	VMOVUPS Y8, (R11)
	ADDQ    R8, R11
	VMOVUPS Y9, (R11)
	ADDQ    R8, R11
	VMOVUPS Y10, (R11)
	ADDQ    R8, R11
	VMOVUPS Y11, (R11)
	ADDQ    R8, R11
	VMOVUPS Y12, (R11)
	ADDQ    R8, R11
	VMOVUPS Y13, (R11)
	ADDQ    R8, R11
	VMOVUPS Y14, (R11)
	ADDQ    R8, R11
	VMOVUPS Y15, (R11)
	ADDQ    R8, R11

	ADDQ $32, R10
	ADDQ $32, R13
	SUBQ $8, CX
	JNE  tblock

	LEAQ (SI)(DX*8), SI // next 8 rows of src
	ADDQ $32, DI        // next 8 columns of dst
	SUBQ $8, R12
	JNE  tcols

	VZEROUPPER
	RET

// ---------------------------------------------------------------------------
// func copyRowsAVX(dst, src *float32, ld, k, nr int)
//
// dst[p·nr+c] = src[p·ld+c] for p < k, c < nr (nr a multiple of 8).
TEXT ·copyRowsAVX(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), DX
	SHLQ $2, DX
	MOVQ k+24(FP), CX
	MOVQ nr+32(FP), R8
	SHLQ $2, R8

crow:
	XORQ R9, R9

ccol:
	VMOVUPS (SI)(R9*1), Y0
	VMOVUPS Y0, (DI)(R9*1)
	ADDQ    $32, R9
	CMPQ    R9, R8
	JLT     ccol

	ADDQ DX, SI
	ADDQ R8, DI
	DECQ CX
	JNE  crow

	VZEROUPPER
	RET
