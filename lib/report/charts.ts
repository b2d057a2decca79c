/**
 * Typed builders of the report's Vega-Lite specs. Each takes the arms (or one arm) and returns a complete
 * spec with its data inline (a report opened from disk cannot fetch files), or null when there is nothing to
 * draw, so that the page says "no data" instead of showing an empty chart.
 *
 * Pure: no IO.
 * @module
 */
import type { TopLevelSpec } from "vega-lite";
import type { GradientLine } from "../record/types.ts";
import { PAPER_TABLE2 } from "../config/paper.ts";
import type { RunRecord } from "./records.ts";
import { quantile, spread, thin } from "./stats.ts";
import type { ArmSummary } from "./summary.ts";

/**
 * Points per line at most; longer curves are thinned evenly (first and last kept). 250 points on a 640-pixel
 * plot are one every 2.6 pixels: the line looks the same, and the page stays under 1 MB.
 */
export const MAX_POINTS_PER_LINE = 250;

/**
 * Marked points (a dot or cross per point: validation evaluations, clipped steps) per series at most: dots 6
 * pixels wide touch at ~100 across the plot, so more would only add bytes.
 */
export const MAX_MARKED_POINTS = 100;

/**
 * Points per line and marked points per series for a page of `arms` arms: the full budgets for up to two
 * arms, then shares of 500 and 250 points, so that a sweep of many arms still renders under 1 MB (six arms:
 * 83 points per line, one every 7.7 pixels, and 41 marks).
 */
export function lineBudget(arms: number): { line: number; marked: number } {
  const n = Math.max(1, arms);
  return {
    line: Math.min(MAX_POINTS_PER_LINE, Math.floor(500 / n)),
    marked: Math.min(MAX_MARKED_POINTS, Math.floor(250 / n)),
  };
}

/** Width of a full-width chart's plotting area in pixels. */
const WIDTH = 640;

const SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

/** Shared look: readable fonts, no chart border. */
const CONFIG = {
  font: "Helvetica, Arial, sans-serif",
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, labelLimit: 260 },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 300, orient: "right" },
  title: { fontSize: 14, anchor: "start" },
} as const;

const OURS_COLOR = "#d62728";
const IWAE_COLOR = "#1f77b4";
const PAPER_COLOR = "#7f7f7f";
const DRAW_COLOR = "#222222";

/**
 * Rows as inline CSV data, each field named once instead of once per row: a long curve takes half the room in
 * the page (and in the spec shown under its chart). Fields that are numbers in every row are parsed back as
 * numbers; text is quoted when it holds a comma, a quote or a line break.
 * @example
 * ```ts
 * import { csvData } from "./charts.ts";
 * csvData([{ group: "posterior μ, log σ", step: 10, norm: 4.5 }], ["group", "step", "norm"]);
 * // { values: 'group,step,norm\n"posterior μ, log σ",10,4.5',
 * //   format: { type: "csv", parse: { step: "number", norm: "number" } } }
 * ```
 */
export function csvData<T extends { [K in keyof T]: string | number }>(
  rows: readonly T[],
  fields: ReadonlyArray<keyof T & string>,
): { values: string; format: { type: "csv"; parse: Record<string, "number"> } } {
  const cell = (v: string | number) =>
    typeof v === "number" ? String(v) : /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
  const numeric = fields.filter((f) => rows.length > 0 && rows.every((r) => typeof r[f] === "number"));
  return {
    values: [fields.join(","), ...rows.map((r) => fields.map((f) => cell(r[f])).join(","))].join("\n"),
    format: { type: "csv", parse: Object.fromEntries(numeric.map((f) => [f, "number" as const])) },
  };
}

/** A value rounded to two decimals, as the tables print it (so a chart's labels quote the table's numbers). */
function r2(x: number): number {
  return Math.round(x * 100) / 100;
}

function r4(x: number): number {
  return Number(x.toPrecision(5));
}

/**
 * Table 2 beside our arms: one row per model, our test bounds (and IWAE estimates) as points with error bars
 * (± one standard deviation over seeds), the paper's rows in grey with DRAW's darker.
 */
