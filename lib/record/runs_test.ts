import { assert, assertEquals, assertRejects, assertStringIncludes, assertThrows } from "@std/assert";
import { checkExperimentName, listRuns, readRun, readRuns } from "./runs.ts";
import { appendJsonl, RecordError, writeJsonAtomic } from "./io.ts";
import { createManifest, updateManifest } from "./manifest.ts";
import { sampleManifestInit, withTempDir } from "./testutil.ts";
import type { EvalLine, GradientLine, MetricLine, Result, Samples } from "./types.ts";

function metric(step: number): MetricLine {
  return {
    step,
    epoch: step / 100,
    imagesSeen: step * 64,
    loss: 200 - step,
    lossX: 150 - step,
    lossZ: 50,
    klPerStep: [5, 5, 40],
    learningRate: 1e-3,
    wallTime: step / 10,
    imagesPerSec: 640,
  };
}

const evalLine: EvalLine = {
  step: 20,
  imagesSeen: 1280,
  split: "test",
  images: 100,
  bound: { mean: 180.5, stderr: 2.5 },
  lossX: 130,
  lossZ: 50.5,
  iwae: { mean: 178, stderr: 2.4, k: 10 },
  wallTime: 2,
};

const gradient: GradientLine = {
  step: 10,
  globalNormBefore: 12,
  globalNormAfter: 10,
  clipped: true,
  vars: { "enc/kernel": { norm: 3, mean: 0, std: 0.1, maxAbs: 0.9, fracZero: 0 } },
  histogram: { edges: [-8, -4, 0], counts: { "enc/kernel": [1, 2] } },
};

const result: Result = {
  runId: "abc123",
  status: "completed",
  steps: 20,
  epochs: 0.2,
  imagesSeen: 1280,
  wallTime: 2,
  test: evalLine,
  bestValid: null,
  bestStep: 20,
};

const samples: Samples = {
  step: 20,
  grid: [[0, 0.5, 1, 0.25]],
  sequences: [{
    A: 2,
    B: 2,
    kind: "prior",
    canvases: [[0, 0, 0, 0], [0, 0.5, 1, 0.25]],
    write: [{ gX: 1, gY: 1, delta: 1, sigma2: 0.5, N: 2 }, { gX: 1, gY: 1, delta: 1, sigma2: 0.5, N: 2 }],
  }],
};

async function makeRun(dir: string): Promise<void> {
  await createManifest(dir, sampleManifestInit());
  for (const step of [10, 20]) await appendJsonl(`${dir}/metrics.jsonl`, metric(step));
  await appendJsonl(`${dir}/gradients.jsonl`, gradient);
  await appendJsonl(`${dir}/eval.jsonl`, evalLine);
  await writeJsonAtomic(`${dir}/result.json`, result);
  await writeJsonAtomic(`${dir}/samples.json`, samples);
  await updateManifest(dir, { status: "completed", endedAt: new Date().toISOString() });
}

Deno.test("readRun() returns every record of a complete run folder", () =>
  withTempDir(async (dir) => {
    await makeRun(dir);
    const run = await readRun(dir, { gradients: true });
    assertEquals(run.status, "completed");
    assertEquals(run.manifest.runId, "abc123");
    assertEquals(run.metrics, [metric(10), metric(20)]);
    assertEquals(run.evals, [evalLine]);
    assertEquals(run.gradients, [gradient]);
    assertEquals(run.result, result);
    assertEquals(run.samples, samples);
    assertEquals(run.problems, []);
    assertEquals((await readRun(dir)).gradients, null);
  }));

Deno.test("readRun() of a run just started has a running status and empty records", () =>
  withTempDir(async (dir) => {
    await createManifest(dir, sampleManifestInit());
    const run = await readRun(dir);
    assertEquals([run.status, run.metrics, run.evals, run.result, run.samples], [
      "running",
      [],
      [],
      null,
      null,
    ]);
  }));

Deno.test("readRun() shows a running run whose heartbeat stopped as interrupted", () =>
  withTempDir(async (dir) => {
    await createManifest(dir, sampleManifestInit(), new Date("2026-01-01T00:00:00Z"));
    assertEquals((await readRun(dir, { now: new Date("2026-01-01T00:01:00Z") })).status, "running");
    assertEquals((await readRun(dir, { now: new Date("2026-01-01T00:05:00Z") })).status, "interrupted");
  }));

Deno.test("readRun() ignores a torn last metrics line and reports it", () =>
  withTempDir(async (dir) => {
    await makeRun(dir);
    await Deno.writeTextFile(`${dir}/metrics.jsonl`, '{"step":30,"epo', { append: true });
    const run = await readRun(dir);
    assertEquals(run.metrics.map((m) => m.step), [10, 20]);
    assertEquals(run.problems.length, 1);
    assertStringIncludes(run.problems[0], "metrics.jsonl: ignored an unfinished last line");
  }));

