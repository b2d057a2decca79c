/*
 * Shared definitions for redraw's WebAssembly kernels (lib/kernels/README.md has the rules).
 *
 * The module imports tfjs-wasm's memory and owns none of it: no globals, no static data, no libc. Pointers are
 * byte offsets of tensors in the tfjs-wasm heap. Each instance gets its own stack region from the engine
 * (lib/kernels/wasm/engine.ts sets __stack_pointer), so small local arrays are fine.
 */
#ifndef REDRAW_COMMON_H
#define REDRAW_COMMON_H
#include <wasm_simd128.h>

typedef float f32;
typedef double f64;
typedef long long i64;

/* A kernel: its last two arguments are the range [lo, hi) of work items it computes. */
#define EXPORT(name) __attribute__((export_name(#name))) void name

static inline int imin(int a, int b) { return a < b ? a : b; }
static inline int imax(int a, int b) { return a > b ? a : b; }

/* e^x in float64, ~1 ulp: x = k ln2 + r with |r| <= ln2/2, e^r by its Taylor series to r^13 (the next term is
 * below 2^-60 relative), then scaled by 2^k through the exponent bits. No libm: the module has no libc. */
static inline f64 redraw_exp(f64 x) {
  if (x != x) return x;
  if (x > 709.782712893384) return __builtin_inf();
  if (x < -745.1332191019412) return 0.0;
  const f64 ln2hi = 6.93147180369123816490e-01, ln2lo = 1.90821492927058770002e-10;
  f64 k = __builtin_rint(x * 1.44269504088896338700);
  f64 r = (x - k * ln2hi) - k * ln2lo;
  f64 p = 1.0 / 6227020800.0;
  p = p * r + 1.0 / 479001600.0;
  p = p * r + 1.0 / 39916800.0;
  p = p * r + 1.0 / 3628800.0;
  p = p * r + 1.0 / 362880.0;
  p = p * r + 1.0 / 40320.0;
  p = p * r + 1.0 / 5040.0;
  p = p * r + 1.0 / 720.0;
  p = p * r + 1.0 / 120.0;
  p = p * r + 1.0 / 24.0;
  p = p * r + 1.0 / 6.0;
  p = p * r + 0.5;
  p = p * r + 1.0;
  p = p * r + 1.0;
  int ki = (int)k;
  /* 2^k in two factors so that subnormal results (k down to -1075) stay exact. */
  int k1 = ki / 2, k2 = ki - k1;
  union { i64 i; f64 d; } s1 = { (i64)(k1 + 1023) << 52 }, s2 = { (i64)(k2 + 1023) << 52 };
  return p * s1.d * s2.d;
}

/* The value unchanged, but opaque to the compiler: a SIMD constant made once per kernel call stays in a local
 * instead of being folded back into every use, where V8 rebuilds it (several instructions) each time, inside
 * loops too. */
static inline v128_t redraw_opaque(v128_t x) {
  __asm__("" : "+r"(x));
  return x;
}

/* The constants of redraw_exp_f32x4 / redraw_sigmoid_f32x4: make them once per kernel call with
 * redraw_exp_consts() (outside the loops) and pass them in. */
typedef struct {
  v128_t lo, hi, log2e, c1, c2, p7, p6, p5, p4, p3, p2, one, bias, inf, magic;
} redraw_exp_k;

static inline redraw_exp_k redraw_exp_consts(void) {
  redraw_exp_k k;
  k.lo = redraw_opaque(wasm_f32x4_splat(-87.33654f));
  k.hi = redraw_opaque(wasm_f32x4_splat(88.72283f));
  k.log2e = redraw_opaque(wasm_f32x4_splat(1.44269504f));
  /* ln 2 = C1 + C2 with C1 = 0.693359375 (9 significant bits, so k C1 is exact): Cephes' split. */
  k.c1 = redraw_opaque(wasm_f32x4_splat(0.693359375f));
  k.c2 = redraw_opaque(wasm_f32x4_splat(2.12194440e-4f));
  k.p7 = redraw_opaque(wasm_f32x4_splat(1.0f / 5040.0f));
  k.p6 = redraw_opaque(wasm_f32x4_splat(1.0f / 720.0f));
  k.p5 = redraw_opaque(wasm_f32x4_splat(1.0f / 120.0f));
  k.p4 = redraw_opaque(wasm_f32x4_splat(1.0f / 24.0f));
  k.p3 = redraw_opaque(wasm_f32x4_splat(1.0f / 6.0f));
  k.p2 = redraw_opaque(wasm_f32x4_splat(0.5f));
  k.one = redraw_opaque(wasm_f32x4_splat(1.0f));
  k.bias = redraw_opaque(wasm_i32x4_splat(127));
  k.inf = redraw_opaque(wasm_f32x4_splat(__builtin_inff()));
  k.magic = redraw_opaque(wasm_f32x4_splat(12582912.0f));
  return k;
}

/* e^x for 4 float32 lanes, max relative error ~2e-7 (2 ulp) on [-87, 88]: x = k ln2 + r, e^r by a degree-7
 * Taylor polynomial (|r| <= ln2/2: the next term is ~5e-9 relative), 2^k through the exponent bits. Lanes
 * below -87.3 give 0, above 88.7 give +inf. c: redraw_exp_consts(), made once outside the loop. */
