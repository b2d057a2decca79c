/*
 * Block copies, step/column sums, the Bernoulli likelihood and the sum of squares: the C versions of the JS
 * kernels RedrawBlocks, RedrawSumSteps, RedrawSumCols, RedrawBernoulli and RedrawSumSquares of
 * lib/kernels/reference.ts.
 *
 * Same bits as the JS wherever its arithmetic is reproducible: copies and scaled copies (float64 product and
 * sum, one rounding to float32), float64 sums in the JS order (every column or chunk sums its terms in the
 * same sequence; SIMD lanes hold different columns or chunks, never parts of one sum), float32 row sums.
 * Only the Bernoulli kernel differs (its exp and log1p are ours, ~1 ulp in float64).
 *
 * Tables (operations, inputs, chunks) come in a buffer that lib/kernels/wasm/misc.ts allocates from tfjs-wasm once.
 */
#include "common.h"

static inline void zero_f32(f32* dst, int n) {
  const v128_t z = wasm_f32x4_splat(0.0f);
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(dst + i, z);
  for (; i < n; i++) dst[i] = 0.0f;
}

/* Float32x4 as two float64x2 (low, high pair) and back (rounded to nearest). */
static inline v128_t lo2(v128_t v) { return wasm_f64x2_promote_low_f32x4(v); }
static inline v128_t hi2(v128_t v) { return wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 2, 3)); }
static inline v128_t join4(v128_t a, v128_t b) {
  return wasm_i32x4_shuffle(wasm_f32x4_demote_f64x2_zero(a), wasm_f32x4_demote_f64x2_zero(b), 0, 1, 4, 5);
}

/* ---- Block copies --------------------------------------------------------------------------------------- */

/* Table (int32): nOut outputs of 5 ints (byte offset, width, rows, rows per item, first item), then nOps
 * operations of 11 ints (output, input byte offset or 0 for a fill, input width, r0, c0, rows, cols, dr0, dc0,
 * rStep, add); scales: nOps float64. Work items are blocks of output rows: each zeroes its rows, then applies
 * every operation on them in order (per element the JS sequence: zero fill, then the operations in order). */
#define OUT_INTS 5
#define OP_INTS 11

/* One row of an operation: dst[j] (= or +=) scale * src[j] (src null: fill with scale). */
static inline void block_row(f32* d, const f32* s, int cols, f64 scale, int add) {
  int j = 0;
  if (!s) {
    if (!add) {
      const v128_t v = wasm_f32x4_splat((f32)scale);
      for (; j + 4 <= cols; j += 4) wasm_v128_store(d + j, v);
      for (; j < cols; j++) d[j] = (f32)scale;
    } else {
      const v128_t sc = redraw_opaque(wasm_f64x2_splat(scale));
      for (; j + 4 <= cols; j += 4) {
        v128_t x = wasm_v128_load(d + j);
        wasm_v128_store(d + j, join4(wasm_f64x2_add(lo2(x), sc), wasm_f64x2_add(hi2(x), sc)));
      }
      for (; j < cols; j++) d[j] = (f32)((f64)d[j] + scale);
    }
    return;
  }
  if (scale == 1.0 && !add) {
    redraw_copy_f32(d, s, cols);
  } else if (scale == -1.0 && !add) {
    for (; j + 4 <= cols; j += 4) wasm_v128_store(d + j, wasm_f32x4_neg(wasm_v128_load(s + j)));
    for (; j < cols; j++) d[j] = -s[j];
  } else if (add) {
    const v128_t sc = redraw_opaque(wasm_f64x2_splat(scale));
    for (; j + 4 <= cols; j += 4) {
      v128_t x = wasm_v128_load(d + j), y = wasm_v128_load(s + j);
      v128_t a = wasm_f64x2_add(lo2(x), wasm_f64x2_mul(sc, lo2(y)));
      v128_t b = wasm_f64x2_add(hi2(x), wasm_f64x2_mul(sc, hi2(y)));
      wasm_v128_store(d + j, join4(a, b));
    }
    for (; j < cols; j++) d[j] = (f32)((f64)d[j] + scale * (f64)s[j]);
  } else {
    const v128_t sc = redraw_opaque(wasm_f64x2_splat(scale));
    for (; j + 4 <= cols; j += 4) {
      v128_t y = wasm_v128_load(s + j);
      wasm_v128_store(d + j, join4(wasm_f64x2_mul(sc, lo2(y)), wasm_f64x2_mul(sc, hi2(y))));
    }
    for (; j < cols; j++) d[j] = (f32)(scale * (f64)s[j]);
  }
}