Deno.test("readRun() reports a malformed middle line by number, and strict mode refuses it", () =>
  withTempDir(async (dir) => {
    await makeRun(dir);
    const lines = (await Deno.readTextFile(`${dir}/metrics.jsonl`)).split("\n");
    lines.splice(1, 0, '{"step": "twelve"}');
    await Deno.writeTextFile(`${dir}/metrics.jsonl`, lines.join("\n"));
    const run = await readRun(dir);
    assertEquals(run.metrics.length, 2);
    assertStringIncludes(
      run.problems[0],
      'metrics.jsonl line 2 is a bad record (step must be an integer >= 0, got "twelve")',
    );
    await assertRejects(() => readRun(dir, { strict: true }), RecordError, "metrics.jsonl line 2");
  }));

Deno.test("readRun() refuses a foreign metrics file, naming it", () =>
  withTempDir(async (dir) => {
    await makeRun(dir);
    await Deno.writeTextFile(
      `${dir}/metrics.jsonl`,
      '{"level":"info","msg":"server started"}\n{"level":"warn"}\n',
    );
    const err = await assertRejects(() => readRun(dir), RecordError);
    assertStringIncludes(err.message, `${dir}/metrics.jsonl is not a redraw metrics file`);
  }));

Deno.test("readRun() refuses a truncated or foreign result.json and a malformed samples.json", () =>
  withTempDir(async (dir) => {
    await makeRun(dir);
    const text = await Deno.readTextFile(`${dir}/result.json`);
    await Deno.writeTextFile(`${dir}/result.json`, text.slice(0, 100));
    await assertRejects(() => readRun(dir), RecordError, "result.json is not valid JSON");
    await Deno.writeTextFile(`${dir}/result.json`, '{"runId": "abc123"}');
    await assertRejects(() => readRun(dir), RecordError, "result.json: status must be one of");
    await writeJsonAtomic(`${dir}/result.json`, result);
    await writeJsonAtomic(`${dir}/samples.json`, { ...samples, grid: [[0, "x"]] });
    await assertRejects(
      () => readRun(dir),
      RecordError,
      'samples.json: grid[0][1] must be a number, got "x"',
    );
  }));

Deno.test("readRun() refuses a folder without manifest, a missing folder and a plain file", () =>
  withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/notes.txt`, "hello");
    await assertRejects(
      () => readRun(dir),
      RecordError,
      "is not a redraw run folder (it has no manifest.json)",
    );
    await assertRejects(() => readRun(`${dir}/none`), RecordError, "does not exist");
    await assertRejects(() => readRun(`${dir}/notes.txt`), RecordError, "is not a folder");
  }));

Deno.test("readRun() refuses a run written by a future format version", () =>
  withTempDir(async (dir) => {
    await makeRun(dir);
    const m = JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`));
    await Deno.writeTextFile(`${dir}/manifest.json`, JSON.stringify({ ...m, formatVersion: 2 }));
    await assertRejects(() => readRun(dir), RecordError, "newer than this redraw understands");
  }));

Deno.test("listRuns() lists run folders sorted, flags ones without a manifest, and skips hidden entries", () =>
  withTempDir(async (root) => {
    assertEquals(await listRuns(root, "smoke"), []);
    await makeRun(`${root}/smoke/b2`);
    await makeRun(`${root}/smoke/a1`);
    await Deno.mkdir(`${root}/smoke/c3-crashed-early`);
    await Deno.mkdir(`${root}/smoke/.tmp`);
    await Deno.writeTextFile(`${root}/smoke/summary.md`, "");
    const runs = await listRuns(root, "smoke");
    assertEquals(runs.map((r) => [r.runId, r.hasManifest]), [["a1", true], ["b2", true], [
      "c3-crashed-early",
      false,
    ]]);
    assertEquals(runs[0].dir, `${root}/smoke/a1`);
  }));

Deno.test("readRuns() returns a broken run's error without hiding the others", () =>
  withTempDir(async (root) => {
    await makeRun(`${root}/exp/good`);
    await makeRun(`${root}/exp/bad`);
    await Deno.writeTextFile(`${root}/exp/bad/manifest.json`, "{");
    const runs = await readRuns(root, "exp");
    assertEquals(runs.map((r) => r.runId), ["bad", "good"]);
    assertStringIncludes(runs[0].error ?? "", "bad/manifest.json is not valid JSON");
    assert(runs[1].run);
    assertEquals(runs[1].run.status, "completed");
  }));

Deno.test("checkExperimentName() refuses names that could escape the runs folder", () => {
  for (const bad of ["../etc", "a/b", "..", ".hidden", "", "a\\b", "x..y", "a b", "x".repeat(129)]) {
    assertThrows(() => checkExperimentName(bad), RecordError, "must be 1-128 letters");
  }
  assertEquals(checkExperimentName("attention-ablation"), "attention-ablation");
  assertEquals(checkExperimentName("grid_v2.1"), "grid_v2.1");
});
