import { assertEquals, assertThrows } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend, stopWasmThreads } from "../../backend.ts";
import { drawEpsilon } from "../../draw/model.ts";
import { PAPER_MNIST } from "../../config/model.ts";
import { RandomStream } from "../../random.ts";
import { engineThreads } from "./engine.ts";
import { normalsOnEngineThreads, normalTensor } from "./normal.ts";

/** Shapes with odd and even sizes, one under a chunk's minimum, and the paper's epsilon. */
export const NORMAL_SHAPES: number[][] = [[1], [7], [2, 3], [3, 7, 11], [2049], [64, 64, 100], [5, 13, 101]];
/** Counters: 0, odd, and just below 2^32 (the draws' high word changes inside the run). */
export const NORMAL_COUNTERS = [0, 3, 2 ** 32 - 1001];

/** `RedrawNormal`'s values for each shape and counter, as bits, and whether each advanced its stream right. */
export function normalBits(): Uint32Array[] {
  const out: Uint32Array[] = [];
  for (const shape of NORMAL_SHAPES) {
    for (const counter of NORMAL_COUNTERS) {
      const s = new RandomStream("t", 0x5eed + shape.length, counter);
      const t = normalTensor(shape, s);
      const n = shape.reduce((a, b) => a * b, 1);
      assertEquals(t.shape, shape);
      assertEquals(s.counter, counter + 2 * Math.ceil(n / 2));
      out.push(new Uint32Array((t.dataSync() as Float32Array).slice().buffer));
      t.dispose();
    }
  }
  return out;
}

/** `RandomStream.normal`'s values for the same shapes and counters. */
export function referenceBits(): Uint32Array[] {
  return NORMAL_SHAPES.flatMap((shape) =>
    NORMAL_COUNTERS.map((counter) => {
      const n = shape.reduce((a, b) => a * b, 1);
      return new Uint32Array(new RandomStream("t", 0x5eed + shape.length, counter).normal(n).buffer);
    })
  );
}

// Imported by normal_threads_test.ts for the cases: the tests run only in this file's own test process.
if (Deno.mainModule === import.meta.url) {
  await initBackend("wasm");

  Deno.test("RedrawNormal on one thread gives RandomStream.normal's bits and advances the stream the same", () => {
    assertEquals(engineThreads(), 1);
    const before = tf.memory().numTensors;
    const got = normalBits(), want = referenceBits();
    got.forEach((g, k) => assertEquals(g.findIndex((x, j) => x !== want[k][j]), -1, `case ${k}`));
    assertEquals(tf.memory().numTensors, before);
  });

  Deno.test("drawEpsilon keeps the main-thread path on one engine thread, with the same values", () => {
    assertEquals(normalsOnEngineThreads(), false);
    const cfg = { ...PAPER_MNIST, T: 3, nZ: 5 };
    const a = new RandomStream("e", 9, 4), b = new RandomStream("e", 9, 4);
    const eps = drawEpsilon(cfg, 7, a);
    assertEquals(eps.shape, [3, 7, 5]);
    assertEquals(eps.dataSync(), b.normal(105));
    assertEquals(a.counter, b.counter);
    eps.dispose();
  });

  Deno.test("RedrawNormal of an empty shape is an empty tensor that leaves the stream as it was", () => {
    const s = new RandomStream("t", 1, 10);
    const t = normalTensor([0, 4], s);
    assertEquals([t.shape, t.size, s.counter], [[0, 4], 0, 10]);
    t.dispose();
  });

  Deno.test({
    name: "normalTensor refuses a backend other than wasm",
    fn: async () => {
      await tf.setBackend("cpu");
      assertThrows(() => normalTensor([2], new RandomStream("t", 1)), Error, "wasm backend");
      await tf.setBackend("wasm");
    },
  });

  Deno.test({
    name: "The wasm threads are stopped",
    fn: () => stopWasmThreads(),
    sanitizeOps: false,
    sanitizeResources: false,
  });
}
