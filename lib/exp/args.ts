/**
 * Command-line parsing for `deno task exp NAME [options]`. Unknown or malformed flags are errors that name
 * the flag ({@linkcode UsageError}, exit status 2).
 * @module
 */
import { parseArgs } from "@std/cli";
import { type BackendRequest, DEFAULT_REPORTS_DIR, DEFAULT_RUNS_DIR } from "../config/run.ts";
import { show, UsageError } from "./errors.ts";
import { parseShard, type Shard, shardFromEnv } from "./shard.ts";
import { threadsProblem } from "../kernels/wasm/threads.ts";

/** The usage text (`--help`). */
export const USAGE = `Usage: deno task exp NAME [options]

Runs experiment NAME (experiments/NAME.ts, or a path to a .ts file): every cell x seed that is not complete
yet. Finished runs are skipped, interrupted ones resume from their checkpoint, failed ones are reported.

Options:
  --profile P        smoke | quick | paper (or another profile of the experiment); default quick
  --backend B        auto | tensorflow | webgpu | wasm | cpu; default wasm (bit-identical resume)
  --threads N        threads of redraw's wasm kernels (default 1; at most, and best, the number of cores:
                     2 is ~1.6x faster on a 2-core machine; the numbers are bit-identical)
  --seeds 1,2,3      seeds to run, replacing the profile's
  --only KEY=VALUE   keep cells whose factor KEY has VALUE (repeatable; same key = or, different keys = and);
                     bundles match by label, e.g. --only grid=5x5
  --data-dir DIR     dataset directory, searched first (default: REDRAW_DATA_DIR, else the cache); a file
                     not there comes from the binarized MNIST shipped in data/; profiles with
                     useFixtures use the committed fixtures unless --data-dir is given
  --runs-dir DIR     where run folders go (default runs/): DIR/NAME/RUN-ID/
  --reports-dir DIR  where the summary and report go (default reports/)
  --shard I/N        run only worker I's share of N (0 <= I < N); "--shard env" reads SLURM_ARRAY_TASK_ID and
                     SLURM_ARRAY_TASK_COUNT, or JOB_COMPLETION_INDEX and JOB_COMPLETIONS
  --dry-run          print the cells, seeds, run ids and their status; run nothing
  --force            redo the selected runs even if complete (old records move to RUNS/.replaced/)
  --retry-failed     run again the runs whose result is failed (they resume from their last checkpoint)
  --no-report        write no summary and no HTML report (for the shards of a job array: the report is made
                     once, after every shard, by --report-only)
  --report-only      train nothing: write the summary and the HTML report from the runs folder as it is
  --no-wait          do not wait for runs another process is running (they count as not completed)
  --poll SECONDS     how often to check runs held by other processes (default 5)
  --json             machine-readable output on stdout (progress goes to stderr)
  -h, --help         this text

Exit status: 0 every selected run completed; 1 some run failed, is held elsewhere or was not run (with
--report-only: is not completed);
2 bad command line or experiment file; 130 interrupted by SIGINT; 143 interrupted by SIGTERM
(the current run is checkpointed and marked interrupted; run the same command again to resume).`;

/** Parsed options of `deno task exp`. */
export interface ExpArgs {
  name: string;
  profile: string;
  backend?: BackendRequest;
  /** tfjs-wasm threads (1 = the single-threaded build). Results are bit-identical for any count. */
  threads: number;
  seeds?: number[];
  only: string[];
  dataDir?: string;
  runsDir: string;
  reportsDir: string;
  shard: Shard | null;
  dryRun: boolean;
  force: boolean;
  retryFailed: boolean;
  /** Write the summary and the HTML report after running (false: `--no-report`). */
  report: boolean;
  /** Train nothing; only write the summary and the HTML report. */
  reportOnly: boolean;
  wait: boolean;
  pollSeconds: number;
  json: boolean;
  help: boolean;
}

const STRING_FLAGS = [
  "profile",
  "backend",
  "threads",
  "seeds",
  "data-dir",
  "runs-dir",
  "reports-dir",
  "shard",
  "poll",
];
const BOOLEAN_FLAGS = ["dry-run", "force", "retry-failed", "report", "report-only", "wait", "json", "help"];
const BACKENDS: readonly string[] = ["auto", "tensorflow", "webgpu", "wasm", "cpu"];

/**
 * Parses `--seeds 1,2,3`.
 * @example
 * ```ts
 * parseSeeds("1,2,3"); // [1, 2, 3]
 * ```
 */
export function parseSeeds(text: string): number[] {
  const parts = text.split(",").map((s) => s.trim());
  const seeds = parts.map((p) => {
    if (!/^\d+$/.test(p) || Number(p) < 1 || Number(p) > 0x7fffffff) {
      throw new UsageError(
        `--seeds ${text}: ${show(p)} is not a seed (integers from 1 to 2147483647, e.g. --seeds 1,2,3)`,
      );
    }
    return Number(p);
  });
  const dup = seeds.find((s, i) => seeds.indexOf(s) !== i);
  if (dup !== undefined) throw new UsageError(`--seeds ${text}: seed ${dup} is given twice`);
  return seeds;
}