EXPORT(redraw_blocks)(const int* table, const f64* scales, int nOut, int nOps, int lo, int hi) {
  const int* ops = table + OUT_INTS * nOut;
  for (int item = lo; item < hi; item++) {
    int o = 0;
    while (o + 1 < nOut && table[OUT_INTS * (o + 1) + 4] <= item) o++;
    const int* to = table + OUT_INTS * o;
    f32* dst = (f32*)to[0];
    int dw = to[1], rows = to[2], rpi = to[3];
    int ra = (item - to[4]) * rpi, rb = imin(rows, ra + rpi);
    if (ra >= rb) continue;
    zero_f32(dst + (i64)ra * dw, (rb - ra) * dw);
    for (int k = 0; k < nOps; k++) {
      const int* op = ops + OP_INTS * k;
      if (op[0] != o) continue;
      const f32* src = (const f32*)op[1];
      int sw = op[2], r0 = op[3], c0 = op[4], orows = op[5], cols = op[6], dr0 = op[7], dc0 = op[8];
      int rStep = op[9], add = op[10];
      int a = imax(ra, dr0), b = imin(rb, dr0 + orows);
      for (int r = a; r < b; r++) {
        const f32* s = src ? src + (i64)(r0 + (r - dr0) * rStep) * sw + c0 : 0;
        block_row(dst + (i64)r * dw + dc0, s, cols, scales[k], add);
      }
    }
  }
}

/* ---- Sums over rows: float64, every column summing its terms in the JS order ------------------------------ */

/* Most columns per work item of the sums over rows. misc.ts picks the block width (any width gives the same
 * bits: every column is its own sum) so that each thread gets a few blocks: their rows are then read as long
 * contiguous runs (a block of 16 columns read one cache line per row, 4 KB or more apart: slow for the
 * prefetcher and the TLB, and slower than the JS's row-order pass). */
#define MAX_SUM_COLS 2048

static void sum_rows(const int* in, int nIn, int rows, f32* out, int k0, int k1) {
  v128_t a[MAX_SUM_COLS / 2];
  int w = k1 - k0, w4 = w & ~3;
  for (int i = 0; i < (w + 1) / 2; i++) a[i] = wasm_f64x2_splat(0.0);
  f64 tail[3] = { 0, 0, 0 };
  for (int n = 0; n < rows; n++) {
    for (int t = 0; t < nIn; t++) {
      const f32* p = (const f32*)in[3 * t] + (i64)n * in[3 * t + 1] + in[3 * t + 2] + k0;
      for (int j = 0; j < w4; j += 4) {
        v128_t v = wasm_v128_load(p + j);
        a[j / 2] = wasm_f64x2_add(a[j / 2], lo2(v));
        a[j / 2 + 1] = wasm_f64x2_add(a[j / 2 + 1], hi2(v));
      }
      for (int j = w4; j < w; j++) tail[j - w4] += p[j];
    }
  }
  for (int j = 0; j < w4; j += 4) wasm_v128_store(out + k0 + j, join4(a[j / 2], a[j / 2 + 1]));
  for (int j = w4; j < w; j++) out[k0 + j] = (f32)tail[j - w4];
}

/* [T*batch, n] per-step rows summed over the T steps: items are blocks of bw (<= MAX_SUM_COLS) of
 * the batch*n outputs. */
EXPORT(redraw_sum_steps)(const f32* x, int T, int size, int bw, f32* out, int lo, int hi) {
  int in[3] = { (int)x, size, 0 };
  for (int b = lo; b < hi; b++) sum_rows(in, 1, T, out, b * bw, imin(size, (b + 1) * bw));
}

/* Column sums over the rows of several inputs (table of (byte offset, width, column offset); absent inputs
 * left out): items are blocks of bw (<= MAX_SUM_COLS) columns. */
EXPORT(redraw_sum_cols_total)(const int* table, int nIn, int rows, int width, int bw, f32* out, int lo, int hi) {
  for (int b = lo; b < hi; b++) sum_rows(table, nIn, rows, out, b * bw, imin(width, (b + 1) * bw));
}

/* Per row: out[n, j] = sum over the inputs in order, in float32 (each sum rounded, as the JS's float32 += ). */
EXPORT(redraw_sum_cols_rows)(const int* table, int nIn, int width, f32* out, int lo, int hi) {
  for (int n = lo; n < hi; n++) {
    f32* d = out + (i64)n * width;
    zero_f32(d, width);
    for (int t = 0; t < nIn; t++) {
      const f32* s = (const f32*)table[3 * t] + (i64)n * table[3 * t + 1] + table[3 * t + 2];
      int j = 0;
      for (; j + 4 <= width; j += 4) {
        wasm_v128_store(d + j, wasm_f32x4_add(wasm_v128_load(d + j), wasm_v128_load(s + j)));
      }
      for (; j < width; j++) d[j] = d[j] + s[j];
    }
  }
}

