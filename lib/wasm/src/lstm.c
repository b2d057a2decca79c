/*
 * DRAW's LSTM cell (forward halves and backward), posterior sample/KL and its gradient, and the no-attention
 * input and gradient: the C versions of the JS kernels of the same names in lib/draw/kernel_math.ts.
 *
 * Work items are batch rows (the column sum of the LSTM gradient: blocks of 16 columns, each summing every row
 * in order). The LSTM arithmetic is float32x4: tanh comes from the gate sigmoid s as (2s - 1) / (s^2 + (1-s)^2)
 * and 1 - tanh^2 as 4 s^2 (1-s)^2 / (s^2 + (1-s)^2)^2 (no cancellation near |tanh| = 1), so results stay
 * within a few float32 ulps of the float64 reference. The posterior is float64 (exp of log sigma).
 */
#include "common.h"

/* ---- float32x4 helpers ---------------------------------------------------------------------------------- */

static inline v128_t splat(f32 x) { return wasm_f32x4_splat(x); }

/* tanh(v) from s = sigmoid(v). */
static inline v128_t tanh_s4(v128_t s) {
  v128_t r = wasm_f32x4_sub(splat(1.0f), s);
  v128_t d = wasm_f32x4_add(wasm_f32x4_mul(s, s), wasm_f32x4_mul(r, r));
  return wasm_f32x4_div(wasm_f32x4_sub(s, r), d);
}

/* tanh(v) and 1 - tanh(v)^2 from s = sigmoid(v). */
static inline v128_t tanh_d4(v128_t s, v128_t* dt) {
  v128_t r = wasm_f32x4_sub(splat(1.0f), s);
  v128_t d = wasm_f32x4_add(wasm_f32x4_mul(s, s), wasm_f32x4_mul(r, r));
  /* 1 - tanh^2 = 4 s^2 r^2 / d^2 = (2 s r / d)^2 */
  v128_t u = wasm_f32x4_div(wasm_f32x4_mul(wasm_f32x4_add(s, s), r), d);
  *dt = wasm_f32x4_mul(u, u);
  return wasm_f32x4_div(wasm_f32x4_sub(s, r), d);
}

/* Loads n (< 4) floats into the low lanes of a vector (the others 0). */
static inline v128_t load_part(const f32* p, int n) {
  f32 t[4] = { 0, 0, 0, 0 };
  for (int i = 0; i < n; i++) t[i] = p[i];
  return wasm_v128_load(t);
}

static inline void store_part(f32* p, v128_t v, int n) {
  f32 t[4];
  wasm_v128_store(t, v);
  for (int i = 0; i < n; i++) p[i] = t[i];
}

/* Copies n floats (no overlap). */
static inline void copy_f32(f32* dst, const f32* src, int n) {
  int i = 0;
  for (; i + 16 <= n; i += 16) {
    v128_t a = wasm_v128_load(src + i), b = wasm_v128_load(src + i + 4);
    v128_t c = wasm_v128_load(src + i + 8), d = wasm_v128_load(src + i + 12);
    wasm_v128_store(dst + i, a);
    wasm_v128_store(dst + i + 4, b);
    wasm_v128_store(dst + i + 8, c);
    wasm_v128_store(dst + i + 12, d);
  }
  for (; i + 4 <= n; i += 4) wasm_v128_store(dst + i, wasm_v128_load(src + i));
  for (; i < n; i++) dst[i] = src[i];
}

/* ---- LSTM ----------------------------------------------------------------------------------------------- */

