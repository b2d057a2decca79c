/**
 * Loading and validating experiment files. Every error is an {@linkcode ExperimentError} whose message
 * names the file and the key path and quotes the offending value, e.g.
 * `experiments/foo.ts: factors.T[2] must be an integer from 1 to 10000, got -1`.
 *
 * Everything is checked before anything runs: the file's imports (no tfjs), its shape, every setting, the
 * size of each profile's grid (at most {@linkcode MAX_RUNS} runs), and every resolved run config.
 * @module
 */
import { ConfigError, MODEL_PRESETS, PAPER_MNIST, validateDrawConfig } from "../config/model.ts";
import { DEFAULT_TRAIN, validateRunConfig, validateTrainConfig } from "../config/run.ts";
import { findTable2Row, PAPER_TABLE2 } from "../config/paper.ts";
import { type Cell, type ExperimentSpec, type Profile, REQUIRED_PROFILES } from "./define.ts";
import { ExperimentError, show } from "./errors.ts";
import {
  expandCells,
  factorLists,
  filterCells,
  gridSize,
  MAX_RUNS,
  MODEL_KEYS,
  resolveConfig,
  settingSection,
  TRAIN_KEYS,
} from "./grid.ts";
import { canonicalJson, cellLabel, runIdFor } from "../config/runid.ts";

/** An experiment that passed validation, with the file it came from. */
export interface Experiment extends ExperimentSpec {
  /** The file, relative to the working directory where possible. */
  file: string;
}

/** Experiment names: safe as a folder name, never a path. */
export const EXPERIMENT_NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;
const FACTOR_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
const PROFILE_NAME = /^[a-z][a-z0-9-]{0,31}$/;
const TOP_KEYS = [
  "name",
  "description",
  "base",
  "factors",
  "where",
  "exclude",
  "seeds",
  "profiles",
  "paperTargets",
];
const PROFILE_KEYS = ["description", "train", "model", "seeds", "useFixtures", "factors"];
const MAX_FACTOR_VALUES = 1000;
const MAX_FILE_BYTES = 1_000_000;

/** The project root (this file is lib/exp/validate.ts). */
export const PROJECT_ROOT: string = new URL("../../", import.meta.url).pathname;

type Obj = Record<string, unknown>;

