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

/** What opening the run folder found and wrote: the resume checkpoint, the seeds, the manifest. */
interface Opened {
  checkpoint: LoadedCheckpoint | null;
  seeds: ReturnType<typeof splitSeed>;
}

/**
 * Opens the run folder for a start or a resume: finds the latest valid checkpoint, removes what was written
 * after it (and a final test line, which is evaluated again), then creates the manifest (first start) or
 * marks it running again (resume). Only a missing manifest means "new run"; an unreadable or newer-format
 * one stops the run untouched.
 */
async function openRun(
  opts: TrainRunOptions,
  backend: NonNullable<ReturnType<typeof currentBackend>>,
  data: { train: Dataset; valid: Dataset; test: Dataset },
): Promise<Opened> {
  const { runDir, config } = opts;
  const { checkpoint, notes } = await loadLatestCheckpoint(runDir);
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
  for (const f of Object.values(FILES)) {
    await truncateJsonlToStep(`${runDir}/${f}`, resumeStep, { drop: (l) => l.split === "test" });
  }
  const resumeNotes = [...notes, ...(checkpoint ? [`resumed from ${checkpoint.name}`] : [])];
  const seeds = splitSeed(config.seed);
  if (manifestExists) {
    await updateManifest(runDir, (m) => ({
      status: "running",
      reason: undefined,
      failure: undefined,
      endedAt: null,
      heartbeatAt: new Date().toISOString(),
      notes: [...m.notes, ...resumeNotes],
    }));
    return { checkpoint, seeds };
  }
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
  return { checkpoint, seeds };
}

/** When a run stops: the step limit, the wall-clock deadline, the validation period and the patience. */
function budgetOf(tc: RunConfig["train"], perEpoch: number) {
  return {
    stepLimit: Math.min(
      tc.budget.steps ?? Infinity,
      tc.budget.epochs !== undefined ? Math.max(1, Math.round(tc.budget.epochs * perEpoch)) : Infinity,
    ),
    deadline: tc.budget.minutes !== undefined ? tc.budget.minutes * 60 : Infinity,
    evalEvery: tc.evalEvery > 0 ? tc.evalEvery : perEpoch,
    // Early stopping is decided at validation steps from the best line, which checkpoints keep: a resumed
    // run stops where an uninterrupted one would.
    patienceSteps: tc.budget.patience !== undefined ? Math.round(tc.budget.patience * perEpoch) : Infinity,
  };
}

/**
 * A run in progress: the model, the optimiser, the streams and the batcher (fresh, then overwritten from
 * the checkpoint), the counters a checkpoint keeps, and the phases that use them.
 */
class Run {
  readonly params: DrawParams;
  readonly adam: Adam;
  readonly streams: ReturnType<typeof splitSeed>;
  readonly batcher: Batcher;
  readonly budget: ReturnType<typeof budgetOf>;
  readonly heartbeat: Heartbeat;
  readonly nanAt: number | undefined;
  step: number;
  imagesSeen: number;
  best: EvalLine | null;
  lastMetrics: MetricLine | null;
  stoppedBy: StopReason | undefined;
  private readonly wallBefore: number;
  private readonly t0 = performance.now();
  private windowStart = 0;
  private windowImages = 0;
  private lastProgress = 0;

  constructor(
    readonly opts: TrainRunOptions,
    readonly data: { train: Dataset; valid: Dataset; test: Dataset },
    { checkpoint, seeds }: Opened,
  ) {
    const { model, train: tc } = opts.config;
    let streams = seeds;
    this.params = createParams(model, streams.init);
    this.adam = new Adam(this.params, { beta1: tc.beta1, beta2: tc.beta2, epsilon: tc.adamEpsilon });
    let state: TrainerState | null = null;
    if (checkpoint) {
      checkTensorsMatch(checkpoint, expectedTensors(model, true));
      restoreTensors(checkpoint, this.params, this.adam);
      state = checkpoint.state as unknown as TrainerState;
      streams = restoreStreams(state.streams);
      this.adam.t = state.adamT;
    }
    this.streams = streams;
    this.batcher = new Batcher(data.train, {
      batchSize: tc.batchSize,
      dropLast: tc.dropLast,
      order: streams.dataOrder,
      binarize: streams.binarize,
    });
    if (state) this.batcher.restore(state.batcher);
    this.step = checkpoint?.step ?? 0;
    this.imagesSeen = state?.imagesSeen ?? 0;
    this.best = state?.best ?? null;
    this.lastMetrics = state?.lastMetrics ?? null;
    this.wallBefore = state?.wallTime ?? 0;
    this.budget = budgetOf(tc, this.batcher.batchesPerEpoch);
    this.nanAt = opts.faults?.nanAtStep ?? nanAtStep(opts.runId);
    this.heartbeat = new Heartbeat(opts.runDir, { intervalSeconds: 10 });
  }

