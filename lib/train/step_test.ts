import { assert, assertEquals, assertRejects, assertThrows } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../backend.ts";
import { type DrawConfig, PAPER_MNIST } from "../config/model.ts";
import { drawEpsilon } from "../draw/model.ts";
import { createParams, type DrawParams } from "../draw/params.ts";
import { RandomStream, splitSeed } from "../random.ts";
import { Adam } from "./adam.ts";
import { type StepOptions, type StepResult, trainStep, trainStepAsync } from "./step.ts";

const CFG: DrawConfig = {
  ...PAPER_MNIST,
  A: 10,
  B: 8,
  T: 3,
  nZ: 4,
  encSize: 12,
  decSize: 10,
  readN: 2,
  writeN: 3,
};

interface Run {
  results: StepResult[];
  params: Record<string, Float32Array>;
}

/** Three steps from seed 5 with the given driver; returns every result and the final parameters. */
async function run(
  driver: typeof trainStep | typeof trainStepAsync,
  cfg: DrawConfig,
  opts: StepOptions,
): Promise<Run> {
  const streams = splitSeed(5);
  const params: DrawParams = createParams(cfg, streams.init);
  const adam = new Adam(params, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
  const D = cfg.A * cfg.B;
  const u = new RandomStream("step-x", 2).uniform(6 * D);
  const x = tf.tensor2d(Float32Array.from(u, (v) => (v < 0.4 ? 1 : 0)), [6, D]);
  const results: StepResult[] = [];
  try {
    for (let s = 0; s < 3; s++) {
      const eps = drawEpsilon(cfg, 6, streams.epsilon);
      try {
        results.push(await driver(cfg, params, adam, x, eps, opts));
      } finally {
        eps.dispose();
      }
    }
    const out: Record<string, Float32Array> = {};
    for (const [k, v] of Object.entries(params)) out[k] = v.dataSync() as Float32Array;
    return { results, params: out };
  } finally {
    x.dispose();
    adam.dispose();
    for (const v of Object.values(params)) v.dispose();
  }
}

for (const backend of ["wasm", "cpu"] as const) {
  for (const impl of ["fused", "tape"] as const) {
    for (const attention of [true, false]) {
      const name = `${backend}, ${impl}, ${attention ? "attention" : "no attention"}`;
      Deno.test(`trainStepAsync() gives trainStep()'s results and parameters bit for bit (${name})`, async () => {
        await initBackend(backend);
        const cfg = { ...CFG, attention };
        const opts: StepOptions = { learningRate: 3e-3, clipNorm: 0.5, stats: true, histogram: true, impl };
        const before = tf.memory().numTensors;
        const sync = await run(trainStep, cfg, opts);
        const async = await run(trainStepAsync, cfg, opts);
        assertEquals(tf.memory().numTensors, before, "tensors leaked");
        // Clipping at 0.5 is active, so the clipped branch and its Adam scale are compared too.
        assert(sync.results.every((r) => r.clipped && r.finite));
        assertEquals(async.results, sync.results);
        assertEquals(async.params, sync.params);
      });
    }
  }
}

Deno.test("trainStepAsync() names every non-finite gradient and leaves the parameters untouched", async () => {
  await initBackend("cpu");
  const opts: StepOptions = { learningRate: 1e-3, clipNorm: 10, injectNaN: true, impl: "tape" };
  const clean = await run(trainStepAsync, CFG, { ...opts, injectNaN: false });
  const before = tf.memory().numTensors;
  const bad = await run(trainStepAsync, CFG, opts);
  assertEquals(tf.memory().numTensors, before, "tensors leaked");
  for (const r of bad.results) {
    assert(!r.finite);
    assertEquals(r.klPerStep?.length, CFG.T);
    // Every gradient is NaN once the loss is multiplied by NaN.
    assertEquals(r.nonFinite?.sort(), Object.keys(clean.params).sort());
  }
  const fresh = createParams(CFG, splitSeed(5).init);
  for (const [k, v] of Object.entries(fresh)) assertEquals(bad.params[k], v.dataSync() as Float32Array, k);
  for (const v of Object.values(fresh)) v.dispose();
});

Deno.test("a failed read-back ends the step with its error and disposes every tensor it made", async () => {
  await initBackend("cpu");
  const proto = tf.Tensor.prototype as unknown as { dataSync: () => unknown; data: () => Promise<unknown> };
  const [dataSync, data] = [proto.dataSync, proto.data];
  const streams = splitSeed(5);
  const params = createParams(CFG, streams.init);
  const adam = new Adam(params, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
  const x = tf.zeros([2, CFG.A * CFG.B]) as tf.Tensor2D;
  const eps = drawEpsilon(CFG, 2, streams.epsilon);
  const before = tf.memory().numTensors;
  try {
    proto.dataSync = () => {
      throw new Error("device lost");
    };
    proto.data = () => Promise.reject(new Error("device lost"));
    const opts: StepOptions = { learningRate: 1e-3, clipNorm: 10, stats: true, impl: "tape" };
    assertThrows(() => trainStep(CFG, params, adam, x, eps, opts), Error, "device lost");
    assertEquals(tf.memory().numTensors, before, "tensors leaked after a failed dataSync()");
    await assertRejects(() => trainStepAsync(CFG, params, adam, x, eps, opts), Error, "device lost");
    assertEquals(tf.memory().numTensors, before, "tensors leaked after a failed data()");
  } finally {
    proto.dataSync = dataSync;
    proto.data = data;
    tf.dispose([x, eps]);
    adam.dispose();
    for (const v of Object.values(params)) v.dispose();
  }
});
