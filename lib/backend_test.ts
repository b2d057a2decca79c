/**
 * Tests of backend selection and of the BatchMatMul gradient registered for tfjs-wasm.
 */
import * as tf from "@tensorflow/tfjs";
import { assert, assertEquals, assertRejects, assertStringIncludes, assertThrows } from "@std/assert";
import { BACKEND_REQUESTS, initBackend, parseBackend } from "./backend.ts";
import { RandomStream } from "./random.ts";

// tfjs's own BatchMatMul gradient, kept before initBackend() replaces it, as a second oracle.
const original = tf.getGradient("BatchMatMul");

await initBackend("cpu");

Deno.test("initBackend() reports the cpu and wasm backends it obtained", async () => {
  const cpu = await initBackend("cpu");
  assertEquals([cpu.requested, cpu.name, tf.getBackend()], ["cpu", "cpu", "cpu"]);
  assertEquals(cpu.tfjsVersion, "4.22.0");
  const wasm = await initBackend("wasm");
  assertEquals([wasm.requested, wasm.name, tf.getBackend()], ["wasm", "wasm", "wasm"]);
  assertStringIncludes(wasm.device, "tfjs-wasm");
  await initBackend("cpu");
});

Deno.test("parseBackend() accepts the five backends and rejects others, naming the flag", () => {
  for (const b of ["auto", "tensorflow", "webgpu", "wasm", "cpu"]) assertEquals(parseBackend(b), b);
  assertEquals(BACKEND_REQUESTS.length, 5);
  assertThrows(
    () => parseBackend("gpu"),
    Error,
    '--backend must be one of auto, tensorflow, webgpu, wasm, cpu, got "gpu"',
  );
  assertThrows(() => parseBackend("WASM", "--eval-backend"), Error, "--eval-backend");
});

/** d/da and d/db of sum(w * matMul(a, b, tA, tB)) by explicit loops over a batch of matrices. */
function oracleGrads(
  a: number[][][],
  b: number[][][],
  w: number[][][],
  tA: boolean,
  tB: boolean,
): { a: number[][][]; b: number[][][] } {
  const ga = a.map((m) => m.map((r) => r.map(() => 0)));
  const gb = b.map((m) => m.map((r) => r.map(() => 0)));
  for (let n = 0; n < w.length; n++) {
    const [rows, cols] = [w[n].length, w[n][0].length];
    const inner = tA ? a[n].length : a[n][0].length;
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        for (let k = 0; k < inner; k++) {
          // C[i, j] += A'[i, k] B'[k, j], where A' = tA ? a^T : a and B' = tB ? b^T : b.
          const [ai, ak] = tA ? [k, i] : [i, k];
          const [bk, bj] = tB ? [j, k] : [k, j];
          ga[n][ai][ak] += w[n][i][j] * b[n][bk][bj];
          gb[n][bk][bj] += w[n][i][j] * a[n][ai][ak];
        }
      }
    }
  }
  return { a: ga, b: gb };
}

function maxAbsDiff(x: number[][][], y: number[][][]): number {
  return Math.max(...x.flat(2).map((v, k) => Math.abs(v - y.flat(2)[k])));
}

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test(`the registered BatchMatMul gradient equals tfjs's and an explicit-loop oracle for all four transpose flags (${backend})`, async () => {
    await initBackend(backend);
    const fast = tf.getGradient("BatchMatMul");
    assert(fast.gradFunc !== original.gradFunc, "initBackend() did not register its gradient");
    const s = new RandomStream("bmm-grad", 1);
    const [batch, m, k, n] = [2, 3, 4, 5]; // distinct sizes, so that a swapped operand cannot pass
    const rand = (d0: number, d1: number) =>
      Array.from({ length: batch }, () => Array.from({ length: d0 }, () => Array.from(s.normal(d1))));
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        const a = tA ? rand(k, m) : rand(m, k);
        const b = tB ? rand(n, k) : rand(k, n);
        const w = rand(m, n);
        const [viaTape, viaOriginal] = tf.tidy(() => {
          const [ta, tb, tw] = [tf.tensor3d(a), tf.tensor3d(b), tf.tensor3d(w)];
          const g = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x, y, tA, tB), tw)))([
            ta,
            tb,
          ]);
          const o = original.gradFunc(tw, [ta, tb], { transposeA: tA, transposeB: tB }) as Record<
            string,
            () => tf.Tensor
          >;
          return [g.map((t) => t.arraySync()), [o.a().arraySync(), o.b().arraySync()]] as number[][][][][];
        });
        const want = oracleGrads(a, b, w, tA, tB);
        const flags = `transposeA ${tA}, transposeB ${tB}`;
        assert(maxAbsDiff(viaTape[0], want.a) < 1e-4, `d/da differs from the oracle (${flags})`);
        assert(maxAbsDiff(viaTape[1], want.b) < 1e-4, `d/db differs from the oracle (${flags})`);
        assert(maxAbsDiff(viaTape[0], viaOriginal[0]) < 1e-4, `d/da differs from tfjs's gradient (${flags})`);
        assert(maxAbsDiff(viaTape[1], viaOriginal[1]) < 1e-4, `d/db differs from tfjs's gradient (${flags})`);
      }
    }
    await initBackend("cpu");
  });
}

/** Whether the native binding is installed (then the "tensorflow" backend may work and is not tested here). */
function hasNativeBinding(): boolean {
  for (const pkg of ["tfjs-node-gpu", "tfjs-node"]) {
    const url = new URL(`../node_modules/@tensorflow/${pkg}/lib/napi-v8/tfjs_binding.node`, import.meta.url);
    try {
      Deno.statSync(url);
      return true;
    } catch {
      // not installed
    }
  }
  return false;
}

Deno.test({
  name: 'initBackend("tensorflow") fails without the native binding and says how to install it',
  ignore: hasNativeBinding(),
}, async () => {
  await initBackend("cpu");
  const err = await assertRejects(() => initBackend("tensorflow"), Error);
  assertStringIncludes(err.message, "deno install --allow-scripts=npm:@tensorflow/tfjs-node-gpu");
  assertStringIncludes(err.message, "CUDA");
  // The failed attempt leaves the previous backend in place.
  assertEquals(tf.getBackend(), "cpu");
});
