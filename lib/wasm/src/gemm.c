/*
 * Matrix products C = A B (+ bias) for DRAW's layers, with 128-bit SIMD.
 *
 * B is first packed into panels of 8 columns, P[j/8][k][0..8) (zero padded), so the inner loop reads it
 * contiguously; a weight used by all T glimpses is packed once per training step. The micro-kernel computes
 * a 6 x 8 block of C with 12 accumulators, taking 4 values of k at a time from each of the 6 rows of A (one
 * 128-bit load per row, then lane splats), as XNNPACK's wasm "splat" kernels do. Measured on this machine
 * (lib/wasm/README.md): ~46 GFLOP/s per thread on 64x520x1024, ~10% faster than tfjs-wasm's XNNPACK; ~52
 * with relaxed_madd (redraw_gemm_fma).
 *
 * Work is split over panels: redraw_gemm(..., j0, j1) computes panels [j0, j1), so threads write disjoint
 * columns of C. Additions happen in a fixed order (k ascending, 4 at a time into the same accumulator), so
 * results do not depend on the thread count.
 */
#include "common.h"

/* Packs B into panels [p0, p1). B[k][j] is at B + k*sbk + j*sbn (sbn = 1 for a row-major [K, N] matrix;
 * sbk = 1, sbn = K for the transpose of a row-major [N, K] matrix). */
EXPORT(redraw_pack_b)(const f32* B, int K, int N, int sbk, int sbn, f32* P, int p0, int p1) {
  for (int p = p0; p < p1; p++) {
    int j0 = p * 8, nc = imin(8, N - j0);
    f32* out = P + (long)p * K * 8;
    if (nc == 8 && sbn == 1) {
      for (int k = 0; k < K; k++) {
        const f32* b = B + (long)k * sbk + j0;
        wasm_v128_store(out, wasm_v128_load(b));
        wasm_v128_store(out + 4, wasm_v128_load(b + 4));
        out += 8;
      }
    } else if (sbk == 1) {
      /* Transposed source: column j of B is a contiguous row of the source. */
      for (int j = 0; j < 8; j++) {
        const f32* b = B + (long)(j0 + j) * sbn;
        if (j < nc) {
          for (int k = 0; k < K; k++) out[k * 8 + j] = b[k];
        } else {
          for (int k = 0; k < K; k++) out[k * 8 + j] = 0.0f;
        }
      }
    } else {
      for (int k = 0; k < K; k++) {
        const f32* b = B + (long)k * sbk + (long)j0 * sbn;
        for (int j = 0; j < 8; j++) out[j] = j < nc ? b[j * sbn] : 0.0f;
        out += 8;
      }
    }
  }
}

#define SPLAT(v, l) wasm_i32x4_shuffle(v, v, l, l, l, l)

/* acc + x b. With fma, relaxed SIMD's multiply-add: clang 14 only has the prototype instruction
 * (__builtin_wasm_fma_f32x4(a, b, c) = a + b c, opcode 0xfd 0xaf 0x01); lib/wasm/build.ts rewrites its opcode
 * into the final f32x4.relaxed_madd (0xfd 0x85 0x02), which computes x y + z from the same stack (x, y, z):
 * hence the operands (x, b, acc), so that the patched instruction computes x b + acc. */
#define MADD(acc, x, b) \
  (fma ? __builtin_wasm_fma_f32x4(x, b, acc) : wasm_f32x4_add(acc, wasm_f32x4_mul(x, b)))
#define ROW(r, x)                   \
  c##r##0 = MADD(c##r##0, x, b0); \
  c##r##1 = MADD(c##r##1, x, b1);
#define KSTEP(l)                                        \
  {                                                     \
    v128_t b0 = wasm_v128_load(p), b1 = wasm_v128_load(p + 4); \
    p += 8;                                             \
    ROW(0, SPLAT(v0, l)) ROW(1, SPLAT(v1, l)) ROW(2, SPLAT(v2, l)) \
    ROW(3, SPLAT(v3, l)) ROW(4, SPLAT(v4, l)) ROW(5, SPLAT(v5, l)) \
  }
#define KONE()                                          \
  {                                                     \
    v128_t b0 = wasm_v128_load(p), b1 = wasm_v128_load(p + 4); \
    p += 8;                                             \
    ROW(0, wasm_v128_load32_splat(a0 + k)) ROW(1, wasm_v128_load32_splat(a1 + k)) \
    ROW(2, wasm_v128_load32_splat(a2 + k)) ROW(3, wasm_v128_load32_splat(a3 + k)) \
    ROW(4, wasm_v128_load32_splat(a4 + k)) ROW(5, wasm_v128_load32_splat(a5 + k)) \
  }
