/*
 * DRAW's Gaussian attention (eqs 19-29): the read and write kernels and their backward passes, ports of
 * RedrawRead, RedrawReadBackward, RedrawWrite and RedrawWriteBackward in lib/kernels/reference.ts (the
 * reference). Work items are batch rows; each row is computed the same way whatever the split.
 *
 * Numbers: the filterbank parameters, the normalised Gaussians (exp, 1/Z) and the filterbank backward are
 * float64 as in the JS; the filter products over image rows (the O(N A B) work) are float32x4 with sums over
 * at most max(A, B) terms, each lane group summed in float64; the small N x N products are float64.
 *
 * Aux layouts (shared with the JS kernels, so JS and C kernels can be mixed):
 *   write aux row: gX, gY, sigma2, delta, gamma, Fx [N, A], Fy [N, B]          (5 + N (A + B) values)
 *   read aux row:  the same, then T_x = x Fx^T [B, N] and T_xhat = x-hat Fx^T [B, N]
 * Images are row-major [B, A] (B rows of A pixels).
 */
#include "common.h"

/* Filters in float32: Fx rows padded with zeros to Ap = A rounded up to 4 (so 4-wide loads stay in the row). */
static inline int pad4(int n) { return (n + 3) & ~3; }

/* The grid offset of filter k (i + 1 - N/2 - 0.5, eqs 19-20), evaluated in the JS order. */
static inline f64 grid_offset(int N, int k) { return ((f64)(k + 1) - (f64)N / 2) - 0.5; }

/* (max(A, B) - 1) / max(N - 1, 1) (eq 24). */
static inline f64 stride_scale(int N, int A, int B) { return (f64)(imax(A, B) - 1) / (f64)imax(N - 1, 1); }

/* JS Math.round (halves towards +infinity), as V8 computes it. */
static inline f64 js_round(f64 x) {
  f64 t = __builtin_ceil(x);
  return t - 0.5 > x ? t - 1.0 : t;
}

/* The first n (< 4 allowed) floats at p as a vector, zero filled. */
static inline v128_t load_n(const f32* p, int n) {
  if (n >= 4) return wasm_v128_load(p);
  f32 t[4] = { 0.0f, 0.0f, 0.0f, 0.0f };
  for (int j = 0; j < n; j++) t[j] = p[j];
  return wasm_v128_load(t);
}

static inline void store_n(f32* p, v128_t v, int n) {
  if (n >= 4) {
    wasm_v128_store(p, v);
    return;
  }
  f32 t[4];
  wasm_v128_store(t, v);
  for (int j = 0; j < n; j++) p[j] = t[j];
}

/* Sum of the lanes in float64, in a fixed order. */
static inline f64 hsum(v128_t v) {
  return ((f64)wasm_f32x4_extract_lane(v, 0) + (f64)wasm_f32x4_extract_lane(v, 1)) +
         ((f64)wasm_f32x4_extract_lane(v, 2) + (f64)wasm_f32x4_extract_lane(v, 3));
}

/* The lane sums of a, b, c, d (float32, a fixed order). */
static inline v128_t hsum4(v128_t a, v128_t b, v128_t c, v128_t d) {
  v128_t x = wasm_f32x4_add(wasm_i32x4_shuffle(a, b, 0, 4, 2, 6), wasm_i32x4_shuffle(a, b, 1, 5, 3, 7));
  v128_t y = wasm_f32x4_add(wasm_i32x4_shuffle(c, d, 0, 4, 2, 6), wasm_i32x4_shuffle(c, d, 1, 5, 3, 7));
  return wasm_f32x4_add(wasm_i32x4_shuffle(x, y, 0, 1, 4, 5), wasm_i32x4_shuffle(x, y, 2, 3, 6, 7));
}

#define SPLAT(x) wasm_f32x4_splat(x)
#define MADD(acc, a, b) acc = wasm_f32x4_add(acc, wasm_f32x4_mul(a, b))

/*
 * Eqs 21-26 for one image (filterbankRow in the JS): the parameters from raw[0..5], then the filterbanks
 * F = [Fx (N x A), Fy (N x B)] in float64, all stored in the aux row (float32). Returns gamma.
 */
