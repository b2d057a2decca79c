/**
 * Structural validators for run-record files: every field present and of the right type, errors naming the
 * file and the field path and quoting the offending value.
 *
 * The field tables are typed `Record<keyof T, ...>`, so adding a field to a record type in types.ts without
 * teaching the validator about it is a type error. JSON has no NaN or Infinity; numeric measurements that
 * may be non-finite (losses, norms) accept `null`, which is how such numbers are written.
 *
 * This file imports no tfjs.
 * @module
 */
import { validateRunConfig } from "../config/run.ts";
import { RecordError } from "./io.ts";
import type {
  DatasetRecord,
  DrawingSequence,
  EnvironmentRecord,
  EvalLine,
  GitRecord,
  GradientLine,
  GradStat,
  Manifest,
  MetricLine,
  Result,
  RunStatus,
  Samples,
} from "./types.ts";

/** Checks `v` at `path`; throws a {@linkcode FieldError} when it does not fit. */
type Check = (v: unknown, path: string) => void;

/** A field that does not fit; `where` (the file) is prefixed by the public validators. */
class FieldError extends Error {}

function show(v: unknown): string {
  if (v === undefined) return "nothing (the field is missing)";
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? s.slice(0, 60) + "…" : s;
}

function fail(path: string, expected: string, v: unknown): never {
  throw new FieldError(`${path} must be ${expected}, got ${show(v)}`);
}

const STATUSES: RunStatus[] = ["running", "completed", "failed", "interrupted"];

const str: Check = (v, p) => typeof v !== "string" && fail(p, "a string", v);
const nonEmpty: Check = (v, p) => (typeof v !== "string" || v === "") && fail(p, "a non-empty string", v);
const bool: Check = (v, p) => typeof v !== "boolean" && fail(p, "true or false", v);
const num: Check = (v, p) => typeof v !== "number" && fail(p, "a number", v);
const count: Check = (v, p) =>
  (typeof v !== "number" || !Number.isInteger(v) || v < 0) && fail(p, "an integer >= 0", v);
const nonNeg: Check = (v, p) => (typeof v !== "number" || v < 0) && fail(p, "a number >= 0", v);
/** A measurement that JSON writes as null when it was NaN or Infinity. */
const measured: Check = (v, p) => v !== null && typeof v !== "number" && fail(p, "a number or null", v);
const hex = (n: number): Check => (v, p) =>
  (typeof v !== "string" || !new RegExp(`^[0-9a-f]{${n}}$`).test(v)) && fail(p, `a ${n}-digit hex digest`, v);
const isoTime: Check = (v, p) =>
  (typeof v !== "string" || !/^\d{4}-\d\d-\d\dT/.test(v) || Number.isNaN(Date.parse(v))) &&
  fail(p, "an ISO 8601 time", v);
const oneOf = (values: readonly string[]): Check => (v, p) =>
  !values.includes(v as string) && fail(p, `one of ${values.map((x) => JSON.stringify(x)).join(", ")}`, v);
const nullable = (c: Check): Check => (v, p) => v !== null && c(v, p);
const optional = (c: Check): Check => (v, p) => v !== undefined && c(v, p);
const plainObject: Check = (v, p) =>
  (typeof v !== "object" || v === null || Array.isArray(v)) && fail(p, "an object", v);
const arrayOf = (c: Check): Check => (v, p) => {
  if (!Array.isArray(v)) fail(p, "an array", v);
  v.forEach((x, i) => c(x, `${p}[${i}]`));
};
const recordOf = (c: Check): Check => (v, p) => {
  plainObject(v, p);
  for (const [k, x] of Object.entries(v as Record<string, unknown>)) c(x, `${p}.${k}`);
};
/** An object with exactly these fields checked; extra fields are tolerated (additive format changes). */
function shape<T>(fields: Record<keyof T, Check>): Check {
  return (v, p) => {
    plainObject(v, p);
    const o = v as Record<string, unknown>;
    for (const [k, c] of Object.entries(fields) as [string, Check][]) c(o[k], p ? `${p}.${k}` : k);
  };
}