/* c = f c_prev + i tanh(g) from the gate sigmoids sg [rows, 4H] (i, f, o, g) and c_prev (0: absent). */
EXPORT(redraw_lstm_cell)(const f32* sg, const f32* cp, f32* c, int H, int lo, int hi) {
  for (int n = lo; n < hi; n++) {
    const f32* g = sg + (i64)n * 4 * H;
    f32* o = c + (i64)n * H;
    const f32* p = cp ? cp + (i64)n * H : 0;
    for (int j = 0; j < H; j += 4) {
      int m = imin(4, H - j);
      v128_t vi, vf, vg, vp;
      if (m == 4) {
        vi = wasm_v128_load(g + j), vf = wasm_v128_load(g + H + j), vg = wasm_v128_load(g + 3 * H + j);
        vp = p ? wasm_v128_load(p + j) : splat(0.0f);
      } else {
        vi = load_part(g + j, m), vf = load_part(g + H + j, m), vg = load_part(g + 3 * H + j, m);
        vp = p ? load_part(p + j, m) : splat(0.0f);
      }
      v128_t y = wasm_f32x4_add(wasm_f32x4_mul(vf, vp), wasm_f32x4_mul(vi, tanh_s4(vg)));
      if (m == 4) wasm_v128_store(o + j, y);
      else store_part(o + j, y, m);
    }
  }
}

/* h = o tanh(c) from the gate sigmoids and sc = sigmoid(c). */
EXPORT(redraw_lstm_hidden)(const f32* sg, const f32* sc, f32* h, int H, int lo, int hi) {
  for (int n = lo; n < hi; n++) {
    const f32* g = sg + (i64)n * 4 * H + 2 * H;
    const f32* s = sc + (i64)n * H;
    f32* o = h + (i64)n * H;
    for (int j = 0; j < H; j += 4) {
      int m = imin(4, H - j);
      v128_t vo = m == 4 ? wasm_v128_load(g + j) : load_part(g + j, m);
      v128_t vs = m == 4 ? wasm_v128_load(s + j) : load_part(s + j, m);
      v128_t y = wasm_f32x4_mul(vo, tanh_s4(vs));
      if (m == 4) wasm_v128_store(o + j, y);
      else store_part(o + j, y, m);
    }
  }
}

/*
 * LSTM backward per row: dG [rows, 4H] (gradients of the gate pre-activations) and dcp [rows, H] from the gate
 * sigmoids sg, sc = sigmoid(c), c_prev (0: absent), dc_next (0: absent) and dh = the sum of columns
 * [off_k, off_k + H) of up to three sources src_k [rows, w_k] (0: absent).
 */