static f64 filterbank(int N, int A, int B, const f32* raw, f32* aux, f64* F) {
  const f64 gX = ((f64)(A + 1) / 2) * ((f64)raw[0] + 1);
  const f64 gY = ((f64)(B + 1) / 2) * ((f64)raw[1] + 1);
  const f64 sigma2 = redraw_exp(raw[2]);
  const f64 delta = redraw_exp(raw[3]) * stride_scale(N, A, B);
  const f64 gamma = redraw_exp(raw[4]);
  aux[0] = (f32)gX;
  aux[1] = (f32)gY;
  aux[2] = (f32)sigma2;
  aux[3] = (f32)delta;
  aux[4] = (f32)gamma;
  const f64 inv = 1 / (2 * sigma2);
  const f64 q = redraw_exp(-2 * inv);
  int row = 0;
  for (int axis = 0; axis < 2; axis++) {
    const int size = axis == 0 ? A : B;
    const f64 g = axis == 0 ? gX : gY;
    for (int i = 0; i < N; i++, row += size) {
      f64* Fr = F + row;
      const f64 mu = g + grid_offset(N, i) * delta;
      f64 t = js_round(mu - 1);
      if (t != t) { /* NaN parameters: a NaN row */
        for (int a = 0; a < size; a++) Fr[a] = t;
        continue;
      }
      t = t > 0 ? t : 0;
      t = t < size - 1 ? t : size - 1;
      const int top = (int)t;
      const f64 d0 = (f64)(top + 1) - mu;
      Fr[top] = 1;
      f64 sum = 1, v = 1, r = redraw_exp(-inv * (2 * d0 + 1));
      for (int a = top + 1; a < size; a++) {
        v *= r;
        r *= q;
        Fr[a] = v;
        sum += v;
      }
      v = 1;
      r = redraw_exp(-inv * (1 - 2 * d0));
      for (int a = top - 1; a >= 0; a--) {
        v *= r;
        r *= q;
        Fr[a] = v;
        sum += v;
      }
      const f64 norm = 1 / sum;
      for (int a = 0; a < size; a++) Fr[a] *= norm;
    }
  }
  for (int k = 0; k < row; k++) aux[5 + k] = (f32)F[k];
  return gamma;
}

/* A filter weight for the float32 products: weights below 2^-100 (the Gaussian's far tails) become 0, so
 * that products stay clear of subnormal numbers, which x86 CPUs compute ~100x slower (wasm has no
 * flush-to-zero mode). The change is below 2^-100 times the image's sum. */
static inline f32 product_weight(f32 v) { return __builtin_fabsf(v) < 0x1p-100f ? 0.0f : v; }

/* The float32 filters of an aux row: Fx [N, Ap] (zero padded), Fy [N, B]; with F64, also F in float64. */
static void load_filters(int N, int A, int B, const f32* aux, f32* Fx, f32* Fy, f64* F64) {
  const int Ap = pad4(A);
  const f32* f = aux + 5;
  for (int i = 0; i < N; i++) {
    for (int a = 0; a < A; a++) Fx[i * Ap + a] = product_weight(f[i * A + a]);
    for (int a = A; a < Ap; a++) Fx[i * Ap + a] = 0.0f;
  }
  for (int k = 0; k < N * B; k++) Fy[k] = product_weight(f[N * A + k]);
  if (F64) {
    for (int k = 0; k < N * (A + B); k++) F64[k] = f[k];
  }
}

/*
 * Backward of filterbank (filterbankBackward in the JS): from dF = [dFx, dFy] and d gamma to the raw head
 * gradient out[0..5], all float64.
 */
static void filterbank_backward(int N, int A, int B, const f32* aux, const f64* F, const f64* dF, f64 dGamma,
                                f32* out) {
  const f64 gX = aux[0], gY = aux[1], sigma2 = aux[2], delta = aux[3], gamma = aux[4];
  f64 dgX = 0, dgY = 0, dSigma2 = 0, dDelta = 0;
  int row = 0;
  for (int axis = 0; axis < 2; axis++) {
    const int size = axis == 0 ? A : B;
    const f64 g = axis == 0 ? gX : gY;
    for (int i = 0; i < N; i++, row += size) {
      const f64 off = grid_offset(N, i);
      const f64 mu = g + off * delta;
      const f64* Fr = F + row;
      const f64* dFr = dF + row;
      f64 dot = 0;
      for (int a = 0; a < size; a++) dot += Fr[a] * dFr[a];
      f64 dMu = 0, dS = 0;
      for (int a = 0; a < size; a++) {
        const f64 de = Fr[a] * (dFr[a] - dot);
        const f64 d = (f64)(a + 1) - mu;
        dMu += de * d;
        dS += de * d * d;
      }
      dMu /= sigma2;
      dSigma2 += dS / (2 * sigma2 * sigma2);
      if (axis == 0) dgX += dMu;
      else dgY += dMu;
      dDelta += off * dMu;
    }
  }
  out[0] = (f32)(dgX * ((f64)(A + 1) / 2));
  out[1] = (f32)(dgY * ((f64)(B + 1) / 2));
  out[2] = (f32)(dSigma2 * sigma2);
  out[3] = (f32)(dDelta * delta);
  out[4] = (f32)(dGamma * gamma);
}

