/**
 * Grid expansion: factors -> cells (cartesian product in a stable order), `where`/`exclude` filters,
 * profile overrides, `--only key=value` filters and seeds -> one planned run per (cell, seed).
 * @module
 */
import { MODEL_PRESETS, PAPER_MNIST } from "../config/model.ts";
import { DEFAULT_TRAIN, type RunConfig } from "../config/run.ts";
import type { Cell, ExperimentSpec, Profile } from "./define.ts";
import { show, UsageError } from "./errors.ts";
import { canonicalJson, cellLabel, type DataSource, runIdFor, valueLabel } from "../config/runid.ts";

/** Model setting keys. */
export const MODEL_KEYS: readonly string[] = Object.freeze(Object.keys(PAPER_MNIST));
/** Training setting keys. */
export const TRAIN_KEYS: readonly string[] = Object.freeze(Object.keys(DEFAULT_TRAIN));

/** Which config section a setting key belongs to, or null for a combined factor key. */
export function settingSection(key: string): "model" | "train" | null {
  if (MODEL_KEYS.includes(key)) return "model";
  if (TRAIN_KEYS.includes(key)) return "train";
  return null;
}

/** Most runs (cells x seeds) an experiment may plan; larger grids are refused before anything runs. */
export const MAX_RUNS = 10_000;

/** Factor lists in declaration order, with a profile's replacements applied. */
export type FactorLists = Array<[key: string, values: readonly unknown[]]>;

/** The factor lists of an experiment under a profile. */
export function factorLists(exp: ExperimentSpec, profile: Profile | undefined): FactorLists {
  const over = (profile?.factors ?? {}) as Record<string, readonly unknown[] | undefined>;
  return Object.entries(exp.factors as Record<string, readonly unknown[]>).map((
    [k, vs],
  ) => [k, over[k] ?? vs]);
}

/** Number of cells before filters, or Infinity once it passes `cap` (no overflow, no allocation). */
export function gridSize(lists: FactorLists, cap = MAX_RUNS): number {
  let n = 1;
  for (const [, vs] of lists) {
    n *= vs.length;
    if (n > cap) return Infinity;
  }
  return n;
}

/**
 * The cartesian product of the factor lists: first factor varies slowest, last fastest.
 * @example
 * ```ts
 * expandCells([["a", [1, 2]], ["b", [true, false]]]);
 * // [{a:1,b:true}, {a:1,b:false}, {a:2,b:true}, {a:2,b:false}]
 * ```
 */
export function expandCells(lists: FactorLists): Cell[] {
  let cells: Record<string, unknown>[] = [{}];
  for (const [k, vs] of lists) {
    const next: Record<string, unknown>[] = [];
    for (const c of cells) for (const v of vs) next.push({ ...c, [k]: v });
    cells = next;
  }
  return cells;
}

/** True when every key of `partial` has an equal value in `cell`. */
export function cellMatches(cell: Cell, partial: Cell): boolean {
  return Object.entries(partial).every(([k, v]) => k in cell && canonicalJson(cell[k]) === canonicalJson(v));
}

/** Applies `exclude` then `where`. A `where` that throws or returns a non-boolean is an error naming the cell. */
export function filterCells(cells: Cell[], exp: Pick<ExperimentSpec, "where" | "exclude">): Cell[] {
  const out: Cell[] = [];
  for (const c of cells) {
    if (exp.exclude?.some((x) => cellMatches(c, x))) continue;
    if (exp.where) {
      let keep: unknown;
      try {
        keep = exp.where(c);
      } catch (e) {
        throw new Error(`where() threw for cell ${cellLabel(c)}: ${(e as Error)?.message ?? show(e)}`);
      }
      if (typeof keep !== "boolean") {
        throw new Error(`where() must return true or false, got ${show(keep)} for cell ${cellLabel(c)}`);
      }
      if (!keep) continue;
    }
    out.push(c);
  }
  return out;
}

/**
 * The run config of one cell: preset, then base, then profile, then the cell's values (see define.ts).
 * Not validated here; callers run `validateRunConfig` on it.
 */
export function resolveConfig(
  exp: ExperimentSpec,
  profile: Profile | undefined,
  cell: Cell,
  seed: number,
): RunConfig {
  const model: Record<string, unknown> = {
    ...MODEL_PRESETS[exp.base.preset],
    ...exp.base.model,
    ...profile?.model,
  };
  const train: Record<string, unknown> = { ...DEFAULT_TRAIN, ...exp.base.train, ...profile?.train };
  for (const [k, v] of Object.entries(cell)) {
    const section = settingSection(k);
    if (section === "model") model[k] = v;
    else if (section === "train") train[k] = v;
    else {
      for (const [bk, bv] of Object.entries(v as Record<string, unknown>)) {
        if (settingSection(bk) === "model") model[bk] = bv;
        else train[bk] = bv;
      }
    }
  }
  // A copy, so that a trainer mutating its config cannot change the plan.
  return JSON.parse(JSON.stringify({ model, train, seed })) as RunConfig;
}