function isPlainObject(v: unknown): v is Obj {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** `a.b`, or `a["x y"]` for keys that are not identifiers. */
function keyPath(parent: string, key: string): string {
  const k = /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
  return parent ? `${parent}${k}` : k.replace(/^\./, "");
}

class Checker {
  constructor(readonly file: string) {}

  fail(path: string, msg: string): never {
    throw new ExperimentError(`${this.file}: ${path ? `${path} ` : ""}${msg}`);
  }

  object(v: unknown, path: string, example: string): Obj {
    if (!isPlainObject(v)) this.fail(path, `must be an object like ${example}, got ${show(v)}`);
    return v;
  }

  keys(o: Obj, path: string, known: readonly string[], what: string): void {
    for (const k of Object.keys(o)) {
      if (!known.includes(k)) this.fail(keyPath(path, k), `is not ${what} (known: ${known.join(", ")})`);
    }
  }

  /** One model or training setting, checked with the config validators and reported at `path`. */
  setting(key: string, value: unknown, path: string): void {
    const section = settingSection(key);
    if (section === null) this.fail(path, `is not a model or training setting`);
    this.finite(value, path);
    const mark = "\u0000";
    try {
      if (section === "model") validateDrawConfig({ ...PAPER_MNIST, [key]: value }, mark);
      else validateTrainConfig({ ...DEFAULT_TRAIN, [key]: value }, mark);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      const own = `${mark}.${key}`;
      const msg = e.message;
      if (msg.startsWith(own)) throw new ExperimentError(`${this.file}: ${path}${msg.slice(own.length)}`);
      this.fail(path, `makes the config impossible: ${msg.replaceAll(mark, section)}`);
    }
  }

  /** NaN and infinities anywhere inside a value. */
  finite(v: unknown, path: string): void {
    if (typeof v === "number" && !Number.isFinite(v)) {
      this.fail(path, `must be a finite number, got ${show(v)}`);
    }
    if (isPlainObject(v)) { for (const [k, x] of Object.entries(v)) this.finite(x, keyPath(path, k)); }
  }

  /** A partial model or training config (`base.model`, `profiles.quick.train`, ...). */
  partial(v: unknown, path: string, section: "model" | "train"): void {
    if (v === undefined) return;
    const o = this.object(v, path, section === "model" ? "{ T: 10 }" : "{ budget: { steps: 2000 } }");
    const known = Object.keys(section === "model" ? PAPER_MNIST : DEFAULT_TRAIN);
    this.keys(o, path, known, `a ${section === "model" ? "model" : "training"} setting`);
    for (const [k, x] of Object.entries(o)) this.setting(k, x, keyPath(path, k));
  }

  seeds(v: unknown, path: string): void {
    if (!Array.isArray(v)) this.fail(path, `must be a list of seeds like [1, 2, 3], got ${show(v)}`);
    if (v.length === 0) this.fail(path, `is empty: give at least one seed`);
    if (v.length > MAX_RUNS) this.fail(path, `has ${v.length} seeds; at most ${MAX_RUNS}`);
    v.forEach((s, i) => {
      if (typeof s !== "number" || !Number.isInteger(s) || s < 1 || s > 0x7fffffff) {
        this.fail(`${path}[${i}]`, `must be an integer from 1 to 2147483647, got ${show(s)}`);
      }
      const j = v.indexOf(s);
      if (j < i) this.fail(`${path}[${i}]`, `repeats ${path}[${j}] (${s})`);
    });
  }

  /** A factor's value list; `combined` factors take bundles of settings. */
  factorValues(key: string, v: unknown, path: string): void {
    if (!Array.isArray(v)) this.fail(path, `must be a list of values like [1, 2], got ${show(v)}`);
    if (v.length === 0) this.fail(path, `is empty: give at least one value`);
    if (v.length > MAX_FACTOR_VALUES) this.fail(path, `has ${v.length} values; at most ${MAX_FACTOR_VALUES}`);
    if (settingSection(key) === null && !v.some(isPlainObject)) {
      // A misspelt setting (atention: [true, false]) reads as a combined factor with bad values otherwise.
      this.fail(
        path,
        `is not a setting (model settings: ${MODEL_KEYS.join(", ")}; training settings: ${
          TRAIN_KEYS.join(", ")
        }); a combined factor's values set settings, like { readN: 2, writeN: 2 }`,
      );
    }
    const seen = new Map<string, number>();
    v.forEach((x, i) => {
      const p = `${path}[${i}]`;
      if (settingSection(key) !== null) this.setting(key, x, p);
      else {
        const b = this.object(x, p, "{ readN: 2, writeN: 2 } (a combined factor sets several settings)");
        if (Object.keys(b).length === 0) {
          this.fail(p, `is empty: a combined factor value sets at least one setting`);
        }
        for (const [bk, bx] of Object.entries(b)) {
          if (settingSection(bk) === null) this.fail(keyPath(p, bk), `is not a model or training setting`);
          this.setting(bk, bx, keyPath(p, bk));
        }
      }
      const c = canonicalJson(x);
      const j = seen.get(c);
      if (j !== undefined) this.fail(p, `repeats ${path}[${j}] (${show(x)}): every cell must be different`);
      seen.set(c, i);
    });
  }
}

/** Canonical JSON of every value factor `key` takes in the experiment or any profile. */
function factorValuesAnywhere(e: Obj, key: string): Set<string> {
  const out = new Set<string>();
  const add = (vs: unknown) => Array.isArray(vs) && vs.forEach((v) => out.add(canonicalJson(v)));
  add((e.factors as Obj)[key]);
  for (const p of Object.values(e.profiles as Obj)) add(((p as Obj)?.factors as Obj | undefined)?.[key]);
  return out;
}

/** The settings a factor sets (its own key, or its bundles' keys). */
function settingsOf(key: string, values: readonly unknown[]): Set<string> {
  if (settingSection(key) !== null) return new Set([key]);
  const s = new Set<string>();
  for (const v of values) if (isPlainObject(v)) { for (const k of Object.keys(v)) s.add(k); }
  return s;
}

function checkFactors(ch: Checker, raw: unknown, path: string): Obj {
  const factors = ch.object(raw, path, "{ attention: [true, false] }");
  const owner = new Map<string, string>();
  for (const [k, v] of Object.entries(factors)) {
    const p = keyPath(path, k);
    if (k === "seed" || k === "seeds") ch.fail(p, `is not a factor: list seeds in "seeds"`);
    if (!FACTOR_NAME.test(k)) {
      ch.fail(p, `is not a valid factor name (letters, digits, "_"; a setting or a combined name)`);
    }
    ch.factorValues(k, v, p);
    for (const s of settingsOf(k, v as unknown[])) {
      const other = owner.get(s);
      if (other !== undefined && other !== k) {
        ch.fail(p, `sets ${s}, which factors.${other} also sets: a setting may come from one factor only`);
      }
      owner.set(s, k);
    }
  }
  return factors;
}

function checkProfile(ch: Checker, raw: unknown, path: string, factors: Obj): void {
  const p = ch.object(raw, path, "{ train: { budget: { steps: 2000 } } }");
  ch.keys(p, path, PROFILE_KEYS, "a profile setting");
  if (p.description !== undefined && typeof p.description !== "string") {
    ch.fail(`${path}.description`, `must be a string, got ${show(p.description)}`);
  }
  ch.partial(p.train, `${path}.train`, "train");
  ch.partial(p.model, `${path}.model`, "model");
  if (p.seeds !== undefined) ch.seeds(p.seeds, `${path}.seeds`);
  if (p.useFixtures !== undefined && typeof p.useFixtures !== "boolean") {
    ch.fail(`${path}.useFixtures`, `must be true or false, got ${show(p.useFixtures)}`);
  }
  if (p.factors !== undefined) {
    const pf = ch.object(
      p.factors,
      `${path}.factors`,
      "{ T: [1, 4] } (replacing some of the experiment's lists)",
    );
    for (const [k, v] of Object.entries(pf)) {
      const kp = keyPath(`${path}.factors`, k);
      if (!Object.hasOwn(factors, k)) {
        ch.fail(kp, `is not a factor of this experiment (factors: ${Object.keys(factors).join(", ")})`);
      }
      ch.factorValues(k, v, kp);
    }
  }
}

function checkTarget(ch: Checker, v: unknown, path: string, rule = false): void {
  if (v === null && !rule) return;
  const rows = () => PAPER_TABLE2.map((r) => r.model).join(", ");
  if (typeof v === "string") {
    if (!findTable2Row(v)) ch.fail(path, `${show(v)} is not a Table 2 row (rows: ${rows()})`);
    return;
  }
  const t = ch.object(v, path, `"DRAW" or { row: "DRAW", nats: 80.97 }`);
  ch.keys(
    t,
    path,
    rule ? ["row", "nats", "tolerance", "where"] : ["row", "nats", "tolerance"],
    "a paper target key",
  );
  if (typeof t.row !== "string" || t.row === "") {
    ch.fail(`${path}.row`, `must be a row name, got ${show(t.row)}`);
  }
  const known = findTable2Row(t.row) !== undefined;
  if ((t.nats !== undefined || !known) && !(typeof t.nats === "number" && t.nats > 0 && t.nats <= 10_000)) {
    ch.fail(`${path}.nats`, `must be a number of nats from 0 to 10000, got ${show(t.nats)}`);
  }
  if (
    t.tolerance !== undefined && !(typeof t.tolerance === "number" && t.tolerance >= 0 && t.tolerance < 1e6)
  ) {
    ch.fail(`${path}.tolerance`, `must be a number of nats of at least 0, got ${show(t.tolerance)}`);
  }
  if (t.where !== undefined) ch.object(t.where, `${path}.where`, "{ attention: false }");
}

/**
 * Validates an experiment module's default export. `file` is used in messages; `expectedName` (the file
 * name without `.ts`) must equal the experiment's name when given.
 */
export function validateExperiment(mod: unknown, file: string, expectedName?: string): Experiment {
  const ch: Checker = new Checker(file);
  if (!isPlainObject(mod) && typeof mod !== "object") ch.fail("", `is not a module`);
  const spec = (mod as Obj | null)?.default;
  if (spec === undefined) {
    ch.fail("", `has no default export: write "export default defineExperiment({ ... })"`);
  }
  const e = ch.object(
    spec,
    "the default export",
    "defineExperiment({ name, description, base, factors, ... })",
  );
  ch.keys(e, "", TOP_KEYS, "an experiment key");
  for (const k of ["name", "description", "base", "factors", "seeds", "profiles"]) {
    if (e[k] === undefined) ch.fail(k, `is missing`);
  }

  if (typeof e.name !== "string") ch.fail("name", `must be a string, got ${show(e.name)}`);
  if (!EXPERIMENT_NAME.test(e.name)) {
    ch.fail(
      "name",
      `${show(e.name)} must be lower-case letters, digits and "-" (at most 64, no "/" or "..")`,
    );
  }
  if (expectedName !== undefined && e.name !== expectedName) {
    ch.fail("name", `${show(e.name)} must equal the file name ${show(expectedName)}`);
  }
  if (typeof e.description !== "string" || e.description.trim() === "") {
    ch.fail("description", `must be a non-empty string, got ${show(e.description)}`);
  }

  const base = ch.object(e.base, "base", `{ preset: "paper" }`);
  ch.keys(base, "base", ["preset", "model", "train"], "a base key");
  if (typeof base.preset !== "string") {
    ch.fail("base.preset", `must be a preset name, got ${show(base.preset)}`);
  }
  if (!Object.hasOwn(MODEL_PRESETS, base.preset)) {
    ch.fail(
      "base.preset",
      `${show(base.preset)} is not a model preset (known: ${Object.keys(MODEL_PRESETS).join(", ")})`,
    );
  }
  ch.partial(base.model, "base.model", "model");
  ch.partial(base.train, "base.train", "train");

  const factors = checkFactors(ch, e.factors, "factors");
  if (e.where !== undefined && typeof e.where !== "function") {
    ch.fail("where", `must be a function (cell) => boolean, got ${show(e.where)}`);
  }
  ch.seeds(e.seeds, "seeds");

  const profiles = ch.object(e.profiles, "profiles", "{ smoke: {...}, quick: {...}, paper: {...} }");
  for (const name of REQUIRED_PROFILES) {
    if (profiles[name] === undefined) {
      ch.fail(`profiles.${name}`, `is missing (every experiment has smoke, quick and paper)`);
    }
  }
  for (const [name, p] of Object.entries(profiles)) {
    if (!PROFILE_NAME.test(name)) {
      ch.fail(keyPath("profiles", name), `is not a valid profile name (lower-case, digits, "-")`);
    }
    checkProfile(ch, p, keyPath("profiles", name), factors);
  }

  if (e.exclude !== undefined) {
    if (!Array.isArray(e.exclude)) {
      ch.fail("exclude", `must be a list of partial cells, got ${show(e.exclude)}`);
    }
    e.exclude.forEach((x, i) => {
      const p = `exclude[${i}]`;
      const o = ch.object(x, p, "{ attention: false }");
      if (Object.keys(o).length === 0) ch.fail(p, `is empty and would exclude every cell`);
      for (const [k, v] of Object.entries(o)) {
        if (!Object.hasOwn(factors, k)) {
          ch.fail(keyPath(p, k), `is not a factor (factors: ${Object.keys(factors).join(", ")})`);
        }
        ch.finite(v, keyPath(p, k));
        if (!factorValuesAnywhere(e, k).has(canonicalJson(v))) {
          ch.fail(
            keyPath(p, k),
            `${show(v)} is not one of the values of factors.${k}, so it excludes nothing`,
          );
        }
      }
    });
  }
  const pt = e.paperTargets;
  if (Array.isArray(pt)) pt.forEach((t, i) => checkTarget(ch, t, `paperTargets[${i}]`, true));
  else if (pt !== undefined && typeof pt !== "function") {
    const o = ch.object(pt, "paperTargets", `{ "attention=true": "DRAW" } or (cell) => "DRAW"`);
    for (const [k, v] of Object.entries(o)) checkTarget(ch, v, keyPath("paperTargets", k));
  }

  const exp = { ...(e as unknown as ExperimentSpec), file };
  checkPlans(ch, exp);
  return exp;
}

/** Expands every profile's grid and validates each resolved config, so no bad cell waits until hour 3. */
function checkPlans(ch: Checker, exp: Experiment): void {
  const labels = new Set<string>();
  for (const [name, profile] of Object.entries(exp.profiles) as Array<[string, Profile]>) {
    const where = `profiles.${name}:`;
    const lists = factorLists(exp, profile);
    const seeds = profile.seeds ?? exp.seeds;
    const size = gridSize(lists, Number.MAX_SAFE_INTEGER);
    if (size * seeds.length > MAX_RUNS) {
      const n = lists.map(([, vs]) => vs.length).concat(seeds.length).reduce((a, b) => a * b, 1);
      ch.fail(
        where,
        `the grid has ${n.toLocaleString("en-US")} runs (cells x seeds); at most ${MAX_RUNS} are allowed`,
      );
    }
    let cells: Cell[];
    try {
      cells = filterCells(expandCells(lists), exp);
    } catch (err) {
      ch.fail(where, (err as Error).message);
    }
    if (cells.length === 0) ch.fail(where, `where/exclude leave no cells to run`);
    const ids = new Map<string, string>();
    for (const cell of cells) {
      const label = cellLabel(cell);
      labels.add(label);
      const target = typeof exp.paperTargets === "function" ? callTarget(ch, exp, cell) : undefined;
      if (target !== undefined) checkTarget(ch, target, `paperTargets(${label})`);
      const config = resolveConfig(exp, profile, cell, seeds[0]);
      try {
        validateRunConfig(config, "run");
      } catch (err) {
        ch.fail(where, `cell ${label}: ${(err as Error).message}`);
      }
      const id = runIdFor({}, config);
      const other = ids.get(id);
      if (other !== undefined) ch.fail(where, `cells ${other} and ${label} resolve to the same run config`);
      ids.set(id, label);
    }
  }
  const pt = exp.paperTargets;
  if (pt !== undefined && typeof pt !== "function" && !Array.isArray(pt)) {
    for (const k of Object.keys(pt)) {
      if (!labels.has(k)) {
        ch.fail(keyPath("paperTargets", k), `matches no cell (cells: ${[...labels].join("; ")})`);
      }
    }
  }
}

function callTarget(ch: Checker, exp: ExperimentSpec, cell: Cell): unknown {
  try {
    return (exp.paperTargets as (c: Cell) => unknown)(cell);
  } catch (err) {
    ch.fail("paperTargets", `threw for cell ${cellLabel(cell)}: ${(err as Error)?.message}`);
  }
}

/** Relative to the working directory when inside it, else absolute. */
function displayPath(abs: string): string {
  const cwd = Deno.cwd().replace(/\/?$/, "/");
  return abs.startsWith(cwd) ? abs.slice(cwd.length) : abs;
}

/** Names of the experiments in `experiments/`. */
export async function listExperiments(root = PROJECT_ROOT): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const e of Deno.readDir(`${root}experiments`)) {
      const m = /^([a-z0-9][a-z0-9-]*)\.ts$/.exec(e.name);
      if (e.isFile && m && !e.name.endsWith("_test.ts")) names.push(m[1]);
    }
  } catch {
    // No experiments folder: the caller reports "no such experiment".
  }
  return names.sort();
}

