import { assertEquals, assertLessOrEqual, assertThrows } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../backend.ts";
import { gemm, matMul, packB, panels, sigmoid } from "./ops.ts";
import { values } from "./test_values.ts";

await initBackend("wasm");

/** A B + bias + addend in float64, from the definition. */
function oracle(
  a: Float32Array,
  b: Float32Array,
  M: number,
  K: number,
  N: number,
  bias?: Float32Array,
  add?: Float32Array,
) {
  const out = new Float64Array(M * N);
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = 0;
      for (let k = 0; k < K; k++) s += a[i * K + k] * b[k * N + j];
      out[i * N + j] = s + (bias ? bias[j] : 0) + (add ? add[i * N + j] : 0);
    }
  }
  return out;
}

/** Largest |got - want| / (sum_k |a_ik b_kj| + 1): float32 products are accurate relative to that scale. */
function maxError(got: Float32Array, want: Float64Array): number {
  let e = 0;
  for (let i = 0; i < got.length; i++) e = Math.max(e, Math.abs(got[i] - want[i]) / (1 + Math.abs(want[i])));
  return e;
}

// Shapes: the micro-kernel's 6- and 4-row tiles and 8-column panels with remainders, K not a multiple of 4;
// 203x1100x20 is cache-blocked (M > 96 rows, K > 512: partial sums through C).
const SHAPES = [[1, 1, 1], [7, 13, 21], [6, 8, 8], [64, 520, 1024], [13, 4097, 9], [65, 35, 40], [
  203,
  1100,
  20,
]];

for (const [M, K, N] of SHAPES) {
  Deno.test(`gemm() equals a float64 oracle of A B + bias (+ addend) for ${M}x${K}x${N}`, () => {
    const a = values(M * K, 1), b = values(K * N, 2), bias = values(N, 3), add = values(M * N, 4);
    tf.tidy(() => {
      const A = tf.tensor2d(a, [M, K]), B = tf.tensor2d(b, [K, N]);
      const P = packB(B);
      assertEquals(P.data.shape, [panels(N) * K * 8]);
      const y = gemm(A, P, tf.tensor1d(bias)).dataSync() as Float32Array;
      assertLessOrEqual(maxError(y, oracle(a, b, M, K, N, bias)), 2e-6 * Math.sqrt(K));
      const z = gemm(A, P, tf.tensor1d(bias), tf.tensor2d(add, [M, N])).dataSync() as Float32Array;
      assertLessOrEqual(maxError(z, oracle(a, b, M, K, N, bias, add)), 2e-6 * Math.sqrt(K));
      // Packing the transpose of B^T gives the same operand, bit for bit.
      const Pt = packB(tf.transpose(B) as tf.Tensor2D, true);
      assertEquals(Pt.data.dataSync(), P.data.dataSync());
    });
  });
}

Deno.test("gemm() gives a cache-blocked product the bits of its rows multiplied alone", () => {
  // 203 rows are blocked (96 rows and 512 values of k at a time); 5 rows are not: each output must still be
  // the same chain of multiply-adds, whatever the blocking.
  const M = 203, K = 1100, N = 20;
  tf.tidy(() => {
    const A = tf.tensor2d(values(M * K, 7), [M, K]);
    const P = packB(tf.tensor2d(values(K * N, 8), [K, N]));
    const bias = tf.tensor1d(values(N, 9));
    const whole = gemm(A, P, bias).dataSync() as Float32Array;
    for (const i0 of [0, 95, 96, 198]) {
      const rows = gemm(tf.slice(A, [i0, 0], [5, K]) as tf.Tensor2D, P, bias).dataSync() as Float32Array;
      assertEquals(rows, whole.slice(i0 * N, (i0 + 5) * N), `rows ${i0}..${i0 + 4}`);
    }
  });
});

Deno.test("matMul() frees its packed operand: no tensor is left behind", () => {
  const A = tf.tensor2d(values(12, 5), [3, 4]), B = tf.tensor2d(values(20, 6), [4, 5]);
  const before = tf.memory().numTensors;
  const y = matMul(A, B);
  assertEquals(tf.memory().numTensors, before + 1);
  assertLessOrEqual(
    maxError(
      y.dataSync() as Float32Array,
      oracle(A.dataSync() as Float32Array, B.dataSync() as Float32Array, 3, 4, 5),
    ),
    1e-6,
  );
  tf.dispose([A, B, y]);
});

Deno.test("gemm() names both sizes when A's columns do not match the packed matrix", () => {
  tf.tidy(() => {
    const P = packB(tf.zeros([5, 3]) as tf.Tensor2D);
    assertThrows(
      () => gemm(tf.zeros([2, 4]) as tf.Tensor2D, P),
      Error,
      "A has 4 columns but the packed matrix has 5 rows",
    );
  });
});

