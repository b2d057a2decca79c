import { assertEquals } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend, setWasmThreads } from "../../backend.ts";
import { registerFusedKernels } from "../dispatch.ts";
import { engineThreads } from "./engine.ts";
import { lstmForward } from "./lstm.ts";
import { bell, firstBitDifference, rng } from "./test_values.ts";
import { onEngineThreads, stopThreadsAfterTests } from "./testing.ts";

setWasmThreads(2);
await initBackend("wasm");
registerFusedKernels();

/** [sg, c, sc, h] of the fused kernel on gate pre-activations (some beyond +-88) and c_prev (or none). */
function run(b: number, H: number, withPrev: boolean, seed: number): Float32Array[] {
  const r = rng(seed);
  const gates = bell(r, b * 4 * H, 4).map((v, i) => i % 37 ? v : 30 * v);
  const cPrev = bell(r, b * H, 2);
  return tf.tidy(() =>
    lstmForward(tf.tensor2d(gates, [b, 4 * H]), withPrev ? tf.tensor2d(cPrev, [b, H]) : null)
      .map((t) => t.dataSync() as Float32Array)
  );
}

const SIZES: Array<[number, number, boolean]> = [[64, 256, true], [64, 256, false], [64, 37, true], [
  7,
  37,
  false,
]];

function runAll(): Float32Array[][] {
  return SIZES.map(([b, H, withPrev]) => {
    return run(b, H, withPrev, 3 + H);
  });
}

Deno.test("The fused LSTM forward gives the same bits with 1 and 2 threads", () => {
  assertEquals(engineThreads(), 2);
  const two = runAll();
  const one = onEngineThreads(1, () => runAll());
  SIZES.forEach((s, k) => {
    two[k].forEach((o, i) => {
      const bad = firstBitDifference(o, one[k][i]);
      assertEquals(bad, -1, `batch ${s[0]}, H ${s[1]}: output ${i} differs at ${bad}`);
    });
  });
});

stopThreadsAfterTests();
