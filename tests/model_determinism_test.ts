/**
 * Determinism: the same root seed gives bit-identical losses over a few Adam steps, on the cpu backend and
 * on the wasm backend (each compared with itself). All randomness comes from lib/random.ts streams, never
 * from tfjs random ops, so a run is a pure function of its seed and backend.
 */
import * as tf from "@tensorflow/tfjs";
import { assertEquals, assertNotEquals } from "@std/assert";
import { initBackend } from "../lib/backend.ts";
import { splitSeed } from "../lib/random.ts";
import { type DrawConfig, validateDrawConfig } from "../lib/config/model.ts";
import { createParams, disposeParams } from "../lib/draw/params.ts";
import { drawEpsilon, drawLoss, generate } from "../lib/draw/model.ts";

await initBackend("cpu");

const CFG: DrawConfig = validateDrawConfig({
  A: 12,
  B: 10,
  T: 4,
  nZ: 3,
  encSize: 16,
  decSize: 12,
  attention: true,
  readN: 2,
  writeN: 3,
  readInit: "cover",
  writeInit: "cover",
});

/** Losses of 4 Adam steps and one generated image, everything drawn from `seed`'s streams. */
async function run(seed: number): Promise<{ losses: number[]; terms: number[]; sample: number[] }> {
  const streams = splitSeed(seed);
  const n = 8;
  const x = tf.tensor2d(
    Array.from(streams.binarize.uniform(n * CFG.A * CFG.B), (u) => (u < 0.3 ? 1 : 0)),
    [n, CFG.A * CFG.B],
  );
  const p = createParams(CFG, streams.init);
  const optimizer = tf.train.adam(1e-2);
  const losses: number[] = [];
  let terms: number[] = [];
  for (let step = 0; step < 4; step++) {
    const out = tf.tidy(() => {
      const eps = drawEpsilon(CFG, n, streams.epsilon);
      let perExample: number[] = [];
      const { value, grads } = tf.variableGrads(() => {
        const l = drawLoss(CFG, p, x, eps);
        perExample = [...l.lossX.dataSync(), ...l.lossZ.dataSync()];
        return tf.mean(tf.add(l.lossX, l.lossZ)) as tf.Scalar;
      }, Object.values(p));
      optimizer.applyGradients(grads as tf.NamedTensorMap as Record<string, tf.Variable>);
      return { loss: value.dataSync()[0], perExample };
    });
    losses.push(out.loss);
    terms = out.perExample;
  }
  const sample = (await generate(CFG, p, 1, streams.eval)).canvases[CFG.T - 1][0];
  optimizer.dispose();
  disposeParams(p);
  x.dispose();
  return { losses, terms, sample: Array.from(sample) };
}

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test(`two runs with the same seed give bit-identical losses and samples on ${backend}`, async () => {
    await initBackend(backend);
    const a = await run(3);
    const b = await run(3);
    // assertEquals compares numbers with Object.is, so this is bit-for-bit equality of every float.
    assertEquals(a, b);
    assertNotEquals((await run(4)).losses, a.losses);
    await initBackend("cpu");
  });
}

Deno.test("cpu and wasm losses for the same seed agree to float32 rounding", async () => {
  // Not bit-identical in general (summation order differs between kernels); measured and bounded loosely.
  await initBackend("cpu");
  const cpu = (await run(3)).losses;
  await initBackend("wasm");
  const wasm = (await run(3)).losses;
  await initBackend("cpu");
  const rel = Math.max(...cpu.map((v, k) => Math.abs(v - wasm[k]) / Math.abs(v)));
  console.log(`largest relative cpu/wasm loss difference over 4 Adam steps: ${rel.toExponential(2)}`);
  assertEquals(rel < 1e-4, true, `cpu ${cpu} vs wasm ${wasm}`);
});
