import {
  assert,
  assertEquals,
  assertGreater,
  assertMatch,
  assertNotEquals,
  assertStringIncludes,
} from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend, webgpuAdapter } from "../backend.ts";
import { listCheckpoints } from "../record/checkpoint.ts";
import { readJsonl } from "../record/io.ts";
import { readManifest } from "../record/manifest.ts";
import type { EvalLine, GradientLine, MetricLine, Result } from "../record/types.ts";
import { validateManifest } from "../record/validate.ts";
import type { RunConfig } from "../config/run.ts";
import { tinyRunConfig } from "./testing.ts";
import { trainRun } from "./run.ts";
import { compareLines, verifyRun } from "./verify.ts";

const tinyConfig = tinyRunConfig;

async function run(dir: string, config: RunConfig, extra: { maxSteps?: number; nanAtStep?: number } = {}) {
  return await trainRun({
    runDir: dir,
    experiment: "test",
    cell: { attention: true },
    runId: "test-run",
    config,
    useFixtures: true,
    command: "deno test",
    maxSteps: extra.maxSteps,
    faults: extra.nanAtStep ? { nanAtStep: extra.nanAtStep } : undefined,
  });
}

const lines = async <T>(p: string) => (await readJsonl<T>(p)).lines;
const untimed = (l: MetricLine) => ({ ...l, wallTime: 0, imagesPerSec: 0 });
const evalUntimed = (l: EvalLine) => ({ ...l, wallTime: 0 });

// webgpu: the fused WGSL kernels reduce in a fixed order, so one adapter gives the same bits every time.
const noWebgpu = (await webgpuAdapter()) === null;
for (const backend of ["wasm", "cpu", "webgpu"] as const) {
  Deno.test({
    name:
      `a run stopped half-way and resumed on ${backend} records exactly the metrics of an uninterrupted run`,
    ignore: backend === "webgpu" && noWebgpu,
  }, async () => {
    await initBackend(backend);
    const a = await Deno.makeTempDir();
    const b = await Deno.makeTempDir();
    try {
      const before = tf.memory().numTensors;
      const full = await run(a, tinyConfig(10));
      assertEquals(tf.memory().numTensors, before, "trainRun leaks no tensors");
      const half = await run(b, tinyConfig(10), { maxSteps: 6 });
      assertEquals(half.status, "interrupted");
      assertEquals((await readManifest(b)).status, "interrupted");
      const resumed = await run(b, tinyConfig(10));
      assertEquals(resumed.status, "completed");
      assertStringIncludes((await readManifest(b)).notes.join("\n"), "resumed from ckpt-000000006");
      const [ma, mb] = [
        await lines<MetricLine>(`${a}/metrics.jsonl`),
        await lines<MetricLine>(`${b}/metrics.jsonl`),
      ];
      assertEquals(ma.length, 10);
      assertEquals(mb.map(untimed), ma.map(untimed));
      assertEquals(
        await lines<GradientLine>(`${b}/gradients.jsonl`),
        await lines<GradientLine>(`${a}/gradients.jsonl`),
      );
      const [ea, eb] = [await lines<EvalLine>(`${a}/eval.jsonl`), await lines<EvalLine>(`${b}/eval.jsonl`)];
      assertEquals(eb.map(evalUntimed), ea.map(evalUntimed));
      assertEquals(resumed.test!.bound, full.test!.bound);
      assertEquals(resumed.test!.iwae, full.test!.iwae);
    } finally {
      await Deno.remove(a, { recursive: true });
      await Deno.remove(b, { recursive: true });
    }
  });
}