  /** Seconds of training, over every start of this run. */
  wall(): number {
    return this.wallBefore + (performance.now() - this.t0) / 1000;
  }

  private get runDir(): string {
    return this.opts.runDir;
  }

  private patienceOver(): boolean {
    const { evalEvery, patienceSteps } = this.budget;
    return this.best !== null && this.step > 0 && this.step % evalEvery === 0 &&
      this.step - this.best.step >= patienceSteps;
  }

  /** Trains until the budget ends (null) or the run stops early: interrupted or failed (its result). */
  async trainLoop(): Promise<Result | null> {
    const { stepLimit, deadline, evalEvery } = this.budget;
    const tc = this.opts.config.train;
    this.windowStart = performance.now();
    while (this.step < stepLimit && this.wall() < deadline && !this.patienceOver()) {
      const stopReason = this.stopAsked();
      if (stopReason) return await this.interrupt(stopReason);
      const { r, n, logNow } = await this.trainStep();
      if (!r.finite) return await this.failNonFinite(r);
      this.step += 1;
      this.imagesSeen += n;
      this.windowImages += n;
      if (logNow) await this.log(r);
      if (this.step % evalEvery === 0) await this.validate();
      if (this.step % tc.checkpointEvery === 0) await this.checkpoint();
      this.progress(r.loss);
    }
    this.stoppedBy = this.patienceOver()
      ? "patience"
      : this.step >= stepLimit
      ? (tc.budget.steps !== undefined && tc.budget.steps <= stepLimit ? "steps" : "epochs")
      : "minutes";
    return null;
  }

  private stopAsked(): string | null {
    const { signal, maxSteps } = this.opts;
    if (signal?.aborted) return "stopped by a signal";
    if (maxSteps !== undefined && this.step >= maxSteps) {
      return `stopped at step ${this.step} as asked (maxSteps)`;
    }
    return null;
  }

  private async interrupt(reason: string): Promise<Result> {
    await this.checkpoint();
    await this.finish({ status: "interrupted", reason, endedAt: new Date().toISOString() });
    return this.resultOf("interrupted");
  }

  /** One optimiser step on the next batch (gradient statistics on logging steps). */
  private async trainStep(): Promise<{ r: StepResult; n: number; logNow: boolean }> {
    const { model, train: tc } = this.opts.config;
    const step = this.step;
    const batch = this.batcher.next();
    const logNow = (step + 1) % tc.logEvery === 0 || step === 0;
    const x = tf.tensor2d(batch.images, [batch.n, model.A * model.B]);
    const eps = drawEpsilon(model, batch.n, this.streams.epsilon);
    try {
      // Asynchronous read-back: the same bits as trainStep() (tested), and it works on webgpu too.
      const r = await trainStepAsync(model, this.params, this.adam, x, eps, {
        learningRate: learningRateAt(tc, step),
        clipNorm: clipThreshold(tc.clipNorm),
        stats: logNow,
        histogram: (step + 1) % tc.histEvery === 0,
        injectNaN: this.nanAt !== undefined && step + 1 === this.nanAt,
      });
      return { r, n: batch.n, logNow };
    } finally {
      tf.dispose([x, eps]);
    }
  }

  private async failNonFinite(r: StepResult): Promise<Result> {
    const offending = r.nonFinite?.length ? r.nonFinite : ["loss"];
    await this.finish({
      status: "failed",
      reason: `Non-finite loss or gradient at step ${this.step + 1} (loss ${r.loss}, gradient norm ` +
        `${r.globalNormBefore}) in: ${offending.join(", ")}`,
      failure: { step: this.step + 1, lastMetrics: this.lastMetrics, offending },
      endedAt: new Date().toISOString(),
    });
    // result.json last: it is the commit point the experiment runner reads (a failed run is retried only
    // when asked); a crash before it leaves an unfinished run, which is resumed.
    const failed = this.resultOf("failed");
    await writeJsonAtomic(`${this.runDir}/result.json`, failed);
    return failed;
  }

