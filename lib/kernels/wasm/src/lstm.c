/*
 * DRAW's LSTM cell (forward halves and backward), posterior sample/KL and its gradient, and the no-attention
 * input and gradient: the C versions of the JS kernels of the same names in lib/kernels/reference.ts.
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
static inline v128_t tanh_s4(v128_t s, v128_t one) {
  v128_t r = wasm_f32x4_sub(one, s);
  v128_t d = wasm_f32x4_add(wasm_f32x4_mul(s, s), wasm_f32x4_mul(r, r));
  return wasm_f32x4_div(wasm_f32x4_sub(s, r), d);
}

/* tanh(v) and 1 - tanh(v)^2 from s = sigmoid(v) (one division: both share the denominator). */
static inline v128_t tanh_d4(v128_t s, v128_t one, v128_t* dt) {
  v128_t r = wasm_f32x4_sub(one, s);
  v128_t q = wasm_f32x4_div(one, wasm_f32x4_add(wasm_f32x4_mul(s, s), wasm_f32x4_mul(r, r)));
  /* 1 - tanh^2 = 4 s^2 r^2 / d^2 = (2 s r / d)^2 */
  v128_t u = wasm_f32x4_mul(wasm_f32x4_mul(wasm_f32x4_add(s, s), r), q);
  *dt = wasm_f32x4_mul(u, u);
  return wasm_f32x4_mul(wasm_f32x4_sub(s, r), q);
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


/* ---- LSTM ----------------------------------------------------------------------------------------------- */

/* One row of c = f c_prev + i tanh(g) from the gate sigmoids g (order i, f, o, g); with p = 0 (no c_prev)
 * f 0 + i tanh(g) with the zero vector zb, as the reference computes it with a zero row (keeps -0 and NaN). */
static inline void cell_row(const f32* g, const f32* p, const f32* zb, f32* o, int H, v128_t one) {
  int j = 0;
  if (p) {
    for (; j + 4 <= H; j += 4) {
      v128_t fc = wasm_f32x4_mul(wasm_v128_load(g + H + j), wasm_v128_load(p + j));
      v128_t it = wasm_f32x4_mul(wasm_v128_load(g + j), tanh_s4(wasm_v128_load(g + 3 * H + j), one));
      wasm_v128_store(o + j, wasm_f32x4_add(fc, it));
    }
  } else {
    v128_t z = wasm_v128_load(zb);
    for (; j + 4 <= H; j += 4) {
      v128_t fc = wasm_f32x4_mul(wasm_v128_load(g + H + j), z);
      v128_t it = wasm_f32x4_mul(wasm_v128_load(g + j), tanh_s4(wasm_v128_load(g + 3 * H + j), one));
      wasm_v128_store(o + j, wasm_f32x4_add(fc, it));
    }
  }
  if (j < H) {
    int m = H - j;
    v128_t fc = wasm_f32x4_mul(load_part(g + H + j, m), p ? load_part(p + j, m) : wasm_v128_load(zb));
    v128_t it = wasm_f32x4_mul(load_part(g + j, m), tanh_s4(load_part(g + 3 * H + j, m), one));
    store_part(o + j, wasm_f32x4_add(fc, it), m);
  }
}

/* c = f c_prev + i tanh(g) from the gate sigmoids sg [rows, 4H] (i, f, o, g) and c_prev (0: absent). */
EXPORT(redraw_lstm_cell)(const f32* sg, const f32* cp, f32* c, int H, int lo, int hi) {
  const v128_t one = redraw_opaque(splat(1.0f));
  f32 zb[4] = { 0, 0, 0, 0 };
  for (int n = lo; n < hi; n++) {
    const f32* g = sg + (i64)n * 4 * H;
    f32* o = c + (i64)n * H;
    const f32* p = cp ? cp + (i64)n * H : 0;
    cell_row(g, p, zb, o, H, one);
  }
}

/* h = o tanh(c) from the gate sigmoids and sc = sigmoid(c). */
EXPORT(redraw_lstm_hidden)(const f32* sg, const f32* sc, f32* h, int H, int lo, int hi) {
  const v128_t one = redraw_opaque(splat(1.0f));
  for (int n = lo; n < hi; n++) {
    const f32* g = sg + (i64)n * 4 * H + 2 * H;
    const f32* s = sc + (i64)n * H;
    f32* o = h + (i64)n * H;
    int j = 0;
    for (; j + 4 <= H; j += 4) {
      wasm_v128_store(o + j, wasm_f32x4_mul(wasm_v128_load(g + j), tanh_s4(wasm_v128_load(s + j), one)));
    }
    if (j < H) {
      int m = H - j;
      store_part(o + j, wasm_f32x4_mul(load_part(g + j, m), tanh_s4(load_part(s + j, m), one)), m);
    }
  }
}

/*
 * The whole LSTM forward per row, from the gate pre-activations gates [rows, 4H] (i, f, o, g) and c_prev (0:
 * absent): sg = sigmoid(gates) [rows, 4H], c = f c_prev + i tanh(g), sc = sigmoid(c), h = o tanh(c) [rows, H].
 * The same bits as redraw_sigmoid, redraw_lstm_cell, redraw_sigmoid, redraw_lstm_hidden in turn (the same
 * float32x4 steps per lane). Each row in passes over its (cache-hot) values: the gate sigmoids, then c, then
 * sc and h; one sigmoid per loop body (four in one body spill registers and ran ~1.4x slower).
 */
EXPORT(redraw_lstm_forward)(const f32* gates, const f32* cp, f32* sg, f32* c, f32* sc, f32* h, int H, int lo,
                            int hi) {
  const redraw_exp_k k = redraw_exp_consts();
  const v128_t one = k.one;
  f32 zb[4] = { 0, 0, 0, 0 };
  for (int n = lo; n < hi; n++) {
    const f32* x = gates + (i64)n * 4 * H;
    f32* g = sg + (i64)n * 4 * H;
    const f32* p = cp ? cp + (i64)n * H : 0;
    f32* co = c + (i64)n * H;
    f32* so = sc + (i64)n * H;
    f32* ho = h + (i64)n * H;
    /* 4H values: no partial vector. */
    for (int j = 0; j < 4 * H; j += 4) wasm_v128_store(g + j, redraw_sigmoid_f32x4_k(wasm_v128_load(x + j), &k));
    cell_row(g, p, zb, co, H, one);
    int j = 0;
    for (; j + 4 <= H; j += 4) {
      v128_t sv = redraw_sigmoid_f32x4_k(wasm_v128_load(co + j), &k);
      wasm_v128_store(so + j, sv);
      wasm_v128_store(ho + j, wasm_f32x4_mul(wasm_v128_load(g + 2 * H + j), tanh_s4(sv, one)));
    }
    if (j < H) {
      int m = H - j;
      v128_t sv = redraw_sigmoid_f32x4_k(load_part(co + j, m), &k);
      store_part(so + j, sv, m);
      store_part(ho + j, wasm_f32x4_mul(load_part(g + 2 * H + j, m), tanh_s4(sv, one)), m);
    }
  }
}

/* The LSTM gradients of 4 columns (see redraw_lstm_backward). */
static inline void lstm_back4(v128_t vs, v128_t vp, v128_t vd, v128_t dh, v128_t one,
                              v128_t* gi, v128_t* gf, v128_t* go, v128_t* gg, v128_t* dcf, v128_t vi, v128_t vf,
                              v128_t vo, v128_t vg) {
  v128_t dtg, dtc;
  v128_t tg = tanh_d4(vg, one, &dtg), tc = tanh_d4(vs, one, &dtc);
  v128_t dho = wasm_f32x4_mul(dh, vo);
  v128_t dc = wasm_f32x4_add(vd, wasm_f32x4_mul(dho, dtc));
  *gi = wasm_f32x4_mul(wasm_f32x4_mul(wasm_f32x4_mul(dc, tg), vi), wasm_f32x4_sub(one, vi));
  *gf = wasm_f32x4_mul(wasm_f32x4_mul(wasm_f32x4_mul(dc, vp), vf), wasm_f32x4_sub(one, vf));
  *go = wasm_f32x4_mul(wasm_f32x4_mul(wasm_f32x4_mul(dh, tc), vo), wasm_f32x4_sub(one, vo));
  *gg = wasm_f32x4_mul(wasm_f32x4_mul(dc, vi), dtg);
  *dcf = wasm_f32x4_mul(dc, vf);
}

/* Adds columns [0, H) of src to acc (row buffers). */
static inline void add_row(f32* acc, const f32* src, int H) {
  int j = 0;
  for (; j + 4 <= H; j += 4) wasm_v128_store(acc + j, wasm_f32x4_add(wasm_v128_load(acc + j), wasm_v128_load(src + j)));
  for (; j < H; j++) acc[j] += src[j];
}

/* Largest H the stack buffers of redraw_lstm_backward hold (the engine's stack is 256 KB). */
#define LSTM_MAX_H 8192

/*
 * LSTM backward per row: dG [rows, 4H] (gradients of the gate pre-activations) and dcp [rows, H] from the gate
 * sigmoids sg, sc = sigmoid(c), c_prev (0: absent), dc_next (0: absent) and dh = the sum of columns
 * [off_k, off_k + H) of up to three sources src_k [rows, w_k] (0: absent). H <= LSTM_MAX_H.
 */
EXPORT(redraw_lstm_backward)(const f32* sg, const f32* sc, const f32* cp, const f32* dcn, const f32* s0, int w0,
                             int o0, const f32* s1, int w1, int o1, const f32* s2, int w2, int o2, f32* dG,
                             f32* dcp, int H, int lo, int hi) {
  const v128_t one = redraw_opaque(splat(1.0f));
  /* Row buffers: dh, and zeros standing for an absent c_prev or dc_next (branch-free inner loop). */
  f32 dhb[LSTM_MAX_H + 4], zb[LSTM_MAX_H + 4];
  const int Hp = (H + 3) & ~3;
  if (!cp || !dcn) for (int j = 0; j < Hp; j++) zb[j] = 0;
  for (int n = lo; n < hi; n++) {
    const f32* g = sg + (i64)n * 4 * H;
    const f32* s = sc + (i64)n * H;
    const f32* p = cp ? cp + (i64)n * H : zb;
    const f32* d = dcn ? dcn + (i64)n * H : zb;
    for (int j = 0; j < Hp; j++) dhb[j] = 0;
    /* dh = ((0 + src0) + src1) + src2, in the reference's order (absent sources skipped). */
    if (s0) add_row(dhb, s0 + (i64)n * w0 + o0, H);
    if (s1) add_row(dhb, s1 + (i64)n * w1 + o1, H);
    if (s2) add_row(dhb, s2 + (i64)n * w2 + o2, H);
    f32* dg = dG + (i64)n * 4 * H;
    f32* dc_out = dcp + (i64)n * H;
    int j = 0;
    for (; j + 4 <= H; j += 4) {
      v128_t gi, gf, go, gg, dcf;
      lstm_back4(wasm_v128_load(s + j), wasm_v128_load(p + j), wasm_v128_load(d + j),
                 wasm_v128_load(dhb + j), one, &gi, &gf, &go, &gg, &dcf, wasm_v128_load(g + j),
                 wasm_v128_load(g + H + j), wasm_v128_load(g + 2 * H + j), wasm_v128_load(g + 3 * H + j));
      wasm_v128_store(dg + j, gi);
      wasm_v128_store(dg + H + j, gf);
      wasm_v128_store(dg + 2 * H + j, go);
      wasm_v128_store(dg + 3 * H + j, gg);
      wasm_v128_store(dc_out + j, dcf);
    }
    if (j < H) {
      int m = H - j;
      v128_t gi, gf, go, gg, dcf;
      lstm_back4(load_part(s + j, m), load_part(p + j, m), load_part(d + j, m), load_part(dhb + j, m),
                 one, &gi, &gf, &go, &gg, &dcf, load_part(g + j, m), load_part(g + H + j, m),
                 load_part(g + 2 * H + j, m), load_part(g + 3 * H + j, m));
      store_part(dg + j, gi, m);
      store_part(dg + H + j, gf, m);
      store_part(dg + 2 * H + j, go, m);
      store_part(dg + 3 * H + j, gg, m);
      store_part(dc_out + j, dcf, m);
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
  /* 16 columns at a time: 8 independent float64x2 sums (a single chain would wait on each add). */
  for (; k + 16 <= k1; k += 16) {
    v128_t a[8];
    for (int i = 0; i < 8; i++) a[i] = wasm_f64x2_splat(0.0);
    const f32* p = x + k;
    for (int n = 0; n < rows; n++, p += W) {
      for (int i = 0; i < 4; i++) {
        v128_t v = wasm_v128_load(p + 4 * i);
        a[2 * i] = wasm_f64x2_add(a[2 * i], wasm_f64x2_promote_low_f32x4(v));
        a[2 * i + 1] = wasm_f64x2_add(a[2 * i + 1], wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 2, 3)));
      }
    }
    for (int i = 0; i < 4; i++) {
      v128_t lo4 = wasm_f32x4_demote_f64x2_zero(a[2 * i]), hi4 = wasm_f32x4_demote_f64x2_zero(a[2 * i + 1]);
      wasm_v128_store(out + k + 4 * i, wasm_i32x4_shuffle(lo4, hi4, 0, 1, 4, 5));
    }
  }
  for (; k < k1; k++) {
    f64 a = 0;
    for (int n = 0; n < rows; n++) a += x[(i64)n * W + k];
    out[k] = (f32)a;
  }
}

/* ---- Posterior ------------------------------------------------------------------------------------------- */

static inline v128_t splat2(f64 x) { return wasm_f64x2_splat(x); }


/* Two float32 values as float64 lanes, and back (rounded to nearest). */
static inline v128_t load2(const f32* p) { return wasm_f64x2_promote_low_f32x4(wasm_v128_load64_zero(p)); }
static inline void store2(f32* p, v128_t v) { wasm_v128_store64_lane(p, wasm_f32x4_demote_f64x2_zero(v), 0); }

/*
 * Per row of pp = [mu, log sigma, padding] [rows, P]: xdec = [z, hDec] with z = mu + sigma eps, kl = the KL of
 * the step, lr (0: absent) = log N(z; 0, 1) - log N(z; mu, sigma). eps points at this step's [rows, nZ] block.
 * Float64, 2 lanes; the sums over j are kept per lane (even and odd j) and added at the end.
 */
EXPORT(redraw_posterior)(const f32* pp, const f32* eps, const f32* hDec, f32* xdec, f32* kl, f32* lr, int nZ,
                         int Hd, int P, int lo, int hi) {
  int w = nZ + Hd;
  const redraw_exp2_k C = redraw_exp2_consts();
  const v128_t half = redraw_opaque(splat2(0.5)), two = redraw_opaque(splat2(2.0)), one = redraw_opaque(splat2(1.0));
  for (int n = lo; n < hi; n++) {
    const f32* q = pp + (i64)n * P;
    const f32* e = eps + (i64)n * nZ;
    f32* x = xdec + (i64)n * w;
    v128_t kv = splat2(0.0), lv = splat2(0.0);
    int j = 0;
    for (; j + 2 <= nZ; j += 2) {
      v128_t mu = load2(q + j), ls = load2(q + nZ + j), ej = load2(e + j);
      v128_t sigma = redraw_exp_f64x2_k(ls, &C);
      v128_t z32 = wasm_f32x4_demote_f64x2_zero(wasm_f64x2_add(mu, wasm_f64x2_mul(sigma, ej)));
      wasm_v128_store64_lane(x + j, z32, 0);
      v128_t z = wasm_f64x2_promote_low_f32x4(z32);
      v128_t t = wasm_f64x2_add(wasm_f64x2_mul(mu, mu), wasm_f64x2_mul(sigma, sigma));
      t = wasm_f64x2_sub(wasm_f64x2_sub(t, wasm_f64x2_mul(two, ls)), one);
      kv = wasm_f64x2_add(kv, t);
      v128_t u = wasm_f64x2_sub(wasm_f64x2_mul(ej, ej), wasm_f64x2_mul(z, z));
      lv = wasm_f64x2_add(lv, wasm_f64x2_add(wasm_f64x2_mul(u, half), ls));
    }
    f64 k = wasm_f64x2_extract_lane(kv, 0) + wasm_f64x2_extract_lane(kv, 1);
    f64 l = wasm_f64x2_extract_lane(lv, 0) + wasm_f64x2_extract_lane(lv, 1);
    for (; j < nZ; j++) {
      f64 mu = q[j], ls = q[nZ + j], ej = e[j];
      f64 sigma = redraw_exp(ls);
      f32 z = (f32)(mu + sigma * ej);
      x[j] = z;
      k += mu * mu + sigma * sigma - 2 * ls - 1;
      l += (ej * ej - (f64)z * (f64)z) * 0.5 + ls;
    }
    kl[n] = (f32)(0.5 * k);
    if (lr) lr[n] = (f32)l;
    redraw_copy_f32(x + nZ, hDec + (i64)n * Hd, Hd);
  }
}

/* Gradient of [mu, log sigma, padding] per row: from dz (the first nZ columns of dXdec [rows, wd]) and scale g
 * times the KL. */
EXPORT(redraw_posterior_backward)(const f32* dXdec, int wd, const f32* pp, const f32* eps, f32* dpp, int nZ, int P,
                                  f64 g, int lo, int hi) {
  const redraw_exp2_k C = redraw_exp2_consts();
  const v128_t gv = splat2(g), one = redraw_opaque(splat2(1.0));
  for (int n = lo; n < hi; n++) {
    const f32* q = pp + (i64)n * P;
    const f32* e = eps + (i64)n * nZ;
    const f32* dz = dXdec + (i64)n * wd;
    f32* d = dpp + (i64)n * P;
    int j = 0;
    for (; j + 2 <= nZ; j += 2) {
      v128_t mu = load2(q + j), sigma = redraw_exp_f64x2_k(load2(q + nZ + j), &C), z = load2(dz + j);
      store2(d + j, wasm_f64x2_add(wasm_f64x2_mul(mu, gv), z));
      v128_t a = wasm_f64x2_mul(wasm_f64x2_sub(wasm_f64x2_mul(sigma, sigma), one), gv);
      store2(d + nZ + j, wasm_f64x2_add(a, wasm_f64x2_mul(wasm_f64x2_mul(z, sigma), load2(e + j))));
    }
    for (; j < nZ; j++) {
      f64 mu = q[j], ls = q[nZ + j];
      f64 sigma = redraw_exp(ls);
      f64 z = dz[j];
      d[j] = (f32)(mu * g + z);
      d[nZ + j] = (f32)((sigma * sigma - 1) * g + z * sigma * (f64)e[j]);
    }
    for (j = 2 * nZ; j < P; j++) d[j] = 0;
  }
}

/* ---- Without attention ----------------------------------------------------------------------------------- */

/* Rows [s, hDec, hEnc] of widths D, hd, he. */
EXPORT(redraw_noatt_input)(const f32* s, const f32* hDec, const f32* hEnc, f32* out, int D, int hd, int he, int lo,
                           int hi) {
  int w = D + hd + he;
  for (int n = lo; n < hi; n++) {
    f32* o = out + (i64)n * w;
    redraw_copy_f32(o, s + (i64)n * D, D);
    redraw_copy_f32(o + D, hDec + (i64)n * hd, hd);
    redraw_copy_f32(o + D + hd, hEnc + (i64)n * he, he);
  }
}

/* out = dcvs + ds s (1 - s) per row, ds = the first D columns of dXenc [rows, wd]. */
static inline v128_t noatt4(v128_t a, v128_t b, v128_t s, v128_t one) {
  return wasm_f32x4_add(b, wasm_f32x4_mul(wasm_f32x4_mul(a, s), wasm_f32x4_sub(one, s)));
}

/* One row of redraw_noatt_backward: o = b + a s (1 - s) over D values. */
static inline void noatt_row(const f32* a, const f32* b, const f32* s, f32* o, int D, v128_t one) {
  int p = 0;
  for (; p + 4 <= D; p += 4) {
    wasm_v128_store(o + p, noatt4(wasm_v128_load(a + p), wasm_v128_load(b + p), wasm_v128_load(s + p), one));
  }
  if (p < D) {
    int m = D - p;
    store_part(o + p, noatt4(load_part(a + p, m), load_part(b + p, m), load_part(s + p, m), one), m);
  }
}

EXPORT(redraw_noatt_backward)(const f32* dXenc, int wd, const f32* dcvs, const f32* sv, f32* out, int D, int lo,
                              int hi) {
  const v128_t one = redraw_opaque(splat(1.0f));
  for (int n = lo; n < hi; n++) {
    noatt_row(dXenc + (i64)n * wd, dcvs + (i64)n * D, sv + (i64)n * D, out + (i64)n * D, D, one);
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
      redraw_copy_f32(out + (i64)a * n, src, (b - a) * n);
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

/*
 * Columns [k0, k1) of the m (<= 16) source rows x[0..m) into output columns col0.. of rows k0..k1: for each 4
 * output rows, the m values of each are written in one run (a full 64-byte line when m = 16).
 */
static inline void flush_rows(const f32* const* x, int m, int k0, int k1, f32* out, int total, int col0) {
  int k = k0;
  int m4 = m & ~3;
  for (; k + 4 <= k1; k += 4) {
    for (int r = 0; r < m4; r += 4) transpose4(x + r, k, out, total, col0 + r);
    for (int c = 0; c < 4; c++) {
      f32* o = out + (i64)(k + c) * total + col0;
      for (int r = m4; r < m; r++) o[r] = x[r][k + c];
    }
  }
  for (; k < k1; k++) {
    f32* o = out + (i64)k * total + col0;
    for (int r = 0; r < m; r++) o[r] = x[r][k];
  }
}

/*
 * The transposed stack: out [n, total], out[k, start_t + r] = in_t[r, k]. Work items are groups of 64 stacked
 * source rows (read in order, ~one input each), written as 64 consecutive values of every output row, in 16 x 16
 * tiles. (Blocks of output rows, reading 64 bytes of every source row, measured 1.4x slower in training.)
 */
EXPORT(redraw_stack_transposed)(const int* table, int T, int n, int total, f32* out, int lo, int hi) {
  int r0 = lo * 64, r1 = imin(total, hi * 64);
  const f32* x[64];
  int start = 0, t = 0;
  for (int g = r0; g < r1; g += 64) {
    int ge = imin(g + 64, r1), m = 0;
    for (int r = g; r < ge; r++) {
      while (r >= start + table[2 * t + 1]) start += table[2 * t + 1], t++;
      x[m++] = (const f32*)table[2 * t] + (i64)(r - start) * n;
    }
    for (int k = 0; k < n; k += 16) {
      for (int q = 0; q < m; q += 16) flush_rows(x + q, imin(16, m - q), k, imin(n, k + 16), out, total, g + q);
    }
  }
  (void)T;
}