EXPORT(redraw_lstm_backward)(const f32* sg, const f32* sc, const f32* cp, const f32* dcn, const f32* s0, int w0,
                             int o0, const f32* s1, int w1, int o1, const f32* s2, int w2, int o2, f32* dG,
                             f32* dcp, int H, int lo, int hi) {
  const v128_t one = splat(1.0f), zero = splat(0.0f);
  for (int n = lo; n < hi; n++) {
    const f32* g = sg + (i64)n * 4 * H;
    const f32* s = sc + (i64)n * H;
    const f32* p = cp ? cp + (i64)n * H : 0;
    const f32* d = dcn ? dcn + (i64)n * H : 0;
    const f32* a0 = s0 ? s0 + (i64)n * w0 + o0 : 0;
    const f32* a1 = s1 ? s1 + (i64)n * w1 + o1 : 0;
    const f32* a2 = s2 ? s2 + (i64)n * w2 + o2 : 0;
    f32* dg = dG + (i64)n * 4 * H;
    f32* dc_out = dcp + (i64)n * H;
    for (int j = 0; j < H; j += 4) {
      int m = imin(4, H - j);
      v128_t vi, vf, vo, vg, vs, vp, vd, dh;
      if (m == 4) {
        vi = wasm_v128_load(g + j), vf = wasm_v128_load(g + H + j);
        vo = wasm_v128_load(g + 2 * H + j), vg = wasm_v128_load(g + 3 * H + j);
        vs = wasm_v128_load(s + j);
        vp = p ? wasm_v128_load(p + j) : zero;
        vd = d ? wasm_v128_load(d + j) : zero;
        dh = a0 ? wasm_v128_load(a0 + j) : zero;
        if (a1) dh = wasm_f32x4_add(dh, wasm_v128_load(a1 + j));
        if (a2) dh = wasm_f32x4_add(dh, wasm_v128_load(a2 + j));
      } else {
        vi = load_part(g + j, m), vf = load_part(g + H + j, m);
        vo = load_part(g + 2 * H + j, m), vg = load_part(g + 3 * H + j, m);
        vs = load_part(s + j, m);
        vp = p ? load_part(p + j, m) : zero;
        vd = d ? load_part(d + j, m) : zero;
        dh = a0 ? load_part(a0 + j, m) : zero;
        if (a1) dh = wasm_f32x4_add(dh, load_part(a1 + j, m));
        if (a2) dh = wasm_f32x4_add(dh, load_part(a2 + j, m));
      }
      v128_t dtg, dtc;
      v128_t tg = tanh_d4(vg, &dtg), tc = tanh_d4(vs, &dtc);
      v128_t dc = wasm_f32x4_add(vd, wasm_f32x4_mul(wasm_f32x4_mul(dh, vo), dtc));
      v128_t gi = wasm_f32x4_mul(wasm_f32x4_mul(wasm_f32x4_mul(dc, tg), vi), wasm_f32x4_sub(one, vi));
      v128_t gf = wasm_f32x4_mul(wasm_f32x4_mul(wasm_f32x4_mul(dc, vp), vf), wasm_f32x4_sub(one, vf));
      v128_t go = wasm_f32x4_mul(wasm_f32x4_mul(wasm_f32x4_mul(dh, tc), vo), wasm_f32x4_sub(one, vo));
      v128_t gg = wasm_f32x4_mul(wasm_f32x4_mul(dc, vi), dtg);
      v128_t dcf = wasm_f32x4_mul(dc, vf);
      if (m == 4) {
        wasm_v128_store(dg + j, gi);
        wasm_v128_store(dg + H + j, gf);
        wasm_v128_store(dg + 2 * H + j, go);
        wasm_v128_store(dg + 3 * H + j, gg);
        wasm_v128_store(dc_out + j, dcf);
      } else {
        store_part(dg + j, gi, m);
        store_part(dg + H + j, gf, m);
        store_part(dg + 2 * H + j, go, m);
        store_part(dg + 3 * H + j, gg, m);
        store_part(dc_out + j, dcf, m);
      }
    }
  }
}

/*
 * out[k] = sum over rows n (in order, float64) of x[n, k], for the column blocks [16 lo, 16 hi) of x [rows, W]
 * (the batch sum of the LSTM gradient).
 */
EXPORT(redraw_lstm_sum_rows)(const f32* x, int rows, int W, f32* out, int lo, int hi) {
  int k0 = lo * 16, k1 = imin(W, hi * 16);
  int k = k0;
  for (; k + 4 <= k1; k += 4) {
    v128_t a = wasm_f64x2_splat(0.0), b = wasm_f64x2_splat(0.0);
    for (int n = 0; n < rows; n++) {
      v128_t v = wasm_v128_load(x + (i64)n * W + k);
      a = wasm_f64x2_add(a, wasm_f64x2_promote_low_f32x4(v));
      b = wasm_f64x2_add(b, wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 2, 3)));
    }
    v128_t lo4 = wasm_f32x4_demote_f64x2_zero(a), hi4 = wasm_f32x4_demote_f64x2_zero(b);
    wasm_v128_store(out + k, wasm_i32x4_shuffle(lo4, hi4, 0, 1, 4, 5));
  }
  for (; k < k1; k++) {
    f64 a = 0;
    for (int n = 0; n < rows; n++) a += x[(i64)n * W + k];
    out[k] = (f32)a;
  }
}

/* ---- Posterior ------------------------------------------------------------------------------------------- */

/*
 * Per row of pp = [mu, log sigma, padding] [rows, P]: xdec = [z, hDec] with z = mu + sigma eps, kl = the KL of
 * the step, lr (0: absent) = log N(z; 0, 1) - log N(z; mu, sigma). eps points at this step's [rows, nZ] block.
 */