/* ---- Bernoulli likelihood --------------------------------------------------------------------------------- */

/* Constants of exp_f64x2 and log1p_f64x2, made once per kernel call. */
typedef struct {
  redraw_exp2_k x;
  v128_t one, half, zero, sqrt2, l[12];
} Consts;

static inline Consts consts(void) {
  Consts e;
  e.x = redraw_exp2_consts();
  /* 2 atanh(s) / (2 s) = 1 + s^2/3 + s^4/5 + ... (Horner from s^22/23). */
  for (int i = 0; i < 12; i++) e.l[i] = redraw_opaque(wasm_f64x2_splat(1.0 / (2 * (11 - i) + 1)));
  e.one = redraw_opaque(wasm_f64x2_splat(1.0));
  e.half = redraw_opaque(wasm_f64x2_splat(0.5));
  e.zero = redraw_opaque(wasm_f64x2_splat(0.0));
  e.sqrt2 = redraw_opaque(wasm_f64x2_splat(1.4142135623730951));
  return e;
}

/* log(1 + e) for e in [0, 1] (NaN stays NaN), ~1 ulp: u = 1 + e rounded, log u = k ln2 + 2 atanh(s) with
 * m = u / 2^k in [0.707, 1.414] and s = (m - 1) / (m + 1) (|s| <= 0.172, series to s^23), plus the rounding
 * of u, (e - (u - 1)) / u (u - 1 is exact). */
static inline v128_t log1p_f64x2(v128_t e, v128_t u, const Consts* C) {
  v128_t big = wasm_f64x2_gt(u, C->sqrt2);
  v128_t m = wasm_v128_bitselect(wasm_f64x2_mul(u, C->half), u, big);
  v128_t s = wasm_f64x2_div(wasm_f64x2_sub(m, C->one), wasm_f64x2_add(m, C->one));
  v128_t s2 = wasm_f64x2_mul(s, s);
  v128_t p = C->l[0];
  for (int i = 1; i < 12; i++) p = wasm_f64x2_add(wasm_f64x2_mul(p, s2), C->l[i]);
  v128_t two_s = wasm_f64x2_add(s, s);
  v128_t corr = wasm_f64x2_div(wasm_f64x2_sub(e, wasm_f64x2_sub(u, C->one)), u);
  v128_t lm = wasm_f64x2_add(wasm_f64x2_mul(two_s, p), corr);
  v128_t kl = wasm_v128_and(big, C->x.ln2lo), kh = wasm_v128_and(big, C->x.ln2hi);
  return wasm_f64x2_add(kh, wasm_f64x2_add(lm, kl));
}

/* Per row n of x, c [rows, D]: loss[n] = sum_p max(c, 0) - x c + log(1 + exp(-|c|)) (float64, in order), and
 * dc = ((c >= 0 ? 1 : e) / (1 + e) - x) g with e = exp(-|c|). */
EXPORT(redraw_bernoulli)(const f32* x, const f32* c, f32* loss, f32* dc, int D, f64 g, int lo, int hi) {
  const Consts C = consts();
  const v128_t gv = redraw_opaque(wasm_f64x2_splat(g));
  for (int n = lo; n < hi; n++) {
    const f32* xr = x + (i64)n * D;
    const f32* cr = c + (i64)n * D;
    f32* dr = dc + (i64)n * D;
    f64 l = 0;
    int p = 0;
    for (; p + 2 <= D; p += 2) {
      v128_t v = wasm_f64x2_promote_low_f32x4(wasm_v128_load64_zero(cr + p));
      v128_t xv = wasm_f64x2_promote_low_f32x4(wasm_v128_load64_zero(xr + p));
      v128_t e = redraw_exp_f64x2_k(wasm_f64x2_neg(wasm_f64x2_abs(v)), &C.x);
      v128_t u = wasm_f64x2_add(C.one, e);
      v128_t t = wasm_f64x2_add(wasm_f64x2_sub(wasm_f64x2_pmax(v, C.zero), wasm_f64x2_mul(xv, v)),
                                log1p_f64x2(e, u, &C));
      l += wasm_f64x2_extract_lane(t, 0);
      l += wasm_f64x2_extract_lane(t, 1);
      v128_t num = wasm_v128_bitselect(C.one, e, wasm_f64x2_ge(v, C.zero));
      v128_t d = wasm_f64x2_mul(wasm_f64x2_sub(wasm_f64x2_div(num, u), xv), gv);
      wasm_v128_store64_lane(dr + p, wasm_f32x4_demote_f64x2_zero(d), 0);
    }
    for (; p < D; p++) {
      v128_t v = wasm_f64x2_splat((f64)cr[p]), xv = wasm_f64x2_splat((f64)xr[p]);
      v128_t e = redraw_exp_f64x2_k(wasm_f64x2_neg(wasm_f64x2_abs(v)), &C.x);
      v128_t u = wasm_f64x2_add(C.one, e);
      v128_t t = wasm_f64x2_add(wasm_f64x2_sub(wasm_f64x2_pmax(v, C.zero), wasm_f64x2_mul(xv, v)),
                                log1p_f64x2(e, u, &C));
      l += wasm_f64x2_extract_lane(t, 0);
      v128_t num = wasm_v128_bitselect(C.one, e, wasm_f64x2_ge(v, C.zero));
      dr[p] = (f32)wasm_f64x2_extract_lane(wasm_f64x2_mul(wasm_f64x2_sub(wasm_f64x2_div(num, u), xv), gv), 0);
    }
    loss[n] = (f32)l;
  }
}

