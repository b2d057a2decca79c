/**
 * `deno task exp NAME [options]`: plan, run (or dry-run) an experiment, then summarise and render it.
 * See {@linkcode USAGE} for the options and exit statuses.
 *
 * The trainer (lib/train/run.ts, which loads tfjs) and the report renderer are imported lazily, only when
 * needed, so `--dry-run` and an already-complete experiment start instantly.
 * @module
 */
import { tryAcquireLock } from "../record/lock.ts";
import type { RenderedReport, RenderReportOptions } from "../report/mod.ts";
import { type BackendRequest, DEFAULT_RUNS_DIR, describeBudget } from "../config/run.ts";
import type { TrainRunner } from "../train/api.ts";
import { type ExpArgs, parseExpArgs, USAGE } from "./args.ts";
import { ExperimentError, UsageError } from "./errors.ts";
import { factorLists, parseOnly, type PlannedRun, planRuns, profileOf } from "./grid.ts";
import { ProgressDisplay } from "./progress.ts";
import { type AcquireLock, runDirOf, runExperiment, type RunnerReport } from "./runner.ts";
import { shardRuns } from "./shard.ts";
import { readRunState, stateWord } from "./status.ts";
import { collectSummary, summaryText, writeSummary } from "./summary.ts";
import { type ExperimentResults, readResults } from "../report/results.ts";
import { textTable } from "./format.ts";
import { type Experiment, loadExperiment } from "./validate.ts";
import { valueLabel } from "../config/runid.ts";

/** Exit statuses (also in the usage text and docs/experiments.md). */
export const EXIT = Object.freeze({
  ok: 0,
  incomplete: 1,
  usage: 2,
  sigint: 130,
  sigterm: 143,
});

/** What `main` uses from the outside world; tests replace parts of it. */
export interface CliDeps {
  trainer?: TrainRunner;
  acquireLock?: AcquireLock;
  stdout?: (text: string) => void;
  stderr?: (text: string) => void;
  isTty?: boolean;
  env?: Record<string, string | undefined>;
  /** When given, signals are not listened to (tests abort through it). */
  signal?: AbortSignal;
  /** The report renderer; default: `renderExperimentReport` from lib/report/mod.ts; false: none. */
  render?: Render | false;
}

const encoder = new TextEncoder();
const writeTo = (f: { writeSync(b: Uint8Array): number }) => (s: string) => {
  const b = encoder.encode(s);
  let off = 0;
  while (off < b.length) off += f.writeSync(b.subarray(off));
};

/** Loads the trainer (and with it tfjs) and initialises the requested backend; returns a line to print. */
async function loadTrainer(
  backend: BackendRequest,
  threads = 1,
): Promise<{ trainer: TrainRunner; line: string }> {
  const [{ trainRun }, { initBackend, setWasmThreads }] = await Promise.all([
    import("../train/run.ts"),
    import("../backend.ts"),
  ]);
  if (threads > 1 && (backend === "wasm" || backend === "auto")) setWasmThreads(threads);
  const info = await initBackend(backend);
  return { trainer: trainRun, line: `backend: ${info.name} (${info.device}), tfjs ${info.tfjsVersion}` };
}

