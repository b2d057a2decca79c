/**
 * A run folder reduced to what an interruption must not change: every record line, the result and the samples
 * without their wall-clock fields, and the newest checkpoint's checksum. Two digests of the same run id are
 * equal when an interrupted-and-resumed run recorded exactly what an uninterrupted one did.
 * @module
 */
import { listCheckpoints, loadCheckpoint } from "./checkpoint.ts";
import { readRun } from "./runs.ts";
import type { Manifest } from "./types.ts";

/** Fields that measure time, not maths: the only ones a resume (or another machine) may change. */
export const WALL_CLOCK_FIELDS: ReadonlySet<string> = new Set(["wallTime", "imagesPerSec"]);

/**
 * JSON of a record without its wall-clock fields.
 * @example
 * ```ts
 * withoutWallClock({ step: 3, loss: 1.5, wallTime: 9.1 }); // '{"step":3,"loss":1.5}'
 * ```
 */
export function withoutWallClock(value: unknown): string {
  return JSON.stringify(value, (k, v) => (WALL_CLOCK_FIELDS.has(k) ? undefined : v));
}

/** What {@linkcode digestRun} keeps of a run folder. */
export interface RunDigest {
  runId: string;
  status: string;
  manifest: Manifest;
  /** Steps of `metrics.jsonl`, in file order. */
  metricSteps: number[];
  /** Per record file, each line without wall-clock fields. */
  lines: Record<string, string[]>;
  result: string | null;
  samples: string | null;
  /** SHA-256 of the newest checkpoint's tensors (checked against its `.bin` when loaded). */
  finalCheckpointSha: string | null;
  checkpointSteps: number[];
}

/** Reads a run folder strictly (any invalid line or checksum throws) into a {@linkcode RunDigest}. */
export async function digestRun(dir: string): Promise<RunDigest> {
  const run = await readRun(dir, { strict: true, gradients: true });
  const ckpts = await listCheckpoints(dir);
  const last = ckpts.at(-1);
  return {
    runId: run.manifest.runId,
    status: run.status,
    manifest: run.manifest,
    metricSteps: run.metrics.map((m) => m.step),
    lines: {
      "metrics.jsonl": run.metrics.map(withoutWallClock),
      "gradients.jsonl": (run.gradients ?? []).map(withoutWallClock),
      "eval.jsonl": run.evals.map(withoutWallClock),
    },
    result: run.result ? withoutWallClock(run.result) : null,
    samples: run.samples ? withoutWallClock(run.samples) : null,
    finalCheckpointSha: last ? (await loadCheckpoint(last)).meta.sha256 : null,
    checkpointSteps: ckpts.map((c) => c.step),
  };
}