const gitCommit: Check = (v, p) =>
  v !== null && (typeof v !== "string" || !/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(v)) &&
  fail(p, "a git commit hash or null", v);

const runConfig: Check = (v, p) => {
  try {
    validateRunConfig(v, p);
  } catch (e) {
    throw new FieldError((e as Error).message);
  }
};

const seed: Check = (v, p) =>
  (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xffffffff) && fail(p, "a 32-bit seed", v);

const datasetFields: Record<keyof DatasetRecord, Check> = {
  name: nonEmpty,
  splits: shape<DatasetRecord["splits"]>({ train: count, valid: count, test: count }),
  sha256: recordOf(hex(64)),
  copies: optional(recordOf(shape<NonNullable<DatasetRecord["copies"]>[string]>({
    source: oneOf(["data-dir", "env", "cache", "shipped", "fixtures"]),
    path: nonEmpty,
    sha256: hex(64),
  }))),
  binarize: optional(str),
  fixtures: optional(bool),
  dir: optional(nonEmpty),
};

const environmentFields: Record<keyof EnvironmentRecord, Check> = {
  deno: nonEmpty,
  v8: nonEmpty,
  typescript: nonEmpty,
  tfjs: str,
  backendRequested: str,
  backend: str,
  device: str,
  os: nonEmpty,
  arch: nonEmpty,
  cpuModel: str,
  cores: count,
  memoryBytes: count,
  hostname: str,
};

const gitFields: Record<keyof GitRecord, Check> = {
  commit: gitCommit,
  dirty: bool,
  diffFile: nullable(nonEmpty),
};

const metricFields: Record<keyof MetricLine, Check> = {
  step: count,
  epoch: nonNeg,
  imagesSeen: count,
  loss: measured,
  lossX: measured,
  lossZ: measured,
  klPerStep: arrayOf(measured),
  learningRate: measured,
  wallTime: nonNeg,
  imagesPerSec: measured,
};
const metricLine = shape<MetricLine>(metricFields);

const manifestFields: Record<keyof Manifest, Check> = {
  formatVersion: (v, p) =>
    (typeof v !== "number" || !Number.isInteger(v) || v < 1) && fail(p, "an integer >= 1", v),
  runId: nonEmpty,
  experiment: nonEmpty,
  cell: plainObject,
  config: runConfig,
  seeds: shape<Manifest["seeds"]>({ root: seed, streams: recordOf(seed) }),
  dataset: shape<DatasetRecord>(datasetFields),
  environment: shape<EnvironmentRecord>(environmentFields),
  git: shape<GitRecord>(gitFields),
  lockSha256: nullable(hex(64)),
  command: str,
  status: oneOf(STATUSES),
  reason: optional(str),
  failure: optional(shape<NonNullable<Manifest["failure"]>>({
    step: count,
    lastMetrics: nullable(metricLine),
    offending: arrayOf(str),
  })),
  startedAt: isoTime,
  endedAt: nullable(isoTime),
  heartbeatAt: isoTime,
  notes: arrayOf(str),
};

const estimate = shape<{ mean: number; stderr: number }>({ mean: measured, stderr: measured });
const evalFields: Record<keyof EvalLine, Check> = {
  step: count,
  imagesSeen: count,
  split: oneOf(["valid", "test"]),
  images: count,
  bound: estimate,
  lossX: measured,
  lossZ: measured,
  iwae: optional(shape<NonNullable<EvalLine["iwae"]>>({ mean: measured, stderr: measured, k: count })),
  wallTime: nonNeg,
};
const evalLine = shape<EvalLine>(evalFields);

