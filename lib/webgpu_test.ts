import { assert, assertAlmostEquals, assertEquals, assertRejects, assertThrows } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend, webgpuAdapter } from "./backend.ts";
import { type DrawConfig, PAPER_MNIST } from "./config/model.ts";
import { drawEpsilon } from "./draw/model.ts";
import { createParams } from "./draw/params.ts";
import { RandomStream, splitSeed } from "./random.ts";
import { Adam } from "./train/adam.ts";
import { type StepResult, trainStepAsync } from "./train/step.ts";
import { addNChunk, throwOnWebgpuError, webgpuError } from "./webgpu.ts";
import { readJsonl } from "./record/io.ts";
import { readManifest } from "./record/manifest.ts";
import type { MetricLine } from "./record/types.ts";
import { tinyRunConfig } from "./train/testing.ts";
import { trainRun } from "./train/run.ts";

// Runs wherever a WebGPU adapter exists: llvmpipe in CI (Debian's mesa-vulkan-drivers), a real GPU elsewhere.
const ignore = (await webgpuAdapter()) === null;

function device(): GPUDevice {
  return (tf.backend() as unknown as { device: GPUDevice }).device;
}

/** Makes the device report a validation error (a buffer with no usage) and waits until it is delivered. */
async function provokeDeviceError(): Promise<void> {
  device().createBuffer({ size: 4, usage: 0 });
  await device().queue.onSubmittedWorkDone();
  for (let i = 0; i < 50 && webgpuError() === null; i++) await new Promise((r) => setTimeout(r, 10));
}

Deno.test({
  name: "tf.addN() on webgpu sums more tensors than one dispatch may bind",
  ignore,
  fn: async () => {
    await initBackend("webgpu");
    const chunk = addNChunk(device());
    // Small integers: every grouping of the sum is exact, so the result must equal the plain sum.
    for (const k of [chunk, chunk + 1, 2 * chunk + 3, chunk * chunk + 2]) {
      const xs = Array.from({ length: k }, (_, i) => tf.tensor1d([i + 1, 2 * i, -i]));
      const before = tf.memory().numTensors;
      const s = tf.addN(xs);
      assertEquals(Array.from(await s.data()), [k * (k + 1) / 2, k * (k - 1), -k * (k - 1) / 2], `k = ${k}`);
      s.dispose();
      assertEquals(tf.memory().numTensors, before, "partial sums leaked");
      tf.dispose(xs);
    }
    throwOnWebgpuError();
  },
});

Deno.test({
  name: "throwOnWebgpuError() raises the device's validation error once, with its message",
  ignore,
  fn: async () => {
    await initBackend("webgpu");
    throwOnWebgpuError(); // nothing pending from earlier tests
    await provokeDeviceError();
    assert(webgpuError() !== null, "the device reported no error");
    assertThrows(() => throwOnWebgpuError(), Error, "WebGPU reported an error");
    throwOnWebgpuError(); // reported once
  },
});

const SMALL: DrawConfig = {
  ...PAPER_MNIST,
  A: 12,
  B: 10,
  T: 4,
  nZ: 5,
  encSize: 24,
  decSize: 20,
  readN: 2,
  writeN: 3,
};