Deno.test("a completed run writes a complete, typed manifest and every record file", async () => {
  await initBackend("wasm");
  const dir = await Deno.makeTempDir();
  try {
    const r: Result = await run(dir, tinyConfig(6));
    const m = await readManifest(dir);
    validateManifest(m, `${dir}/manifest.json`);
    assertEquals(m.status, "completed");
    assertEquals(m.environment.backend, "wasm");
    assertEquals(m.seeds.root, 1);
    assertEquals(Object.keys(m.seeds.streams).sort(), ["binarize", "dataOrder", "epsilon", "eval", "init"]);
    assertEquals(m.dataset.fixtures, true);
    assertEquals(Object.keys(m.dataset.sha256).length, 3);
    assert(m.endedAt !== null);
    assertEquals(r.steps, 6);
    assertEquals(r.test!.images, 32);
    assertGreater(r.test!.iwae!.k, 0);
    const grads = await lines<GradientLine>(`${dir}/gradients.jsonl`);
    assertEquals(grads.length, 6);
    assert("enc/W" in grads[0].vars && "read/attW" in grads[0].vars);
    assert(grads.some((g) => g.histogram !== undefined));
    const samples = JSON.parse(await Deno.readTextFile(`${dir}/samples.json`));
    assertEquals(samples.grid[0].length, 784);
    assertEquals(samples.sequences[0].canvases.length, 3);
    assertEquals(samples.sequences[0].write.length, 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a NaN in the loss stops the run as failed with the step, last metrics and offending variables", async () => {
  await initBackend("wasm");
  const dir = await Deno.makeTempDir();
  try {
    const r = await run(dir, tinyConfig(10), { nanAtStep: 4 });
    assertEquals(r.status, "failed");
    const m = await readManifest(dir);
    assertEquals(m.status, "failed");
    assertEquals(m.failure!.step, 4);
    assertEquals(m.failure!.lastMetrics!.step, 3);
    assertGreater(m.failure!.offending.length, 0);
    assertMatch(m.reason!, /Non-finite loss or gradient at step 4/);
    assertEquals(
      (await lines<MetricLine>(`${dir}/metrics.jsonl`)).length,
      3,
      "nothing recorded after the NaN",
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a corrupt newest checkpoint is skipped on resume, and the manifest says so", async () => {
  await initBackend("wasm");
  const dir = await Deno.makeTempDir();
  try {
    await run(dir, tinyConfig(10), { maxSteps: 9 }); // checkpoints at 4, 8 and 9
    const ckpts = await listCheckpoints(dir);
    assertEquals(ckpts.map((c) => c.step), [4, 8, 9]);
    const bin = await Deno.readFile(ckpts[2].binPath);
    bin[100] ^= 0xff;
    await Deno.writeFile(ckpts[2].binPath, bin);
    const r = await run(dir, tinyConfig(10));
    assertEquals(r.status, "completed");
    const notes = (await readManifest(dir)).notes.join("\n");
    assertStringIncludes(notes, "ckpt-000000009");
    assertStringIncludes(notes, "resumed from ckpt-000000008");
    assertEquals((await lines<MetricLine>(`${dir}/metrics.jsonl`)).map((l) => l.step), [
      1,
      2,
      3,
      4,
      5,
      6,
      7,
      8,
      9,
      10,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("verifyRun() reproduces a run and finds a deliberately changed metric", async () => {
  await initBackend("wasm");
  const dir = await Deno.makeTempDir();
  try {
    await run(dir, tinyConfig(6));
    const ok = await verifyRun(dir, { steps: 6 });
    assert(ok.identical, JSON.stringify(ok.firstDifference));
    assertEquals(ok.compared["metrics.jsonl"], 6);
    const text = await Deno.readTextFile(`${dir}/metrics.jsonl`);
    const changed = text.split("\n").map((l) => {
      if (!l) return l;
      const o = JSON.parse(l);
      if (o.step === 5) o.lossZ = o.lossZ + 1e-6;
      return JSON.stringify(o);
    }).join("\n");
    await Deno.writeTextFile(`${dir}/metrics.jsonl`, changed);
    const bad = await verifyRun(dir, { steps: 6 });
    assertEquals(bad.identical, false);
    assertEquals(bad.firstDifference!.step, 5);
    assertEquals(bad.firstDifference!.field, "lossZ");
    assertNotEquals(bad.firstDifference!.recorded, bad.firstDifference!.recomputed);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("compareLines() ignores timings and reports a missing line", () => {
  const a = [{ step: 1, loss: 2, wallTime: 1 }, { step: 2, loss: 3, wallTime: 2 }];
  const b = [{ step: 1, loss: 2, wallTime: 9 }];
  const r = compareLines("m", a, b, 2);
  assertEquals(r.compared, 1);
  assertEquals(r.diff!.step, 2);
  assertEquals(compareLines("m", a, [{ ...a[0], wallTime: 5 }, a[1]], 2).diff, null);
});

Deno.test("trainRun() records that its step budget stopped it", async () => {
  await initBackend("wasm");
  const dir = await Deno.makeTempDir();
  try {
    const r = await run(dir, tinyConfig(6));
    assertEquals([r.status, r.steps, r.stoppedBy], ["completed", 6, "steps"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("trainRun() stops early once validation has not improved for `patience` epochs, also after a resume", async () => {
  await initBackend("wasm");
  const [a, b] = [await Deno.makeTempDir(), await Deno.makeTempDir()];
  try {
    // 256 fixture images in batches of 16: 16 steps per epoch, so patience 0.5 epoch is 8 steps. A learning
    // rate too small to move any float32 weight keeps every validation bound equal to the first (step 5),
    // which stays the best: the run stops at the first validation at least 8 steps later, step 15.
    const cfg = tinyConfig(100, { learningRate: 1e-30, budget: { steps: 100, patience: 0.5 } });
    const full = await run(a, cfg);
    assertEquals([full.status, full.stoppedBy, full.bestStep, full.steps], ["completed", "patience", 5, 15]);
    await run(b, cfg, { maxSteps: 12 });
    const resumed = await run(b, cfg);
    assertEquals([resumed.stoppedBy, resumed.bestStep, resumed.steps], ["patience", 5, 15]);
  } finally {
    for (const d of [a, b]) await Deno.remove(d, { recursive: true });
  }
});

Deno.test("trainRun() with clipNorm 0 never clips: the norm after equals the norm before", async () => {
  await initBackend("wasm");
  const dir = await Deno.makeTempDir();
  try {
    await run(dir, tinyConfig(4, { clipNorm: 0 }));
    const grads = await lines<GradientLine>(`${dir}/gradients.jsonl`);
    assertEquals(grads.length, 4);
    for (const g of grads) {
      assertEquals(g.clipped, false);
      assertEquals(g.globalNormAfter, g.globalNormBefore);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