#define STORE(r)                                        \
  if (r < mr) {                                         \
    f32* c = C + (long)(i0 + r) * ldc + j0;             \
    if (nc == 8) {                                      \
      wasm_v128_store(c, c##r##0);                      \
      wasm_v128_store(c + 4, c##r##1);                  \
    } else {                                            \
      f32 t[8];                                         \
      wasm_v128_store(t, c##r##0);                      \
      wasm_v128_store(t + 4, c##r##1);                  \
      for (int j = 0; j < nc; j++) c[j] = t[j];         \
    }                                                   \
  }

#define ACC(r)                                                \
  if (r < mr) {                                               \
    const f32* c = C + (long)(i0 + r) * ldc + j0;             \
    for (int j = 0; j < 8; j++) t[j] = j < nc ? c[j] : 0.0f;  \
    c##r##0 = wasm_f32x4_add(c##r##0, wasm_v128_load(t));     \
    c##r##1 = wasm_f32x4_add(c##r##1, wasm_v128_load(t + 4)); \
  }

/* The product, with multiply-adds fused (fma = 1: redraw_gemm_fma) or not. Both callers get the relaxed-simd
 * feature (a callee's features must be the caller's), but only the fma = 1 copy has relaxed instructions:
 * lib/wasm/build.ts checks that each one is in redraw_gemm_fma, as many as written here. */
__attribute__((target("relaxed-simd"), always_inline)) static inline void gemm(
    const f32* A, int lda, const f32* P, int ldp, const f32* bias, f32* C, int ldc, int M, int N, int K,
    int accumulate, int p0, int p1, const int fma) {
  for (int pi = p0; pi < p1; pi++) {
    int j0 = pi * 8, nc = imin(8, N - j0);
    const f32* panel = P + (long)pi * ldp * 8;
    f32 bb[8];
    for (int j = 0; j < 8; j++) bb[j] = (bias && j < nc) ? bias[j0 + j] : 0.0f;
    v128_t bias0 = wasm_v128_load(bb), bias1 = wasm_v128_load(bb + 4);
    for (int i0 = 0; i0 < M; i0 += 6) {
      int mr = imin(6, M - i0);
      /* Rows past M alias row 0 (their results are not stored). */
      const f32* a0 = A + (long)i0 * lda;
      const f32* a1 = mr > 1 ? a0 + lda : a0;
      const f32* a2 = mr > 2 ? a0 + 2L * lda : a0;
      const f32* a3 = mr > 3 ? a0 + 3L * lda : a0;
      const f32* a4 = mr > 4 ? a0 + 4L * lda : a0;
      const f32* a5 = mr > 5 ? a0 + 5L * lda : a0;
      v128_t c00 = bias0, c01 = bias1, c10 = bias0, c11 = bias1, c20 = bias0, c21 = bias1;
      v128_t c30 = bias0, c31 = bias1, c40 = bias0, c41 = bias1, c50 = bias0, c51 = bias1;
      const f32* p = panel;
      int k = 0;
      for (; k + 4 <= K; k += 4) {
        v128_t v0 = wasm_v128_load(a0 + k), v1 = wasm_v128_load(a1 + k), v2 = wasm_v128_load(a2 + k);
        v128_t v3 = wasm_v128_load(a3 + k), v4 = wasm_v128_load(a4 + k), v5 = wasm_v128_load(a5 + k);
        KSTEP(0) KSTEP(1) KSTEP(2) KSTEP(3)
      }
      for (; k < K; k++) KONE()
      if (accumulate) {
        f32 t[8];
        ACC(0) ACC(1) ACC(2) ACC(3) ACC(4) ACC(5)
      }
      STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5)
    }
  }
}

/* C[M, N] (row stride ldc) = A[M, K] (row-major, row stride lda) P + bias (bias may be 0), for the column
 * panels [p0, p1) of P (redraw_pack_b's layout, ldp rows per panel: P may start at row k0 of a packed matrix
 * of ldp >= K rows, for a product over rows [k0, k0 + K) only). With accumulate != 0, C is added to instead.
 * Each product term is rounded, then added: the same bits on every CPU. */
__attribute__((target("relaxed-simd"))) EXPORT(redraw_gemm)(const f32* A, int lda, const f32* P, int ldp,
                                                            const f32* bias, f32* C, int ldc, int M, int N,
                                                            int K, int accumulate, int p0, int p1) {
  gemm(A, lda, P, ldp, bias, C, ldc, M, N, K, accumulate, p0, p1, 0);
}

/* The same with f32x4.relaxed_madd (~10% faster). Relaxed: the CPU decides whether a x b + c is fused (one
 * rounding, x86 with FMA3 and ARM) or not, so results are deterministic on one machine (and independent of
 * the thread count) but may differ between machines; lib/wasm/ops.ts uses redraw_gemm where
 * REDRAW_WASM_FMA=0. */
__attribute__((target("relaxed-simd"))) EXPORT(redraw_gemm_fma)(const f32* A, int lda, const f32* P, int ldp,
                                                                const f32* bias, f32* C, int ldc, int M,
                                                                int N, int K, int accumulate, int p0, int p1) {
  gemm(A, lda, P, ldp, bias, C, ldc, M, N, K, accumulate, p0, p1, 1);
}