export function nllChart(arms: readonly ArmSummary[]): TopLevelSpec {
  type Row = {
    model: string;
    value: number;
    lo: number | null;
    hi: number | null;
    source: string;
    text: string;
    order: number;
  };
  const rows: Row[] = PAPER_TABLE2.map((r, i) => ({
    model: r.model,
    value: r.nll,
    lo: null,
    hi: null,
    source: r.draw ? "paper: DRAW (Table 2)" : "paper: other models (Table 2)",
    text: `${r.upperBound ? "≤ " : ""}${r.nll.toFixed(2)}`,
    order: i,
  }));
  let order = PAPER_TABLE2.length;
  for (const a of arms) {
    if (a.bound) {
      const sd = a.bound.n > 1 ? ` ± ${a.bound.std.toFixed(2)}` : "";
      rows.push({
        model: `ours: ${a.label}`,
        value: r2(a.bound.mean),
        lo: r2(a.bound.mean - a.bound.std),
        hi: r2(a.bound.mean + a.bound.std),
        source: "ours: test bound",
        text: `≤ ${a.bound.mean.toFixed(2)}${sd} (n=${a.bound.n})`,
        order: order++,
      });
    }
    if (a.iwae) {
      rows.push({
        model: `ours: ${a.label}, IWAE k=${a.iwae.k}`,
        value: r2(a.iwae.mean),
        lo: r2(a.iwae.mean - a.iwae.std),
        hi: r2(a.iwae.mean + a.iwae.std),
        source: "ours: IWAE estimate",
        text: `≈ ${a.iwae.mean.toFixed(2)}`,
        order: order++,
      });
    }
  }
  // Room on the right for the value labels printed after each point.
  const lo = Math.min(...rows.map((r) => r.lo ?? r.value));
  const hi = Math.max(...rows.map((r) => r.hi ?? r.value));
  const span = Math.max(hi - lo, 4);
  const xDomain = [Math.floor(lo - 0.04 * span), Math.ceil(hi + 0.3 * span)];
  const domain = [
    "paper: other models (Table 2)",
    "paper: DRAW (Table 2)",
    "ours: test bound",
    "ours: IWAE estimate",
  ];
  const y = {
    field: "model",
    type: "nominal",
    sort: { field: "order", order: "ascending" },
    title: null,
    axis: { labelLimit: 420 },
  } as const;
  const color = {
    field: "source",
    type: "nominal",
    title: null,
    scale: { domain, range: [PAPER_COLOR, DRAW_COLOR, OURS_COLOR, IWAE_COLOR] },
  } as const;
  const x = {
    field: "value",
    type: "quantitative",
    scale: { domain: xDomain, nice: false },
    title: "negative log-likelihood or its upper bound (nats per image; lower is better)",
  } as const;
  return {
    $schema: SCHEMA,
    config: CONFIG,
    width: WIDTH - 200,
    height: { step: 22 },
    data: { values: rows },
    encoding: { y },
    layer: [
      {
        transform: [{ filter: "isValid(datum.lo)" }],
        mark: { type: "rule", strokeWidth: 2 },
        encoding: { x: { ...x, field: "lo" }, x2: { field: "hi" }, color },
      },
      {
        mark: { type: "point", filled: true, size: 80 },
        encoding: {
          x,
          color,
          shape: {
            field: "source",
            type: "nominal",
            scale: { domain, range: ["circle", "circle", "diamond", "square"] },
          },
          tooltip: [{ field: "model" }, { field: "text", title: "value" }],
        },
      },
      {
        mark: { type: "text", align: "left", dx: 9, fontSize: 11 },
        encoding: { x, text: { field: "text" }, color },
      },
    ],
  } as TopLevelSpec;
}

/** A point of an aggregated curve: mean over seeds and a ± one standard deviation band. */
interface CurvePoint {
  arm: string;
  split: string;
  x: number;
  y: number;
  lo: number;
  hi: number;
}

