import { assertEquals } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend, setWasmThreads } from "../../backend.ts";
import { engineThreads, runKernel } from "./engine.ts";
import { gemm, packB, sigmoid } from "./ops.ts";
import { values as uniform } from "./test_values.ts";
import { onEngineThreads, stopThreadsAfterTests } from "./testing.ts";

setWasmThreads(2);
const info = await initBackend("wasm");

/** Values in [-4, 4), so that sigmoids see both tails. */
function values(n: number, seed: number): Float32Array {
  return uniform(n, seed, -4, 4);
}

/** Products and sigmoids of the paper model's shapes, on the current engine. */
function outputs(): Uint32Array[] {
  const out: Uint32Array[] = [];
  tf.tidy(() => {
    out.push(...[[64, 520, 1024], [64, 1024, 520], [520, 4096, 40], [7, 13, 21]].flatMap(([M, K, N]) => {
      const A = tf.tensor2d(values(M * K, M + K), [M, K]), B = tf.tensor2d(values(K * N, N), [K, N]);
      const y = gemm(A, packB(B), tf.tensor1d(values(N, 3)));
      return [y, sigmoid(y)].map((t) => new Uint32Array((t.dataSync() as Float32Array).buffer));
    }));
  });
  return out;
}

Deno.test("the engine runs on 2 threads and says so in the device description", () => {
  assertEquals(engineThreads(), 2);
  assertEquals(info.device, "tfjs-wasm (SIMD, 2 threads)");
});

Deno.test("products and sigmoids give the same bits on 2 threads as on 1", () => {
  const two = outputs();
  const one = onEngineThreads(1, () => outputs());
  two.forEach((o, k) => assertEquals(o.findIndex((x, j) => x !== one[k][j]), -1, `output ${k}`));
});

Deno.test("runKernel() splits work into chunks that cover every item exactly once", () => {
  // redraw_sigmoid over 64-value blocks: a wrong or repeated range would leave a value unset or unchanged.
  for (const n of [1, 63, 64, 65, 64 * 37 + 5, 1 << 16]) {
    tf.tidy(() => {
      const x = tf.tensor1d(values(n, n));
      const out = tf.fill([n], 7);
      // deno-lint-ignore no-explicit-any
      const at = (t: tf.Tensor) => (tf.backend() as any).dataIdMap.get(t.dataId).memoryOffset as number;
      runKernel("redraw_sigmoid", [at(x), at(out), n], Math.ceil(n / 64), 1);
      const want = sigmoid(x).dataSync();
      assertEquals(out.dataSync(), want);
    });
  }
});

Deno.test("a thousand small jobs in a row complete with no tensor left behind", () => {
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    const A = tf.tensor2d(values(64 * 40, 1), [64, 40]);
    const P = packB(tf.tensor2d(values(40 * 256, 2), [40, 256]));
    let y = gemm(A, P);
    for (let i = 0; i < 1000; i++) y = gemm(A, P, null, sigmoid(y));
    assertEquals(y.dataSync().every(Number.isFinite), true);
  });
  assertEquals(tf.memory().numTensors, before);
});

stopThreadsAfterTests();