EXPORT(redraw_posterior)(const f32* pp, const f32* eps, const f32* hDec, f32* xdec, f32* kl, f32* lr, int nZ,
                         int Hd, int P, int lo, int hi) {
  int w = nZ + Hd;
  for (int n = lo; n < hi; n++) {
    const f32* q = pp + (i64)n * P;
    const f32* e = eps + (i64)n * nZ;
    f32* x = xdec + (i64)n * w;
    f64 k = 0, l = 0;
    for (int j = 0; j < nZ; j++) {
      f64 mu = q[j], ls = q[nZ + j], ej = e[j];
      f64 sigma = redraw_exp(ls);
      f32 z = (f32)(mu + sigma * ej);
      x[j] = z;
      k += mu * mu + sigma * sigma - 2 * ls - 1;
      l += (ej * ej - (f64)z * (f64)z) * 0.5 + ls;
    }
    kl[n] = (f32)(0.5 * k);
    if (lr) lr[n] = (f32)l;
    copy_f32(x + nZ, hDec + (i64)n * Hd, Hd);
  }
}

/* Gradient of [mu, log sigma, padding] per row: from dz (the first nZ columns of dXdec [rows, wd]) and scale g
 * times the KL. */
EXPORT(redraw_posterior_backward)(const f32* dXdec, int wd, const f32* pp, const f32* eps, f32* dpp, int nZ, int P,
                                  f64 g, int lo, int hi) {
  for (int n = lo; n < hi; n++) {
    const f32* q = pp + (i64)n * P;
    const f32* e = eps + (i64)n * nZ;
    const f32* dz = dXdec + (i64)n * wd;
    f32* d = dpp + (i64)n * P;
    for (int j = 0; j < nZ; j++) {
      f64 mu = q[j], ls = q[nZ + j];
      f64 sigma = redraw_exp(ls);
      f64 z = dz[j];
      d[j] = (f32)(mu * g + z);
      d[nZ + j] = (f32)((sigma * sigma - 1) * g + z * sigma * (f64)e[j]);
    }
    for (int j = 2 * nZ; j < P; j++) d[j] = 0;
  }
}

/* ---- Without attention ----------------------------------------------------------------------------------- */

/* Rows [s, hDec, hEnc] of widths D, hd, he. */
EXPORT(redraw_noatt_input)(const f32* s, const f32* hDec, const f32* hEnc, f32* out, int D, int hd, int he, int lo,
                           int hi) {
  int w = D + hd + he;
  for (int n = lo; n < hi; n++) {
    f32* o = out + (i64)n * w;
    copy_f32(o, s + (i64)n * D, D);
    copy_f32(o + D, hDec + (i64)n * hd, hd);
    copy_f32(o + D + hd, hEnc + (i64)n * he, he);
  }
}

/* out = dcvs + ds s (1 - s) per row, ds = the first D columns of dXenc [rows, wd]. */
EXPORT(redraw_noatt_backward)(const f32* dXenc, int wd, const f32* dcvs, const f32* sv, f32* out, int D, int lo,
                              int hi) {
  const v128_t one = splat(1.0f);
  for (int n = lo; n < hi; n++) {
    const f32* a = dXenc + (i64)n * wd;
    const f32* b = dcvs + (i64)n * D;
    const f32* s = sv + (i64)n * D;
    f32* o = out + (i64)n * D;
    for (int p = 0; p < D; p += 4) {
      int m = imin(4, D - p);
      v128_t va = m == 4 ? wasm_v128_load(a + p) : load_part(a + p, m);
      v128_t vb = m == 4 ? wasm_v128_load(b + p) : load_part(b + p, m);
      v128_t vs = m == 4 ? wasm_v128_load(s + p) : load_part(s + p, m);
      v128_t y = wasm_f32x4_add(vb, wasm_f32x4_mul(wasm_f32x4_mul(va, vs), wasm_f32x4_sub(one, vs)));
      if (m == 4) wasm_v128_store(o + p, y);
      else store_part(o + p, y, m);
    }
  }
}

