/**
 * Turns run records into the report's headline: runs grouped into arms (one per cell and configuration),
 * each with its test bound over seeds, the paper's value, the deviations from the paper's setup and a verdict.
 *
 * Pure: no IO, no tfjs.
 * @module
 */
import type { EvalLine, RunStatus } from "../record/types.ts";
import { describeBudget, type RunConfig } from "../config/run.ts";
import { canonicalJson, cellLabel } from "../config/runid.ts";
import { fmtInt } from "./escape.ts";
import {
  DEFAULT_PAPER_TARGETS,
  DEFAULT_TOLERANCE_NATS,
  findTable2Row,
  PAPER_TABLE3_MNIST,
  PAPER_TEST_IMAGES,
  type PaperTarget,
  paperTargetFor,
  type PaperTargets,
  type Table2Row,
  TABLE3_FIELD_NAMES,
  type Table3Model,
} from "../config/paper.ts";
import type { RunRecord } from "./records.ts";
import { type Spread, spread } from "./stats.ts";

/**
 * Training shorter than this many epochs is "not at this budget" rather than a failure to reproduce. The
 * paper does not state its training length; 100 epochs is our choice of "long enough to judge".
 */
export const FULL_BUDGET_EPOCHS = 100;

/** Verdict categories, worst news first in the page's colour scheme. */
export type VerdictKind =
  | "within"
  | "not-at-budget"
  | "not-comparable"
  | "worse"
  | "better"
  | "failed"
  | "pending";

/** A verdict with its one-line explanation. */
export interface Verdict {
  kind: VerdictKind;
  /** Short label, e.g. "within tolerance of the paper". */
  label: string;
  /** Why, in one sentence. */
  why: string;
}

/** A run that did not complete, as listed under its arm. */
export interface RunProblem {
  runId: string;
  seed: number;
  status: RunStatus;
  reason: string;
}

/** The budget an arm actually used (means over its completed runs). */
export interface BudgetSummary {
  /** The configured limit, e.g. "1 epoch" or "200 steps or 15 min". */
  configured: string;
  epochs: number | null;
  imagesSeen: number | null;
  wallTime: number | null;
  /** Backends obtained and devices, e.g. ["wasm (simd, 1 thread)"]. */
  backends: string[];
}

/** One arm of the experiment: the runs of one cell and configuration, over seeds. */
export interface ArmSummary {
  /** Position-based identifier, safe for HTML ids: "arm-1". */
  id: string;
  /** Grouping key (cell + configuration without seed). */
  key: string;
  /** Readable name from the cell, e.g. "attention=true". */
  label: string;
  cell: Record<string, unknown>;
  config: RunConfig;
  runs: RunRecord[];
  completed: RunRecord[];
  problems: RunProblem[];
  /** Test bound over seeds (completed runs with a test evaluation). */
  bound: Spread | null;
  /** Mean over runs of the per-run standard error of the test bound (over images). */
  boundStderr: number | null;
  /** IWAE estimate over seeds, with its k. */
  iwae: (Spread & { k: number }) | null;
  paper: Readonly<Table2Row> | null;
  /** Our mean minus the paper's value (positive: ours is worse). */
  diff: number | null;
  tolerance: number;
  budget: BudgetSummary;
  /** Differences from the paper's model and data setup, one sentence each. */
  deviations: string[];
  /** Training-budget and other notes that are not deviations of the model. */
  notes: string[];
  verdict: Verdict;
}

function compareValues(a: unknown, b: unknown): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "boolean" && typeof b === "boolean") return a === b ? 0 : a ? -1 : 1;
  return canonicalJson(a).localeCompare(canonicalJson(b), "en", { numeric: true });
}

function compareCells(a: Record<string, unknown>, b: Record<string, unknown>): number {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];
  for (const k of keys) {
    const c = compareValues(a[k], b[k]);
    if (c !== 0) return c;
  }
  return 0;
}

/** The test evaluation of a run: result.json's, else the last test line of eval.jsonl, else null. */
export function testEval(r: RunRecord): EvalLine | null {
  if (r.result?.test) return r.result.test;
  const tests = r.evals.filter((e) => e.split === "test");
  return tests.length ? tests[tests.length - 1] : null;
}

/**
 * The Table 2 row an arm is compared with, the experiment's target it came from, and the tolerance: the
 * experiment's target for the cell (or, when it names none, the DRAW row matching the attention setting), as
 * a row whose value is the target's.
 */
