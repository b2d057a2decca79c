import { assertEquals } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend, setWasmThreads } from "../../backend.ts";
import { PAPER_MNIST } from "../../config/model.ts";
import { drawEpsilon } from "../../draw/model.ts";
import { RandomStream } from "../../random.ts";
import { engineThreads } from "./engine.ts";
import { normalsOnEngineThreads } from "./normal.ts";
import { normalBits, referenceBits } from "./normal_test.ts";
import { sigmoid } from "./ops.ts";
import { onEngineThreads, stopThreadsAfterTests } from "./testing.ts";

setWasmThreads(2);
await initBackend("wasm");

function firstDifference(a: Uint32Array[], b: Uint32Array[]): number {
  assertEquals(a.length, b.length);
  return a.findIndex((x, k) => x.length !== b[k].length || x.findIndex((v, j) => v !== b[k][j]) >= 0);
}

Deno.test("RedrawNormal on 2 threads gives RandomStream.normal's bits, the same as on 1 thread", () => {
  assertEquals(engineThreads(), 2);
  const two = normalBits();
  assertEquals(firstDifference(two, referenceBits()), -1);
  const one = onEngineThreads(1, () => normalBits());
  assertEquals(firstDifference(two, one), -1);
});

Deno.test("drawEpsilon on 2 engine threads equals the main-thread draw and advances the stream the same", () => {
  assertEquals(normalsOnEngineThreads(), true);
  for (const batch of [64, 7]) {
    const a = new RandomStream("e", 77, 1), b = new RandomStream("e", 77, 1);
    for (let step = 0; step < 3; step++) {
      const eps = drawEpsilon(PAPER_MNIST, batch, a);
      assertEquals(eps.shape, [PAPER_MNIST.T, batch, PAPER_MNIST.nZ]);
      const want = b.normal(PAPER_MNIST.T * batch * PAPER_MNIST.nZ);
      const got = eps.dataSync() as Float32Array;
      assertEquals(
        new Uint32Array(got.buffer).findIndex((x, j) => x !== new Uint32Array(want.buffer)[j]),
        -1,
      );
      assertEquals(a.counter, b.counter);
      eps.dispose();
    }
  }
});

Deno.test("normals and wasm kernels alternate on the engine's threads without mixing jobs", () => {
  const before = tf.memory().numTensors;
  const s = new RandomStream("e", 3), ref = new RandomStream("e", 3);
  tf.tidy(() => {
    for (let i = 0; i < 200; i++) {
      const eps = drawEpsilon({ ...PAPER_MNIST, T: 4 }, 64, s);
      const y = sigmoid(eps);
      const want = ref.normal(4 * 64 * PAPER_MNIST.nZ);
      if (i % 50 === 0) assertEquals(eps.dataSync(), want);
      assertEquals(y.shape, eps.shape);
    }
  });
  assertEquals(s.counter, ref.counter);
  assertEquals(tf.memory().numTensors, before);
});

stopThreadsAfterTests();