const gradStat = shape<GradStat>({
  norm: measured,
  mean: measured,
  std: measured,
  maxAbs: measured,
  fracZero: measured,
});
const gradientFields: Record<keyof GradientLine, Check> = {
  step: count,
  globalNormBefore: measured,
  globalNormAfter: measured,
  clipped: bool,
  vars: recordOf(gradStat),
  histogram: optional(shape<NonNullable<GradientLine["histogram"]>>({
    edges: arrayOf(num),
    counts: recordOf(arrayOf(count)),
  })),
};

const resultFields: Record<keyof Result, Check> = {
  runId: nonEmpty,
  status: oneOf(STATUSES),
  steps: count,
  epochs: nonNeg,
  imagesSeen: count,
  wallTime: nonNeg,
  test: nullable(evalLine),
  bestValid: nullable(evalLine),
  bestStep: nullable(count),
  stoppedBy: optional(oneOf(["steps", "epochs", "patience", "minutes"])),
};

const box = shape<{ gX: number; gY: number; delta: number; sigma2: number; N: number }>({
  gX: num,
  gY: num,
  delta: num,
  sigma2: num,
  N: count,
});
const pixels = arrayOf(num);
const sequenceFields: Record<keyof DrawingSequence, Check> = {
  A: count,
  B: count,
  canvases: arrayOf(pixels),
  write: optional(arrayOf(box)),
  read: optional(arrayOf(box)),
  kind: oneOf(["prior", "reconstruction"]),
  input: optional(pixels),
};
const samplesFields: Record<keyof Samples, Check> = {
  step: count,
  grid: arrayOf(pixels),
  sequences: arrayOf(shape<DrawingSequence>(sequenceFields)),
};

function validate<T>(fields: Record<keyof T, Check>, value: unknown, where: string): T {
  try {
    shape<T>(fields)(value, "");
  } catch (e) {
    if (e instanceof FieldError) {
      const msg = e.message.startsWith(" must") ? `the content${e.message}` : e.message;
      throw new RecordError(`${where}: ${msg}`);
    }
    throw e;
  }
  return value as T;
}

function problem<T>(fields: Record<keyof T, Check>): (value: unknown) => string | null {
  const check = shape<T>(fields);
  return (value) => {
    try {
      check(value, "");
      return null;
    } catch (e) {
      if (!(e instanceof FieldError)) throw e;
      return e.message.startsWith(" must") ? `not a record (it${e.message})` : `a bad record (${e.message})`;
    }
  };
}

/**
 * Checks a parsed `manifest.json`: every field of {@linkcode Manifest} present and typed (the run config
 * through `validateRunConfig`). Throws a {@linkcode RecordError} starting with `where`.
 * Does not judge `formatVersion` against this redraw's version: `readManifest` does.
 */
export function validateManifest(value: unknown, where = "manifest.json"): Manifest {
  return validate<Manifest>(manifestFields, value, where);
}

/** Checks a parsed `result.json` ({@linkcode Result}); throws a {@linkcode RecordError} starting with `where`. */
export function validateResult(value: unknown, where = "result.json"): Result {
  return validate<Result>(resultFields, value, where);
}

/** Checks a parsed `samples.json` ({@linkcode Samples}); throws a {@linkcode RecordError} starting with `where`. */
export function validateSamples(value: unknown, where = "samples.json"): Samples {
  return validate<Samples>(samplesFields, value, where);
}

/** For `readJsonl`'s `check`: why a parsed line is not a {@linkcode MetricLine}, or null. */
export const metricLineProblem: (value: unknown) => string | null = problem<MetricLine>(metricFields);
/** For `readJsonl`'s `check`: why a parsed line is not an {@linkcode EvalLine}, or null. */
export const evalLineProblem: (value: unknown) => string | null = problem<EvalLine>(evalFields);
/** For `readJsonl`'s `check`: why a parsed line is not a {@linkcode GradientLine}, or null. */
export const gradientLineProblem: (value: unknown) => string | null = problem<GradientLine>(gradientFields);