async function threeSteps(backend: "webgpu" | "wasm", cfg: DrawConfig): Promise<StepResult[]> {
  await initBackend(backend);
  const streams = splitSeed(9);
  const params = createParams(cfg, streams.init);
  const adam = new Adam(params, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
  const D = cfg.A * cfg.B;
  const u = new RandomStream("webgpu-x", 4).uniform(64 * D);
  const x = tf.tensor2d(Float32Array.from(u, (v) => (v < 0.4 ? 1 : 0)), [64, D]);
  const out: StepResult[] = [];
  try {
    for (let s = 0; s < 3; s++) {
      const eps = drawEpsilon(cfg, 64, streams.epsilon);
      try {
        out.push(
          await trainStepAsync(cfg, params, adam, x, eps, { learningRate: 3e-3, clipNorm: 10, impl: "tape" }),
        );
      } finally {
        eps.dispose();
      }
    }
  } finally {
    x.dispose();
    adam.dispose();
    for (const v of Object.values(params)) v.dispose();
  }
  return out;
}

for (const attention of [true, false]) {
  Deno.test({
    name: `trainStepAsync() on webgpu gives wasm's losses and gradient norms (batch 64, ${
      attention ? "attention" : "no attention"
    })`,
    ignore,
    fn: async () => {
      const cfg = { ...SMALL, attention };
      const ref = await threeSteps("wasm", cfg);
      await initBackend("webgpu");
      const before = tf.memory().numTensors;
      const got = await threeSteps("webgpu", cfg);
      assertEquals(tf.memory().numTensors, before, "tensors leaked on webgpu");
      for (let s = 0; s < 3; s++) {
        // Before the AddN guard, the gradient norm's AddN failed validation and the step read back zeros.
        assert(got[s].loss > 1, `step ${s}: loss ${got[s].loss}`);
        assertAlmostEquals(got[s].loss, ref[s].loss, 1e-3 * ref[s].loss, `step ${s} loss`);
        assertAlmostEquals(got[s].lossZ, ref[s].lossZ, 1e-3 * Math.max(1, ref[s].lossZ), `step ${s} KL`);
        assertAlmostEquals(got[s].globalNormBefore, ref[s].globalNormBefore, 1e-3 * ref[s].globalNormBefore);
      }
    },
  });
}

Deno.test({
  name: "trainStepAsync() on webgpu stops before Adam when the device has reported an error",
  ignore,
  fn: async () => {
    await initBackend("webgpu");
    const streams = splitSeed(9);
    const params = createParams(SMALL, streams.init);
    const adam = new Adam(params, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
    const x = tf.ones([2, SMALL.A * SMALL.B]) as tf.Tensor2D;
    const eps = drawEpsilon(SMALL, 2, streams.epsilon);
    try {
      const before = Object.fromEntries(Object.entries(params).map(([k, v]) => [k, v.dataSync()]));
      const tensors = tf.memory().numTensors;
      await provokeDeviceError();
      await assertRejects(
        () => trainStepAsync(SMALL, params, adam, x, eps, { learningRate: 1e-2, clipNorm: 10, impl: "tape" }),
        Error,
        "WebGPU reported an error",
      );
      assertEquals(tf.memory().numTensors, tensors, "tensors leaked");
      assertEquals(adam.t, 0, "Adam stepped");
      for (const [k, v] of Object.entries(params)) assertEquals(await v.data(), before[k], k);
    } finally {
      tf.dispose([x, eps]);
      adam.dispose();
      for (const v of Object.values(params)) v.dispose();
    }
  },
});

Deno.test({
  name: "a training run on webgpu completes and records the losses and test bound of the same run on wasm",
  ignore,
  fn: async () => {
    const config = tinyRunConfig(6);
    const runOn = async (backend: "wasm" | "webgpu", dir: string) => {
      await initBackend(backend);
      return await trainRun({
        runDir: dir,
        experiment: "test",
        cell: { attention: true },
        runId: "webgpu-run",
        config,
        useFixtures: true,
        command: "deno test",
      });
    };
    const [a, b] = [await Deno.makeTempDir(), await Deno.makeTempDir()];
    try {
      const ref = await runOn("wasm", a);
      const got = await runOn("webgpu", b);
      assertEquals(got.status, "completed");
      assertEquals((await readManifest(b)).environment.backend, "webgpu");
      const [ma, mb] = [
        (await readJsonl<MetricLine>(`${a}/metrics.jsonl`)).lines,
        (await readJsonl<MetricLine>(`${b}/metrics.jsonl`)).lines,
      ];
      assertEquals(mb.length, 6);
      // Float32 on another device: the same trajectory to rounding, not bit for bit.
      for (let s = 0; s < 6; s++) {
        assertAlmostEquals(mb[s].loss, ma[s].loss, 1e-3 * ma[s].loss, `step ${s + 1}`);
      }
      assertAlmostEquals(got.test!.bound.mean, ref.test!.bound.mean, 1e-3 * ref.test!.bound.mean);
    } finally {
      await Deno.remove(a, { recursive: true });
      await Deno.remove(b, { recursive: true });
    }
  },
});
