/**
 * The experiment runner: for each planned run of this shard, skip it when `result.json` says completed,
 * report and skip it when it failed (unless `retryFailed`/`force`), otherwise take the run folder's lock
 * and call the trainer, which resumes from the folder's last valid checkpoint when there is one.
 *
 * The trainer and the lock are injected (see {@linkcode RunnerDeps}), so tests use a fake trainer; the CLI
 * passes `trainRun` from lib/train/run.ts and `tryAcquireLock` from lib/record/lock.ts.
 *
 * Cells locked by another live process are left to it: after its own cells, the runner waits for them
 * (polling) and reports their final status, so several processes on one experiment each exit 0 once
 * everything is complete; if the other process dies, the stale lock is taken over and the cell resumed here.
 * @module
 */
import type { Result } from "../record/types.ts";
import type { TrainRunner } from "../train/api.ts";
import type { PlannedRun } from "./grid.ts";
import type { ProgressSink } from "./progress.ts";
import { readRunState, type RunState } from "./status.ts";
import { formatDuration, formatEstimate } from "./format.ts";

/** A held run-folder lock (lib/record/lock.ts). */
export interface RunLock {
  release(): Promise<void> | void;
}

/**
 * Takes a run folder's lock, or returns null while another live process holds it (lib/record/lock.ts's
 * `tryAcquireLock`). `onLost` is called if the lock is later taken over (this process stalled past the
 * lease); the runner then interrupts the cell.
 */
export type AcquireLock = (
  dir: string,
  opts: { owner: string; onLost: (reason: string) => void },
) => Promise<RunLock | null>;

/** What the runner does, with which runs. */
export interface RunnerOptions {
  experiment: { name: string };
  /** The runs of this shard, in plan order. */
  runs: readonly PlannedRun[];
  /** Run folders are `<runsDir>/<experiment>/<runId>/`. */
  runsDir: string;
  dataDir?: string;
  /** Redo runs even when complete (the old folder is moved to `<runsDir>/.replaced/`). */
  force?: boolean;
  /** Run again cells whose result says failed (the trainer resumes from their last valid checkpoint). */
  retryFailed?: boolean;
  /** Wait for cells another process holds (default true); false leaves them `locked`. */
  wait?: boolean;
  /** Seconds between checks of cells held elsewhere (default 5). */
  pollSeconds?: number;
  /** The command recorded in each run's manifest. */
  commandFor: (run: PlannedRun) => string;
}

/** The runner's collaborators. */
export interface RunnerDeps {
  trainer: TrainRunner;
  acquireLock: AcquireLock;
  progress: ProgressSink;
  /** Aborting interrupts the current cell (the trainer checkpoints it) and stops the runner. */
  signal?: AbortSignal;
  /** Seconds on a monotonic clock. */
  now?: () => number;
  /**
   * Called once, just before the first run trains (e.g. to load tfjs and initialise the backend), so that an
   * experiment with nothing left to do never pays for it. If it throws, nothing trains and the report's
   * `fatal` says why.
   */
  prepare?: () => Promise<void>;
}

/** How one run ended in this invocation. */
export type CellAction =
  | "trained" // this process called the trainer
  | "already-complete" // result.json said completed
  | "failed-earlier" // result.json said failed; not retried
  | "by-other-process" // another process held the lock and finished it
  | "unreadable" // the folder's result.json is foreign or corrupt; needs --force
  | "locked" // another process still holds it (wait: false)
  | "error" // the trainer threw (a bug); reported, other cells go on
  | "not-run"; // interrupted before it started

/** The outcome of one planned run. */
export interface CellOutcome {
  run: PlannedRun;
  runDir: string;
  action: CellAction;
  /** Final status if known: the result's, else null. */
  status: Result["status"] | null;
  result: Result | null;
  message: string;
  /** Wall seconds spent on it by this process. */
  seconds: number;
}