export function paperRowFor(
  cell: Record<string, unknown>,
  config: RunConfig,
  targets: PaperTargets = DEFAULT_PAPER_TARGETS,
): { row: Readonly<Table2Row> | null; target: PaperTarget | null; tolerance: number } {
  const target = paperTargetFor(targets, cell, config.model.attention);
  const tolerance = target?.tolerance ?? DEFAULT_TOLERANCE_NATS;
  if (!target) return { row: null, target, tolerance };
  const found = findTable2Row(target.row);
  if (found && found.nll === target.nats) return { row: found, target, tolerance };
  const row = {
    id: found?.id ?? "custom",
    model: target.row,
    nll: target.nats,
    upperBound: false,
    draw: false,
  };
  return { row: Object.freeze(row), target, tolerance };
}

/** Lists how a model config differs from Table 3 (for the row it is compared with). */
export function modelDeviations(config: RunConfig, row: Readonly<Table2Row> | null): string[] {
  const m = config.model;
  const out: string[] = [];
  const fields = (Object.keys(PAPER_TABLE3_MNIST) as (keyof Table3Model)[]).filter((k) =>
    m.attention || (k !== "readN" && k !== "writeN")
  );
  for (const k of fields) {
    if (m[k] !== PAPER_TABLE3_MNIST[k]) {
      out.push(`${TABLE3_FIELD_NAMES[k]}: ${m[k]} (paper ${PAPER_TABLE3_MNIST[k]})`);
    }
  }
  if (row?.id === "draw" && !m.attention) out.push("attention: off (paper's DRAW row: on)");
  if (row?.id === "draw-no-attention" && m.attention) {
    out.push("attention: on (paper's row: without attention)");
  }
  if (m.attention && m.readInit === "zero") {
    out.push(
      "attention init: zero (the first read does not cover the image, unlike the paper's section 3.2)",
    );
  }
  return out;
}

function dataDeviations(
  runs: RunRecord[],
  config: RunConfig,
): { deviations: string[]; incomparable: string | null } {
  const t = config.train;
  const deviations: string[] = [];
  let incomparable: string | null = null;
  if (t.dataset !== "binarized-mnist") {
    incomparable = `MNIST with ${t.binarize} binarization, not the paper's fixed binarized MNIST`;
    deviations.push(`data: ${incomparable}`);
  }
  if (t.trainLimit > 0) deviations.push(`trained on ${fmtInt(t.trainLimit)} training images, not all`);
  const testImages = runs.map((r) => testEval(r)?.images).filter((n): n is number => typeof n === "number");
  const fewest = testImages.length ? Math.min(...testImages) : t.testLimit;
  if (fewest > 0 && fewest < PAPER_TEST_IMAGES) {
    deviations.push(`test bound on ${fmtInt(fewest)} of ${fmtInt(PAPER_TEST_IMAGES)} test images`);
  }
  return { deviations, incomparable };
}

function budgetSummary(arm: RunRecord[], config: RunConfig): BudgetSummary {
  const mean = (xs: (number | undefined | null)[]) =>
    spread(xs.filter((x): x is number => typeof x === "number"))?.mean ?? null;
  const lastMetric = (r: RunRecord) => r.metrics[r.metrics.length - 1];
  const backends = [
    ...new Set(arm.map((r) => {
      const e = r.manifest.environment;
      return e ? `${e.backend}${e.device ? ` (${e.device})` : ""}` : "unknown";
    })),
  ];
  return {
    configured: describeBudget(config.train.budget),
    epochs: mean(arm.map((r) => r.result?.epochs ?? lastMetric(r)?.epoch)),
    imagesSeen: mean(arm.map((r) => r.result?.imagesSeen ?? lastMetric(r)?.imagesSeen)),
    wallTime: mean(arm.map((r) => r.result?.wallTime ?? lastMetric(r)?.wallTime)),
    backends,
  };
}

function verdictFor(a: Omit<ArmSummary, "verdict">, incomparable: string | null): Verdict {
  if (a.bound === null) {
    if (a.problems.some((p) => p.status === "failed")) {
      const p = a.problems.find((p) => p.status === "failed")!;
      return { kind: "failed", label: "failed", why: `seed ${p.seed}: ${p.reason}` };
    }
    const p = a.problems[0];
    return {
      kind: "pending",
      label: "no result yet",
      why: p
        ? `seed ${p.seed} is ${p.status}${p.reason ? `: ${p.reason}` : ""}`
        : "no completed run with a test bound",
    };
  }
  if (!a.paper) {
    return { kind: "not-comparable", label: "not comparable", why: "no Table 2 row matches this cell" };
  }
  if (incomparable) return { kind: "not-comparable", label: "not comparable", why: incomparable };
  const se = Math.sqrt(a.bound.std ** 2 / a.bound.n + (a.boundStderr ?? 0) ** 2);
  const tol = a.tolerance + 2 * se;
  const diff = a.diff!;
  if (Math.abs(diff) <= tol) {
    return {
      kind: "within",
      label: "within tolerance of the paper",
      why: `|${diff.toFixed(2)}| ≤ ${tol.toFixed(2)} nats (${a.tolerance} + 2 standard errors)`,
    };
  }
  if (diff < 0) {
    return {
      kind: "better",
      label: "better than the paper",
      why: `${
        (-diff).toFixed(2)
      } nats below the paper's bound: check the evaluation (test split, binarization)`,
    };
  }
  const modelDiffers = modelDeviations(a.config, a.paper).length > 0;
  const short = (a.budget.epochs ?? 0) < FULL_BUDGET_EPOCHS;
  if (modelDiffers || short) {
    const why = [
      short ? `${(a.budget.epochs ?? 0).toFixed(2)} epochs (< ${FULL_BUDGET_EPOCHS})` : "",
      modelDiffers ? "the model differs from Table 3" : "",
    ].filter(Boolean).join(" and ");
    return {
      kind: "not-at-budget",
      label: "not at this budget",
      why: `${diff.toFixed(2)} nats above the paper after ${why}`,
    };
  }
  return {
    kind: "worse",
    label: "worse than the paper",
    why: `${diff.toFixed(2)} nats above the paper with Table 3's model and ≥ ${FULL_BUDGET_EPOCHS} epochs`,
  };
}