  /** Appends the step's metrics and gradient statistics. */
  private async log(r: StepResult): Promise<void> {
    const now = performance.now();
    const metrics: MetricLine = {
      step: this.step,
      epoch: this.imagesSeen / this.data.train.n,
      imagesSeen: this.imagesSeen,
      loss: r.loss,
      lossX: r.lossX,
      lossZ: r.lossZ,
      klPerStep: r.klPerStep!,
      learningRate: learningRateAt(this.opts.config.train, this.step - 1),
      wallTime: this.wall(),
      imagesPerSec: this.windowImages / Math.max((now - this.windowStart) / 1000, 1e-9),
    };
    this.lastMetrics = metrics;
    this.windowStart = now;
    this.windowImages = 0;
    await appendJsonl(`${this.runDir}/${FILES.metrics}`, metrics);
    faultPoint(`step:${this.step}`);
    const grad: GradientLine = {
      step: this.step,
      globalNormBefore: r.globalNormBefore,
      globalNormAfter: r.globalNormAfter,
      clipped: r.clipped,
      vars: r.gradStats!,
    };
    if (r.histogram) grad.histogram = { edges: [...HIST_EDGES], counts: r.histogram };
    await appendJsonl(`${this.runDir}/${FILES.gradients}`, grad);
  }

  /** Reports progress at most twice a second (and at the last step), with an estimate of the time left. */
  private progress(loss: number): void {
    const { stepLimit, deadline } = this.budget;
    if (!this.opts.onProgress || (performance.now() - this.lastProgress <= 500 && this.step !== stepLimit)) {
      return;
    }
    this.lastProgress = performance.now();
    const rate = this.lastMetrics?.imagesPerSec ?? null;
    const byTime = deadline === Infinity ? Infinity : deadline - this.wall();
    const bySteps = stepLimit === Infinity || !rate
      ? Infinity
      : ((stepLimit - this.step) * this.opts.config.train.batchSize) / rate;
    const eta = Math.min(byTime, bySteps);
    this.opts.onProgress({
      runId: this.opts.runId,
      phase: "train",
      step: this.step,
      totalSteps: Number.isFinite(stepLimit) ? stepLimit : null,
      epoch: this.imagesSeen / this.data.train.n,
      loss,
      imagesPerSec: rate,
      etaSeconds: Number.isFinite(eta) ? eta : null,
    });
  }

  /** Writes a checkpoint of everything a resume needs. */
  async checkpoint(): Promise<void> {
    const s: TrainerState = {
      epoch: this.batcher.epoch,
      imagesSeen: this.imagesSeen,
      wallTime: this.wall(),
      adamT: this.adam.t,
      streams: streamStates(this.streams),
      batcher: this.batcher.state(),
      best: this.best,
      lastMetrics: this.lastMetrics,
    };
    await saveCheckpoint(this.runDir, {
      step: this.step,
      state: s as unknown as Record<string, unknown>,
      tensors: await tensorsOf(this.params, this.adam),
    });
  }

  /** Evaluates on the validation split; a new best is kept in checkpoints/best. */
  async validate(): Promise<void> {
    const { model } = this.opts.config;
    const valid = this.data.valid;
    const r = await evaluate(
      model,
      this.params,
      valid.images,
      valid.n,
      new RandomStream("eval", this.streams.eval.seed),
    );
    const line = evalLine("valid", this.step, this.imagesSeen, this.wall(), r);
    await appendJsonl(`${this.runDir}/${FILES.eval}`, line);
    if (!this.best || r.bound.mean < this.best.bound.mean) {
      this.best = line;
      await saveCheckpoint(
        this.runDir,
        { step: this.step, state: { bound: r.bound.mean }, tensors: await tensorsOf(this.params, null) },
        1,
        { folder: "checkpoints/best" },
      );
    }
  }