/* ---- Stacking --------------------------------------------------------------------------------------------- */

/*
 * Stacks T inputs [rows_t, n] (table: T pairs of int32 (byte offset, rows)) into out [total, n]; work items
 * are blocks of 16 output rows.
 */
EXPORT(redraw_stack)(const int* table, int T, int n, f32* out, int lo, int hi) {
  int r0 = lo * 16, r1 = hi * 16, start = 0;
  for (int t = 0; t < T && start < r1; t++) {
    int rows = table[2 * t + 1];
    int a = imax(r0, start), b = imin(r1, start + rows);
    if (a < b) {
      const f32* src = (const f32*)table[2 * t] + (i64)(a - start) * n;
      copy_f32(out + (i64)a * n, src, (b - a) * n);
    }
    start += rows;
  }
}

/* Writes the 4 x 4 block x[r][k0..k0+4) (r = 0..3) transposed to out[(k0 + c) total + col0 + r]. */
static inline void transpose4(const f32* const* x, int k0, f32* out, int total, int col0) {
  v128_t v0 = wasm_v128_load(x[0] + k0), v1 = wasm_v128_load(x[1] + k0);
  v128_t v2 = wasm_v128_load(x[2] + k0), v3 = wasm_v128_load(x[3] + k0);
  v128_t t0 = wasm_i32x4_shuffle(v0, v1, 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(v0, v1, 2, 6, 3, 7);
  v128_t t2 = wasm_i32x4_shuffle(v2, v3, 0, 4, 1, 5), t3 = wasm_i32x4_shuffle(v2, v3, 2, 6, 3, 7);
  f32* o = out + (i64)k0 * total + col0;
  wasm_v128_store(o, wasm_i32x4_shuffle(t0, t2, 0, 1, 4, 5));
  wasm_v128_store(o + total, wasm_i32x4_shuffle(t0, t2, 2, 3, 6, 7));
  wasm_v128_store(o + 2 * (i64)total, wasm_i32x4_shuffle(t1, t3, 0, 1, 4, 5));
  wasm_v128_store(o + 3 * (i64)total, wasm_i32x4_shuffle(t1, t3, 2, 3, 6, 7));
}

/* Columns [k0, k1) of the (up to 4) source rows x[0..m) into output columns col0.. of rows k0..k1. */
static inline void flush_rows(const f32* const* x, int m, int k0, int k1, f32* out, int total, int col0) {
  int k = k0;
  if (m == 4) for (; k + 4 <= k1; k += 4) transpose4(x, k, out, total, col0);
  for (; k < k1; k++) {
    f32* o = out + (i64)k * total + col0;
    for (int r = 0; r < m; r++) o[r] = x[r][k];
  }
}

/*
 * The transposed stack: out [n, total], out[k, start_t + r] = in_t[r, k]. Work items are blocks of 16 output
 * rows (16 source columns: one 64-byte piece of every source row), written left to right in 4 x 4 tiles.
 */
EXPORT(redraw_stack_transposed)(const int* table, int T, int n, int total, f32* out, int lo, int hi) {
  int k0 = lo * 16, k1 = imin(n, hi * 16);
  for (int kb = k0; kb < k1; kb += 16) {
    int ke = imin(kb + 16, k1);
    const f32* x[4];
    int m = 0, col = 0;
    for (int t = 0; t < T; t++) {
      const f32* src = (const f32*)table[2 * t];
      int rows = table[2 * t + 1];
      for (int r = 0; r < rows; r++) {
        x[m++] = src + (i64)r * n;
        if (m == 4) {
          flush_rows(x, 4, kb, ke, out, total, col);
          col += 4;
          m = 0;
        }
      }
    }
    if (m) flush_rows(x, m, kb, ke, out, total, col);
  }
}