/* out[i, :] = sum_j L[i, j] Fx[j, :] for L [N, N] (float64), Fx [N, Ap]: out [N, Ap] float32. */
static void mul_fx(int N, int Ap, const f64* L, const f32* Fx, f32* out) {
  for (int i = 0; i < N; i++) {
    for (int c = 0; c < Ap; c += 4) {
      v128_t acc = wasm_f32x4_splat(0.0f);
      for (int j = 0; j < N; j++) MADD(acc, SPLAT((f32)L[i * N + j]), wasm_v128_load(Fx + j * Ap + c));
      wasm_v128_store(out + i * Ap + c, acc);
    }
  }
}

/*
 * Read (eq 27) for rows [lo, hi): xenc row = [gamma Fy x Fx^T, gamma Fy x-hat Fx^T, h^dec, h^enc] with
 * x-hat = x - s; the raw read head is q[n, rawOffset..+5]. Aux rows (read layout) are written too.
 */
EXPORT(redraw_read)(const f32* x, const f32* s, const f32* q, const f32* hDec, const f32* hEnc, f32* xenc,
                    f32* aux, int N, int A, int B, int wq, int hd, int he, int rawOffset, int lo, int hi) {
  const int Ap = pad4(A), D = A * B, w = 2 * N * N + hd + he, auxw = 5 + N * (A + B) + 2 * B * N;
  f64 F[N * (A + B)], T0[B * N], T1[B * N], W[N];
  f32 Fx[N * Ap], Fy[N * B];
  for (int n = lo; n < hi; n++) {
    f32* ao = aux + (long)n * auxw;
    const f64 gamma = filterbank(N, A, B, q + (long)n * wq + rawOffset, ao, F);
    load_filters(N, A, B, ao, Fx, Fy, 0);
    const f32* xr = x + (long)n * D;
    const f32* sr = s + (long)n * D;
    /* T[y, i] = sum_c img[y, c] Fx[i, c], two filters at a time. */
    for (int y = 0; y < B; y++) {
      const f32* xy = xr + y * A;
      const f32* sy = sr + y * A;
      int i = 0;
      for (; i + 2 <= N; i += 2) {
        const f32* f0 = Fx + i * Ap;
        const f32* f1 = f0 + Ap;
        v128_t a00 = wasm_f32x4_splat(0.0f), a01 = a00, a10 = a00, a11 = a00;
        for (int c = 0; c < A; c += 4) {
          v128_t xv = load_n(xy + c, A - c), hv = wasm_f32x4_sub(xv, load_n(sy + c, A - c));
          v128_t g0 = wasm_v128_load(f0 + c), g1 = wasm_v128_load(f1 + c);
          MADD(a00, xv, g0);
          MADD(a01, xv, g1);
          MADD(a10, hv, g0);
          MADD(a11, hv, g1);
        }
        const v128_t sums = hsum4(a00, a01, a10, a11);
        T0[y * N + i] = wasm_f32x4_extract_lane(sums, 0);
        T0[y * N + i + 1] = wasm_f32x4_extract_lane(sums, 1);
        T1[y * N + i] = wasm_f32x4_extract_lane(sums, 2);
        T1[y * N + i + 1] = wasm_f32x4_extract_lane(sums, 3);
      }
      for (; i < N; i++) {
        const f32* f0 = Fx + i * Ap;
        v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0;
        for (int c = 0; c < A; c += 4) {
          v128_t xv = load_n(xy + c, A - c), hv = wasm_f32x4_sub(xv, load_n(sy + c, A - c));
          v128_t g0 = wasm_v128_load(f0 + c);
          MADD(a0, xv, g0);
          MADD(a1, hv, g0);
        }
        T0[y * N + i] = hsum(a0);
        T1[y * N + i] = hsum(a1);
      }
    }
    /* glimpse = gamma Fy T (float64), and T kept for the backward. */
    f32* out = xenc + (long)n * w;
    const f64* Fyd = F + N * A;
    for (int k = 0; k < 2; k++) {
      const f64* T = k == 0 ? T0 : T1;
      for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++) W[j] = 0;
        for (int y = 0; y < B; y++) {
          const f64 f = Fyd[i * B + y];
          if (f == 0) continue; /* as the JS: a zero filter weight ignores its row, even a NaN one */
          for (int j = 0; j < N; j++) W[j] += f * T[y * N + j];
        }
        for (int j = 0; j < N; j++) out[k * N * N + i * N + j] = (f32)(gamma * W[j]);
      }
      f32* to = ao + 5 + N * (A + B) + k * B * N;
      for (int k2 = 0; k2 < B * N; k2++) to[k2] = (f32)T[k2];
    }
    for (int k = 0; k < hd; k++) out[2 * N * N + k] = hDec[(long)n * hd + k];
    for (int k = 0; k < he; k++) out[2 * N * N + hd + k] = hEnc[(long)n * he + k];
  }
}

