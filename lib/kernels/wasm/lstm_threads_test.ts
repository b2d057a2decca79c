import { assertEquals } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend, setWasmThreads } from "../../backend.ts";
import { registerFusedKernels } from "../dispatch.ts";
import { engineThreads } from "./engine.ts";
import { firstBitDifference, values as uniform } from "./test_values.ts";
import { onEngineThreads, stopThreadsAfterTests } from "./testing.ts";

setWasmThreads(2);
await initBackend("wasm");
registerFusedKernels();

/** Values in [-1, 1), or sigmoid-like in [0.01, 0.99) with `unit`. */
function values(n: number, seed: number, unit = false): Float32Array {
  return unit ? uniform(n, seed, 0.01, 0.99) : uniform(n, seed);
}

type Spec = [string, Array<[number[], boolean] | null>, Record<string, unknown>];

const B = 64, H = 256, nZ = 100, Hd = 256, D = 784;
const SPECS: Spec[] = [
  ["RedrawLstmCell", [[[B, 4 * H], true], [[B, H], false]], {}],
  ["RedrawLstmHidden", [[[B, 4 * H], true], [[B, H], true]], {}],
  ["RedrawLstmBackward", [
    [[B, 4 * H], true],
    [[B, H], true],
    [[B, H], false],
    [[B, H], false],
    [[B, H + 3], false],
    null,
    [[B, H], false],
  ], { offsets: [3, 0, 0] }],
  ["RedrawPosterior", [[[B, 2 * nZ + 4], false], [[4, B, nZ], false], [[B, Hd], false]], {
    nZ,
    Hd,
    logWeights: true,
    epsOffset: 2 * B * nZ,
  }],
  ["RedrawPosteriorBackward", [[[B, nZ + Hd], false], [[B, 2 * nZ + 4], false], [[4, B, nZ], false]], {
    nZ,
    scale: 0.5,
    epsOffset: B * nZ,
  }],
  ["RedrawNoAttentionInput", [[[7, D], true], [[7, 13], false], [[7, 21], false]], {}],
  ["RedrawNoAttentionBackward", [[[B, D + 2 * H], false], [[B, D], false], [[B, D], true]], {}],
  ["RedrawStack", Array.from({ length: 64 }, () => [[B, 356], false]), { transposed: false }],
  ["RedrawStack", Array.from({ length: 64 }, () => [[B, 356], false]), { transposed: true }],
  ["RedrawStack", Array.from({ length: 9 }, () => [[7, 13], false]), { transposed: true }],
];

function run([name, ins, attrs]: Spec): Float32Array[] {
  return tf.tidy(() => {
    const named: Record<string, tf.Tensor> = {};
    ins.forEach((x, i) => {
      if (x) named[`i${i}`] = tf.tensor(values(x[0].reduce((a, b) => a * b, 1), 7 + i, x[1]), x[0]);
    });
    const out = tf.engine().runKernel(name, named, { ...attrs, nIn: ins.length }) as tf.Tensor | tf.Tensor[];
    return (Array.isArray(out) ? out : [out]).map((t) => t.dataSync() as Float32Array);
  });
}

Deno.test("The C LSTM, posterior, no-attention and stack kernels give the same bits with 1 and 2 threads", () => {
  assertEquals(engineThreads(), 2);
  const two = SPECS.map(run);
  const one = onEngineThreads(1, () => SPECS.map(run));
  SPECS.forEach((s, k) => {
    two[k].forEach((o, i) => {
      const bad = firstBitDifference(o, one[k][i]);
      assertEquals(bad, -1, `${s[0]} output ${i} differs at ${bad}`);
    });
  });
});

stopThreadsAfterTests();