/**
 * Groups runs into arms and computes each arm's headline numbers and verdict.
 */
export function summarizeArms(runs: readonly RunRecord[], targets?: PaperTargets): ArmSummary[] {
  const groups = new Map<string, RunRecord[]>();
  for (const r of runs) {
    const { seed: _seed, ...rest } = r.manifest.config;
    const key = `${canonicalJson(r.manifest.cell ?? {})}|${canonicalJson(rest)}`;
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const entries = [...groups.entries()].sort((a, b) =>
    compareCells(a[1][0].manifest.cell ?? {}, b[1][0].manifest.cell ?? {}) || a[0].localeCompare(b[0])
  );
  const labels = entries.map(([, rs]) => cellLabel(rs[0].manifest.cell ?? {}));
  const arms = entries.map(([key, rs], i): ArmSummary => {
    rs.sort((a, b) =>
      a.manifest.config.seed - b.manifest.config.seed || a.manifest.runId.localeCompare(b.manifest.runId)
    );
    const cell = rs[0].manifest.cell ?? {};
    const config = rs[0].manifest.config;
    let label = labels[i];
    if (labels.filter((l) => l === label).length > 1) label += ` · ${describeBudget(config.train.budget)}`;
    const completed = rs.filter((r) => r.manifest.status === "completed" && testEval(r) !== null);
    const problems: RunProblem[] = rs.filter((r) => !completed.includes(r)).map((r) => ({
      runId: r.manifest.runId,
      seed: r.manifest.config.seed,
      status: r.manifest.status,
      reason: r.manifest.reason ??
        (r.manifest.status === "completed" ? "completed without a test evaluation" : ""),
    }));
    const tests = completed.map((r) => testEval(r)!);
    const bound = spread(tests.map((t) => t.bound.mean));
    const stderrs = tests.map((t) => t.bound.stderr).filter((x) => Number.isFinite(x));
    const iwaes = tests.filter((t) => t.iwae);
    const iwaeSpread = spread(iwaes.map((t) => t.iwae!.mean));
    const { row, tolerance } = paperRowFor(cell, config, targets);
    const { deviations: dataDev, incomparable } = dataDeviations(completed.length ? completed : rs, config);
    const budget = budgetSummary(completed.length ? completed : rs, config);
    const t = config.train;
    const notes = [
      `budget: ${budget.configured}; the paper does not state its training length`,
      `Adam lr ${t.learningRate}, batch ${t.batchSize}, ${
        t.clipNorm > 0 ? `clip at global norm ${t.clipNorm}` : "no clipping"
      } (paper: "Adam", nothing more)`,
    ];
    const capped = (completed.length ? completed : rs).filter((r) => r.result?.stoppedBy === "minutes");
    if (capped.length) {
      notes.push(
        `stopped by the ${t.budget.minutes}-minute cap (${capped.length} of ${rs.length} runs): not reproducible`,
      );
    }
    if (t.evalSamples > 1) notes.push(`test bound averaged over ${t.evalSamples} samples per image`);
    const partial: Omit<ArmSummary, "verdict"> = {
      id: `arm-${i + 1}`,
      key,
      label,
      cell,
      config,
      runs: rs,
      completed,
      problems,
      bound,
      boundStderr: stderrs.length ? stderrs.reduce((a, b) => a + b, 0) / stderrs.length : null,
      iwae: iwaeSpread ? { ...iwaeSpread, k: iwaes[0].iwae!.k } : null,
      paper: row,
      diff: bound && row ? bound.mean - row.nll : null,
      tolerance,
      budget,
      deviations: [...modelDeviations(config, row), ...dataDev],
      notes,
    };
    return { ...partial, verdict: verdictFor(partial, incomparable) };
  });
  return arms;
}
