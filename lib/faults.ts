/**
 * Fault-injection hooks for the reliability suite (tests/faults/). All of them are read from environment
 * variables and do nothing unless one is set; they exist so that end-to-end tests can crash the real CLI at
 * an exact point instead of racing it with a timer.
 *
 * - `REDRAW_FAULT_KILL_AT=<point>[#<k>]`: the process sends itself SIGKILL (or `REDRAW_FAULT_SIGNAL`, e.g.
 *   `SIGINT`) the k-th time (default: the first) it reaches `<point>`. Points:
 *   - `step:<n>`: the trainer has appended step n's metrics line but not yet its gradients line;
 *   - `checkpoint:<n>`: checkpoint n's `.bin` is written, its `.json` (the commit point) is not;
 *   - `write:<file name>`: half of the temporary copy of an atomic write of that file (`manifest.json`,
 *     `result.json`, `ckpt-000000008.bin`, `smoke.html`, ...) is written, before fsync and rename;
 *   - `append:<file name>`: half of a JSONL line of that file (`metrics.jsonl`, ...) is written, without
 *     its newline (a torn line).
 * - `REDRAW_FAULT_NO_SPACE_AT=<point>[#<k>]`, with a `write:` or `append:` point: from the k-th time on,
 *   every atomic write and JSONL append fails as a full disk does ("No space left on device").
 * - `REDRAW_FAULT_NAN_AT_STEP=<n>[@<text>]`: the loss of step n is NaN, in every run or only in runs whose
 *   id contains `<text>` (e.g. `6@attention=false`).
 *
 * The counters are per process. Reading the environment needs `--allow-env`; without it every hook is off.
 * @module
 */

/** Environment variables of the hooks. */
export const FAULT_ENV = Object.freeze({
  killAt: "REDRAW_FAULT_KILL_AT",
  signal: "REDRAW_FAULT_SIGNAL",
  noSpaceAt: "REDRAW_FAULT_NO_SPACE_AT",
  nanAtStep: "REDRAW_FAULT_NAN_AT_STEP",
});

interface Trigger {
  point: string;
  k: number;
  hits: number;
  fired: boolean;
}

const triggers = new Map<string, Trigger | null>();

function envValue(name: string): string | undefined {
  try {
    return Deno.env.get(name) || undefined;
  } catch {
    return undefined; // no --allow-env: hooks off
  }
}

/**
 * Parses `<point>[#<k>]`.
 * @example
 * ```ts
 * parseTrigger("write:manifest.json#2"); // { point: "write:manifest.json", k: 2 }
 * ```
 */
export function parseTrigger(spec: string | undefined): { point: string; k: number } | null {
  const m = spec === undefined ? null : /^(.+?)(?:#(\d+))?$/.exec(spec);
  return m ? { point: m[1], k: m[2] ? Math.max(1, Number(m[2])) : 1 } : null;
}

function trigger(envName: string): Trigger | null {
  if (!triggers.has(envName)) {
    const t = parseTrigger(envValue(envName));
    triggers.set(envName, t ? { ...t, hits: 0, fired: false } : null);
  }
  return triggers.get(envName)!;
}

/** Counts a visit to `point`; true on the k-th visit named by `REDRAW_FAULT_KILL_AT`. */
export function killArmed(point: string): boolean {
  const t = trigger(FAULT_ENV.killAt);
  if (!t || t.fired || t.point !== point) return false;
  t.hits++;
  t.fired = t.hits === t.k;
  return t.fired;
}

/** Ends the process now with `REDRAW_FAULT_SIGNAL` (default SIGKILL: no cleanup of any kind runs). */
export function killNow(): void {
  const sig = (envValue(FAULT_ENV.signal) ?? "SIGKILL") as Deno.Signal;
  Deno.kill(Deno.pid, sig);
}

/** Kills the process (see {@linkcode killNow}) if `point` is the armed kill point. */
export function faultPoint(point: string): void {
  if (killArmed(point)) killNow();
}

/**
 * Throws a "No space left on device" error from the armed `REDRAW_FAULT_NO_SPACE_AT` point on (the disk
 * stays full once it is full).
 */
export function checkNoSpace(point: string): void {
  const t = trigger(FAULT_ENV.noSpaceAt);
  if (!t) return;
  if (!t.fired && t.point === point) t.fired = ++t.hits === t.k;
  if (t.fired) throw new Error(`No space left on device (os error 28) [injected at ${t.point}]`);
}

/**
 * The step whose loss `REDRAW_FAULT_NAN_AT_STEP` makes NaN in the run `runId`, or undefined.
 * @example
 * ```ts
 * // REDRAW_FAULT_NAN_AT_STEP=6@attention=false
 * nanAtStep("fx-attention=false-s1-566542ba673c"); // 6
 * nanAtStep("fx-attention=true-s1-7686ca97fd2d"); // undefined
 * ```
 */
export function nanAtStep(runId: string): number | undefined {
  const spec = envValue(FAULT_ENV.nanAtStep);
  const m = spec === undefined ? null : /^(\d+)(?:@(.+))?$/.exec(spec);
  if (!m) return undefined;
  return m[2] === undefined || runId.includes(m[2]) ? Number(m[1]) : undefined;
}