/** One `--only key=value` filter after parsing: the factor and the values it keeps. */
export interface OnlyFilter {
  key: string;
  values: unknown[];
}

/**
 * Parses `--only key=value` flags against the factor lists. A value is matched by type: `true`/`false`
 * for booleans, numbers numerically (`1e-3` = `0.001`), strings as written, bundles by label (`5x5`) or JSON.
 * Repeating a key keeps cells with any of its values; different keys must all match.
 * @example
 * ```ts
 * parseOnly(["attention=false"], [["attention", [true, false]]]); // [{ key: "attention", values: [false] }]
 * ```
 */
export function parseOnly(flags: readonly string[], lists: FactorLists): OnlyFilter[] {
  const byKey = new Map<string, unknown[]>();
  for (const flag of flags) {
    const eq = flag.indexOf("=");
    if (eq <= 0) {
      throw new UsageError(`--only ${show(flag)} must look like key=value (e.g. --only attention=false)`);
    }
    const key = flag.slice(0, eq);
    const raw = flag.slice(eq + 1);
    const list = lists.find(([k]) => k === key);
    if (!list) {
      const known = lists.map(([k]) => k).join(", ") || "none";
      throw new UsageError(
        `--only ${flag}: ${show(key)} is not a factor of this experiment (factors: ${known})`,
      );
    }
    const match = list[1].find((v) => valueMatches(v, raw));
    if (match === undefined) {
      throw new UsageError(
        `--only ${flag}: no cell has ${key}=${raw} (values: ${list[1].map(valueLabel).join(", ")})`,
      );
    }
    byKey.set(key, [...(byKey.get(key) ?? []), match]);
  }
  return [...byKey].map(([key, values]) => ({ key, values }));
}

function valueMatches(v: unknown, raw: string): boolean {
  if (typeof v === "boolean") return raw === String(v);
  if (typeof v === "number") return raw.trim() !== "" && Number(raw) === v;
  if (typeof v === "string") return raw === v;
  return raw === valueLabel(v) || raw === canonicalJson(v) || raw === JSON.stringify(v);
}

/** True when the cell passes every `--only` filter. */
export function passesOnly(cell: Cell, only: readonly OnlyFilter[]): boolean {
  return only.every((f) => f.values.some((v) => canonicalJson(cell[f.key]) === canonicalJson(v)));
}

/** One run of the plan. */
export interface PlannedRun {
  /** Position in the full plan (before sharding), from 0. */
  index: number;
  cell: Cell;
  label: string;
  seed: number;
  config: RunConfig;
  runId: string;
  useFixtures: boolean;
}

/** What to plan. */
export interface PlanOptions {
  profile: string;
  /** Replace the profile's / experiment's seeds (`--seeds`). */
  seeds?: number[];
  only?: readonly OnlyFilter[];
  /** A data directory was given: real data even where the profile asks for fixtures. */
  dataDirGiven?: boolean;
}

/** The experiment's profile called `name`; a usage error listing the profiles when there is none. */
export function profileOf(exp: ExperimentSpec, name: string): Profile {
  const profile = exp.profiles[name];
  if (!profile) {
    throw new UsageError(
      `--profile ${name}: ${exp.name} has no such profile (profiles: ${
        Object.keys(exp.profiles).join(", ")
      })`,
    );
  }
  return profile;
}

/**
 * Every run of an experiment under a profile, seed-major (all cells for the first seed, then the next), so
 * that an interrupted sweep already holds a complete comparison for one seed. The experiment must have been
 * validated (see validate.ts).
 */
export function planRuns(exp: ExperimentSpec, opts: PlanOptions): PlannedRun[] {
  const profile = profileOf(exp, opts.profile);
  const lists = factorLists(exp, profile);
  const seeds = opts.seeds ?? profile.seeds ?? exp.seeds;
  if (gridSize(lists) * seeds.length > MAX_RUNS) {
    throw new UsageError(
      `${exp.name} (profile ${opts.profile}) has more than ${MAX_RUNS} runs; refusing to plan it`,
    );
  }
  const cells = filterCells(expandCells(lists), exp).filter((c) => passesOnly(c, opts.only ?? []));
  const useFixtures = (profile.useFixtures ?? false) && !opts.dataDirGiven;
  const data: DataSource = useFixtures ? "fixtures" : "full";
  const out: PlannedRun[] = [];
  for (const seed of seeds) {
    for (const cell of cells) {
      const config = resolveConfig(exp, profile, cell, seed);
      out.push({
        index: out.length,
        cell,
        label: cellLabel(cell),
        seed,
        config,
        runId: runIdFor(cell, config, data),
        useFixtures,
      });
    }
  }
  return out;
}
