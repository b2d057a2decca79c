/*
 * Matrix products C = A B (+ bias) for DRAW's layers, with 128-bit SIMD.
 *
 * B is first packed into panels of 8 columns, P[j/8][k][0..8) (zero padded), so the inner loop reads it
 * contiguously; a weight used by all T glimpses is packed once per training step. The micro-kernel computes
 * a 6 x 8 block of C with 12 accumulators: per k, two loads of the panel and one load32_splat of each row
 * of A, each row's multiply-adds ordered before the next row's load (see ROW). Measured on this machine
 * (lib/kernels/README.md): 60-70 GFLOP/s per thread with relaxed_madd (redraw_gemm_fma), against 45-52 for
 * the previous kernel (A by 128-bit loads and lane shuffles, 4 k at a time) and 65 for a native loop of
 * independent 128-bit FMAs.
 *
 * Work is split over panels: redraw_gemm(..., j0, j1) computes panels [j0, j1), so threads write disjoint
 * columns of C. Additions happen in a fixed order (k ascending into one accumulator per output; blocked or not, the same chain), so
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

/* acc + x b. With fma, relaxed SIMD's multiply-add: clang 14 only has the prototype instruction
 * (__builtin_wasm_fma_f32x4(a, b, c) = a + b c, opcode 0xfd 0xaf 0x01); lib/kernels/wasm/build.ts rewrites its opcode
 * into the final f32x4.relaxed_madd (0xfd 0x85 0x02), which computes x y + z from the same stack (x, y, z):
 * hence the operands (x, b, acc), so that the patched instruction computes x b + acc. */
#define MADD(acc, x, b) \
  (fma ? __builtin_wasm_fma_f32x4(x, b, acc) : wasm_f32x4_add(acc, wasm_f32x4_mul(x, b)))
/* Row r of a tile at one k: A[i0 + r][k] splat by load32_splat, times the panel's 8 values. The empty asm
 * passes k through with row r's accumulators as inputs, so the next row's load cannot be scheduled above
 * this row's multiply-adds: clang otherwise loads all 6 splats first, which keeps 20 vectors live, and V8
 * (15 allocatable SIMD registers on x64) spills inside the loop: 26-31 instead of 60-70 GFLOP/s per thread
 * (lib/kernels/README.md, "Measured"). */
