#include "textflag.h"

// AVX2/FMA kernels of simd.go. Lengths are multiples of 8 (the Go callers
// make them so); comparisons and blends replace the branches of the Go code.

// func leakyAVX2(y, x []float32, slope float32)
TEXT ·leakyAVX2(SB), NOSPLIT, $0-52
	MOVQ y_base+0(FP), DI
	MOVQ y_len+8(FP), CX
	MOVQ x_base+24(FP), SI
	VBROADCASTSS slope+48(FP), Y15
	VXORPS Y14, Y14, Y14
	SHRQ $3, CX
	JZ   leaky_done

leaky_loop:
	VMOVUPS     (SI), Y0
	VMAXPS      Y14, Y0, Y1 // max(x, 0)
	VMINPS      Y14, Y0, Y2 // min(x, 0)
	VFMADD231PS Y2, Y15, Y1 // max + slope·min
	VMOVUPS     Y1, (DI)
	ADDQ        $32, SI
	ADDQ        $32, DI
	DECQ        CX
	JNZ         leaky_loop

leaky_done:
	VZEROUPPER
	RET

// func leakyGradAVX2(dx, dy, x []float32, slope float32)
TEXT ·leakyGradAVX2(SB), NOSPLIT, $0-76
	MOVQ dx_base+0(FP), DI
	MOVQ dx_len+8(FP), CX
	MOVQ dy_base+24(FP), SI
	MOVQ x_base+48(FP), DX
	VBROADCASTSS slope+72(FP), Y15
	VXORPS Y14, Y14, Y14
	SHRQ $3, CX
	JZ   lgrad_done

lgrad_loop:
	VMOVUPS   (SI), Y0
	VMOVUPS   (DX), Y1
	VCMPPS    $0x0E, Y14, Y1, Y2 // x > 0
	VMULPS    Y15, Y0, Y3        // dy·slope
	VBLENDVPS Y2, Y0, Y3, Y4     // x > 0 ? dy : dy·slope
	VMOVUPS   Y4, (DI)
	ADDQ      $32, SI
	ADDQ      $32, DX
	ADDQ      $32, DI
	DECQ      CX
	JNZ       lgrad_loop

lgrad_done:
	VZEROUPPER
	RET

// func addToAVX2(dst, src []float32)
TEXT ·addToAVX2(SB), NOSPLIT, $0-48
	MOVQ dst_base+0(FP), DI
	MOVQ dst_len+8(FP), CX
	MOVQ src_base+24(FP), SI
	SHRQ $3, CX
	JZ   add_done

