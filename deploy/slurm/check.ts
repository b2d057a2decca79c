/**
 * The checks of the Slurm self-test (deploy/slurm/selftest.sh), on run folders read with lib/record's strict
 * readers:
 *
 * - `once RUNS EXPERIMENT RUN_ID... [--log FILE]...`: every planned run has exactly one folder, completed,
 *   started once (no resume note, no step recorded twice), no other run folder and nothing moved aside by
 *   `--force`; with `--log`, each run was started by exactly one of the job logs given.
 * - `interrupted RUN_DIR`: the run is `interrupted`, has no result and has a checkpoint covering every
 *   recorded step (what a SIGTERM must leave).
 * - `same RUNS BASELINE_RUNS EXPERIMENT RUN_ID...`: each run's records equal the baseline's, wall-clock
 *   fields aside: every metric, gradient and eval line, result.json, samples.json and the final checkpoint's
 *   tensors.
 *
 * Each prints one line per problem and exits 1 when there is any, 0 otherwise (2: bad command line).
 *
 *   deno run --allow-read deploy/slurm/check.ts once runs/x slurm-selftest fx-a fx-b --log slurm-1_0.out
 * @module
 */
import { digestRun, type RunDigest } from "../../lib/record/digest.ts";
import { listRuns } from "../../lib/record/runs.ts";

async function digestOrProblem(dir: string, problems: string[]): Promise<RunDigest | null> {
  try {
    return await digestRun(dir);
  } catch (e) {
    problems.push(`${dir}: ${(e as Error).message}`);
    return null;
  }
}

const exists = (path: string) => Deno.lstat(path).then(() => true, () => false);

/** How many lines of a job log start training `runId` (the runner prints `... run <id>` then). */
export function startsIn(log: string, runId: string): number {
  return log.split("\n").filter((line) => line.trimEnd().endsWith(` run ${runId}`)).length;
}

/**
 * Problems with "every planned run ran exactly once": see the module doc. `logs` maps a job log's name to
 * its text.
 */
export async function checkExactlyOnce(
  runsDir: string,
  experiment: string,
  runIds: readonly string[],
  logs: ReadonlyMap<string, string> = new Map(),
): Promise<string[]> {
  const problems: string[] = [];
  const found = (await listRuns(runsDir, experiment)).map((r) => r.runId);
  for (const id of found) if (!runIds.includes(id)) problems.push(`${id}: a run folder outside the plan`);
  if (await exists(`${runsDir}/.replaced/${experiment}`)) {
    problems.push(
      `${runsDir}/.replaced/${experiment}: runs were redone (their old records were moved aside)`,
    );
  }
  for (const id of runIds) {
    const dir = `${runsDir}/${experiment}/${id}`;
    if (!found.includes(id)) {
      problems.push(`${id}: never ran (no folder ${dir})`);
      continue;
    }
    const d = await digestOrProblem(dir, problems);
    if (!d) continue;
    if (d.status !== "completed") problems.push(`${id}: status ${d.status}, expected completed`);
    if (d.result === null) problems.push(`${id}: no result.json`);
    const resumed = d.manifest.notes.filter((n) => n.startsWith("resumed"));
    if (resumed.length) problems.push(`${id}: started more than once (${resumed.join("; ")})`);
    const seen = new Set<number>();
    for (const step of d.metricSteps) {
      if (seen.has(step)) {
        problems.push(`${id}: step ${step} is recorded twice in metrics.jsonl (trained twice)`);
        break;
      }
      seen.add(step);
    }
    if (logs.size) {
      const starts = [...logs].map(([name, text]) => [name, startsIn(text, id)] as const).filter(([, n]) =>
        n
      );
      const total = starts.reduce((a, [, n]) => a + n, 0);
      if (total !== 1) {
        problems.push(
          `${id}: started ${total} times in the job logs${
            total ? ` (${starts.map(([f, n]) => `${f}: ${n}`).join(", ")})` : ""
          }, expected once`,
        );
      }
    }
  }
  return problems;
}

