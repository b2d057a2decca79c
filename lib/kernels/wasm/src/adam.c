/*
 * Adam's update (PyTorch's form, lib/train/adam.ts), the C version of RedrawAdam in lib/kernels/reference.ts:
 * the same float64 operations in the same order, so it gives the JS kernel's bits (and resumed runs stay
 * bit-identical whichever version wrote the checkpoint). Work items are blocks of 1024 values, 2 per lane pair.
 */
#include "common.h"

EXPORT(redraw_adam)(const f32* p, const f32* m, const f32* v, const f32* g, f32* p2, f32* m2, f32* v2, int n,
                    f64 beta1, f64 beta2, f64 eps, f64 lr1, f64 invC2, f64 scale, int lo, int hi) {
  int end = imin(n, hi * 1024);
  f64 a1 = 1 - beta1, a2 = 1 - beta2;
  for (int i = lo * 1024; i < end; i++) {
    f64 gi = (f64)g[i] * scale;
    f64 mi = beta1 * (f64)m[i] + a1 * gi;
    f64 vi = beta2 * (f64)v[i] + a2 * gi * gi;
    m2[i] = (f32)mi;
    v2[i] = (f32)vi;
    p2[i] = (f32)((f64)p[i] - (lr1 * mi) / (__builtin_sqrt(vi * invC2) + eps));
  }
}
