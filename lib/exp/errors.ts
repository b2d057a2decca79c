/**
 * Errors of the experiments layer. Both are user errors (exit status 2): the CLI prints the message alone,
 * never a stack trace.
 * @module
 */

/** An experiment file that cannot be used; the message names the file and the key path. */
export class ExperimentError extends Error {
  /** @param message `experiments/foo.ts: factors.T[2] must be ...` */
  constructor(message: string) {
    super(message);
    this.name = "ExperimentError";
  }
}

/** A malformed command line; the message names the flag. */
export class UsageError extends Error {
  /** @param message `--shard 4/4: i must be from 0 to 3` */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/**
 * Shows a value in an error message: strings quoted, NaN and Infinity by name, functions as `a function`.
 * @example
 * ```ts
 * show(NaN); // "NaN"
 * show("x"); // '"x"'
 * ```
 */
export function show(v: unknown): string {
  if (typeof v === "number") return String(v);
  if (v === undefined) return "undefined";
  if (typeof v === "function") return "a function";
  if (typeof v === "bigint") return `${v}n`;
  if (typeof v === "symbol") return v.toString();
  try {
    const s = JSON.stringify(v, (_k, x) => (typeof x === "number" && !Number.isFinite(x) ? String(x) : x));
    return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  } catch {
    return String(v);
  }
}
