/**
 * Reading whole run folders for reports, summaries and `verify`.
 *
 * Readers tolerate what a crash can leave (a torn last JSONL line, a missing `result.json` or
 * `samples.json`) and list it in `problems`; they refuse, with an error naming the file, what a crash
 * cannot explain: a folder without a manifest, a truncated or foreign JSON file, a JSONL file none of whose
 * lines is the expected record.
 *
 * This file imports no tfjs.
 * @module
 */
import { readJson, readJsonl, RecordError } from "./io.ts";
import { DEFAULT_STALE_SECONDS, effectiveStatus, MANIFEST_FILE, readManifest } from "./manifest.ts";
import type { EvalLine, GradientLine, Manifest, MetricLine, Result, RunStatus, Samples } from "./types.ts";
import {
  evalLineProblem,
  gradientLineProblem,
  metricLineProblem,
  validateResult,
  validateSamples,
} from "./validate.ts";

/** File names in a run folder (see types.ts). */
export const RUN_FILES = {
  manifest: MANIFEST_FILE,
  metrics: "metrics.jsonl",
  gradients: "gradients.jsonl",
  evals: "eval.jsonl",
  result: "result.json",
  samples: "samples.json",
  diff: "diff.patch",
} as const;

/** Everything recorded about one run. */
export interface RunRecord {
  dir: string;
  manifest: Manifest;
  /** The status to show: `running` with a stale heartbeat reads `interrupted`. */
  status: RunStatus;
  metrics: MetricLine[];
  evals: EvalLine[];
  /** Null unless asked for (`gradients: true`): the file can be large. */
  gradients: GradientLine[] | null;
  result: Result | null;
  samples: Samples | null;
  /** Tolerated damage, in words: torn last lines and bad lines with their line numbers. */
  problems: string[];
}

/** Options of {@linkcode readRun}. */
export interface ReadRunOptions {
  /** Also read `gradients.jsonl` (default false). */
  gradients?: boolean;
  /** Also read `samples.json` (default true). */
  samples?: boolean;
  /** Throw on any bad line instead of listing it in `problems` (used by `verify`). */
  strict?: boolean;
  /** The time to judge heartbeats against (default now). */
  now?: Date;
  staleAfterSeconds?: number;
}

async function readLines<T>(
  path: string,
  what: string,
  check: (v: unknown) => string | null,
  opts: ReadRunOptions,
  problems: string[],
): Promise<T[]> {
  const r = await readJsonl<T>(path, { missingOk: true, strict: opts.strict, check });
  if (r.lines.length === 0 && r.badLines.length > 0) {
    throw new RecordError(`${path} is not a redraw ${what} file: ${r.problems[0]}`);
  }
  problems.push(...r.problems);
  if (r.tornTail) {
    problems.push(`${path}: ignored an unfinished last line (a write cut short, or one in progress)`);
  }
  return r.lines;
}

async function readOptionalJson<T>(path: string, what: string, validate: (v: unknown, where: string) => T) {
  try {
    await Deno.lstat(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new RecordError(`Could not read the ${what} file ${path}: ${(e as Error).message}`, { cause: e });
  }
  return validate(await readJson(path, what), path);
}

/**
 * Reads a run folder: manifest (validated, future versions refused), effective status, metrics, evals,
 * optionally gradients, result and samples.
 */
export async function readRun(runDir: string, opts: ReadRunOptions = {}): Promise<RunRecord> {
  const info = await Deno.stat(runDir).catch(() => null);
  if (!info) throw new RecordError(`The run folder ${runDir} does not exist`);
  if (!info.isDirectory) throw new RecordError(`${runDir} is not a folder, so not a redraw run folder`);
  if (!(await Deno.lstat(`${runDir}/${MANIFEST_FILE}`).then(() => true, () => false))) {
    throw new RecordError(`${runDir} is not a redraw run folder (it has no ${MANIFEST_FILE})`);
  }
  const manifest = await readManifest(runDir);
  const problems: string[] = [];
  const p = (f: string) => `${runDir}/${f}`;
  const metrics = await readLines<MetricLine>(
    p(RUN_FILES.metrics),
    "metrics",
    metricLineProblem,
    opts,
    problems,
  );
  const evals = await readLines<EvalLine>(p(RUN_FILES.evals), "eval", evalLineProblem, opts, problems);
  const gradients = opts.gradients
    ? await readLines<GradientLine>(p(RUN_FILES.gradients), "gradients", gradientLineProblem, opts, problems)
    : null;
  const result = await readOptionalJson(p(RUN_FILES.result), "result", validateResult);
  const samples = (opts.samples ?? true)
    ? await readOptionalJson(p(RUN_FILES.samples), "samples", validateSamples)
    : null;
  const status = effectiveStatus(
    manifest,
    opts.now ?? new Date(),
    opts.staleAfterSeconds ?? DEFAULT_STALE_SECONDS,
  );
  return { dir: runDir, manifest, status, metrics, evals, gradients, result, samples, problems };
}

/** A run folder found by {@linkcode listRuns}. */
export interface RunEntry {
  runId: string;
  dir: string;
  /** False for a folder without `manifest.json` (a run that died before starting, or foreign content). */
  hasManifest: boolean;
}

/** Checks an experiment name used as a folder name: no path separators, no `..`, no leading dot. */
export function checkExperimentName(experiment: string): string {
  if (
    typeof experiment !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(experiment) ||
    experiment.includes("..")
  ) {
    throw new RecordError(
      `Experiment name ${JSON.stringify(experiment)} must be 1-128 letters, digits, "_", "-" or "." ` +
        `starting with a letter or digit, without ".." or path separators`,
    );
  }
  return experiment;
}

/**
 * The run folders of an experiment (`<runsRoot>/<experiment>/<run-id>/`), sorted by run id; an
 * experiment with no folder yet has no runs. Hidden entries and plain files are skipped.
 */
export async function listRuns(runsRoot: string, experiment: string): Promise<RunEntry[]> {
  const root = `${runsRoot}/${checkExperimentName(experiment)}`;
  const out: RunEntry[] = [];
  try {
    for await (const e of Deno.readDir(root)) {
      if (!e.isDirectory || e.name.startsWith(".")) continue;
      const dir = `${root}/${e.name}`;
      const hasManifest = await Deno.lstat(`${dir}/${MANIFEST_FILE}`).then((s) => s.isFile, () => false);
      out.push({ runId: e.name, dir, hasManifest });
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw new RecordError(`Could not list the runs in ${root}: ${(e as Error).message}`, { cause: e });
  }
  return out.sort((a, b) => (a.runId < b.runId ? -1 : a.runId > b.runId ? 1 : 0));
}

/** One run of {@linkcode readRuns}: its record, or why it could not be read. */
export type RunOutcome =
  & RunEntry
  & ({ run: RunRecord; error?: undefined } | { run?: undefined; error: string });

/**
 * Reads every run of an experiment; a run that cannot be read is returned with its error instead of
 * stopping the others (a report should show every cell, including broken ones).
 */
export async function readRuns(
  runsRoot: string,
  experiment: string,
  opts: ReadRunOptions = {},
): Promise<RunOutcome[]> {
  const out: RunOutcome[] = [];
  for (const entry of await listRuns(runsRoot, experiment)) {
    try {
      out.push({ ...entry, run: await readRun(entry.dir, opts) });
    } catch (e) {
      if (!(e instanceof RecordError)) throw e;
      out.push({ ...entry, error: e.message });
    }
  }
  return out;
}
