/**
 * The run-record format: what a run folder `runs/<experiment>/<run-id>/` holds.
 *
 * Files (all UTF-8):
 * - `manifest.json`   {@linkcode Manifest}, rewritten atomically (temp file + rename) on every status change
 *                     and heartbeat.
 * - `diff.patch`      the uncommitted diff at start (empty file when clean).
 * - `metrics.jsonl`   one {@linkcode MetricLine} per logging step, append-only.
 * - `gradients.jsonl` one {@linkcode GradientLine} per logging step, append-only.
 * - `eval.jsonl`      one {@linkcode EvalLine} per evaluation, append-only.
 * - `result.json`     {@linkcode Result}, written once at the end.
 * - `samples.json`    {@linkcode Samples}: prior samples and drawing sequences for reports.
 * - `checkpoints/`    `ckpt-<step>.bin` + `ckpt-<step>.json` (see lib/record/checkpoint.ts).
 * - `lock.json`       present while a process runs this folder (see lib/record/lock.ts).
 *
 * This file imports no tfjs.
 * @module
 */
import type { RunConfig, StopReason } from "../config/run.ts";
import type { DatasetRecord } from "../data/record.ts";
import type { StreamState } from "../random.ts";

export type { DatasetRecord };

/** Version of this format; readers refuse a newer major version. */
export const RECORD_FORMAT_VERSION = 1;

/** A run's lifecycle state. `running` with a stale heartbeat is shown as `interrupted`. */
export type RunStatus = "running" | "completed" | "failed" | "interrupted";

/** Where and with what the run executed. */
export interface EnvironmentRecord {
  deno: string;
  v8: string;
  typescript: string;
  tfjs: string;
  /** Backend requested (e.g. "auto") and obtained (e.g. "wasm"). */
  backendRequested: string;
  backend: string;
  /** Adapter or device description, e.g. "wasm simd, 1 thread" or a WebGPU adapter name. */
  device: string;
  os: string;
  arch: string;
  cpuModel: string;
  cores: number;
  memoryBytes: number;
  hostname: string;
}

/** Source provenance. */
export interface GitRecord {
  commit: string | null;
  dirty: boolean;
  /** Relative path of the saved diff (`diff.patch`) or null when clean or not a git checkout. */
  diffFile: string | null;
}

/** `manifest.json`. */
export interface Manifest {
  formatVersion: number;
  runId: string;
  experiment: string;
  /** Cell description within the experiment, e.g. `{ attention: false }`. */
  cell: Record<string, unknown>;
  config: RunConfig;
  /** Root seed and every named stream's seed. */
  seeds: { root: number; streams: Record<string, number> };
  dataset: DatasetRecord;
  environment: EnvironmentRecord;
  git: GitRecord;
  /** SHA-256 of deno.lock. */
  lockSha256: string | null;
  /** The command that reproduces this run. */
  command: string;
  status: RunStatus;
  /** Reason for `failed` / `interrupted`. */
  reason?: string;
  /** Extra failure diagnostics (step, last finite metrics, offending variables). */
  failure?: { step: number; lastMetrics: MetricLine | null; offending: string[] };
  startedAt: string;
  endedAt: string | null;
  heartbeatAt: string;
  /** Notes such as "resumed from ckpt-400 (ckpt-600 was corrupt)". */
  notes: string[];
}

/** One line of `metrics.jsonl`. Loss terms are per-image means over the batch, in nats. */
export interface MetricLine {
  step: number;
  epoch: number;
  imagesSeen: number;
  /** L = Lx + Lz. */
  loss: number;
  lossX: number;
  lossZ: number;
  /** KL of each glimpse t = 1..T (batch mean). */
  klPerStep: number[];
  learningRate: number;
  /** Seconds since the run (first) started, excluding time while not running. */
  wallTime: number;
  imagesPerSec: number;
}

/** Per-variable gradient statistics. */
export interface GradStat {
  norm: number;
  mean: number;
  std: number;
  maxAbs: number;
  fracZero: number;
}

/** One line of `gradients.jsonl`. */
export interface GradientLine {
  step: number;
  globalNormBefore: number;
  globalNormAfter: number;
  clipped: boolean;
  vars: Record<string, GradStat>;
  /** Every `histEvery` steps: counts of log10|g| over fixed bins per variable. */
  histogram?: { edges: number[]; counts: Record<string, number[]> };
}

/** A bound estimate: mean over images and its standard error. */
export interface Estimate {
  mean: number;
  stderr: number;
}

/** One line of `eval.jsonl`. */
export interface EvalLine {
  step: number;
  imagesSeen: number;
  split: "valid" | "test";
  images: number;
  /** Variational bound L = Lx + Lz, nats per image. */
  bound: Estimate;
  lossX: number;
  lossZ: number;
  /** IWAE estimate of -log p(x) with k samples, when computed. */
  iwae?: Estimate & { k: number };
  wallTime: number;
}

/** `result.json`: the final numbers. */
export interface Result {
  runId: string;
  status: RunStatus;
  steps: number;
  epochs: number;
  imagesSeen: number;
  wallTime: number;
  test: EvalLine | null;
  bestValid: EvalLine | null;
  /** Step of the checkpoint used for the test evaluation. */
  bestStep: number | null;
  /**
   * What ended training (completed runs): the step or epoch budget, early stopping, or the wall-clock cap
   * ("minutes", not reproducible: the stopping step depends on the machine's speed and load).
   */
  stoppedBy?: StopReason;
}

/** A drawing sequence: per glimpse, the canvas (sigmoid) and attention boxes. */
export interface DrawingSequence {
  /** Image size. */
  A: number;
  B: number;
  /** canvases[t] is A*B numbers in [0, 1], row-major (B rows of A). */
  canvases: number[][];
  /** Write attention per step (absent without attention): centre, stride, N; box = gX +- (N-1)/2*delta. */
  write?: Array<{ gX: number; gY: number; delta: number; sigma2: number; N: number }>;
  /** Read attention per step (reconstruction sequences only). */
  read?: Array<{ gX: number; gY: number; delta: number; sigma2: number; N: number }>;
  /** "prior" (generation) or "reconstruction" (of `input`). */
  kind: "prior" | "reconstruction";
  input?: number[];
}

/** `samples.json`. */
export interface Samples {
  step: number;
  /** Final canvases of prior samples, each A*B in [0, 1]. */
  grid: number[][];
  sequences: DrawingSequence[];
}

/** Random-stream states saved with a checkpoint. */
export type StreamStates = Record<string, StreamState>;