function quote(s: string): string {
  return /^[A-Za-z0-9_./=,:@+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The command line that reproduces one run (recorded in its manifest). */
export function commandFor(
  nameOrPath: string,
  args: { profile: string; dataDir?: string; backend?: string; runsDir: string },
  run: PlannedRun,
): string {
  const parts = ["deno", "task", "exp", nameOrPath, "--profile", args.profile, "--seeds", String(run.seed)];
  for (const [k, v] of Object.entries(run.cell)) parts.push("--only", `${k}=${valueLabel(v)}`);
  if (args.dataDir) parts.push("--data-dir", args.dataDir);
  if (args.backend) parts.push("--backend", args.backend);
  if (args.runsDir !== DEFAULT_RUNS_DIR) parts.push("--runs-dir", args.runsDir);
  return parts.map(quote).join(" ");
}

/** The parsed flags, the experiment and its plan; or the exit status when there is nothing to run. */
async function planFromArgs(
  argv: readonly string[],
  env: Record<string, string | undefined>,
  stdout: (s: string) => void,
  stderr: (s: string) => void,
): Promise<{ args: ExpArgs; exp: Experiment; plan: PlannedRun[] } | number> {
  try {
    const args = parseExpArgs(argv, env);
    if (args.help) {
      stdout(USAGE + "\n");
      return EXIT.ok;
    }
    const exp = await loadExperiment(args.name);
    const profile = profileOf(exp, args.profile);
    const only = parseOnly(args.only, factorLists(exp, profile));
    const plan = planRuns(exp, {
      profile: args.profile,
      seeds: args.seeds,
      only,
      dataDirGiven: args.dataDir !== undefined,
    });
    if (!args.dryRun) checkWritable(args);
    return { args, exp, plan };
  } catch (e) {
    if (e instanceof UsageError || e instanceof ExperimentError) {
      stderr(`exp: ${e.message}\n`);
      return EXIT.usage;
    }
    throw e;
  }
}

/** Refuses, before anything runs, a runs or reports folder this process may not write. */
function checkWritable(args: ExpArgs): void {
  for (const [flag, dir] of [["--runs-dir", args.runsDir], ["--reports-dir", args.reportsDir]]) {
    if (Deno.permissions.querySync({ name: "write", path: dir }).state !== "granted") {
      throw new UsageError(
        `${flag} ${dir}: this process may not write there (\`deno task exp\` writes only in runs/ and reports/)`,
      );
    }
  }
}

/**
 * Listens to SIGINT and SIGTERM while the runs train: the first interrupts the current run (it writes a
 * checkpoint), a second exits at once. `caught` says which arrived; `remove` stops listening.
 */
function listenForSignals(stderr: (s: string) => void, controller: AbortController) {
  const state: { caught: "SIGINT" | "SIGTERM" | null; remove: () => void } = {
    caught: null,
    remove: () => {},
  };
  const onSignal = (sig: "SIGINT" | "SIGTERM") => () => {
    if (state.caught) {
      stderr(`\nexp: second ${sig}: exiting now (the current run resumes from its last checkpoint)\n`);
      Deno.exit(sig === "SIGINT" ? EXIT.sigint : EXIT.sigterm);
    }
    state.caught = sig;
    stderr(
      `\nexp: ${sig}: interrupting the current run (it writes a checkpoint); press Ctrl-C again to exit now\n`,
    );
    controller.abort();
  };
  const handlers = [["SIGINT", onSignal("SIGINT")], ["SIGTERM", onSignal("SIGTERM")]] as const;
  for (const [sig, h] of handlers) Deno.addSignalListener(sig, h);
  state.remove = () => {
    for (const [sig, h] of handlers) Deno.removeSignalListener(sig, h);
  };
  return state;
}

/** Trains this process's share of the plan; the trainer (and tfjs) is loaded only when a run needs it. */
async function trainPlanned(
  exp: Experiment,
  args: ExpArgs,
  mine: PlannedRun[],
  deps: CliDeps,
  out: (s: string) => void,
  stderr: (s: string) => void,
): Promise<{ report: RunnerReport; caught: "SIGINT" | "SIGTERM" | null }> {
  const controller = new AbortController();
  const signals = deps.signal ? null : listenForSignals(stderr, controller);
  let trainer: TrainRunner | null = deps.trainer ?? null;
  const prepare = async () => {
    if (trainer) return;
    const loaded = await loadTrainer(args.backend ?? "wasm", args.threads);
    out(`${loaded.line}\n`);
    trainer = loaded.trainer;
  };
  try {
    const report = await runExperiment(
      {
        experiment: exp,
        runs: mine,
        runsDir: args.runsDir,
        dataDir: args.dataDir,
        force: args.force,
        retryFailed: args.retryFailed,
        wait: args.wait,
        pollSeconds: args.pollSeconds,
        commandFor: (run) => commandFor(args.name, args, run),
      },
      {
        trainer: (o) => trainer!(o),
        prepare,
        acquireLock: deps.acquireLock ?? tryAcquireLock,
        progress: new ProgressDisplay({
          write: out,
          tty: deps.isTty ?? (!args.json && Deno.stdout.isTerminal()),
          columns: consoleColumns(),
        }),
        signal: deps.signal ?? controller.signal,
      },
    );
    return { report, caught: signals?.caught ?? null };
  } finally {
    signals?.remove();
  }
}

/**
 * Reads the experiment's results once, writes the summary files of the whole plan (all shards) and prints the
 * summary (text or `--json`); returns the results for the report (undefined when they could not be read).
 */
async function summarise(
  exp: Experiment,
  args: ExpArgs,
  plan: PlannedRun[],
  report: RunnerReport,
  exitStatus: number,
  stdout: (s: string) => void,
  stderr: (s: string) => void,
): Promise<ExperimentResults | undefined> {
  let files: { json: string; md: string } | null = null;
  let summary;
  let results: ExperimentResults | undefined;
  try {
    results = await readResults(args.runsDir, exp.name, exp.paperTargets ?? []);
    summary = collectSummary(exp, args.profile, plan, args.runsDir, results);
    if (args.report) files = await writeSummary(summary, args.reportsDir);
  } catch (e) {
    stderr(`exp: could not write the summary to ${args.reportsDir}: ${(e as Error).message}\n`);
  }
  if (args.json) {
    const outcomes = report.outcomes.map((o) => ({
      runId: o.run.runId,
      action: o.action,
      status: o.status,
      message: o.message,
    }));
    stdout(JSON.stringify({ ...summary, files, shard: args.shard, outcomes, exitStatus }, null, 2) + "\n");
  } else if (summary) {
    stdout(`\n${summaryText(summary)}\n${files ? `\nsummary: ${files.md}, ${files.json}\n` : ""}`);
  }
  return results;
}

/**
 * Runs the CLI and returns the exit status (it never calls `Deno.exit` itself): plan, train this process's
 * share, summarise, render the report.
 */
export async function main(argv: readonly string[], deps: CliDeps = {}): Promise<number> {
  const env = deps.env ?? Deno.env.toObject();
  const stdout = deps.stdout ?? writeTo(Deno.stdout);
  const stderr = deps.stderr ?? writeTo(Deno.stderr);
  const planned = await planFromArgs(argv, env, stdout, stderr);
  if (typeof planned === "number") return planned;
  const { args, exp, plan } = planned;
  const mine = shardRuns(plan, args.shard);
  const out = args.json ? stderr : stdout;
  const shardNote = args.shard
    ? ` (shard ${args.shard.index}/${args.shard.count}: ${mine.length} of ${plan.length})`
    : "";

  if (args.dryRun) return await dryRun(exp, args, plan, mine, stdout, shardNote);
  if (args.reportOnly) return await reportOnly(exp, args, plan, stdout, stderr, deps.render);

  const headline = exp.description.split("\n")[0];
  const where = runDirOf(args.runsDir, exp.name, "");
  out(
    `${exp.name}: ${headline}\nprofile ${args.profile}, ${plan.length} run(s)${shardNote}, runs in ${where}\n`,
  );
  const { report, caught } = await trainPlanned(exp, args, mine, deps, out, stderr);

  if (report.fatal) stderr(`exp: could not start training: ${report.fatal}\n`);
  const notDone = report.outcomes.filter((o) => o.status !== "completed");
  const status = report.interrupted
    ? (caught === "SIGTERM" ? EXIT.sigterm : EXIT.sigint)
    : notDone.length
    ? EXIT.incomplete
    : EXIT.ok;
  const results = await summarise(exp, args, plan, report, status, stdout, stderr);

  if (report.outcomes.length && report.outcomes.every((o) => o.action === "already-complete")) {
    out(`nothing to do: all ${report.outcomes.length} run(s) were already complete (use --force to redo)\n`);
  }
  if (report.interrupted) {
    out(`interrupted: run the same command again to resume\n`);
    return status;
  }
  if (args.report && deps.render !== false) {
    await renderReport(exp, results, args, out, deps.render);
  }
  if (notDone.length) {
    out(`${notDone.length} run(s) not completed:\n`);
    for (const o of notDone) out(`  ${o.run.label} seed ${o.run.seed} (${o.run.runId}): ${o.message}\n`);
  }
  return status;
}

function consoleColumns(): number {
  try {
    return Deno.consoleSize().columns;
  } catch {
    return 120;
  }
}

/** The report renderer's signature (lib/report/mod.ts). */
export type Render = (
  name: string,
  opts: RenderReportOptions,
) => Promise<Pick<RenderedReport, "path" | "warnings">>;

/** Renders the report page from the results the summary was made from (read again if there are none). */
async function renderReport(
  exp: Experiment,
  results: ExperimentResults | undefined,
  { runsDir, reportsDir }: { runsDir: string; reportsDir: string },
  out: (s: string) => void,
  injected?: Render,
): Promise<void> {
  let render: Render;
  if (injected) render = injected;
  else {
    try {
      const mod = await import("../report/mod.ts");
      if (typeof mod.renderExperimentReport !== "function") {
        throw new Error("it does not export renderExperimentReport");
      }
      render = mod.renderExperimentReport;
    } catch (e) {
      out(`report: not rendered (lib/report/mod.ts did not load: ${(e as Error).message.split("\n")[0]})\n`);
      return;
    }
  }
  try {
    const r = await render(exp.name, {
      runsDir,
      reportsDir,
      description: exp.description,
      results,
      // No targets means no comparison, as in the summary (the report alone defaults to the DRAW rows).
      paperTargets: exp.paperTargets ?? [],
    });
    out(`report: ${r.path}\n`);
    for (const w of r.warnings) out(`report warning: ${w}\n`);
  } catch (e) {
    out(`report: rendering failed: ${(e as Error).message}\n`);
  }
}

/**
 * `--report-only`: the summary and the HTML report of every planned run as the runs folder has them (all
 * shards' runs), without training; status 1 when a run is not completed. A job array's dependent job runs
 * it once after every shard (deploy/slurm/submit.sh).
 */
async function reportOnly(
  exp: Experiment,
  args: { profile: string; runsDir: string; reportsDir: string; json: boolean },
  plan: readonly PlannedRun[],
  stdout: (s: string) => void,
  stderr: (s: string) => void,
  render?: Render | false,
): Promise<number> {
  const out = args.json ? stderr : stdout;
  const results = await readResults(args.runsDir, exp.name, exp.paperTargets ?? []);
  const summary = collectSummary(exp, args.profile, plan, args.runsDir, results);
  let files: { json: string; md: string } | null = null;
  try {
    files = await writeSummary(summary, args.reportsDir);
  } catch (e) {
    stderr(`exp: could not write the summary to ${args.reportsDir}: ${(e as Error).message}\n`);
  }
  if (args.json) stdout(JSON.stringify({ ...summary, files }, null, 2) + "\n");
  else stdout(`${summaryText(summary)}\n${files ? `\nsummary: ${files.md}, ${files.json}\n` : ""}`);
  if (render !== false) await renderReport(exp, results, args, out, render);
  const notDone = summary.rows.filter((r) => r.status !== "completed");
  if (notDone.length) {
    out(`${notDone.length} run(s) not completed:\n`);
    for (const r of notDone) out(`  ${r.label} seed ${r.seed} (${r.runId}): ${r.status}\n`);
  }
  return files && !notDone.length ? EXIT.ok : EXIT.incomplete;
}

async function dryRun(
  exp: Experiment,
  args: { json: boolean; runsDir: string; profile: string },
  plan: PlannedRun[],
  mine: PlannedRun[],
  stdout: (s: string) => void,
  shardNote: string,
): Promise<number> {
  const rows = [];
  for (const run of plan) {
    const dir = runDirOf(args.runsDir, exp.name, run.runId);
    rows.push({ run, dir, status: stateWord(await readRunState(dir, run.runId)), mine: mine.includes(run) });
  }
  if (args.json) {
    const list = rows.map(({ run, dir, status, mine }) => ({
      index: run.index,
      label: run.label,
      cell: run.cell,
      seed: run.seed,
      runId: run.runId,
      runDir: dir,
      status,
      inShard: mine,
      useFixtures: run.useFixtures,
      config: run.config,
    }));
    stdout(JSON.stringify({ experiment: exp.name, profile: args.profile, runs: list }, null, 2) + "\n");
    return EXIT.ok;
  }
  stdout(`${exp.name} (profile ${args.profile}): ${plan.length} run(s)${shardNote}\n\n`);
  const sharded = shardNote !== "";
  const header = ["#", "cell", "seed", "budget", "run id", "status", ...(sharded ? ["this shard"] : [])];
  const cells = rows.map(({ run, status, mine }) => [
    String(run.index),
    run.label,
    String(run.seed),
    describeBudget(run.config.train.budget),
    run.runId,
    status,
    ...(sharded ? [mine ? "yes" : "no"] : []),
  ]);
  stdout(textTable(header, cells) + "\n");
  return EXIT.ok;
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
      console.error(
        `exp: not permitted: ${
          (e as Error).message
        } (\`deno task exp\` may write only in runs/ and reports/; ` +
          `choose --runs-dir and --reports-dir inside them)`,
      );
      Deno.exit(EXIT.usage);
    }
    // A bug, not a user error: one line, then the stack for the bug report.
    console.error(`exp: internal error: ${(e as Error)?.message ?? e}`);
    console.error((e as Error)?.stack ?? "");
    Deno.exit(70);
  }
}