function aggregate(
  arm: string,
  split: string,
  perRun: Array<Array<{ key: number; x: number; y: number }>>,
  max = MAX_POINTS_PER_LINE,
): CurvePoint[] {
  const byKey = new Map<number, { xs: number[]; ys: number[] }>();
  for (const run of perRun) {
    for (const p of run) {
      if (!Number.isFinite(p.y)) continue;
      const e = byKey.get(p.key) ?? { xs: [], ys: [] };
      e.xs.push(p.x);
      e.ys.push(p.y);
      byKey.set(p.key, e);
    }
  }
  const pts = [...byKey.entries()].sort((a, b) => a[0] - b[0]).map(([, e]) => {
    const s = spread(e.ys)!;
    return {
      arm,
      split,
      x: Math.round(e.xs.reduce((a, b) => a + b, 0) / e.xs.length),
      y: r4(s.mean),
      lo: r4(s.mean - s.std),
      hi: r4(s.mean + s.std),
    };
  });
  return thin(pts, max);
}

/** Which loss term a training-curve chart shows. */
export type CurveQuantity = "loss" | "lossX" | "lossZ";

const QUANTITY_TITLE: Record<CurveQuantity, string> = {
  loss: "bound L = Lx + Lz (nats)",
  lossX: "reconstruction Lx (nats)",
  lossZ: "latent Lz = Σ KL (nats)",
};

/** The curve data of one quantity for every arm (train from metrics, validation from eval.jsonl). */
export function curveData(arms: readonly ArmSummary[], q: CurveQuantity): CurvePoint[] {
  const out: CurvePoint[] = [];
  const budget = lineBudget(arms.length);
  for (const a of arms) {
    out.push(
      ...aggregate(
        a.label,
        "train",
        a.runs.map((r) => r.metrics.map((m) => ({ key: m.step, x: m.imagesSeen, y: m[q] }))),
        budget.line,
      ),
    );
    out.push(
      ...aggregate(
        a.label,
        "validation",
        a.runs.map((r) =>
          r.evals.filter((e) => e.split === "valid").map((e) => ({
            key: e.step,
            x: e.imagesSeen,
            y: q === "loss" ? e.bound.mean : e[q],
          }))
        ),
        budget.marked,
      ),
    );
  }
  return out;
}

/**
 * Training curves of one loss term against images seen: one colour per arm, solid for training batches,
 * dashed with points for validation, a band of ± one standard deviation over seeds. When the first steps lie
 * far above the rest, the y axis is cut at the 90th percentile so that the interesting part is readable
 * (the caption says so).
 */
export function curveChart(
  arms: readonly ArmSummary[],
  q: CurveQuantity,
): { spec: TopLevelSpec; clipped: boolean } | null {
  const data = curveData(arms, q);
  if (data.length === 0) return null;
  const ys = data.map((d) => d.y);
  const lo = Math.min(...data.map((d) => d.lo));
  const p90 = quantile(ys, 0.9);
  const max = Math.max(...data.map((d) => d.hi));
  const clipped = max > p90 + 2 * (p90 - lo) && p90 > lo;
  const pad = (p90 - lo) * 0.08;
  const yScale = clipped ? { domain: [r4(lo - pad), r4(p90 + pad)], zero: false } : { zero: false };
  const x = { field: "x", type: "quantitative", title: "images seen", axis: { format: "~s" } } as const;
  const color = {
    field: "arm",
    type: "nominal",
    title: "arm",
    sort: arms.map((a) => a.label),
    legend: { symbolType: "stroke", symbolStrokeWidth: 2.5, symbolOpacity: 1 },
  } as const;
  return {
    clipped,
    spec: {
      $schema: SCHEMA,
      config: CONFIG,
      width: WIDTH,
      height: 240,
      data: csvData(data, ["arm", "split", "x", "y", "lo", "hi"]),
      encoding: { x, color },
      layer: [
        {
          mark: { type: "area", opacity: 0.18, clip: true, aria: false },
          encoding: {
            y: { field: "lo", type: "quantitative", scale: yScale, title: QUANTITY_TITLE[q] },
            y2: { field: "hi" },
            detail: { field: "split" },
          },
        },
        {
          mark: { type: "line", strokeWidth: 1.5, clip: true, aria: false },
          encoding: {
            y: { field: "y", type: "quantitative", scale: yScale, title: QUANTITY_TITLE[q] },
            strokeDash: {
              field: "split",
              type: "nominal",
              title: "split",
              scale: { domain: ["train", "validation"], range: [[1, 0], [5, 3]] },
            },
          },
        },
        {
          transform: [{ filter: "datum.split === 'validation'" }],
          mark: { type: "point", filled: true, size: 30, clip: true },
          encoding: {
            y: { field: "y", type: "quantitative", scale: yScale },
            tooltip: [{ field: "arm" }, { field: "x", title: "images seen" }, { field: "y", title: q }],
          },
        },
      ],
    } as TopLevelSpec,
  };
}