/* ---- Sum of squares ------------------------------------------------------------------------------------- */

/* Stage 1: the JS's chunks (table of (byte offset, length) int pairs: 8192 values of one input, the last one of
 * each input shorter), each summing g^2 in float64 in order into partial[chunk]. Chunks are independent chains,
 * so 4 of them run in lockstep (two float64x2 sums, one chunk per lane): same bits, 4x the adds in flight. */
EXPORT(redraw_sum_squares_chunks)(const int* table, f64* partial, int lo, int hi) {
  int k = lo;
  for (; k + 4 <= hi; k += 4) {
    const f32* p[4];
    int len[4], m = 0x7fffffff;
    for (int i = 0; i < 4; i++) {
      p[i] = (const f32*)table[2 * (k + i)];
      len[i] = table[2 * (k + i) + 1];
      m = imin(m, len[i]);
    }
    v128_t ab = wasm_f64x2_splat(0.0), cd = wasm_f64x2_splat(0.0);
    int j = 0;
    for (; j + 4 <= m; j += 4) {
      v128_t a = wasm_v128_load(p[0] + j), b = wasm_v128_load(p[1] + j);
      v128_t c = wasm_v128_load(p[2] + j), d = wasm_v128_load(p[3] + j);
      v128_t ab01 = wasm_i32x4_shuffle(a, b, 0, 4, 1, 5), ab23 = wasm_i32x4_shuffle(a, b, 2, 6, 3, 7);
      v128_t cd01 = wasm_i32x4_shuffle(c, d, 0, 4, 1, 5), cd23 = wasm_i32x4_shuffle(c, d, 2, 6, 3, 7);
      v128_t x;
      x = lo2(ab01), ab = wasm_f64x2_add(ab, wasm_f64x2_mul(x, x));
      x = lo2(cd01), cd = wasm_f64x2_add(cd, wasm_f64x2_mul(x, x));
      x = hi2(ab01), ab = wasm_f64x2_add(ab, wasm_f64x2_mul(x, x));
      x = hi2(cd01), cd = wasm_f64x2_add(cd, wasm_f64x2_mul(x, x));
      x = lo2(ab23), ab = wasm_f64x2_add(ab, wasm_f64x2_mul(x, x));
      x = lo2(cd23), cd = wasm_f64x2_add(cd, wasm_f64x2_mul(x, x));
      x = hi2(ab23), ab = wasm_f64x2_add(ab, wasm_f64x2_mul(x, x));
      x = hi2(cd23), cd = wasm_f64x2_add(cd, wasm_f64x2_mul(x, x));
    }
    f64 s[4] = { wasm_f64x2_extract_lane(ab, 0), wasm_f64x2_extract_lane(ab, 1), wasm_f64x2_extract_lane(cd, 0),
                 wasm_f64x2_extract_lane(cd, 1) };
    for (int i = 0; i < 4; i++) {
      f64 a = s[i];
      for (int q = j; q < len[i]; q++) a += (f64)p[i][q] * (f64)p[i][q];
      partial[k + i] = a;
    }
  }
  for (; k < hi; k++) {
    const f32* g = (const f32*)table[2 * k];
    int len = table[2 * k + 1];
    f64 a = 0;
    for (int q = 0; q < len; q++) a += (f64)g[q] * (f64)g[q];
    partial[k] = a;
  }
}

/* Stage 2 (one item): the chunk sums added in order, as the JS does, rounded once to float32. */
EXPORT(redraw_sum_squares_total)(const f64* partial, int chunks, f32* out, int lo, int hi) {
  if (lo > 0 || hi < 1) return;
  f64 a = 0;
  for (int k = 0; k < chunks; k++) a += partial[k];
  out[0] = (f32)a;
}