static inline v128_t redraw_exp_f32x4_k(v128_t x, const redraw_exp_k* c) {
  /* pmax/pmin (one instruction each for V8; f32x4.max/min are several) keep a NaN x in its lane. */
  v128_t xc = wasm_f32x4_pmin(wasm_f32x4_pmax(x, c->lo), c->hi);
  /* k = nearest(xc log2e) (ties to even) by adding and subtracting 1.5 2^23; its integer is in the low bits
   * (|k| <= 128), so neither f32x4.nearest nor i32x4.trunc_sat (several instructions each for V8) is needed. */
  v128_t t = wasm_f32x4_add(wasm_f32x4_mul(xc, c->log2e), c->magic);
  v128_t k = wasm_f32x4_sub(t, c->magic);
  v128_t r = wasm_f32x4_sub(xc, wasm_f32x4_mul(k, c->c1));
  r = wasm_f32x4_add(r, wasm_f32x4_mul(k, c->c2));
  v128_t p = c->p7;
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), c->p6);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), c->p5);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), c->p4);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), c->p3);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), c->p2);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), c->one);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), c->one);
  /* k in [-126, 128]: 2^k as two factors 2^(k/2) keeps k = 128 and k = -126 finite/normal. */
  v128_t ki = wasm_i32x4_sub(t, c->magic);
  v128_t k1 = wasm_i32x4_shr(ki, 1), k2 = wasm_i32x4_sub(ki, k1);
  v128_t s1 = wasm_i32x4_shl(wasm_i32x4_add(k1, c->bias), 23);
  v128_t s2 = wasm_i32x4_shl(wasm_i32x4_add(k2, c->bias), 23);
  v128_t y = wasm_f32x4_mul(wasm_f32x4_mul(p, s1), s2);
  y = wasm_v128_andnot(y, wasm_f32x4_lt(x, c->lo)); /* underflow to 0 */
  return wasm_v128_bitselect(c->inf, y, wasm_f32x4_gt(x, c->hi));
}

/* sigmoid(x) = 1 / (1 + e^-x) for 4 float32 lanes (e^-x = inf for x < -88.7 gives exactly 0). */
static inline v128_t redraw_sigmoid_f32x4_k(v128_t x, const redraw_exp_k* c) {
  v128_t e = redraw_exp_f32x4_k(wasm_f32x4_neg(x), c);
  return wasm_f32x4_div(c->one, wasm_f32x4_add(c->one, e));
}

/* The same with the constants made at the call: fine outside loops; inside a loop use the _k versions. */
static inline v128_t redraw_exp_f32x4(v128_t x) {
  redraw_exp_k c = redraw_exp_consts();
  return redraw_exp_f32x4_k(x, &c);
}

static inline v128_t redraw_sigmoid_f32x4(v128_t x) {
  redraw_exp_k c = redraw_exp_consts();
  return redraw_sigmoid_f32x4_k(x, &c);
}

/* Copies n floats (no overlap). */
static inline void redraw_copy_f32(f32* dst, const f32* src, int n) {
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

/* Constants of redraw_exp_f64x2_k, made once per kernel call (see redraw_opaque). */
typedef struct {
  v128_t c[14], log2e, shift, ln2hi, ln2lo, bias, lim;
} redraw_exp2_k;

static inline redraw_exp2_k redraw_exp2_consts(void) {
  const f64 c[14] = { 1.0 / 6227020800.0, 1.0 / 479001600.0, 1.0 / 39916800.0, 1.0 / 3628800.0, 1.0 / 362880.0,
                      1.0 / 40320.0, 1.0 / 5040.0, 1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0 };
  redraw_exp2_k e;
  for (int i = 0; i < 14; i++) e.c[i] = redraw_opaque(wasm_f64x2_splat(c[i]));
  e.log2e = redraw_opaque(wasm_f64x2_splat(1.44269504088896338700));
  e.shift = redraw_opaque(wasm_f64x2_splat(6755399441055744.0)); /* 1.5 2^52: adding it rounds to an integer */
  e.ln2hi = redraw_opaque(wasm_f64x2_splat(6.93147180369123816490e-01));
  e.ln2lo = redraw_opaque(wasm_f64x2_splat(1.90821492927058770002e-10));
  e.bias = redraw_opaque(wasm_i64x2_splat(1023));
  e.lim = redraw_opaque(wasm_f64x2_splat(708.0));
  return e;
}

/*
 * redraw_exp for 2 float64 lanes, bit for bit: the same steps (no fused multiply-adds), with k =
 * rint(x log2 e) and 2^k taken from the bits of x log2 e + 1.5 2^52. One factor 2^k is exact where the result
 * is normal (|x| <= 708); lanes outside (rare) go to the scalar version.
 */
static inline v128_t redraw_exp_f64x2_k(v128_t x, const redraw_exp2_k* C) {
  if (wasm_v128_any_true(wasm_f64x2_gt(wasm_f64x2_abs(x), C->lim))) {
    return wasm_f64x2_make(redraw_exp(wasm_f64x2_extract_lane(x, 0)), redraw_exp(wasm_f64x2_extract_lane(x, 1)));
  }
  v128_t t = wasm_f64x2_add(wasm_f64x2_mul(x, C->log2e), C->shift);
  v128_t k = wasm_f64x2_sub(t, C->shift);
  v128_t r = wasm_f64x2_sub(wasm_f64x2_sub(x, wasm_f64x2_mul(k, C->ln2hi)), wasm_f64x2_mul(k, C->ln2lo));
  v128_t p = C->c[0];
  for (int i = 1; i < 14; i++) p = wasm_f64x2_add(wasm_f64x2_mul(p, r), C->c[i]);
  v128_t s = wasm_i64x2_shl(wasm_i64x2_add(t, C->bias), 52);
  return wasm_f64x2_mul(p, s);
}

#endif
