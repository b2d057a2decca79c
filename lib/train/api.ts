/**
 * The contract between the trainer (lib/train/run.ts) and its callers (`deno task train`, the experiment
 * runner). This file imports no tfjs, so the runner and its tests can use a fake trainer.
 * @module
 */
import type { RunConfig } from "../config/run.ts";
import type { Result } from "../record/types.ts";

/** Progress reported during a run (for the progress display). */
export interface Progress {
  runId: string;
  phase: "train" | "eval" | "done";
  step: number;
  /** Best estimate of the steps the budget allows (null when the budget is only wall-clock). */
  totalSteps: number | null;
  epoch: number;
  loss: number | null;
  imagesPerSec: number | null;
  /** Seconds left for this run, estimated. */
  etaSeconds: number | null;
}

/** Everything one training run needs. */
export interface TrainRunOptions {
  /** The run folder; if it holds a valid checkpoint the run resumes from it. */
  runDir: string;
  experiment: string;
  cell: Record<string, unknown>;
  runId: string;
  config: RunConfig;
  /** Data directory (else REDRAW_DATA_DIR, else the cache; fixtures when `useFixtures`). */
  dataDir?: string;
  /** Download missing data files into the data dir (hash-checked, atomic). */
  download?: boolean;
  /** Use the committed small fixtures instead of the real data (smoke tests and CI). */
  useFixtures?: boolean;
  /** The command line that reproduces this run, recorded in the manifest. */
  command: string;
  onProgress?: (p: Progress) => void;
  /** Aborting writes a checkpoint and marks the run `interrupted`. */
  signal?: AbortSignal;
  /**
   * Stop once this many steps are done, with a checkpoint, status `interrupted` and no final evaluation
   * (used by `verify` and by fault tests).
   */
  maxSteps?: number;
  /** Test hooks: inject a NaN into the loss at this step. */
  faults?: { nanAtStep?: number };
}

/** The trainer's signature. Resolves with the final result; rejects only on programming errors. */
export type TrainRunner = (opts: TrainRunOptions) => Promise<Result>;