/** Everything the runner did. */
export interface RunnerReport {
  outcomes: CellOutcome[];
  /** The signal aborted the run. */
  interrupted: boolean;
  /** Every run of this shard has status completed. */
  allCompleted: boolean;
  /** Why training could not start at all (`prepare` failed), or null. */
  fatal: string | null;
}

/** `<runsDir>/<experiment>/<runId>`. */
export function runDirOf(runsDir: string, experiment: string, runId: string): string {
  return `${runsDir.replace(/\/+$/, "") || "."}/${experiment}/${runId}`;
}

/** The folder an old record is moved to by `--force`. */
export function replacedDirOf(runsDir: string, experiment: string, runId: string, stamp: string): string {
  return `${runsDir.replace(/\/+$/, "") || "."}/.replaced/${experiment}/${runId}-${stamp}`;
}

/** Files a lock keeps in the run folder (`lock.json`, `.lock.break-*`); `--force` leaves them in place. */
const LOCK_NAMES = /^(lock\.json|\.lock\..*)$/;

async function moveAside(dir: string, dest: string): Promise<number> {
  let moved = 0;
  for await (const e of Deno.readDir(dir)) {
    if (LOCK_NAMES.test(e.name)) continue;
    if (moved === 0) await Deno.mkdir(dest, { recursive: true });
    await Deno.rename(`${dir}/${e.name}`, `${dest}/${e.name}`);
    moved++;
  }
  return moved;
}

function resultLine(r: Result | null): string {
  if (!r?.test) return "";
  const iwae = r.test.iwae ? `, IWAE(k=${r.test.iwae.k}) ${formatEstimate(r.test.iwae)}` : "";
  return ` test bound ${formatEstimate(r.test.bound)} nats${iwae}`;
}

/** Why a state stops the runner from training, or null when it may train. */
function blocked(
  s: RunState,
  opts: RunnerOptions,
  forceNow: boolean,
): Pick<CellOutcome, "action" | "status" | "result" | "message"> | null {
  if (forceNow) return null;
  if (s.kind === "finished" && s.status === "completed") {
    return {
      action: "already-complete",
      status: "completed",
      result: s.result,
      message: `already complete.${resultLine(s.result)}`,
    };
  }
  if (s.kind === "finished" && s.status === "failed" && !opts.retryFailed) {
    return {
      action: "failed-earlier",
      status: "failed",
      result: s.result,
      message: `failed earlier${
        s.reason ? ` (${s.reason})` : ""
      }; not retried (use --retry-failed or --force)`,
    };
  }
  if (s.kind === "unreadable") {
    return {
      action: "unreadable",
      status: null,
      result: null,
      message: `${s.reason}; not touched (use --force to redo it; the old folder is kept under .replaced/)`,
    };
  }
  return null;
}

/** One invocation of the runner over its planned runs: the outcomes so far and the three passes. */
class Runner {
  readonly outcomes = new Map<PlannedRun, CellOutcome>();
  /** The runs left to train after the first pass, in plan order. */
  todo: PlannedRun[] = [];
  fatal: string | null = null;
  private pos = 0;
  private prepared = false;
  private readonly now: () => number;

  constructor(readonly opts: RunnerOptions, readonly deps: RunnerDeps) {
    this.now = deps.now ?? (() => performance.now() / 1000);
  }

  dirOf(run: PlannedRun): string {
    return runDirOf(this.opts.runsDir, this.opts.experiment.name, run.runId);
  }

  say(run: PlannedRun, msg: string): void {
    this.deps.progress.log(`${run.label} seed ${run.seed}: ${msg}`);
  }

  record(run: PlannedRun, o: Omit<CellOutcome, "run" | "runDir" | "seconds">, seconds = 0): void {
    this.outcomes.set(run, { run, runDir: this.dirOf(run), seconds, ...o });
  }

  /** Ends a cell that was trained (or crashed): its outcome and the progress line. */
  private cellEnd(run: PlannedRun, o: Omit<CellOutcome, "run" | "runDir" | "seconds">, seconds: number) {
    this.record(run, o, seconds);
    this.deps.progress.cellEnd(`${run.label} seed ${run.seed}: ${o.message}`, seconds);
  }

