/**
 * A minimal stand-in for `jsr:@std/cli`'s `parseArgs`, built on `node:util`'s `parseArgs`.
 *
 * Where JSR (jsr.io) is unreachable, the import map points `@std/cli` here (see README for the
 * one-line swap back to `jsr:@std/cli@^1`). Supported options: `string`, `boolean`, `default`, `alias`,
 * `unknown`, `stopEarly` is not supported. Differences from std kept on purpose: none in this subset, except that
 * `--flag=value` and `--flag value` are both accepted for string flags (as in std) and a missing value for a
 * string flag is an error rather than an empty string.
 * @module
 */
import { parseArgs as nodeParseArgs } from "node:util";

/** Options of {@linkcode parseArgs} (the std subset). */
export interface ParseOptions {
  /** Flags that take a string value. */
  string?: readonly string[];
  /** Flags that are booleans (`--x`, `--no-x`). */
  boolean?: readonly string[];
  /** Default values. */
  default?: Record<string, unknown>;
  /** Aliases: `{ h: "help" }`. */
  alias?: Record<string, string>;
  /** Called for each unknown flag; return false to drop it. Without it, unknown flags are kept (std). */
  unknown?: (arg: string, key?: string, value?: unknown) => unknown;
}

/** Parsed arguments: positionals in `_`, flags by name. */
export type Args = { _: string[]; [key: string]: unknown };

/**
 * Parses command-line arguments.
 * @example
 * ```ts
 * import { parseArgs } from "@std/cli";
 * const a = parseArgs(["--seed", "3", "--dry-run", "smoke"], { string: ["seed"], boolean: ["dry-run"] });
 * // a = { _: ["smoke"], seed: "3", "dry-run": true }
 * ```
 */
export function parseArgs(args: readonly string[], opts: ParseOptions = {}): Args {
  const options: Record<string, { type: "string" | "boolean"; short?: string }> = {};
  for (const s of opts.string ?? []) options[s] = { type: "string" };
  for (const b of opts.boolean ?? []) options[b] = { type: "boolean" };
  for (const [short, long] of Object.entries(opts.alias ?? {})) {
    if (options[long] && short.length === 1) options[long].short = short;
  }
  // `--no-x` for booleans, as std supports.
  const rewritten: string[] = [];
  const negated: string[] = [];
  for (const a of args) {
    const m = /^--no-(.+)$/.exec(a);
    if (m && options[m[1]]?.type === "boolean") negated.push(m[1]);
    else rewritten.push(a);
  }
  const { values, positionals, tokens } = nodeParseArgs({
    args: rewritten,
    options,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const out: Args = { _: [...positionals] };
  for (const [k, v] of Object.entries(opts.default ?? {})) out[k] = v;
  for (const t of tokens ?? []) {
    if (t.kind !== "option") continue;
    const known = t.name in options;
    if (!known && opts.unknown && opts.unknown(t.rawName, t.name, t.value) === false) continue;
    if (known && options[t.name].type === "string" && t.value === undefined) {
      throw new Error(`Flag "${t.rawName}" needs a value`);
    }
    out[t.name] = (values as Record<string, unknown>)[t.name];
  }
  for (const n of negated) out[n] = false;
  for (const [short, long] of Object.entries(opts.alias ?? {})) {
    if (long in out) out[short] = out[long];
  }
  return out;
}
