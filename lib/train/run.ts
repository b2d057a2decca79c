/**
 * One training run, end to end: data, model, Adam, records, checkpoints, resume, evaluation, samples.
 *
 * Starting a run whose folder holds a valid checkpoint resumes from it; lines written to the JSONL files
 * after that checkpoint are removed first, so a resumed run's records equal an uninterrupted run's (every
 * field but wall-clock timings is bit-identical on the same backend).
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { resolve } from "node:path";
import { currentBackend, initBackend } from "../backend.ts";
import {
  Batcher,
  type Dataset,
  datasetRecord,
  loadDataset,
  resolveDataDir,
  sampleBernoulli,
} from "../data/mod.ts";
import type { DrawConfig } from "../config/model.ts";
import { createParams, type DrawParams, paramShapes } from "../draw/params.ts";
import { drawEpsilon } from "../draw/model.ts";
import { evaluate } from "../eval/bound.ts";
import {
  type CheckpointTensor,
  checkTensorsMatch,
  type LoadedCheckpoint,
  loadLatestCheckpoint,
  saveCheckpoint,
} from "../record/checkpoint.ts";
import { appendJsonl, isTempFile, truncateJsonlToStep, writeJsonAtomic } from "../record/io.ts";
import {
  collectEnvironment,
  collectGit,
  createManifest,
  Heartbeat,
  lockfileSha256,
  readManifest,
  updateManifest,
} from "../record/manifest.ts";
import type { EvalLine, GradientLine, MetricLine, Result } from "../record/types.ts";
import { RandomStream, restoreStreams, splitSeed, streamSeed, streamStates } from "../random.ts";
import { faultPoint, nanAtStep } from "../faults.ts";
import { Adam } from "./adam.ts";
import type { TrainRunner, TrainRunOptions } from "./api.ts";
import { clipThreshold, type RunConfig, type StopReason } from "../config/run.ts";
import { HIST_EDGES } from "./gradstats.ts";
import { makeSamples } from "./samples.ts";
import { type StepResult, trainStepAsync } from "./step.ts";

const REPO_ROOT = new URL("../../", import.meta.url).pathname;
const FILES = { metrics: "metrics.jsonl", gradients: "gradients.jsonl", eval: "eval.jsonl" } as const;

/** Trainer state stored in each checkpoint beside the tensors. */
interface TrainerState {
  epoch: number;
  imagesSeen: number;
  wallTime: number;
  adamT: number;
  streams: ReturnType<typeof streamStates>;
  batcher: ReturnType<Batcher["state"]>;
  best: EvalLine | null;
  lastMetrics: MetricLine | null;
}

/** The learning rate at a step: lr * rate^floor(step / every) (rate 1 = constant). */
export function learningRateAt(cfg: RunConfig["train"], step: number): number {
  return cfg.learningRate * Math.pow(cfg.lrDecayRate, Math.floor(step / cfg.lrDecaySteps));
}

/** Parameters (and Adam's moments) read back asynchronously: the one read that works on every backend. */
async function tensorsOf(params: DrawParams, adam: Adam | null): Promise<CheckpointTensor[]> {
  const out: CheckpointTensor[] = [];
  const read = async (t: tf.Tensor) => (await t.data()) as Float32Array;
  for (const [name, v] of Object.entries(params)) {
    out.push({ name: `param/${name}`, shape: v.shape, data: await read(v) });
    if (!adam) continue;
    out.push({ name: `adam.m/${name}`, shape: v.shape, data: await read(adam.m[name]) });
    out.push({ name: `adam.v/${name}`, shape: v.shape, data: await read(adam.v[name]) });
  }
  return out;
}

function expectedTensors(cfg: DrawConfig, withAdam: boolean) {
  return paramShapes(cfg).flatMap(([name, shape]) =>
    withAdam
      ? [{ name: `param/${name}`, shape }, { name: `adam.m/${name}`, shape }, {
        name: `adam.v/${name}`,
        shape,
      }]
      : [{ name: `param/${name}`, shape }]
  );
}