const ALLOWED_IMPORTS = [
  "lib/exp/define.ts",
  "lib/config/model.ts",
  "lib/config/paper.ts",
  "lib/config/run.ts",
  "lib/config/runid.ts",
];

/** Refuses imports other than the config modules and files beside the experiment (tfjs in particular). */
function checkImports(ch: Checker, source: string, fileUrl: URL, root: string): void {
  const specs = [
    ...source.matchAll(/\b(?:import|export)\b[^'"`;]*?\bfrom\s*["']([^"']+)["']/g),
    ...source.matchAll(/\bimport\s*\(\s*["'`]([^"'`]+)["'`]/g),
    ...source.matchAll(/\bimport\s*["']([^"']+)["']/g),
  ].map((m) => m[1]);
  const allowed = ALLOWED_IMPORTS.map((p) => new URL(p, `file://${root}`).href);
  const dir = new URL("./", fileUrl).href;
  for (const s of specs) {
    let ok = false;
    if (s.startsWith("./") || s.startsWith("../") || s.startsWith("/") || s.startsWith("file:")) {
      const u = new URL(s, fileUrl).href;
      ok = allowed.includes(u) || (u.startsWith(dir) && !u.slice(dir.length).includes("/"));
    }
    if (!ok) {
      ch.fail(
        "",
        `imports ${show(s)}; an experiment file may import only ${
          ALLOWED_IMPORTS.join(", ")
        } and files beside it`,
      );
    }
  }
}

/**
 * Loads and validates `experiments/<name>.ts` (by name) or a `.ts` file (by path), resolving names against
 * the project root. Throws {@linkcode ExperimentError} for a missing file, a syntax error (with the file
 * name), a forbidden import or any invalid content.
 * @example
 * ```ts
 * const exp = await loadExperiment("attention-ablation"); // experiments/attention-ablation.ts
 * exp.name; // "attention-ablation"
 * ```
 */
export async function loadExperiment(nameOrPath: string, root = PROJECT_ROOT): Promise<Experiment> {
  let abs: string;
  if (nameOrPath.endsWith(".ts")) {
    abs = nameOrPath.startsWith("/") ? nameOrPath : `${Deno.cwd()}/${nameOrPath}`;
  } else if (EXPERIMENT_NAME.test(nameOrPath)) {
    abs = `${root.replace(/\/?$/, "/")}experiments/${nameOrPath}.ts`;
  } else {
    throw new ExperimentError(
      `Experiment name ${show(nameOrPath)} is not valid: use lower-case letters, digits and "-" ` +
        `(e.g. attention-ablation), or a path to a .ts file`,
    );
  }
  const url = new URL(`file://${abs}`);
  abs = decodeURIComponent(url.pathname);
  const file = displayPath(abs);
  const ch: Checker = new Checker(file);
  let source: string;
  try {
    const info = await Deno.stat(abs);
    if (!info.isFile) ch.fail("", `is not a file`);
    if (info.size > MAX_FILE_BYTES) {
      ch.fail("", `is ${info.size} bytes; an experiment file is a short declaration`);
    }
    source = await Deno.readTextFile(abs);
  } catch (err) {
    if (err instanceof ExperimentError) throw err;
    if (err instanceof Deno.errors.NotFound) {
      const known = await listExperiments(root);
      ch.fail("", `no such experiment file (experiments: ${known.join(", ") || "none"})`);
    }
    ch.fail("", `could not be read: ${(err as Error).message}`);
  }
  checkImports(ch, source, url, root.replace(/\/?$/, "/"));
  let mod: unknown;
  try {
    mod = await import(url.href);
  } catch (err) {
    const msg = String((err as Error)?.message ?? err).replaceAll(url.href, file).replace(
      /^SyntaxError: /,
      "",
    );
    const kind = /SyntaxError/.test(String((err as Error)?.message))
      ? "has a syntax error"
      : "could not be loaded";
    ch.fail("", `${kind}: ${msg}`);
  }
  const expected = abs.split("/").pop()!.replace(/\.ts$/, "");
  try {
    return validateExperiment(mod, file, EXPERIMENT_NAME.test(expected) ? expected : undefined);
  } catch (err) {
    // The file's own code (a getter, a Proxy, a where filter) may throw anything while it is read.
    if (err instanceof ExperimentError) throw err;
    ch.fail("", `threw while being read: ${(err as Error)?.message ?? String(err)}`);
  }
}
