import { assert, assertEquals } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../../backend.ts";
import { lstmCell, lstmHidden, registerFusedKernels } from "../dispatch.ts";
import { lstmForward } from "./lstm.ts";
import { sigmoid } from "./ops.ts";
import { bell, rng } from "./test_values.ts";
import { stopThreadsAfterTests } from "./testing.ts";

await initBackend("wasm");
registerFusedKernels();

/** Gate pre-activations `[b, 4H]` (bell-shaped, scale 4, with some far outside exp's range) and c_prev `[b, H]`. */
function forwardInputs(b: number, H: number, seed: number): { gates: Float32Array; cPrev: Float32Array } {
  const r = rng(seed);
  const gates = bell(r, b * 4 * H, 4);
  for (let i = 0; i < gates.length; i += 37) gates[i] *= 30; // beyond +-88: sigmoid's 0 and 1
  const cPrev = bell(r, b * H, 2);
  return { gates, cPrev };
}

/** [sg, c, sc, h] by the one kernel, or by sigmoid, lstmCell, sigmoid, lstmHidden. */
function runForward(gates: Float32Array, cPrev: Float32Array | null, b: number, H: number, fused: boolean) {
  return tf.tidy(() => {
    const g = tf.tensor2d(gates, [b, 4 * H]);
    const p = cPrev ? tf.tensor2d(cPrev, [b, H]) : null;
    let outs: tf.Tensor2D[];
    if (fused) {
      outs = lstmForward(g, p);
    } else {
      const sg = sigmoid(g);
      const c = lstmCell(sg, p);
      const sc = sigmoid(c);
      outs = [sg, c, sc, lstmHidden(sg, sc)];
    }
    return outs.map((t) => t.dataSync() as Float32Array);
  });
}

/** Index of the first value whose bits differ, -1 if none. */
function firstDiff(a: Float32Array, b: Float32Array): number {
  assertEquals(a.length, b.length);
  const u = new Uint32Array(a.buffer, a.byteOffset, a.length),
    v = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return u.findIndex((x, i) => x !== v[i]);
}

const NAMES = ["sg", "c", "sc", "h"];

function assertSameBits(fused: Float32Array[], four: Float32Array[], what: string): void {
  assertEquals(fused.length, 4);
  fused.forEach((o, i) => {
    const bad = firstDiff(o, four[i]);
    assertEquals(bad, -1, `${what}: ${NAMES[i]} differs at ${bad} (${o[bad]} vs ${four[i][bad]})`);
  });
}

for (const [b, H] of [[64, 256], [7, 256], [64, 37], [7, 37], [3, 1], [5, 6]]) {
  for (const withPrev of [true, false]) {
    const label = `batch ${b}, H ${H}, ${withPrev ? "with" : "without"} c_prev`;
    Deno.test(`The fused LSTM forward gives the bits of sigmoid, cell, sigmoid, hidden (${label})`, () => {
      const { gates, cPrev } = forwardInputs(b, H, 11 + b + H);
      const p = withPrev ? cPrev : null;
      const fused = runForward(gates, p, b, H, true);
      assertSameBits(fused, runForward(gates, p, b, H, false), label);
      // Shapes and a sanity check of the arithmetic: h = o tanh(c), |h| < 1.
      assertEquals(fused[0].length, b * 4 * H);
      for (const o of fused.slice(1)) assertEquals(o.length, b * H);
      assert(fused[3].every((v) => Math.abs(v) <= 1));
    });
  }
}

Deno.test("The fused LSTM forward propagates NaN and infinities as the four kernels do", () => {
  const b = 7, H = 37;
  const { gates, cPrev } = forwardInputs(b, H, 5);
  // NaN in each gate block (i, f, o, g) of a few rows, in the SIMD body and in the tail, and infinities.
  for (const [n, col] of [[0, 0], [1, H + 3], [2, 2 * H + 36], [3, 3 * H + 35], [4, 3 * H + 1]]) {
    gates[n * 4 * H + col] = NaN;
  }
  gates[5 * 4 * H + 2] = Infinity;
  gates[5 * 4 * H + H + 2] = -Infinity;
  gates[6 * 4 * H + 3 * H + 4] = Infinity;
  cPrev[6 * H + 4] = NaN;
  cPrev[6 * H + 36] = Infinity;
  for (const p of [cPrev, null]) {
    const fused = runForward(gates, p, b, H, true);
    assertSameBits(fused, runForward(gates, p, b, H, false), `NaN, ${p ? "with" : "without"} c_prev`);
    // NaN in a gate reaches c (i, g) or h (o); NaN in c_prev reaches c, sc and h.
    assert(Number.isNaN(fused[0][0]) && Number.isNaN(fused[1][0]) && Number.isNaN(fused[3][0]));
    assert(Number.isNaN(fused[3][2 * H + 36]));
    if (p) assert(Number.isNaN(fused[1][6 * H + 4]) && Number.isNaN(fused[2][6 * H + 4]));
  }
});

stopThreadsAfterTests();