function restoreTensors(ckpt: LoadedCheckpoint, params: DrawParams, adam: Adam | null): void {
  const byName = new Map(ckpt.tensors.map((t) => [t.name, t]));
  tf.tidy(() => {
    for (const [name, v] of Object.entries(params)) {
      v.assign(tf.tensor(byName.get(`param/${name}`)!.data, v.shape));
      if (adam) {
        adam.m[name].assign(tf.tensor(byName.get(`adam.m/${name}`)!.data, v.shape));
        adam.v[name].assign(tf.tensor(byName.get(`adam.v/${name}`)!.data, v.shape));
      }
    }
  });
}

function evalLine(
  split: "valid" | "test",
  step: number,
  imagesSeen: number,
  wallTime: number,
  r: Awaited<ReturnType<typeof evaluate>>,
): EvalLine {
  const line: EvalLine = {
    step,
    imagesSeen,
    split,
    images: r.images,
    bound: r.bound,
    lossX: r.lossX,
    lossZ: r.lossZ,
    wallTime,
  };
  if (r.iwae) line.iwae = r.iwae;
  return line;
}

async function loadData(opts: TrainRunOptions): Promise<{ train: Dataset; valid: Dataset; test: Dataset }> {
  const t = opts.config.train;
  const common = {
    dataDir: opts.dataDir,
    fixtures: opts.useFixtures ?? false,
    download: opts.download ?? false,
    binarize: t.dataset === "mnist" ? t.binarize : undefined,
  };
  // One after the other: MNIST's train and valid share a file, which must not be downloaded twice at once.
  const train = await loadDataset(t.dataset, "train", { ...common, limit: t.trainLimit || undefined });
  const valid = await loadDataset(t.dataset, "valid", { ...common, limit: t.evalValidLimit || undefined });
  const test = await loadDataset(t.dataset, "test", { ...common, limit: t.testLimit || undefined });
  if (t.dataset === "mnist" && t.binarize === "dynamic") {
    // Evaluation needs binary images too: one fixed Bernoulli sample per image, from its own named stream,
    // so every evaluation of every run with this seed sees the same binary validation and test sets.
    for (const d of [valid, test]) {
      sampleBernoulli(
        d.images,
        new RandomStream(`binarize-${d.split}`, streamSeed(opts.config.seed, `binarize-${d.split}`)),
      );
    }
  }
  return { train, valid, test };
}

/**
 * Prepares a run folder for (re)starting, under its lock: removes temporary files a killed writer left
 * behind and a result.json that does not say completed (a failed run being retried), so that the folder
 * reads as an unfinished run until this run ends.
 */
async function clearUnfinished(runDir: string): Promise<void> {
  for await (const e of Deno.readDir(runDir)) {
    if (e.isFile && isTempFile(e.name)) await Deno.remove(`${runDir}/${e.name}`).catch(() => {});
  }
  let status: unknown = null;
  try {
    status = (JSON.parse(await Deno.readTextFile(`${runDir}/result.json`)) as { status?: unknown })?.status;
  } catch {
    return; // missing; an unreadable one is left for the user (the runner refuses such a folder)
  }
  if (status !== "completed") await Deno.remove(`${runDir}/result.json`);
}

/**
 * Trains one run (see module doc). Resolves with the final {@linkcode Result}; the run's status is
 * `completed`, `failed` (non-finite loss or gradients, with diagnostics in the manifest) or `interrupted`
 * (aborted through `opts.signal`, after writing a checkpoint).
 */