/*
 * Read backward for rows [lo, hi): from dr (the first 2N^2 columns of dXenc) to
 * d canvas_{t-1} = d canvas_t - d x-hat s (1 - s) and the raw read-head gradient draw [batch, 5].
 */
EXPORT(redraw_read_backward)(const f32* dXenc, const f32* aux, const f32* x, const f32* s, const f32* dcvs,
                             const f32* xenc, f32* dcvsPrev, f32* draw, int N, int A, int B, int wd, int wx,
                             int lo, int hi) {
  const int Ap = pad4(A), D = A * B, auxw = 5 + N * (A + B) + 2 * B * N;
  f64 F[N * (A + B)], dF[N * (A + B)], dr0[N * N], dr1[N * N];
  f32 Fx[N * Ap], Fy[N * B], U0[N * Ap], U1[N * Ap], M[N * Ap];
  for (int n = lo; n < hi; n++) {
    const f32* ao = aux + (long)n * auxw;
    load_filters(N, A, B, ao, Fx, Fy, F);
    const f64 gamma = ao[4];
    f64 dGamma = 0;
    for (int k = 0; k < 2; k++) {
      f64* dr = k == 0 ? dr0 : dr1;
      for (int q2 = 0; q2 < N * N; q2++) {
        const f64 g = dXenc[(long)n * wd + k * N * N + q2];
        dr[q2] = gamma * g;
        dGamma += g * (f64)xenc[(long)n * wx + k * N * N + q2];
      }
    }
    /* U_k = Fy img_k [N, A], for x and x-hat, one column block of 4 at a time. */
    const f32* xr = x + (long)n * D;
    const f32* sr = s + (long)n * D;
    for (int c = 0; c < A; c += 4) {
      int i = 0;
      for (; i + 2 <= N; i += 2) {
        v128_t a00 = wasm_f32x4_splat(0.0f), a01 = a00, a10 = a00, a11 = a00;
        for (int y = 0; y < B; y++) {
          v128_t xv = load_n(xr + y * A + c, A - c), hv = wasm_f32x4_sub(xv, load_n(sr + y * A + c, A - c));
          v128_t g0 = SPLAT(Fy[i * B + y]), g1 = SPLAT(Fy[(i + 1) * B + y]);
          MADD(a00, g0, xv);
          MADD(a01, g1, xv);
          MADD(a10, g0, hv);
          MADD(a11, g1, hv);
        }
        wasm_v128_store(U0 + i * Ap + c, a00);
        wasm_v128_store(U0 + (i + 1) * Ap + c, a01);
        wasm_v128_store(U1 + i * Ap + c, a10);
        wasm_v128_store(U1 + (i + 1) * Ap + c, a11);
      }
      for (; i < N; i++) {
        v128_t a0 = wasm_f32x4_splat(0.0f), a1 = a0;
        for (int y = 0; y < B; y++) {
          v128_t xv = load_n(xr + y * A + c, A - c), hv = wasm_f32x4_sub(xv, load_n(sr + y * A + c, A - c));
          v128_t g0 = SPLAT(Fy[i * B + y]);
          MADD(a0, g0, xv);
          MADD(a1, g0, hv);
        }
        wasm_v128_store(U0 + i * Ap + c, a0);
        wasm_v128_store(U1 + i * Ap + c, a1);
      }
    }
    /* dFx = sum_k dr_k^T U_k, dFy = sum_k dr_k T_k^T (T_k from the forward), float64. */
    for (int k = 0; k < N * (A + B); k++) dF[k] = 0;
    for (int k = 0; k < 2; k++) {
      const f64* dr = k == 0 ? dr0 : dr1;
      const f32* U = k == 0 ? U0 : U1;
      for (int i = 0; i < N; i++) {
        for (int j = 0; j < N; j++) {
          const f64 f = dr[i * N + j];
          for (int p = 0; p < A; p++) dF[j * A + p] += f * (f64)U[i * Ap + p];
        }
      }
      const f32* T = ao + 5 + N * (A + B) + k * B * N;
      for (int i = 0; i < N; i++) {
        for (int y = 0; y < B; y++) {
          f64 s2 = 0;
          for (int j = 0; j < N; j++) s2 += dr[i * N + j] * (f64)T[y * N + j];
          dF[N * A + i * B + y] += s2;
        }
      }
    }
    /* d x-hat = Fy^T (dr_x-hat Fx); d canvas_{t-1} = d canvas_t - d x-hat s (1 - s). */
    mul_fx(N, Ap, dr1, Fx, M);
    const f32* dc = dcvs + (long)n * D;
    f32* dp = dcvsPrev + (long)n * D;
    const v128_t one = wasm_f32x4_splat(1.0f);
    for (int y = 0; y < B; y++) {
      for (int c = 0; c < A; c += 4) {
        v128_t acc = wasm_f32x4_splat(0.0f);
        for (int i = 0; i < N; i++) MADD(acc, SPLAT(Fy[i * B + y]), wasm_v128_load(M + i * Ap + c));
        v128_t sp = load_n(sr + y * A + c, A - c);
        v128_t g = wasm_f32x4_mul(wasm_f32x4_mul(acc, sp), wasm_f32x4_sub(one, sp));
        store_n(dp + y * A + c, wasm_f32x4_sub(load_n(dc + y * A + c, A - c), g), A - c);
      }
    }
    filterbank_backward(N, A, B, ao, F, dF, dGamma / gamma, draw + (long)n * 5);
  }
}