/**
 * Parses the command line. `env` is consulted only for `--shard env`.
 * @example
 * ```ts
 * parseExpArgs(["attention-ablation", "--profile", "smoke", "--only", "attention=false"]);
 * ```
 */
export function parseExpArgs(argv: readonly string[], env: Record<string, string | undefined> = {}): ExpArgs {
  // --only is repeatable, which the std subset does not collect: take it out first.
  const only: string[] = [];
  const rest: string[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--") {
      rest.push(...argv.slice(i));
      break;
    }
    if (a === "--only" || a.startsWith("--only=")) {
      const v = a === "--only" ? argv[++i] : a.slice("--only=".length);
      if (v === undefined || v.startsWith("--")) {
        throw new UsageError(`Flag "--only" needs a value like attention=false`);
      }
      only.push(v);
      continue;
    }
    const m = /^--(?:no-)?([^=]+)/.exec(a);
    if (m && STRING_FLAGS.concat(BOOLEAN_FLAGS).includes(m[1])) {
      if (seen.has(m[1])) throw new UsageError(`Flag "--${m[1]}" is given twice`);
      seen.add(m[1]);
    }
    rest.push(a);
  }
  let a: Record<string, unknown>;
  try {
    a = parseArgs(rest, {
      string: STRING_FLAGS,
      boolean: BOOLEAN_FLAGS,
      alias: { h: "help" },
      unknown: (raw: string) => {
        throw new UsageError(`Unknown flag "${raw}" (see --help)`);
      },
    });
  } catch (e) {
    throw e instanceof UsageError ? e : new UsageError((e as Error).message);
  }
  for (const f of BOOLEAN_FLAGS) {
    if (f in a && typeof a[f] !== "boolean") {
      throw new UsageError(`Flag "--${f}" takes no value, got ${show(a[f])}`);
    }
  }
  for (const f of STRING_FLAGS) {
    const v = a[f];
    if (v === undefined) continue;
    if (typeof v !== "string" || v === "" || v.startsWith("--")) {
      throw new UsageError(
        `Flag "--${f}" needs a value${typeof v === "string" && v !== "" ? `, got ${show(v)}` : ""}`,
      );
    }
  }
  const positionals = (a._ as unknown[]).map(String);
  const help = a.help === true;
  if (!help && positionals.length === 0) throw new UsageError(`Missing experiment name (see --help)`);
  if (positionals.length > 1) {
    throw new UsageError(`Expected one experiment name, got ${positionals.map((p) => show(p)).join(" ")}`);
  }
  const backend = a.backend as string | undefined;
  if (backend !== undefined && !BACKENDS.includes(backend)) {
    throw new UsageError(`--backend ${backend}: must be one of ${BACKENDS.join(", ")}`);
  }
  const threadsText = a.threads as string | undefined;
  const threads = threadsText === undefined ? 1 : Number(threadsText);
  const threadsWrong = threadsText === undefined ? null : threadsProblem(threadsText);
  if (threadsWrong) throw new UsageError(`--threads ${threadsText}: ${threadsWrong}`);
  const shardText = a.shard as string | undefined;
  let shard: Shard | null = null;
  if (shardText === "env") {
    shard = shardFromEnv(env);
    if (!shard) {
      throw new UsageError(`--shard env: neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set`);
    }
  } else if (shardText !== undefined) shard = parseShard(shardText);
  if (a["report-only"] === true) {
    for (const f of ["dry-run", "force", "retry-failed", "shard"]) {
      if (a[f] !== undefined && a[f] !== false) {
        throw new UsageError(`--report-only trains nothing: drop --${f}`);
      }
    }
    if (a.report === false) throw new UsageError(`--report-only and --no-report contradict each other`);
  }
  const pollText = a.poll as string | undefined;
  const pollSeconds = pollText === undefined ? 5 : Number(pollText);
  if (!Number.isFinite(pollSeconds) || pollSeconds <= 0 || pollSeconds > 3600) {
    throw new UsageError(`--poll ${pollText}: must be a number of seconds from 0 to 3600`);
  }
  return {
    name: positionals[0] ?? "",
    profile: (a.profile as string | undefined) ?? "quick",
    backend: backend as BackendRequest | undefined,
    threads,
    seeds: a.seeds === undefined ? undefined : parseSeeds(a.seeds as string),
    only,
    dataDir: a["data-dir"] as string | undefined,
    runsDir: (a["runs-dir"] as string | undefined) ?? DEFAULT_RUNS_DIR,
    reportsDir: (a["reports-dir"] as string | undefined) ?? DEFAULT_REPORTS_DIR,
    shard,
    dryRun: a["dry-run"] === true,
    force: a.force === true,
    retryFailed: a["retry-failed"] === true,
    report: a.report !== false,
    reportOnly: a["report-only"] === true,
    wait: a.wait !== false,
    pollSeconds,
    json: a.json === true,
    help,
  };
}