  stopped(): boolean {
    return (this.deps.signal?.aborted ?? false) || this.fatal !== null;
  }

  /** Pass 1: what the folders say before anything runs. */
  async survey(): Promise<void> {
    for (const run of this.opts.runs) {
      const b = blocked(await readRunState(this.dirOf(run), run.runId), this.opts, this.opts.force ?? false);
      if (b) {
        this.record(run, b);
        this.say(run, b.message);
      } else this.todo.push(run);
    }
  }

  /** Pass 2: trains what is left; returns the cells held by another process, deferred. */
  async trainLeft(): Promise<PlannedRun[]> {
    const deferred: PlannedRun[] = [];
    for (const run of this.todo) {
      if (this.stopped()) break;
      if (await this.attempt(run, this.opts.force ?? false) === "locked") {
        deferred.push(run);
        this.say(
          run,
          `another process is running it; ${this.opts.wait === false ? "skipped" : "will wait for it"}`,
        );
      }
    }
    return deferred;
  }

  /** Pass 3: waits for the deferred cells (or takes them over when their process dies); returns the rest. */
  async waitFor(deferred: PlannedRun[]): Promise<PlannedRun[]> {
    const poll = (this.opts.pollSeconds ?? 5) * 1000;
    const waiting = () => deferred.length > 0 && this.opts.wait !== false && !this.stopped();
    if (waiting()) this.deps.progress.log(`waiting for ${deferred.length} run(s) held by other processes`);
    while (waiting()) {
      await sleep(poll, this.deps.signal);
      const still: PlannedRun[] = [];
      for (const run of deferred) {
        if (this.stopped()) still.push(run);
        else if (await this.finishedElsewhere(run)) continue;
        else if (await this.attempt(run, false) === "locked") still.push(run);
      }
      deferred = still;
    }
    return deferred;
  }

  /** Records a deferred run that another process completed or failed; false when it has not ended. */
  private async finishedElsewhere(run: PlannedRun): Promise<boolean> {
    const s = await readRunState(this.dirOf(run), run.runId);
    if (!(s.kind === "finished" && (s.status === "completed" || s.status === "failed"))) return false;
    const message = s.status === "completed"
      ? `completed by another process.${resultLine(s.result)}`
      : `failed in another process${s.reason ? ` (${s.reason})` : ""}`;
    this.record(run, { action: "by-other-process", status: s.status, result: s.result, message });
    this.say(run, message);
    return true;
  }

  /** Trains one run under its lock, or says it is locked by another process. */
  async attempt(run: PlannedRun, forceNow: boolean): Promise<"locked" | "done"> {
    const dir = this.dirOf(run);
    await Deno.mkdir(dir, { recursive: true });
    const cellAbort = new AbortController();
    const lost: { reason: string | null } = { reason: null };
    const lock = await this.deps.acquireLock(dir, {
      owner: this.opts.commandFor(run),
      onLost: (reason) => {
        lost.reason = reason;
        cellAbort.abort();
      },
    });
    if (!lock) return "locked";
    const signal = this.deps.signal;
    const onAbort = () => cellAbort.abort();
    signal?.addEventListener("abort", onAbort);
    if (signal?.aborted) cellAbort.abort();
    try {
      if (await this.settledUnderLock(run, dir, forceNow)) return "done";
      if (!(await this.prepare())) return "done";
      await this.train(run, dir, cellAbort.signal, lost);
      return "done";
    } finally {
      signal?.removeEventListener("abort", onAbort);
      await lock.release();
    }
  }

