/**
 * Tests of the LSTM cell used by the encoder and decoder (eqs 5 and 7).
 */
import * as tf from "@tensorflow/tfjs";
import { assertAlmostEquals, assertEquals } from "@std/assert";
import { initBackend } from "../backend.ts";
import { RandomStream } from "../random.ts";
import { lstmStep } from "./lstm.ts";

await initBackend("cpu");

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

Deno.test("lstmStep() matches an explicit-loop forget-gate LSTM with gate order (i, f, o, g)", () => {
  const s = new RandomStream("lstm-oracle", 1);
  const batch = 2, nIn = 3, H = 4;
  const rows = (n: number, m: number) => Array.from({ length: n }, () => Array.from(s.normal(m)));
  const input = rows(batch, nIn), h = rows(batch, H), c = rows(batch, H);
  const W = rows(nIn + H, 4 * H).map((r) => r.map((v) => 0.5 * v));
  const b = Array.from(s.normal(4 * H));
  const got = tf.tidy(() => {
    const out = lstmStep(
      tf.tensor2d(input),
      { h: tf.tensor2d(h), c: tf.tensor2d(c) },
      tf.tensor2d(W),
      tf.tensor1d(b),
    );
    return { h: out.h.arraySync(), c: out.c.arraySync() };
  });
  for (let n = 0; n < batch; n++) {
    const v = [...input[n], ...h[n]];
    const gate = (k: number) => v.reduce((acc, vi, r) => acc + vi * W[r][k], b[k]);
    for (let j = 0; j < H; j++) {
      const [i, f, o, g] = [0, 1, 2, 3].map((q) => gate(q * H + j));
      const cNext = sigmoid(f) * c[n][j] + sigmoid(i) * Math.tanh(g);
      assertAlmostEquals(got.c[n][j], cNext, 1e-5);
      assertAlmostEquals(got.h[n][j], sigmoid(o) * Math.tanh(cNext), 1e-5);
    }
  }
});

Deno.test("lstmStep() keeps the cell when the forget gate is open and the input gate shut", () => {
  const H = 3;
  const b = [...new Array(H).fill(-50), ...new Array(H).fill(50), ...new Array(2 * H).fill(0)];
  const c = [[0.3, -1.2, 2.5]];
  const got = tf.tidy(() => {
    const out = lstmStep(
      tf.ones([1, 2]),
      { h: tf.zeros([1, H]), c: tf.tensor2d(c) },
      tf.zeros([2 + H, 4 * H]),
      tf.tensor1d(b),
    );
    return Array.from(out.c.dataSync());
  });
  assertEquals(got, Array.from(Float32Array.from(c[0])));
});
