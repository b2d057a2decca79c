/**
 * Cells, their labels and run ids: a readable prefix from the cell and seed, then 12 hex digits of the
 * SHA-256 of the canonical JSON of the resolved run config. Same config and seed -> same id; any change -> a
 * new id, so a finished cell is found again and a changed one never reuses an old record.
 *
 * Configuration layer: the experiment runner, the trainer's CLI and the report label cells from here.
 * @module
 */
import { createHash } from "node:crypto";
import type { RunConfig } from "./run.ts";

/** One cell of an experiment grid: factor key -> the value it takes in this cell. */
export type Cell = Readonly<Record<string, unknown>>;

/**
 * JSON with object keys sorted at every level and `undefined` members dropped, so equal configs give equal
 * strings whatever order their keys were written in (also the report's grouping key; a value JSON cannot
 * write, such as `undefined` itself, gives "null").
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: { d: 2, c: undefined } }); // '{"a":{"d":2},"b":1}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value)) ?? "null";
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (typeof v === "object" && v !== null) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== undefined) out[k] = sortKeys(x);
    }
    return out;
  }
  return v;
}

/** SHA-256 of a string, as hex. */
export function sha256Hex(s: string): string {
  return createHash("sha256").update(s).digest("hex");
}

/**
 * A short label for one factor value: primitives as written, a bundle's values joined by "x"
 * (`{ readN: 5, writeN: 5 }` -> `5x5`).
 */
export function valueLabel(v: unknown): string {
  if (typeof v === "object" && v !== null && !Array.isArray(v)) {
    return Object.values(v).map(valueLabel).join("x");
  }
  if (typeof v === "string") return v;
  return JSON.stringify(v) ?? String(v);
}

/** A cell's label: `key=value` pairs in factor order joined by ",", or `base` for the single cell of no factors. */
export function cellLabel(cell: Cell): string {
  const parts = Object.entries(cell).map(([k, v]) => `${k}=${valueLabel(v)}`);
  return parts.length ? parts.join(",") : "base";
}

const PREFIX_MAX = 48;

/** Where the data comes from; the committed fixtures give different results, so they get different ids. */
export type DataSource = "full" | "fixtures";

/**
 * The run id of a cell: `<cell>-s<seed>-<12 hex>`, e.g. `attention=false-s1-3f2a9c1b7d0e`. Only the hash
 * identifies the run; the prefix is for people and is cut to 48 safe characters.
 * @example
 * ```ts
 * import { runConfigFromPreset } from "./run.ts";
 * runIdFor({ attention: false }, runConfigFromPreset("small", { seed: 1 })); // "attention=false-s1-..."
 * ```
 */
export function runIdFor(cell: Cell, config: RunConfig, data: DataSource = "full"): string {
  // The full-data id hashes the RunConfig alone (the documented definition); fixtures add a marker.
  const hashed = data === "full" ? config : { ...config, data };
  const hash = sha256Hex(canonicalJson(hashed)).slice(0, 12);
  const readable = Object.entries(cell).map(([k, v]) => `${k}=${valueLabel(v)}`);
  readable.push(`s${config.seed}`);
  let prefix = readable.join("-").replace(/[^A-Za-z0-9=._-]/g, "_");
  if (prefix.length > PREFIX_MAX) prefix = prefix.slice(0, PREFIX_MAX);
  if (data === "fixtures") prefix = `fx-${prefix}`;
  return `${prefix}-${hash}`;
}
