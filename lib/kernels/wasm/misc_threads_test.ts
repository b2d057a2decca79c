import { assertEquals } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend, setWasmThreads } from "../../backend.ts";
import { registerFusedKernels } from "../dispatch.ts";
import { engineThreads } from "./engine.ts";
import { miscCases } from "./misc_test.ts";
import { onEngineThreads, stopThreadsAfterTests } from "./testing.ts";
import { firstBitDifference } from "./test_values.ts";

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
  const one = onEngineThreads(1, () => CASES.map(run));
  CASES.forEach((c, k) => {
    two[k].forEach((o, i) => {
      const bad = firstBitDifference(o, one[k][i]);
      assertEquals(bad, -1, `${c.name} (${c.label}) output ${i} differs at ${bad}`);
    });
  });
});

stopThreadsAfterTests();
