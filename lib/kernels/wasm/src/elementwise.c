/* Elementwise kernels over flat float32 arrays; work items are blocks of 64 values. */
#include "common.h"

/* y[i] = sigmoid(x[i]) for i in blocks [lo, hi) of 64 values (n values in all). */
EXPORT(redraw_sigmoid)(const f32* x, f32* y, int n, int lo, int hi) {
  const redraw_exp_k c = redraw_exp_consts();
  int end = imin(n, hi * 64), i = lo * 64;
  for (; i + 4 <= end; i += 4) wasm_v128_store(y + i, redraw_sigmoid_f32x4_k(wasm_v128_load(x + i), &c));
  if (i < end) {
    f32 t[4] = { 0, 0, 0, 0 };
    for (int j = 0; i + j < end; j++) t[j] = x[i + j];
    wasm_v128_store(t, redraw_sigmoid_f32x4_k(wasm_v128_load(t), &c));
    for (int j = 0; i + j < end; j++) y[i + j] = t[j];
  }
}
