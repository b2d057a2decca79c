import { assertEquals } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend, setWasmThreads, stopWasmThreads } from "../backend.ts";
import { registerFusedKernels } from "../draw/kernels.ts";
import { engineThreads, setEngineThreads, stopWasmEngine, wasmEngine } from "./engine.ts";
import { miscCases } from "./misc_test.ts";

setWasmThreads(2);
await initBackend("wasm");
registerFusedKernels();

const CASES = miscCases(11);

function run(c: (typeof CASES)[number]): Float32Array[] {
  return tf.tidy(() => {
    const named: Record<string, tf.Tensor> = {};
    c.inputs.forEach((x, i) => {
      if (x) named[`i${i}`] = tf.tensor(x, c.inShapes[i]);
    });
    const out = tf.engine().runKernel(c.name, named, { ...c.attrs, nIn: c.inputs.length }) as
      | tf.Tensor
      | tf.Tensor[];
    return (Array.isArray(out) ? out : [out]).map((t) => t.dataSync() as Float32Array);
  });
}

Deno.test("The C block copy, sum, Bernoulli and sum of squares kernels give the same bits with 1 and 2 threads", () => {
  assertEquals(engineThreads(), 2);
  const two = CASES.map(run);
  stopWasmEngine();
  setEngineThreads(1);
  wasmEngine();
  assertEquals(engineThreads(), 1);
  const one = CASES.map(run);
  CASES.forEach((c, k) => {
    two[k].forEach((o, i) => {
      const u = new Uint32Array(o.buffer), v = new Uint32Array(one[k][i].buffer);
      const bad = u.findIndex((x, j) => x !== v[j]);
      assertEquals(bad, -1, `${c.name} (${c.label}) output ${i} differs at ${bad}`);
    });
  });
});

Deno.test({
  name: "The wasm threads are stopped",
  fn: () => stopWasmThreads(),
  sanitizeOps: false,
  sanitizeResources: false,
});
