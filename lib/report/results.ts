/**
 * An experiment's results, read once: its run records and the arms {@linkcode summarizeArms} makes of them.
 * The report page and exp's summary (the terminal table and `reports/<experiment>.summary.{json,md}`) are
 * drawn from the same one, so they cannot disagree about a mean, a seed count or a paper value.
 * @module
 */
import type { PaperTargets } from "../config/paper.ts";
import { type ExperimentRuns, readExperimentRuns } from "./records.ts";
import { type ArmSummary, summarizeArms } from "./summary.ts";

/** Every run record of an experiment, the folders that could not be read, and the arms of the records. */
export interface ExperimentResults extends ExperimentRuns {
  arms: ArmSummary[];
}

/**
 * Reads `runsDir/<experiment>/*` and groups the runs into arms compared with `paperTargets` (the DRAW rows by
 * attention when absent; none for an empty list).
 *
 * @example
 * ```ts
 * import { readResults } from "./results.ts";
 * const dir = await Deno.makeTempDir();
 * const results = await readResults(dir, "attention-ablation"); // no runs yet
 * console.assert(results.runs.length === 0 && results.arms.length === 0);
 * await Deno.remove(dir);
 * ```
 */
export async function readResults(
  runsDir: string,
  experiment: string,
  paperTargets?: PaperTargets,
  now = new Date(),
): Promise<ExperimentResults> {
  const { runs, unreadable } = await readExperimentRuns(runsDir, experiment, now);
  return { runs, unreadable, arms: summarizeArms(runs, paperTargets) };
}