  /**
   * Re-reads the folder under the lock (another process may have finished it meanwhile): true when there is
   * nothing to train. With `--force`, moves an old record aside first.
   */
  private async settledUnderLock(run: PlannedRun, dir: string, forceNow: boolean): Promise<boolean> {
    const state = await readRunState(dir, run.runId);
    const b = blocked(state, this.opts, forceNow);
    if (b) {
      const other = b.action === "already-complete" ? "by-other-process" : b.action;
      this.record(run, { ...b, action: other });
      this.say(run, b.message);
      return true;
    }
    if (forceNow && state.kind !== "pending") {
      const stamp = new Date().toISOString().replace(/[:.]/g, "-");
      const dest = replacedDirOf(this.opts.runsDir, this.opts.experiment.name, run.runId, stamp);
      if (await moveAside(dir, dest) > 0) this.say(run, `--force: the old record was moved to ${dest}`);
    }
    return false;
  }

  /** Calls `deps.prepare` once, before the first run trains; false (and `fatal` set) when it throws. */
  private async prepare(): Promise<boolean> {
    if (this.prepared) return true;
    try {
      await this.deps.prepare?.();
      this.prepared = true;
      return true;
    } catch (e) {
      this.fatal = (e as Error)?.message ?? String(e);
      return false;
    }
  }

  /** Calls the trainer on one run and records how it ended. */
  private async train(
    run: PlannedRun,
    dir: string,
    signal: AbortSignal,
    lost: { reason: string | null },
  ): Promise<void> {
    const { opts, deps } = this;
    this.pos++;
    deps.progress.cellStart(this.pos, this.todo.length, `${run.label} seed ${run.seed}`, run.runId);
    const t0 = this.now();
    let result: Result;
    try {
      result = await deps.trainer({
        runDir: dir,
        experiment: opts.experiment.name,
        cell: run.cell as Record<string, unknown>,
        runId: run.runId,
        config: run.config,
        dataDir: opts.dataDir,
        useFixtures: run.useFixtures,
        command: opts.commandFor(run),
        onProgress: (p) => deps.progress.update(p),
        signal,
      });
    } catch (e) {
      const message = `the trainer crashed: ${(e as Error)?.message ?? String(e)}`;
      return this.cellEnd(run, { action: "error", status: null, result: null, message }, this.now() - t0);
    }
    const seconds = this.now() - t0;
    if (lost.reason !== null && !deps.signal?.aborted) {
      const message =
        `${result.status}: this process lost the run's lock (${lost.reason}); another may resume it`;
      return this.cellEnd(run, { action: "trained", status: result.status, result, message }, seconds);
    }
    const after = await readRunState(dir, run.runId);
    const why = result.status !== "completed" && after.kind === "finished" && after.reason
      ? ` (${after.reason})`
      : "";
    const message = `${result.status}${why} after ${result.steps} steps in ${formatDuration(seconds)}.${
      resultLine(result)
    }`;
    this.cellEnd(run, { action: "trained", status: result.status, result, message }, seconds);
  }

  /** The report: every planned run's outcome, in plan order (locked or never reached ones said so). */
  report(deferred: PlannedRun[]): RunnerReport {
    for (const run of deferred) {
      if (!this.outcomes.has(run)) {
        this.record(run, {
          action: "locked",
          status: null,
          result: null,
          message: "held by another process",
        });
      }
    }
    const notRun = this.fatal === null ? "not run" : `not run: ${this.fatal}`;
    for (const run of this.opts.runs) {
      if (!this.outcomes.has(run)) {
        this.record(run, { action: "not-run", status: null, result: null, message: notRun });
      }
    }
    const list = this.opts.runs.map((r) => this.outcomes.get(r)!);
    return {
      outcomes: list,
      interrupted: this.deps.signal?.aborted ?? false,
      allCompleted: list.every((o) => o.status === "completed"),
      fatal: this.fatal,
    };
  }
}

/**
 * Runs (or skips) every planned run; see the module doc. Three passes: what the folders say, training what
 * is left, then waiting for the runs other processes hold.
 */
export async function runExperiment(opts: RunnerOptions, deps: RunnerDeps): Promise<RunnerReport> {
  const runner = new Runner(opts, deps);
  await runner.survey();
  const deferred = await runner.trainLeft();
  return runner.report(await runner.waitFor(deferred));
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(t);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const t = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