/* Write (eq 29) for rows [lo, hi): canvas + (1/gamma) Fy^T w Fx, w = q[n, 0..N^2), raw head q[n, N^2..+5]. */
EXPORT(redraw_write)(const f32* cvs, const f32* q, f32* out, f32* aux, int N, int A, int B, int wq, int lo,
                     int hi) {
  const int Ap = pad4(A), D = A * B, auxw = 5 + N * (A + B);
  f64 F[N * (A + B)], W[N * N];
  f32 Fx[N * Ap], Fy[N * B], U[N * Ap];
  for (int n = lo; n < hi; n++) {
    f32* ao = aux + (long)n * auxw;
    const f32* qr = q + (long)n * wq;
    const f64 gamma = filterbank(N, A, B, qr + N * N, ao, F);
    load_filters(N, A, B, ao, Fx, Fy, 0);
    for (int k = 0; k < N * N; k++) W[k] = qr[k];
    mul_fx(N, Ap, W, Fx, U); /* U = w Fx [N, A] */
    const v128_t g = wasm_f32x4_splat((f32)gamma);
    const f32* cr = cvs + (long)n * D;
    f32* orow = out + (long)n * D;
    for (int y = 0; y < B; y++) {
      for (int c = 0; c < A; c += 4) {
        v128_t acc = wasm_f32x4_splat(0.0f);
        for (int i = 0; i < N; i++) MADD(acc, SPLAT(Fy[i * B + y]), wasm_v128_load(U + i * Ap + c));
        v128_t v = wasm_f32x4_add(load_n(cr + y * A + c, A - c), wasm_f32x4_div(acc, g));
        store_n(orow + y * A + c, v, A - c);
      }
    }
  }
}

/*
 * Write backward for rows [lo, hi): dq row = [dw, d raw write head, d raw read head of step t+1 (drawNext),
 * 0...]. dcvs or aux 0: only the read-head block (drawNext 0: zeros).
 *
 * All float64 (f64x2): the raw write-head gradient goes through the softmax backward of the filterbanks,
 * whose cancellations made float32 products of P = Fy dV lose ~5e-6 relative. The products run in the JS
 * order, so P, Wx and dFx equal the JS values bit for bit.
 */