/** The KL of each glimpse for one run: the mean of its last `lastN` metric lines. */
function runKl(r: RunRecord, lastN = 10): number[] | null {
  const lines = r.metrics.filter((m) => Array.isArray(m.klPerStep) && m.klPerStep.length > 0).slice(-lastN);
  if (lines.length === 0) return null;
  const T = lines[0].klPerStep.length;
  const out = new Array(T).fill(0);
  for (const m of lines) for (let t = 0; t < T; t++) out[t] += (m.klPerStep[t] ?? NaN) / lines.length;
  return out;
}

/**
 * KL per glimpse (how the model spends its nats over the T steps): one line per arm, mean over seeds of each
 * run's last ten logged batches.
 */
export function klChart(arms: readonly ArmSummary[]): TopLevelSpec | null {
  const rows: Array<{ arm: string; t: number; kl: number }> = [];
  for (const a of arms) {
    const perRun = (a.completed.length ? a.completed : a.runs).map((r) => runKl(r)).filter((
      k,
    ): k is number[] => k !== null);
    if (perRun.length === 0) continue;
    const T = Math.min(...perRun.map((k) => k.length));
    for (let t = 0; t < T; t++) {
      const s = spread(perRun.map((k) => k[t]));
      if (s) rows.push({ arm: a.label, t: t + 1, kl: r4(s.mean) });
    }
  }
  if (rows.length === 0) return null;
  const maxT = Math.max(...rows.map((r) => r.t));
  return {
    $schema: SCHEMA,
    config: CONFIG,
    width: WIDTH,
    height: 200,
    data: { values: rows },
    mark: { type: "line", point: maxT <= 32 ? { filled: true, size: 25 } : false, strokeWidth: 1.5 },
    encoding: {
      x: {
        field: "t",
        type: "quantitative",
        title: "glimpse t",
        scale: { domain: [1, maxT], nice: false },
        axis: { tickMinStep: 1 },
      },
      y: { field: "kl", type: "quantitative", title: "KL of glimpse t (nats)" },
      color: { field: "arm", type: "nominal", title: "arm", sort: arms.map((a) => a.label) },
      tooltip: [{ field: "arm" }, { field: "t" }, { field: "kl", title: "KL (nats)" }],
    },
  } as TopLevelSpec;
}

/** The series name of the global gradient norm in gradient charts. */
export const GLOBAL = "global (before clipping)";

/** Colours of variable groups (Tableau 10 without its red, which marks clipping). */
const PALETTE = [
  "#4e79a7",
  "#f28e2b",
  "#59a14f",
  "#b07aa1",
  "#76b7b2",
  "#edc948",
  "#9c755f",
  "#ff9da7",
  "#bab0ac",
];

/** The group names of all arms' gradient records, in a fixed order (so colours agree between charts). */
export function gradientGroups(arms: readonly ArmSummary[]): string[] {
  const known = Object.values(GROUP_NAMES);
  const seen = new Set(
    arms.flatMap((a) => a.runs.flatMap((r) => r.gradients.flatMap((g) => Object.keys(groupNorms(g))))),
  );
  return [...known.filter((g) => seen.has(g)), ...[...seen].filter((g) => !known.includes(g)).sort()];
}

