/**
 * The fused forward and backward on webgpu (WGSL kernels, lib/kernels/webgpu) against the same code on wasm:
 * loss terms, every gradient and one Adam step, on the equivalence configurations, a full-size step of the
 * paper's model and the paper's model without attention. Runs wherever a WebGPU adapter exists (llvmpipe in
 * CI).
 */
import { assert } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend, webgpuAdapter } from "../backend.ts";
import { type DrawConfig, PAPER_MNIST } from "../config/model.ts";
import { drawLossAndGrads } from "./fused.ts";
import { drawEpsilon } from "./model.ts";
import { createParams } from "./params.ts";
import { RandomStream, splitSeed } from "../random.ts";
import { Adam } from "../train/adam.ts";
import { trainStepAsync } from "../train/step.ts";
import { dispatchCount } from "../kernels/webgpu/mod.ts";
import { throwOnWebgpuError } from "../webgpu.ts";
import { CASES } from "../../bench/equivalence_cases.ts";

const ignore = (await webgpuAdapter()) === null;

interface Outcome {
  lossX: Float32Array;
  lossZ: Float32Array;
  klPerStep: Float32Array;
  grads: Record<string, Float32Array>;
  /** Parameters after one Adam step (learning rate 1e-3, clipping at 10). */
  after: Record<string, Float32Array>;
  dispatches: number;
}

/** Loss, gradients and one Adam step of the fused trainer on a backend, from fixed seeds. */
async function run(backend: "wasm" | "webgpu", cfg: DrawConfig, batch: number): Promise<Outcome> {
  await initBackend(backend);
  const streams = splitSeed(11);
  const params = createParams(cfg, streams.init);
  const D = cfg.A * cfg.B;
  const pixels = new RandomStream("fused-webgpu-images", 2).uniform(batch * D).map((v) => (v < 0.3 ? 1 : 0));
  const x = tf.tensor2d(pixels, [batch, D]);
  const eps = drawEpsilon(cfg, batch, streams.epsilon);
  const { loss, grads } = drawLossAndGrads(cfg, params, x, eps);
  const read = async (t: tf.Tensor) => new Float32Array(await t.data());
  const out: Outcome = {
    lossX: await read(loss.lossX),
    lossZ: await read(loss.lossZ),
    klPerStep: await read(loss.klPerStep),
    grads: {},
    after: {},
    dispatches: 0,
  };
  for (const [k, g] of Object.entries(grads)) out.grads[k] = await read(g);
  tf.dispose([loss.lossX, loss.lossZ, loss.klPerStep, ...Object.values(grads)]);
  const adam = new Adam(params, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
  const before = dispatchCount();
  await trainStepAsync(cfg, params, adam, x, eps, { learningRate: 1e-3, clipNorm: 10, impl: "fused" });
  out.dispatches = dispatchCount() - before;
  for (const [k, p] of Object.entries(params)) out.after[k] = await read(p);
  throwOnWebgpuError();
  tf.dispose([x, eps, ...Object.values(params)]);
  adam.dispose();
  return out;
}

/** max |got - want| <= rtol * max |want| (1e-4 relative to the tensor's scale). */
function assertClose(got: Float32Array, want: Float32Array, what: string, rtol = 1e-4): void {
  assert(got.length === want.length, `${what}: length ${got.length}, expected ${want.length}`);
  let maxAbs = 0, maxErr = 0, at = 0;
  for (let i = 0; i < want.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(want[i]));
    const e = Math.abs(got[i] - want[i]);
    if (!(e <= maxErr)) (maxErr = e, at = i);
  }
  assert(
    maxErr <= rtol * maxAbs,
    `${what}: error ${maxErr} at ${at} (${got[at]} vs ${want[at]}) exceeds ${rtol} of max |value| ${maxAbs}`,
  );
}

/**
 * The parameters after one Adam step. At step 1 Adam moves each weight by about lr * sign(g), so where a
 * gradient is within float32 noise of zero the two backends may move it in opposite directions: elements
 * whose gradient is under 1e-3 of the tensor's largest are left out (their gradients are compared above).
 */
function assertAdamClose(gpu: Outcome, ref: Outcome): void {
  for (const [k, want] of Object.entries(ref.after)) {
    const g = ref.grads[k];
    let gMax = 0;
    for (const v of g) gMax = Math.max(gMax, Math.abs(v));
    const got = gpu.after[k];
    for (let i = 0; i < want.length; i++) {
      if (Math.abs(g[i]) < 1e-3 * gMax) continue;
      const tol = 1e-4 * Math.max(Math.abs(want[i]), 1e-3);
      assert(Math.abs(got[i] - want[i]) <= tol, `${k}[${i}] after Adam: ${got[i]}, expected ${want[i]}`);
    }
  }
}

async function compare(cfg: DrawConfig, batch: number): Promise<Outcome> {
  const ref = await run("wasm", cfg, batch);
  const gpu = await run("webgpu", cfg, batch);
  assertClose(gpu.lossX, ref.lossX, "lossX");
  assertClose(gpu.lossZ, ref.lossZ, "lossZ");
  assertClose(gpu.klPerStep, ref.klPerStep, "klPerStep");
  for (const k of Object.keys(ref.grads)) assertClose(gpu.grads[k], ref.grads[k], `gradient of ${k}`);
  assertAdamClose(gpu, ref);
  return gpu;
}

for (const c of CASES) {
  Deno.test({
    name: `the webgpu fused step equals the wasm one: ${c.name}`,
    ignore,
    fn: async () => {
      await compare(c.model, c.batch);
    },
  });
}

Deno.test({
  name: "the webgpu fused step equals the wasm one at a single image, T=1, read N=1 and write N=12",
  ignore,
  fn: async () => {
    await compare({ ...PAPER_MNIST, T: 1, nZ: 3, encSize: 8, decSize: 12, readN: 1, writeN: 12 }, 1);
  },
});

Deno.test({
  name:
    "the webgpu fused step equals the wasm one at full size (LSTM 256, batch 64, T=64, nZ=100, read 2, write 5)",
  ignore,
  fn: async () => {
    const gpu = await compare(PAPER_MNIST, 64);
    assert(gpu.dispatches <= 1500, `${gpu.dispatches} dispatches per training step`);
  },
});

Deno.test({
  name: "the webgpu fused step equals the wasm one without attention (LSTM 256, batch 16, T=8)",
  ignore,
  fn: async () => {
    await compare({ ...PAPER_MNIST, attention: false, T: 8 }, 16);
  },
});