EXPORT(redraw_write_backward)(const f32* dcvs, const f32* aux, const f32* q, const f32* drawNext, f32* dq,
                              int N, int A, int B, int wq, int lo, int hi) {
  const int A2 = (A + 1) & ~1, D = A * B, auxw = 5 + N * (A + B);
  f64 F[N * (A + B)], dF[N * (A + B)], W[N * N], Fx[N * A2], U[N * A2], M[N * A2], dv[A2];
  const v128_t zero = wasm_f64x2_splat(0.0);
  for (int n = lo; n < hi; n++) {
    f32* o = dq + (long)n * wq;
    for (int k = 0; k < wq; k++) o[k] = 0.0f;
    if (drawNext) {
      for (int k = 0; k < 5; k++) o[N * N + 5 + k] = drawNext[(long)n * 5 + k];
    }
    if (!dcvs || !aux) continue;
    const f32* ao = aux + (long)n * auxw;
    for (int k = 0; k < N * (A + B); k++) F[k] = ao[5 + k];
    for (int i = 0; i < N; i++) {
      for (int a = 0; a < A; a++) Fx[i * A2 + a] = F[i * A + a];
      if (A2 > A) Fx[i * A2 + A] = 0;
    }
    const f64* Fy = F + N * A;
    const f64 gamma = ao[4], ig = 1 / gamma;
    const f32* qr = q + (long)n * wq;
    for (int k = 0; k < N * N; k++) W[k] = qr[k];
    /* Wx = w Fx [N, A] */
    for (int i = 0; i < N; i++) {
      for (int c = 0; c < A2; c += 2) {
        v128_t acc = zero;
        for (int j = 0; j < N; j++) {
          const f64 f = W[i * N + j];
          if (f == 0) continue;
          acc = wasm_f64x2_add(acc, wasm_f64x2_mul(wasm_f64x2_splat(f), wasm_v128_load(Fx + j * A2 + c)));
        }
        wasm_v128_store(U + i * A2 + c, acc);
      }
    }
    for (int k = 0; k < N * A2; k++) M[k] = 0;
    dv[A2 - 1] = 0;
    /* One pass over dV = d canvas / gamma: P = Fy dV [N, A] (in M), dFy = Wx dV^T [N, B]. */
    const f32* dc = dcvs + (long)n * D;
    for (int y = 0; y < B; y++) {
      for (int c = 0; c < A; c++) dv[c] = (f64)dc[y * A + c] * ig;
      for (int i = 0; i < N; i++) {
        const f64 f = Fy[i * B + y];
        v128_t dot = zero;
        f64* m = M + i * A2;
        const f64* u = U + i * A2;
        if (f != 0) {
          const v128_t fv = wasm_f64x2_splat(f);
          for (int c = 0; c < A2; c += 2) {
            const v128_t d = wasm_v128_load(dv + c);
            wasm_v128_store(m + c, wasm_f64x2_add(wasm_v128_load(m + c), wasm_f64x2_mul(fv, d)));
            dot = wasm_f64x2_add(dot, wasm_f64x2_mul(wasm_v128_load(u + c), d));
          }
        } else {
          for (int c = 0; c < A2; c += 2) {
            dot = wasm_f64x2_add(dot, wasm_f64x2_mul(wasm_v128_load(u + c), wasm_v128_load(dv + c)));
          }
        }
        dF[N * A + i * B + y] = wasm_f64x2_extract_lane(dot, 0) + wasm_f64x2_extract_lane(dot, 1);
      }
    }
    /* dw = P Fx^T [N, N]; d gamma = -sum w dw / gamma. */
    f64 wdw = 0;
    for (int i = 0; i < N; i++) {
      for (int j = 0; j < N; j++) {
        v128_t acc = zero;
        for (int c = 0; c < A2; c += 2) {
          acc = wasm_f64x2_add(acc, wasm_f64x2_mul(wasm_v128_load(M + i * A2 + c), wasm_v128_load(Fx + j * A2 + c)));
        }
        const f64 d = wasm_f64x2_extract_lane(acc, 0) + wasm_f64x2_extract_lane(acc, 1);
        o[i * N + j] = (f32)d;
        wdw += W[i * N + j] * d;
      }
    }
    /* dFx = w^T P [N, A] (dv as scratch for one row). */
    for (int j = 0; j < N; j++) {
      for (int c = 0; c < A2; c += 2) {
        v128_t acc = zero;
        for (int i = 0; i < N; i++) {
          acc = wasm_f64x2_add(acc, wasm_f64x2_mul(wasm_f64x2_splat(W[i * N + j]), wasm_v128_load(M + i * A2 + c)));
        }
        wasm_v128_store(dv + c, acc);
      }
      for (int p = 0; p < A; p++) dF[j * A + p] = dv[p];
    }
    filterbank_backward(N, A, B, ao, F, dF, -wdw * ig, o + N * N);
  }
}