Deno.test("sigmoid() is within 3 float32 ulp of 1 / (1 + e^-x) on [-30, 30] and saturates exactly", () => {
  const xs = Float32Array.from({ length: 6001 }, (_, i) => -30 + i * 0.01);
  const ys = tf.tidy(() => sigmoid(tf.tensor1d(xs)).dataSync() as Float32Array);
  let worst = 0;
  xs.forEach((x, i) => {
    const want = 1 / (1 + Math.exp(-x));
    worst = Math.max(worst, Math.abs(ys[i] - want) / want);
  });
  assertLessOrEqual(worst, 3 * 2 ** -23);
  const edge = tf.tidy(() => sigmoid(tf.tensor1d([-200, -90, 0, 90, 200, NaN])).dataSync() as Float32Array);
  assertEquals([edge[0], edge[2], edge[3], edge[4]], [0, 0.5, 1, 1]);
  assertLessOrEqual(edge[1], 1e-38); // sigmoid(-90) = 8e-40: 0 or a subnormal
  assertEquals(Number.isNaN(edge[5]), true);
});

// Row ranges that start and end mid-panel and inside the 4-wide k steps; column ranges with a partial last panel.
const RANGES: Array<[number, number, number, { k0: number; k1: number; col0: number; col1: number }]> = [
  [64, 520, 1024, { k0: 0, k1: 8, col0: 0, col1: 1024 }],
  [64, 520, 1024, { k0: 8, k1: 520, col0: 0, col1: 1024 }],
  [7, 266, 21, { k0: 10, k1: 266, col0: 8, col1: 21 }],
  [13, 37, 45, { k0: 3, k1: 30, col0: 16, col1: 35 }],
];

for (const [M, K, N, r] of RANGES) {
  Deno.test(`gemm() over rows [${r.k0}, ${r.k1}) and columns [${r.col0}, ${r.col1}) of ${K}x${N} equals that part of the oracle`, () => {
    const a = values(M * K, 7), b = values(K * N, 8), bias = values(N, 9);
    const n = r.col1 - r.col0, kc = r.k1 - r.k0;
    // The oracle of the part: A's columns [k0, k1), B's rows [k0, k1) and columns [col0, col1).
    const aPart = new Float32Array(M * kc), bPart = new Float32Array(kc * n);
    for (let i = 0; i < M; i++) for (let k = 0; k < kc; k++) aPart[i * kc + k] = a[i * K + r.k0 + k];
    for (let k = 0; k < kc; k++) {
      for (let j = 0; j < n; j++) bPart[k * n + j] = b[(r.k0 + k) * N + r.col0 + j];
    }
    const want = oracle(aPart, bPart, M, kc, n, bias.subarray(r.col0, r.col1));
    tf.tidy(() => {
      const P = packB(tf.tensor2d(b, [K, N]));
      const before = tf.memory().numTensors;
      // A with all K columns (the range picks its columns) or with just the range's: the same bits.
      const full = gemm(tf.tensor2d(a, [M, K]), P, tf.tensor1d(bias), null, r);
      const part = gemm(tf.tensor2d(aPart, [M, kc]), P, tf.tensor1d(bias), null, r);
      assertEquals(full.shape, [M, n]);
      assertEquals(tf.memory().numTensors, before + 6, "a trimmed partial panel leaves no tensor behind"); // 2 inputs + 1 output each
      assertLessOrEqual(maxError(full.dataSync() as Float32Array, want), 2e-6 * Math.sqrt(kc));
      assertEquals(part.dataSync(), full.dataSync());
    });
  });
}

Deno.test("gemm() rejects a range outside the packed matrix, an unaligned first column, and a mismatched A", () => {
  tf.tidy(() => {
    const P = packB(tf.tensor2d(values(20 * 16, 1), [20, 16]));
    const A = tf.tensor2d(values(3 * 20, 2), [3, 20]);
    assertThrows(() => gemm(A, P, null, null, { k0: 5, k1: 21 }), Error, "does not fit");
    assertThrows(() => gemm(A, P, null, null, { col0: 4 }), Error, "multiple of 8");
    assertThrows(
      () => gemm(tf.tensor2d(values(3 * 7, 3), [3, 7]), P, null, null, { k0: 2, k1: 10 }),
      Error,
      "7 columns",
    );
    assertThrows(
      () => gemm(A, P, null, tf.zeros([3, 3]) as tf.Tensor2D, { col0: 8, col1: 11 }),
      Error,
      "addend needs col1",
    );
  });
});