add_loop:
	VMOVUPS (DI), Y0
	VADDPS  (SI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNZ     add_loop

add_done:
	VZEROUPPER
	RET

// func affineActAVX2(y, x, a, b []float32, rows, c int, slope float32, act int)
TEXT ·affineActAVX2(SB), NOSPLIT, $0-128
	MOVQ y_base+0(FP), DI
	MOVQ x_base+24(FP), SI
	MOVQ a_base+48(FP), R8
	MOVQ b_base+72(FP), R9
	MOVQ rows+96(FP), R10
	MOVQ c+104(FP), R11
	VBROADCASTSS slope+112(FP), Y15
	MOVQ act+120(FP), R12
	VXORPS Y14, Y14, Y14
	TESTQ R10, R10
	JZ    aff_done

aff_row:
	XORQ BX, BX
	MOVQ R11, CX
	SHRQ $3, CX

aff_ch:
	VMOVUPS     (SI)(BX*1), Y0
	VMOVUPS     (R8)(BX*1), Y1
	VFMADD213PS (R9)(BX*1), Y1, Y0 // x·a + b
	TESTQ       R12, R12
	JZ          aff_store
	VMAXPS      Y14, Y0, Y2
	VMINPS      Y14, Y0, Y3
	VFMADD231PS Y3, Y15, Y2
	VMOVUPS     Y2, (DI)(BX*1)
	JMP         aff_next

aff_store:
	VMOVUPS Y0, (DI)(BX*1)

aff_next:
	ADDQ $32, BX
	DECQ CX
	JNZ  aff_ch
	LEAQ (SI)(R11*4), SI
	LEAQ (DI)(R11*4), DI
	DECQ R10
	JNZ  aff_row

aff_done:
	VZEROUPPER
	RET

// func bnGradAVX2(dx, dy, x, y, ca, cb, cc []float32, rows, c int, slope float32, fused int)
TEXT ·bnGradAVX2(SB), NOSPLIT, $0-200
	MOVQ dx_base+0(FP), DI
	MOVQ dy_base+24(FP), SI
	MOVQ x_base+48(FP), DX
	MOVQ y_base+72(FP), R13
	MOVQ ca_base+96(FP), R8
	MOVQ cb_base+120(FP), R9
	MOVQ cc_base+144(FP), R10
	MOVQ rows+168(FP), AX
	MOVQ c+176(FP), R11
	VBROADCASTSS slope+184(FP), Y15
	MOVQ fused+192(FP), R12
	VXORPS Y14, Y14, Y14
	TESTQ AX, AX
	JZ    bng_done

bng_row:
	XORQ BX, BX
	MOVQ R11, CX
	SHRQ $3, CX

bng_ch:
	VMOVUPS (SI)(BX*1), Y0 // d
	TESTQ   R12, R12
	JZ      bng_plain
	VMOVUPS   (R13)(BX*1), Y1
	VCMPPS    $0x02, Y14, Y1, Y2 // y <= 0
	VMULPS    Y15, Y0, Y3
	VBLENDVPS Y2, Y3, Y0, Y0     // y <= 0 ? d·slope : d

bng_plain:
	VMOVUPS     (DX)(BX*1), Y4
	VMOVUPS     (R9)(BX*1), Y5
	VFMADD213PS (R10)(BX*1), Y5, Y4 // x·cb + cc
	VFMADD231PS (R8)(BX*1), Y0, Y4  // + d·ca
	VMOVUPS     Y4, (DI)(BX*1)
	ADDQ        $32, BX
	DECQ        CX
	JNZ         bng_ch
	LEAQ (DI)(R11*4), DI
	LEAQ (SI)(R11*4), SI
	LEAQ (DX)(R11*4), DX
	LEAQ (R13)(R11*4), R13
	DECQ AX
	JNZ  bng_row

bng_done:
	VZEROUPPER
	RET

// func bnReduceAVX2(s, q, x, d, y []float32, rows, stride int, slope float32, fused int)
// s, q: len(s) channels (a multiple of 8); row r of x, d, y starts at r·stride.
TEXT ·bnReduceAVX2(SB), NOSPLIT, $0-152
	MOVQ s_base+0(FP), DI
	MOVQ s_len+8(FP), CX
	MOVQ q_base+24(FP), SI
	MOVQ x_base+48(FP), DX
	MOVQ d_base+72(FP), R8
	MOVQ y_base+96(FP), R9
	MOVQ rows+120(FP), R10
	MOVQ stride+128(FP), R11
	SHLQ $2, R11 // bytes
	VBROADCASTSS slope+136(FP), Y15
	MOVQ fused+144(FP), R12
	VXORPS Y14, Y14, Y14
	SHRQ $3, CX
	JZ   bnr_done

bnr_chunk:
	VXORPS Y6, Y6, Y6 // Σd
	VXORPS Y7, Y7, Y7 // Σd·x
	XORQ   BX, BX
	MOVQ   R10, AX

bnr_row:
	VMOVUPS (R8)(BX*1), Y0
	TESTQ   R12, R12
	JZ      bnr_plain
	VMOVUPS   (R9)(BX*1), Y1
	VCMPPS    $0x02, Y14, Y1, Y2
	VMULPS    Y15, Y0, Y3
	VBLENDVPS Y2, Y3, Y0, Y0

bnr_plain:
	VADDPS      Y0, Y6, Y6
	VFMADD231PS (DX)(BX*1), Y0, Y7
	ADDQ        R11, BX
	DECQ        AX
	JNZ         bnr_row
	VMOVUPS Y6, (DI)
	VMOVUPS Y7, (SI)
	ADDQ    $32, DI
	ADDQ    $32, SI
	ADDQ    $32, DX
	ADDQ    $32, R8
	ADDQ    $32, R9
	DECQ    CX
	JNZ     bnr_chunk

bnr_done:
	VZEROUPPER
	RET