#define ROW(r)                                         \
  {                                                    \
    v128_t x = wasm_v128_load32_splat(a##r + k);       \
    c##r##0 = MADD(c##r##0, x, b0);                    \
    c##r##1 = MADD(c##r##1, x, b1);                    \
    __asm__("" : "+r"(k) : "r"(c##r##0), "r"(c##r##1)); \
  }
/* A tile's accumulators start from the bias (first k block) or from C's partial sums (later blocks: the
 * stored float32 values are the accumulators' exact bits, so the chain of multiply-adds is the unblocked one). */
#define INIT(r)                                                  \
  if (kb == 0) {                                                 \
    c##r##0 = bias0;                                             \
    c##r##1 = bias1;                                             \
  } else {                                                       \
    const f32* c = C + (long)(i0 + (r < mr ? r : 0)) * ldc;      \
    f32 t[8];                                                    \
    for (int j = 0; j < 8; j++) t[j] = j < nc ? c[j] : 0.0f;     \
    c##r##0 = wasm_v128_load(t);                                 \
    c##r##1 = wasm_v128_load(t + 4);                             \
  }
#define ACC(r)                                                \
  if (r < mr) {                                               \
    const f32* c = C + (long)(i0 + r) * ldc;                  \
    for (int j = 0; j < 8; j++) t[j] = j < nc ? c[j] : 0.0f;  \
    c##r##0 = wasm_f32x4_add(c##r##0, wasm_v128_load(t));     \
    c##r##1 = wasm_f32x4_add(c##r##1, wasm_v128_load(t + 4)); \
  }
#define STORE(r)                                        \
  if (r < mr) {                                         \
    f32* c = C + (long)(i0 + r) * ldc;                  \
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
#define ROW_POINTERS                                  \
  const f32* a0 = A + (long)i0 * lda;                 \
  const f32* a1 = mr > 1 ? a0 + lda : a0;             \
  const f32* a2 = mr > 2 ? a0 + 2L * lda : a0;        \
  const f32* a3 = mr > 3 ? a0 + 3L * lda : a0;

/* Rows [i0, i0 + mr) (mr <= 6; rows past M alias row i0, their results are not stored) x one 8-column panel,
 * over k in [kb, ke). C points at column j0 of row 0; nc of the 8 columns are stored. With accumulate (only
 * unblocked: kb = 0, ke = K), C's old values are added after the product. 6 x 8 = 12 accumulators. */
__attribute__((target("relaxed-simd"), always_inline)) static inline void tile6(
    const f32* A, int lda, const f32* panel, f32* C, int ldc, int i0, int mr, int nc, int kb, int ke,
    int accumulate, v128_t bias0, v128_t bias1, const int fma) {
  ROW_POINTERS
  const f32* a4 = mr > 4 ? a0 + 4L * lda : a0;
  const f32* a5 = mr > 5 ? a0 + 5L * lda : a0;
  v128_t c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
  INIT(0) INIT(1) INIT(2) INIT(3) INIT(4) INIT(5)
  const f32* p = panel + (long)kb * 8;
  for (int k = kb; k < ke; k++) {
    v128_t b0 = wasm_v128_load(p), b1 = wasm_v128_load(p + 4);
    p += 8;
    ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5)
  }
  if (accumulate) {
    f32 t[8];
    ACC(0) ACC(1) ACC(2) ACC(3) ACC(4) ACC(5)
  }
  STORE(0) STORE(1) STORE(2) STORE(3) STORE(4) STORE(5)
}

/* The same for mr <= 4 rows (8 accumulators): the last rows of M = 64 (10 x 6 + 4) without computing 6. */
__attribute__((target("relaxed-simd"), always_inline)) static inline void tile4(
    const f32* A, int lda, const f32* panel, f32* C, int ldc, int i0, int mr, int nc, int kb, int ke,
    int accumulate, v128_t bias0, v128_t bias1, const int fma) {
  ROW_POINTERS
  v128_t c00, c01, c10, c11, c20, c21, c30, c31;
  INIT(0) INIT(1) INIT(2) INIT(3)
  const f32* p = panel + (long)kb * 8;
  for (int k = kb; k < ke; k++) {
    v128_t b0 = wasm_v128_load(p), b1 = wasm_v128_load(p + 4);
    p += 8;
    ROW(0) ROW(1) ROW(2) ROW(3)
  }
  if (accumulate) {
    f32 t[8];
    ACC(0) ACC(1) ACC(2) ACC(3)
  }
  STORE(0) STORE(1) STORE(2) STORE(3)
}

/* Cache blocking for large M (the weight gradients, M = an input width, K = T x batch): KC rows of the panel
 * and MC rows of A at a time, so A's block (MC x KC floats, 192 KB) stays in L2 while every panel of the
 * thread's range passes over it. Partial sums go through C (exact), so blocked and unblocked results are the
 * same bits. Measured on 1296x4096x1024: 57 -> 61 GFLOP/s per thread; no gain at M = 64. */
#define KC 512
#define MC 96

/* The product, with multiply-adds fused (fma = 1: redraw_gemm_fma) or not. Both callers get the relaxed-simd
 * feature (a callee's features must be the caller's), but only the fma = 1 copy has relaxed instructions:
 * lib/kernels/wasm/build.ts checks that each one is in redraw_gemm_fma, as many as written here. Without fma, a
 * separate product needs one more register and 6-row tiles spill (33 GFLOP/s per thread), so that copy uses
 * 4-row tiles only (41-50 GFLOP/s). */
__attribute__((target("relaxed-simd"), always_inline)) static inline void gemm(
    const f32* A, int lda, const f32* P, int ldp, const f32* bias, f32* C, int ldc, int M, int N, int K,
    int accumulate, int p0, int p1, const int fma) {
  const int blocked = !accumulate && M > MC;
  const int kc = blocked ? KC : imax(K, 1), mc = blocked ? MC : M;
  for (int kb = 0; kb < K || kb == 0; kb += kc) {
    int ke = imin(K, kb + kc);
    for (int ib = 0; ib < M; ib += mc) {
      int ie = imin(M, ib + mc);
      for (int pi = p0; pi < p1; pi++) {
        int j0 = pi * 8, nc = imin(8, N - j0);
        const f32* panel = P + (long)pi * ldp * 8;
        f32 bb[8];
        for (int j = 0; j < 8; j++) bb[j] = (bias && j < nc) ? bias[j0 + j] : 0.0f;
        v128_t bias0 = wasm_v128_load(bb), bias1 = wasm_v128_load(bb + 4);
        int i0 = ib;
        for (; fma && i0 + 4 < ie; i0 += 6) {
          tile6(A, lda, panel, C + j0, ldc, i0, imin(6, ie - i0), nc, kb, ke, accumulate, bias0, bias1, fma);
        }
        for (; i0 < ie; i0 += 4) {
          tile4(A, lda, panel, C + j0, ldc, i0, imin(4, ie - i0), nc, kb, ke, accumulate, bias0, bias1, fma);
        }
      }
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
 * the thread count) but may differ between machines; lib/kernels/wasm/ops.ts uses redraw_gemm where
 * REDRAW_WASM_FMA=0. */
__attribute__((target("relaxed-simd"))) EXPORT(redraw_gemm_fma)(const f32* A, int lda, const f32* P, int ldp,
                                                                const f32* bias, f32* C, int ldc, int M,
                                                                int N, int K, int accumulate, int p0, int p1) {
  gemm(A, lda, P, ldp, bias, C, ldc, M, N, K, accumulate, p0, p1, 1);
}
