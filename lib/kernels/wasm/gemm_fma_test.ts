import { assert, assertEquals, assertLessOrEqual } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../backend.ts";
import { findSimdOps, RELAXED_MADD_SITES } from "./build.ts";
import { WASM_BASE64 } from "./module.ts";
import { gemm, gemmKernelName, packB, sigmoid } from "./ops.ts";
import { decodeBase64 } from "./source.ts";
import { values } from "./test_values.ts";

await initBackend("wasm");

/** Runs f with REDRAW_WASM_FMA set to value (or unset), restoring it afterwards. */
function withFma<T>(value: string | undefined, f: () => T): T {
  const old = Deno.env.get("REDRAW_WASM_FMA");
  if (value === undefined) Deno.env.delete("REDRAW_WASM_FMA");
  else Deno.env.set("REDRAW_WASM_FMA", value);
  try {
    return f();
  } finally {
    if (old === undefined) Deno.env.delete("REDRAW_WASM_FMA");
    else Deno.env.set("REDRAW_WASM_FMA", old);
  }
}

/** Largest |got - want| / (1 + |want|) against A B + bias + addend in float64. */
function errorVsOracle(
  y: Float32Array,
  a: Float32Array,
  b: Float32Array,
  M: number,
  K: number,
  N: number,
  bias: Float32Array,
  add: Float32Array,
): number {
  let e = 0;
  for (let i = 0; i < M; i++) {
    for (let j = 0; j < N; j++) {
      let s = bias[j] + add[i * N + j];
      for (let k = 0; k < K; k++) s += a[i * K + k] * b[k * N + j];
      e = Math.max(e, Math.abs(y[i * N + j] - s) / (1 + Math.abs(s)));
    }
  }
  return e;
}

Deno.test("REDRAW_WASM_FMA=0 selects the unfused product kernel, anything else the fused one", () => {
  assertEquals(withFma(undefined, gemmKernelName), "redraw_gemm_fma");
  assertEquals(withFma("1", gemmKernelName), "redraw_gemm_fma");
  assertEquals(withFma("0", gemmKernelName), "redraw_gemm");
});

// Remainders of the 6-row blocks, 8-column panels and 4-step k loop; a DRAW-sized product.
const SHAPES = [[1, 1, 1], [7, 13, 21], [6, 8, 8], [13, 4097, 9], [64, 256, 200], [64, 520, 1024]];

for (const [M, K, N] of SHAPES) {
  Deno.test(`the fused and the unfused products equal a float64 oracle for ${M}x${K}x${N}`, () => {
    const a = values(M * K, 11), b = values(K * N, 12), bias = values(N, 13), add = values(M * N, 14);
    tf.tidy(() => {
      const A = tf.tensor2d(a, [M, K]), P = packB(tf.tensor2d(b, [K, N]));
      const run = () => gemm(A, P, tf.tensor1d(bias), tf.tensor2d(add, [M, N])).dataSync() as Float32Array;
      const fused = withFma(undefined, run), plain = withFma("0", run);
      assertLessOrEqual(errorVsOracle(fused, a, b, M, K, N, bias, add), 2e-6 * Math.sqrt(K));
      assertLessOrEqual(errorVsOracle(plain, a, b, M, K, N, bias, add), 2e-6 * Math.sqrt(K));
      // Deterministic: the same inputs give the same bits again.
      assertEquals(withFma(undefined, run), fused);
      assertEquals(withFma("0", run), plain);
      P.data.dispose();
    });
  });
}

Deno.test("the module holds relaxed multiply-adds only in redraw_gemm_fma, as many as the build expects", () => {
  const bytes = decodeBase64(WASM_BASE64);
  const counts = [...findSimdOps(bytes, 0x105)].map(([name, sites]) => [name, sites.length]);
  assertEquals(Object.fromEntries(counts), RELAXED_MADD_SITES);
  assertEquals(findSimdOps(bytes, 0xaf).size, 0); // no prototype opcode left
});

Deno.test("sigmoid() is within 2 ulp of the float64 sigmoid on a grid, 0 or 1 in the tails, NaN for NaN", () => {
  const xs: number[] = [-100, -88, -87.3, -87, 0, -0, 88, 100, Infinity, -Infinity, NaN, 1e-8, -1e-8];
  for (let x = -90; x <= 90; x += 0.0137) xs.push(x);
  const y = tf.tidy(() => sigmoid(tf.tensor1d(xs)).dataSync() as Float32Array);
  for (let i = 0; i < xs.length; i++) {
    const x = Math.fround(xs[i]);
    if (Number.isNaN(x)) {
      assert(Number.isNaN(y[i]), `sigmoid(NaN) = ${y[i]}`);
      continue;
    }
    const want = 1 / (1 + Math.exp(-x));
    if (want < 2 ** -126) {
      // A subnormal sigmoid: down to 0 from x = -88.7, where e^-x overflows float32.
      assert(y[i] >= 0 && y[i] < 2 ** -126, `sigmoid(${x}) = ${y[i]}`);
    } else {
      assertLessOrEqual(Math.abs(y[i] - want) / want, 2.4e-7, `sigmoid(${x}) = ${y[i]}, want ${want}`);
    }
  }
  assertEquals([y[0], y[4], y[6], y[7], y[8], y[9]], [0, 0.5, 1, 1, 1, 0]);
});
