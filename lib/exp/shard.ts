/**
 * `--shard i/n`: split the planned runs between n workers sharing one runs folder, so that together they
 * cover every run exactly once. Runs are dealt round-robin over the plan's stable order (run k goes to
 * worker k mod n), which balances cells across workers; every worker must plan with the same experiment,
 * profile, seeds and filters.
 * @module
 */
import { show, UsageError } from "./errors.ts";

/** Worker `index` of `count` (0 <= index < count). */
export interface Shard {
  index: number;
  count: number;
}

const MAX_SHARDS = 100_000;

function intField(raw: string, what: string, flag: string): number {
  if (!/^\d+$/.test(raw)) throw new UsageError(`${flag}: ${what} must be a whole number, got ${show(raw)}`);
  return Number(raw);
}

/**
 * Parses `i/n`. Errors name the flag and say what is wrong.
 * @example
 * ```ts
 * parseShard("1/4"); // { index: 1, count: 4 }
 * try {
 *   parseShard("4/4");
 * } catch (e) {
 *   (e as Error).message; // "--shard 4/4: i must be from 0 to 3"
 * }
 * ```
 */
export function parseShard(text: string, flag = "--shard"): Shard {
  const m = /^\s*([^/]*)\/([^/]*)\s*$/.exec(text);
  if (!m) throw new UsageError(`${flag} ${show(text)} must look like i/n (e.g. --shard 0/4)`);
  const index = intField(m[1].trim(), "i", `${flag} ${text}`);
  const count = intField(m[2].trim(), "n", `${flag} ${text}`);
  return checkShard(index, count, `${flag} ${text}`);
}

function checkShard(index: number, count: number, where: string): Shard {
  if (count < 1 || count > MAX_SHARDS) throw new UsageError(`${where}: n must be from 1 to ${MAX_SHARDS}`);
  if (index >= count) throw new UsageError(`${where}: i must be from 0 to ${count - 1}`);
  return { index, count };
}

/** The runs that worker `shard` does: every run whose position k satisfies k mod n = i. */
export function shardRuns<T>(runs: readonly T[], shard: Shard | null): T[] {
  if (!shard) return [...runs];
  return runs.filter((_, k) => k % shard.count === shard.index);
}

/**
 * The shard given by a scheduler's environment, or null when none is set:
 * - Slurm job arrays: `SLURM_ARRAY_TASK_ID` with `SLURM_ARRAY_TASK_COUNT` (`--array=0-3` gives ids 0..3,
 *   count 4; arrays must start at 0 and have step 1, which `SLURM_ARRAY_TASK_MIN` is checked for);
 * - Kubernetes Indexed Jobs: `JOB_COMPLETION_INDEX`, with the count from `JOB_COMPLETIONS` (set it in the
 *   pod spec to the Job's `completions`, see deploy/k8s/exp-indexed-job.yaml).
 * @example
 * ```ts
 * shardFromEnv({ SLURM_ARRAY_TASK_ID: "2", SLURM_ARRAY_TASK_COUNT: "4" }); // { index: 2, count: 4 }
 * ```
 */
export function shardFromEnv(env: Record<string, string | undefined>): Shard | null {
  if (env.SLURM_ARRAY_TASK_ID !== undefined) {
    const where = "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT";
    if (env.SLURM_ARRAY_TASK_COUNT === undefined) {
      throw new UsageError(`SLURM_ARRAY_TASK_ID is set but SLURM_ARRAY_TASK_COUNT is not`);
    }
    if (env.SLURM_ARRAY_TASK_MIN !== undefined && env.SLURM_ARRAY_TASK_MIN.trim() !== "0") {
      throw new UsageError(
        `SLURM_ARRAY_TASK_MIN is ${show(env.SLURM_ARRAY_TASK_MIN)}: submit the array as --array=0-(n-1)`,
      );
    }
    const index = intField(env.SLURM_ARRAY_TASK_ID.trim(), "SLURM_ARRAY_TASK_ID", where);
    const count = intField(env.SLURM_ARRAY_TASK_COUNT.trim(), "SLURM_ARRAY_TASK_COUNT", where);
    return checkShard(index, count, `${where} ${index}/${count}`);
  }
  if (env.JOB_COMPLETION_INDEX !== undefined) {
    const where = "JOB_COMPLETION_INDEX/JOB_COMPLETIONS";
    if (env.JOB_COMPLETIONS === undefined) {
      throw new UsageError(
        `JOB_COMPLETION_INDEX is set but JOB_COMPLETIONS is not (set it to the Job's completions)`,
      );
    }
    const index = intField(env.JOB_COMPLETION_INDEX.trim(), "JOB_COMPLETION_INDEX", where);
    const count = intField(env.JOB_COMPLETIONS.trim(), "JOB_COMPLETIONS", where);
    return checkShard(index, count, `${where} ${index}/${count}`);
  }
  return null;
}