/** The readable name of a variable group, by the prefix before the first "/". */
export const GROUP_NAMES: Readonly<Record<string, string>> = Object.freeze({
  enc: "encoder LSTM",
  dec: "decoder LSTM",
  read: "read head",
  write: "write head",
  post: "posterior μ, log σ",
  init: "initial canvas and states",
});

/** The group a variable belongs to: "enc/lstm/kernel" -> "encoder LSTM"; unknown prefixes are kept. */
export function variableGroup(name: string): string {
  const prefix = name.split("/")[0];
  return GROUP_NAMES[prefix] ?? prefix;
}

/** Per group, the L2 norm of the group's gradient: sqrt of the sum of its variables' squared norms. */
export function groupNorms(line: GradientLine): Record<string, number> {
  const sq: Record<string, number> = {};
  for (const [name, s] of Object.entries(line.vars ?? {})) {
    const g = variableGroup(name);
    sq[g] = (sq[g] ?? 0) + s.norm * s.norm;
  }
  return Object.fromEntries(Object.entries(sq).map(([g, v]) => [g, Math.sqrt(v)]));
}

/**
 * Gradient norms of one arm over training, per variable group, with the global norm before clipping, the
 * clipping threshold as a dashed rule and every clipped step marked with a cross (log scale).
 */
export function gradientChart(
  arm: ArmSummary,
  groupDomain?: readonly string[],
  pageArms = 1,
): TopLevelSpec | null {
  const budget = lineBudget(pageArms);
  const perRun = arm.runs.map((r) =>
    r.gradients.flatMap((g) => [
      ...Object.entries(groupNorms(g)).map(([group, norm]) => ({ group, key: g.step, norm })),
      { group: GLOBAL, key: g.step, norm: g.globalNormBefore },
    ])
  );
  const present = new Set(perRun.flat().map((p) => p.group));
  const groups = [...(groupDomain ?? []), ...[...present].sort()].filter((g, i, all) =>
    all.indexOf(g) === i && g !== GLOBAL
  );
  groups.push(GLOBAL);
  const rows: Array<{ group: string; step: number; norm: number }> = [];
  for (const group of groups) {
    const pts = aggregate(
      group,
      "",
      perRun.map((run) =>
        run.filter((p) => p.group === group && p.norm > 0).map((p) => ({ key: p.key, x: p.key, y: p.norm }))
      ),
      budget.line,
    );
    rows.push(...pts.map((p) => ({ group, step: p.x, norm: p.y })));
  }
  if (rows.length === 0) return null;
  const clips = thin(
    arm.runs.flatMap((r) =>
      r.gradients.filter((g) => g.clipped && g.globalNormBefore > 0).map((g) => ({
        step: g.step,
        norm: r4(g.globalNormBefore),
      }))
    ),
    budget.marked,
  );
  const threshold = arm.config.train.clipNorm;
  const x = { field: "step", type: "quantitative", title: "training step", axis: { format: "~s" } } as const;
  const y = {
    field: "norm",
    type: "quantitative",
    scale: { type: "log" },
    title: "gradient L2 norm",
  } as const;
  const layers: unknown[] = [
    {
      data: csvData(rows, ["group", "step", "norm"]),
      mark: { type: "line", strokeWidth: 1.3, aria: false },
      encoding: {
        x,
        y,
        color: {
          field: "group",
          type: "nominal",
          title: "variables",
          legend: { values: groups.filter((g) => present.has(g)) },
          scale: {
            domain: groups,
            range: [...groups.slice(0, -1).map((_, i) => PALETTE[i % PALETTE.length]), "#000000"],
          },
        },
        strokeWidth: { condition: { test: `datum.group === '${GLOBAL}'`, value: 2.2 }, value: 1.2 },
      },
    },
  ];
  if (threshold > 0) {
    layers.push({
      data: { values: [{ threshold, label: `clip threshold ${threshold}` }] },
      mark: { type: "rule", strokeDash: [4, 3], color: "#555" },
      encoding: { y: { field: "threshold", type: "quantitative" } },
    });
  }
  if (clips.length) {
    layers.push({
      data: csvData(clips.map((c) => ({ ...c, event: "clipped step" })), ["step", "norm", "event"]),
      mark: { type: "point", shape: "cross", size: 36, filled: true, color: OURS_COLOR },
      encoding: {
        x,
        y: { field: "norm", type: "quantitative" },
        tooltip: [{ field: "event" }, { field: "step" }, { field: "norm", title: "norm before clipping" }],
      },
    });
  }
  return {
    $schema: SCHEMA,
    config: CONFIG,
    width: WIDTH,
    height: 220,
    layer: layers,
  } as TopLevelSpec;
}