export const trainRun: TrainRunner = async (opts) => {
  const { runDir, config } = opts;
  const model = config.model;
  const tc = config.train;
  const backend = currentBackend() ?? await initBackend("wasm");
  await Deno.mkdir(runDir, { recursive: true });
  const data = await loadData(opts);

  // Resume point, then the manifest (created on first start, updated on resume).
  const { checkpoint, notes } = await loadLatestCheckpoint(runDir);
  // Only a missing manifest means "new run"; an unreadable or newer-format one stops the run untouched.
  let manifestExists = true;
  try {
    await Deno.lstat(`${runDir}/manifest.json`);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    manifestExists = false;
  }
  if (manifestExists) await readManifest(runDir);
  await clearUnfinished(runDir);
  const resumeStep = checkpoint?.step ?? 0;
  // The final test line is written after the last checkpoint: an unfinished run's is evaluated again.
  for (const f of Object.values(FILES)) {
    await truncateJsonlToStep(`${runDir}/${f}`, resumeStep, { drop: (l) => l.split === "test" });
  }
  const resumeNotes = [...notes, ...(checkpoint ? [`resumed from ${checkpoint.name}`] : [])];
  const seeds = splitSeed(config.seed);
  if (!manifestExists) {
    await createManifest(runDir, {
      runId: opts.runId,
      experiment: opts.experiment,
      cell: opts.cell,
      config,
      seeds: {
        root: config.seed,
        streams: Object.fromEntries(Object.entries(seeds).map(([k, s]) => [k, s.seed])),
      },
      dataset: {
        ...datasetRecord([data.train, data.valid, data.test]),
        fixtures: opts.useFixtures ?? false,
        ...(opts.useFixtures ? {} : { dir: resolve(resolveDataDir({ dataDir: opts.dataDir })) }),
      },
      environment: await collectEnvironment({
        requested: backend.requested,
        obtained: backend.name,
        device: backend.device,
        tfjsVersion: backend.tfjsVersion,
      }),
      git: await collectGit(REPO_ROOT, runDir),
      lockSha256: await lockfileSha256(REPO_ROOT),
      command: opts.command,
      notes: resumeNotes,
    });
  } else {
    await updateManifest(runDir, (m) => ({
      status: "running",
      reason: undefined,
      failure: undefined,
      endedAt: null,
      heartbeatAt: new Date().toISOString(),
      notes: [...m.notes, ...resumeNotes],
    }));
  }

  // Model, optimiser, streams, batcher: fresh, then overwritten from the checkpoint.
  let streams = seeds;
  const params = createParams(model, streams.init);
  const adam = new Adam(params, { beta1: tc.beta1, beta2: tc.beta2, epsilon: tc.adamEpsilon });
  let state: TrainerState | null = null;
  if (checkpoint) {
    checkTensorsMatch(checkpoint, expectedTensors(model, true));
    restoreTensors(checkpoint, params, adam);
    state = checkpoint.state as unknown as TrainerState;
    streams = restoreStreams(state.streams);
    adam.t = state.adamT;
  }
  const batcher = new Batcher(data.train, {
    batchSize: tc.batchSize,
    dropLast: tc.dropLast,
    order: streams.dataOrder,
    binarize: streams.binarize,
  });
  if (state) batcher.restore(state.batcher);

  let step = resumeStep;
  let imagesSeen = state?.imagesSeen ?? 0;
  let best = state?.best ?? null;
  let lastMetrics = state?.lastMetrics ?? null;
  const wallBefore = state?.wallTime ?? 0;
  const t0 = performance.now();
  const wall = () => wallBefore + (performance.now() - t0) / 1000;
  const perEpoch = batcher.batchesPerEpoch;
  const stepLimit = Math.min(
    tc.budget.steps ?? Infinity,
    tc.budget.epochs !== undefined ? Math.max(1, Math.round(tc.budget.epochs * perEpoch)) : Infinity,
  );
  const deadline = tc.budget.minutes !== undefined ? tc.budget.minutes * 60 : Infinity;
  const evalEvery = tc.evalEvery > 0 ? tc.evalEvery : perEpoch;
  // Early stopping is decided at validation steps from the best line, which checkpoints keep: a resumed run
  // stops where an uninterrupted one would.
  const patienceSteps = tc.budget.patience !== undefined
    ? Math.round(tc.budget.patience * perEpoch)
    : Infinity;
  const patienceOver = () =>
    best !== null && step > 0 && step % evalEvery === 0 && step - best.step >= patienceSteps;
  let stoppedBy: StopReason | undefined;
  const nanAt = opts.faults?.nanAtStep ?? nanAtStep(opts.runId);
  const heartbeat = new Heartbeat(runDir, { intervalSeconds: 10 });
  heartbeat.start();

  const checkpointNow = async () => {
    const s: TrainerState = {
      epoch: batcher.epoch,
      imagesSeen,
      wallTime: wall(),
      adamT: adam.t,
      streams: streamStates(streams),
      batcher: batcher.state(),
      best,
      lastMetrics,
    };
    await saveCheckpoint(runDir, {
      step,
      state: s as unknown as Record<string, unknown>,
      tensors: await tensorsOf(params, adam),
    });
  };
  const validate = async () => {
    const r = await evaluate(
      model,
      params,
      data.valid.images,
      data.valid.n,
      new RandomStream("eval", streams.eval.seed),
    );
    const line = evalLine("valid", step, imagesSeen, wall(), r);
    await appendJsonl(`${runDir}/${FILES.eval}`, line);
    if (!best || r.bound.mean < best.bound.mean) {
      best = line;
      await saveCheckpoint(
        runDir,
        { step, state: { bound: r.bound.mean }, tensors: await tensorsOf(params, null) },
        1,
        {
          folder: "checkpoints/best",
        },
      );
    }
  };
  const finish = async (patch: Parameters<typeof updateManifest>[1]) => {
    await heartbeat.stop();
    await updateManifest(runDir, patch);
  };

  let windowStart = performance.now();
  let windowImages = 0;
  let lastProgress = 0;
  try {
    while (step < stepLimit && wall() < deadline && !patienceOver()) {
      const stopReason = opts.signal?.aborted
        ? "stopped by a signal"
        : opts.maxSteps !== undefined && step >= opts.maxSteps
        ? `stopped at step ${step} as asked (maxSteps)`
        : null;
      if (stopReason) {
        await checkpointNow();
        await finish({ status: "interrupted", reason: stopReason, endedAt: new Date().toISOString() });
        return resultOf("interrupted");
      }
      const batch = batcher.next();
      const logNow = (step + 1) % tc.logEvery === 0 || step === 0;
      const histNow = (step + 1) % tc.histEvery === 0;
      const x = tf.tensor2d(batch.images, [batch.n, model.A * model.B]);
      const eps = drawEpsilon(model, batch.n, streams.epsilon);
      let r: StepResult;
      try {
        // Asynchronous read-back: the same bits as trainStep() (tested), and it works on webgpu too.
        r = await trainStepAsync(model, params, adam, x, eps, {
          learningRate: learningRateAt(tc, step),
          clipNorm: clipThreshold(tc.clipNorm),
          stats: logNow,
          histogram: histNow,
          injectNaN: nanAt !== undefined && step + 1 === nanAt,
        });
      } finally {
        tf.dispose([x, eps]);
      }
      if (!r.finite) {
        const offending = r.nonFinite?.length ? r.nonFinite : ["loss"];
        await finish({
          status: "failed",
          reason: `Non-finite loss or gradient at step ${step + 1} (loss ${r.loss}, gradient norm ` +
            `${r.globalNormBefore}) in: ${offending.join(", ")}`,
          failure: { step: step + 1, lastMetrics, offending },
          endedAt: new Date().toISOString(),
        });
        // result.json last: it is the commit point the experiment runner reads (a failed run is retried
        // only when asked); a crash before it leaves an unfinished run, which is resumed.
        const failed = resultOf("failed");
        await writeJsonAtomic(`${runDir}/result.json`, failed);
        return failed;
      }
      step += 1;
      imagesSeen += batch.n;
      windowImages += batch.n;
      if (logNow) {
        const now = performance.now();
        const metrics: MetricLine = {
          step,
          epoch: imagesSeen / data.train.n,
          imagesSeen,
          loss: r.loss,
          lossX: r.lossX,
          lossZ: r.lossZ,
          klPerStep: r.klPerStep!,
          learningRate: learningRateAt(tc, step - 1),
          wallTime: wall(),
          imagesPerSec: windowImages / Math.max((now - windowStart) / 1000, 1e-9),
        };
        lastMetrics = metrics;
        windowStart = now;
        windowImages = 0;
        await appendJsonl(`${runDir}/${FILES.metrics}`, metrics);
        faultPoint(`step:${step}`);
        const grad: GradientLine = {
          step,
          globalNormBefore: r.globalNormBefore,
          globalNormAfter: r.globalNormAfter,
          clipped: r.clipped,
          vars: r.gradStats!,
        };
        if (r.histogram) grad.histogram = { edges: [...HIST_EDGES], counts: r.histogram };
        await appendJsonl(`${runDir}/${FILES.gradients}`, grad);
      }
      if (step % evalEvery === 0) await validate();
      if (step % tc.checkpointEvery === 0) await checkpointNow();
      if (opts.onProgress && (performance.now() - lastProgress > 500 || step === stepLimit)) {
        lastProgress = performance.now();
        const rate = lastMetrics?.imagesPerSec ?? null;
        const byTime = deadline === Infinity ? Infinity : deadline - wall();
        const bySteps = stepLimit === Infinity || !rate
          ? Infinity
          : ((stepLimit - step) * tc.batchSize) / rate;
        const eta = Math.min(byTime, bySteps);
        opts.onProgress({
          runId: opts.runId,
          phase: "train",
          step,
          totalSteps: Number.isFinite(stepLimit) ? stepLimit : null,
          epoch: imagesSeen / data.train.n,
          loss: r.loss,
          imagesPerSec: rate,
          etaSeconds: Number.isFinite(eta) ? eta : null,
        });
      }
    }

    // End of budget: final checkpoint, validation (if the last step did not just do it), test evaluation.
    stoppedBy = patienceOver()
      ? "patience"
      : step >= stepLimit
      ? (tc.budget.steps !== undefined && tc.budget.steps <= stepLimit ? "steps" : "epochs")
      : "minutes";
    if (step % tc.checkpointEvery !== 0) await checkpointNow();
    if (step % evalEvery !== 0 || step === 0) await validate();
    opts.onProgress?.({
      runId: opts.runId,
      phase: "eval",
      step,
      totalSteps: Number.isFinite(stepLimit) ? stepLimit : null,
      epoch: imagesSeen / data.train.n,
      loss: lastMetrics?.loss ?? null,
      imagesPerSec: null,
      etaSeconds: null,
    });
    const bestCkpt = (await loadLatestCheckpoint(runDir, { folder: "checkpoints/best" })).checkpoint;
    if (bestCkpt) {
      checkTensorsMatch(bestCkpt, expectedTensors(model, false));
      restoreTensors(bestCkpt, params, null);
    }
    const evalStream = new RandomStream("eval", streams.eval.seed);
    const test = await evaluate(model, params, data.test.images, data.test.n, evalStream, {
      samples: tc.evalSamples,
      iwaeK: tc.iwaeK,
    });
    const testLine = evalLine("test", step, imagesSeen, wall(), test);
    await appendJsonl(`${runDir}/${FILES.eval}`, testLine);
    const samples = await makeSamples(
      model,
      params,
      new RandomStream("samples", streamSeed(config.seed, "samples")),
      step,
      data.test.images,
    );
    await writeJsonAtomic(`${runDir}/samples.json`, samples);
    const result = resultOf("completed", testLine);
    // The manifest first, result.json last: result.json is the commit point (the runner skips a run that has
    // one), so a crash between the two leaves an unfinished run that is resumed, never a completed result
    // beside a manifest stuck at "running".
    await finish({ status: "completed", endedAt: new Date().toISOString() });
    await writeJsonAtomic(`${runDir}/result.json`, result);
    return result;
  } catch (e) {
    await finish({
      status: "failed",
      reason: `Error: ${(e as Error).message}`,
      endedAt: new Date().toISOString(),
    })
      .catch(() => {});
    throw e;
  } finally {
    await heartbeat.stop();
    adam.dispose();
    for (const v of Object.values(params)) v.dispose();
  }

  function resultOf(status: Result["status"], test: EvalLine | null = null): Result {
    return {
      runId: opts.runId,
      status,
      steps: step,
      epochs: imagesSeen / data.train.n,
      imagesSeen,
      wallTime: wall(),
      test,
      bestValid: best,
      bestStep: best?.step ?? null,
      ...(stoppedBy ? { stoppedBy } : {}),
    };
  }
};