  /**
   * End of budget: the final checkpoint and validation (unless the last step just wrote them), then the
   * best validation parameters on the test split, and samples. Returns the test line.
   */
  async evaluate(): Promise<EvalLine> {
    const { model, train: tc, seed } = this.opts.config;
    const { stepLimit, evalEvery } = this.budget;
    if (this.step % tc.checkpointEvery !== 0) await this.checkpoint();
    if (this.step % evalEvery !== 0 || this.step === 0) await this.validate();
    this.opts.onProgress?.({
      runId: this.opts.runId,
      phase: "eval",
      step: this.step,
      totalSteps: Number.isFinite(stepLimit) ? stepLimit : null,
      epoch: this.imagesSeen / this.data.train.n,
      loss: this.lastMetrics?.loss ?? null,
      imagesPerSec: null,
      etaSeconds: null,
    });
    const bestCkpt = (await loadLatestCheckpoint(this.runDir, { folder: "checkpoints/best" })).checkpoint;
    if (bestCkpt) {
      checkTensorsMatch(bestCkpt, expectedTensors(model, false));
      restoreTensors(bestCkpt, this.params, null);
    }
    const test = this.data.test;
    const evalStream = new RandomStream("eval", this.streams.eval.seed);
    const r = await evaluate(model, this.params, test.images, test.n, evalStream, {
      samples: tc.evalSamples,
      iwaeK: tc.iwaeK,
    });
    const testLine = evalLine("test", this.step, this.imagesSeen, this.wall(), r);
    await appendJsonl(`${this.runDir}/${FILES.eval}`, testLine);
    const samplesStream = new RandomStream("samples", streamSeed(seed, "samples"));
    const samples = await makeSamples(model, this.params, samplesStream, this.step, test.images);
    await writeJsonAtomic(`${this.runDir}/samples.json`, samples);
    return testLine;
  }

  /**
   * Marks the run completed. The manifest first, result.json last: result.json is the commit point (the
   * runner skips a run that has one), so a crash between the two leaves an unfinished run that is resumed,
   * never a completed result beside a manifest stuck at "running".
   */
  async complete(testLine: EvalLine): Promise<Result> {
    const result = this.resultOf("completed", testLine);
    await this.finish({ status: "completed", endedAt: new Date().toISOString() });
    await writeJsonAtomic(`${this.runDir}/result.json`, result);
    return result;
  }

  /** Stops the heartbeat and writes the final manifest fields. */
  async finish(patch: Parameters<typeof updateManifest>[1]): Promise<void> {
    await this.heartbeat.stop();
    await updateManifest(this.runDir, patch);
  }

  /** Frees the parameters and the optimiser's moments. */
  dispose(): void {
    this.adam.dispose();
    for (const v of Object.values(this.params)) v.dispose();
  }

  private resultOf(status: Result["status"], test: EvalLine | null = null): Result {
    return {
      runId: this.opts.runId,
      status,
      steps: this.step,
      epochs: this.imagesSeen / this.data.train.n,
      imagesSeen: this.imagesSeen,
      wallTime: this.wall(),
      test,
      bestValid: this.best,
      bestStep: this.best?.step ?? null,
      ...(this.stoppedBy ? { stoppedBy: this.stoppedBy } : {}),
    };
  }
}

/**
 * Trains one run (see module doc) in four phases: open (or resume) the run folder, train until the budget
 * ends, evaluate, finish. Resolves with the final {@linkcode Result}; the run's status is `completed`,
 * `failed` (non-finite loss or gradients, with diagnostics in the manifest) or `interrupted` (aborted
 * through `opts.signal`, after writing a checkpoint).
 */
export const trainRun: TrainRunner = async (opts) => {
  const backend = currentBackend() ?? await initBackend("wasm");
  await Deno.mkdir(opts.runDir, { recursive: true });
  const data = await loadData(opts);
  const run = new Run(opts, data, await openRun(opts, backend, data));
  run.heartbeat.start();
  try {
    const stoppedEarly = await run.trainLoop();
    if (stoppedEarly) return stoppedEarly;
    return await run.complete(await run.evaluate());
  } catch (e) {
    await run.finish({
      status: "failed",
      reason: `Error: ${(e as Error).message}`,
      endedAt: new Date().toISOString(),
    })
      .catch(() => {});
    throw e;
  } finally {
    await run.heartbeat.stop();
    run.dispose();
  }
};