/** Cell keys whose values are numbers in every arm and take at least two values: the numeric factors. */
export function numericFactors(arms: readonly ArmSummary[]): string[] {
  const keys = [...new Set(arms.flatMap((a) => Object.keys(a.cell)))];
  return keys.filter((k) => {
    const vals = arms.map((a) => a.cell[k]);
    return vals.every((v) => typeof v === "number" && Number.isFinite(v)) && new Set(vals).size >= 2;
  });
}

/**
 * Test bound (and IWAE estimate) against one numeric factor, ± one standard deviation over seeds; arms that
 * differ in other factors get their own line. A log2 x axis is used when the values span a factor of 8 or more.
 */
export function ablationChart(arms: readonly ArmSummary[], factor: string): TopLevelSpec | null {
  const rows: Array<{ x: number; y: number; lo: number; hi: number; series: string }> = [];
  for (const a of arms) {
    const others = Object.entries(a.cell).filter(([k]) => k !== factor).map(([k, v]) =>
      `${k}=${JSON.stringify(v)}`
    ).join(", ");
    const suffix = others ? ` (${others})` : "";
    const x = a.cell[factor] as number;
    if (a.bound) {
      rows.push({
        x,
        y: r2(a.bound.mean),
        lo: r2(a.bound.mean - a.bound.std),
        hi: r2(a.bound.mean + a.bound.std),
        series: `test bound${suffix}`,
      });
    }
    if (a.iwae) {
      rows.push({
        x,
        y: r2(a.iwae.mean),
        lo: r2(a.iwae.mean - a.iwae.std),
        hi: r2(a.iwae.mean + a.iwae.std),
        series: `IWAE k=${a.iwae.k}${suffix}`,
      });
    }
  }
  if (new Set(rows.map((r) => r.x)).size < 2) return null;
  const xs = rows.map((r) => r.x);
  const logX = Math.min(...xs) > 0 && Math.max(...xs) / Math.min(...xs) >= 8;
  const x = {
    field: "x",
    type: "quantitative",
    title: factor,
    scale: logX ? { type: "log", base: 2, padding: 16 } : { zero: false, padding: 16 },
    axis: { values: [...new Set(xs)].sort((a, b) => a - b), format: "~g" },
  } as const;
  return {
    $schema: SCHEMA,
    config: CONFIG,
    width: 420,
    height: 240,
    data: { values: rows.sort((a, b) => a.x - b.x) },
    encoding: { x, color: { field: "series", type: "nominal", title: null } },
    layer: [
      { mark: { type: "rule" }, encoding: { y: { field: "lo", type: "quantitative" }, y2: { field: "hi" } } },
      {
        mark: { type: "line", strokeWidth: 1.5 },
        encoding: {
          y: { field: "y", type: "quantitative", scale: { zero: false }, title: "nats per image" },
        },
      },
      {
        mark: { type: "point", filled: true, size: 60 },
        encoding: {
          y: { field: "y", type: "quantitative" },
          tooltip: [{ field: "series" }, { field: "x", title: factor }, { field: "y", title: "nats" }],
        },
      },
    ],
  } as TopLevelSpec;
}
