/**
 * Run records as the report sees them, read with lib/record/runs.ts (`readRuns`): the report never throws
 * for a damaged run but shows what could be read and lists the damage, because a report must still show a
 * run that crashed half-way (that is when a reader most needs it).
 * @module
 */
import { readRun, readRuns, type RunRecord as StoredRun } from "../record/runs.ts";
import type { EvalLine, GradientLine, Manifest, MetricLine, Result, Samples } from "../record/types.ts";

/** Everything a report needs from one run folder. */
export interface RunRecord {
  /** The run folder (for messages and provenance). */
  dir: string;
  /** The manifest, with `status` the effective one: a `running` run with a stale heartbeat reads `interrupted`. */
  manifest: Manifest;
  metrics: MetricLine[];
  gradients: GradientLine[];
  evals: EvalLine[];
  result: Result | null;
  samples: Samples | null;
  /** Damage the reader tolerated (torn last lines, skipped lines), each naming the file; shown in the report. */
  warnings: string[];
}

/** A run folder that could not be read at all (no usable manifest, or a file that is not a redraw record). */
export interface UnreadableRun {
  dir: string;
  reason: string;
  /** False for a folder without `manifest.json`: a run that stopped before it started (the runner resumes it). */
  hasManifest: boolean;
}

/** What {@linkcode readExperimentRuns} found. */
export interface ExperimentRuns {
  runs: RunRecord[];
  unreadable: UnreadableRun[];
}

/** Converts lib/record's run record to the report's, carrying the effective status into the manifest. */
export function fromStoredRun(run: StoredRun): RunRecord {
  const m = run.manifest;
  const manifest: Manifest = run.status === m.status ? m : {
    ...m,
    status: run.status,
    reason: m.reason ?? `the heartbeat stopped at ${m.heartbeatAt} (the process is gone)`,
  };
  return {
    dir: run.dir,
    manifest,
    metrics: run.metrics,
    gradients: run.gradients ?? [],
    evals: run.evals,
    result: run.result,
    samples: run.samples,
    warnings: run.problems,
  };
}

/**
 * Reads one run folder with its gradients and samples. Throws (lib/record's `RecordError`) when the folder
 * is not a readable redraw run.
 */
export async function readRunRecord(runDir: string, now = new Date()): Promise<RunRecord> {
  return fromStoredRun(await readRun(runDir, { gradients: true, samples: true, now }));
}

/**
 * Reads every run folder under `runsDir/<experiment>/`, sorted by run id. A folder that cannot be read is
 * listed in `unreadable` with the reason; a missing experiment folder gives no runs. Throws for an
 * experiment name that cannot be a folder name.
 */
export async function readExperimentRuns(
  runsDir: string,
  experiment: string,
  now = new Date(),
): Promise<ExperimentRuns> {
  const runs: RunRecord[] = [];
  const unreadable: UnreadableRun[] = [];
  for (const o of await readRuns(runsDir, experiment, { gradients: true, samples: true, now })) {
    if (o.run) runs.push(fromStoredRun(o.run));
    else unreadable.push({ dir: o.dir, reason: o.error, hasManifest: o.hasManifest });
  }
  return { runs, unreadable };
}