/** Problems with "the run was stopped by a signal and can resume": see the module doc. */
export async function checkInterrupted(dir: string): Promise<string[]> {
  const problems: string[] = [];
  const d = await digestOrProblem(dir, problems);
  if (!d) return problems;
  if (d.status !== "interrupted") problems.push(`${dir}: status ${d.status}, expected interrupted`);
  if (d.result !== null) problems.push(`${dir}: has a result.json, so it was not stopped mid-run`);
  const last = d.checkpointSteps.at(-1);
  const lastStep = d.metricSteps.at(-1) ?? 0;
  if (last === undefined) problems.push(`${dir}: no checkpoint to resume from`);
  else if (last < lastStep) {
    problems.push(
      `${dir}: the newest checkpoint (step ${last}) is older than the last recorded step ${lastStep}`,
    );
  }
  return problems;
}

/** Problems with "each run's records equal the baseline's, wall-clock fields aside". */
export async function checkSameRecords(
  runsDir: string,
  baselineDir: string,
  experiment: string,
  runIds: readonly string[],
): Promise<{ problems: string[]; lines: number }> {
  const problems: string[] = [];
  let lines = 0;
  for (const id of runIds) {
    const a = await digestOrProblem(`${runsDir}/${experiment}/${id}`, problems);
    const e = await digestOrProblem(`${baselineDir}/${experiment}/${id}`, problems);
    if (!a || !e) continue;
    if (a.status !== "completed") problems.push(`${id}: status ${a.status}, expected completed`);
    for (const [file, expected] of Object.entries(e.lines)) {
      const actual = a.lines[file];
      if (actual.length !== expected.length) {
        problems.push(`${id}/${file}: ${actual.length} lines, the baseline has ${expected.length}`);
      }
      const i = actual.findIndex((line, k) => k < expected.length && line !== expected[k]);
      if (i >= 0) problems.push(`${id}/${file} line ${i + 1} differs: ${actual[i]} vs ${expected[i]}`);
      lines += Math.min(actual.length, expected.length);
    }
    if (a.result !== e.result) problems.push(`${id}/result.json differs: ${a.result} vs ${e.result}`);
    if (a.samples !== e.samples) problems.push(`${id}/samples.json differs from the baseline's`);
    if (a.finalCheckpointSha !== e.finalCheckpointSha) {
      problems.push(
        `${id}: the final checkpoint's tensors differ (${a.finalCheckpointSha} vs ${e.finalCheckpointSha})`,
      );
    }
  }
  return { problems, lines };
}

const USAGE = `Usage:
  check.ts once RUNS_DIR EXPERIMENT RUN_ID... [--log FILE]...
  check.ts interrupted RUN_DIR
  check.ts same RUNS_DIR BASELINE_RUNS_DIR EXPERIMENT RUN_ID...`;

/** Runs one check from the command line; returns the exit status. */
export async function main(argv: readonly string[], print = console.log): Promise<number> {
  const [what, ...rest] = argv;
  const logs = new Map<string, string>();
  const args: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === "--log" && rest[i + 1] !== undefined) {
      logs.set(rest[i + 1], await Deno.readTextFile(rest[i + 1]));
      i++;
    } else args.push(rest[i]);
  }
  let problems: string[];
  let ok: string;
  if (what === "once" && args.length >= 3) {
    const [runs, exp, ...ids] = args;
    problems = await checkExactlyOnce(runs, exp, ids, logs);
    ok = `${ids.length} run(s) of ${exp} each completed exactly once` +
      (logs.size ? ` (started once across ${logs.size} job logs)` : "");
  } else if (what === "interrupted" && args.length === 1) {
    problems = await checkInterrupted(args[0]);
    const d = problems.length ? null : await digestRun(args[0]);
    ok = `${args[0]}: interrupted at step ${d?.metricSteps.at(-1)}, checkpoint at step ${
      d?.checkpointSteps.at(-1)
    }`;
  } else if (what === "same" && args.length >= 4) {
    const [runs, base, exp, ...ids] = args;
    const r = await checkSameRecords(runs, base, exp, ids);
    problems = r.problems;
    ok = `${ids.length} run(s) equal the baseline's: ${r.lines} record lines, results, samples, checkpoints`;
  } else {
    print(USAGE);
    return 2;
  }
  for (const p of problems) print(`check ${what}: ${p}`);
  if (!problems.length) print(`check ${what}: ${ok}`);
  return problems.length ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
