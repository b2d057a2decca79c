/**
 * The paper's reference numbers: Table 2 (binarized MNIST negative log-likelihood) and Table 3 (the MNIST
 * model), the citation, and how an experiment's cells are matched with Table 2 rows (`paperTargetFor`).
 *
 * Configuration layer: no tfjs. Experiment files, the experiment runner and the report share it.
 * @module
 */
import { canonicalJson, type Cell, cellLabel } from "./runid.ts";

/** The paper the numbers come from. */
export const PAPER_CITATION = Object.freeze({
  authors: "Karol Gregor, Ivo Danihelka, Alex Graves, Danilo Jimenez Rezende, Daan Wierstra",
  shortAuthors: "Gregor, Danihelka, Graves, Rezende, Wierstra",
  title: "DRAW: A Recurrent Neural Network For Image Generation",
  venue: "ICML 2015",
  arxiv: "arXiv:1502.04623",
  year: 2015,
});

/** The citation as one line of plain text. */
export const PAPER_CITATION_TEXT =
  `${PAPER_CITATION.shortAuthors}. ${PAPER_CITATION.title}. ${PAPER_CITATION.venue}, ${PAPER_CITATION.arxiv}`;

/** One row of Table 2. */
export interface Table2Row {
  /** Stable identifier for experiment files (`paperTargets`). */
  id: string;
  /** The model's name as printed in the paper. */
  model: string;
  /** Negative log-likelihood in nats per image. */
  nll: number;
  /** True when the paper gives an upper bound ("<="), false for an exact NLL (NADE, EoNADE). */
  upperBound: boolean;
  /** True for the rows the paper reports for DRAW itself. */
  draw: boolean;
}

/**
 * Table 2 of Gregor et al. 2015: test-set negative log-likelihood (or its upper bound) on binarized MNIST,
 * in nats, in the paper's order.
 */
export const PAPER_TABLE2: readonly Readonly<Table2Row>[] = Object.freeze([
  { id: "dbm-2hl", model: "DBM 2hl", nll: 84.62, upperBound: true, draw: false },
  { id: "dbn-2hl", model: "DBN 2hl", nll: 84.55, upperBound: true, draw: false },
  { id: "nade", model: "NADE", nll: 88.33, upperBound: false, draw: false },
  { id: "eonade-2hl", model: "EoNADE 2hl (128 orderings)", nll: 85.10, upperBound: false, draw: false },
  { id: "eonade5-2hl", model: "EoNADE-5 2hl (128 orderings)", nll: 84.68, upperBound: false, draw: false },
  { id: "dlgm", model: "DLGM", nll: 86.60, upperBound: true, draw: false },
  { id: "dlgm-8-leapfrog", model: "DLGM 8 leapfrog steps", nll: 85.51, upperBound: true, draw: false },
  { id: "darn-1hl", model: "DARN 1hl", nll: 84.13, upperBound: true, draw: false },
  { id: "darn-12hl", model: "DARN 12hl", nll: 88.30, upperBound: true, draw: false },
  { id: "draw-no-attention", model: "DRAW without attention", nll: 87.40, upperBound: true, draw: true },
  { id: "draw", model: "DRAW", nll: 80.97, upperBound: true, draw: true },
].map((r) => Object.freeze(r)));

/** Formats a Table 2 value the way the paper prints it: "<= 80.97" for bounds. */
export function formatTable2Value(row: Table2Row): string {
  return `${row.upperBound ? "≤ " : ""}${row.nll.toFixed(2)}`;
}

/**
 * Finds a Table 2 row by id or by the paper's model name (case-insensitive), or undefined.
 * @example
 * ```ts
 * findTable2Row("DRAW without attention")?.nll; // 87.4
 * findTable2Row("draw")?.nll; // 80.97
 * ```
 */
export function findTable2Row(name: string): Readonly<Table2Row> | undefined {
  const n = name.trim().toLowerCase();
  return PAPER_TABLE2.find((r) => r.id === n || r.model.toLowerCase() === n);
}

/** The fields of Table 3 that describe the MNIST model, in the names of `DrawConfig`. */
export interface Table3Model {
  /** #glimpses. */
  T: number;
  /** LSTM #h, for both encoder and decoder. */
  encSize: number;
  decSize: number;
  /** #z. */
  nZ: number;
  /** Read size N x N. */
  readN: number;
  /** Write size N x N. */
  writeN: number;
  /** Image size (28 x 28 MNIST). */
  A: number;
  B: number;
}

/** Table 3 of Gregor et al. 2015, MNIST model: T=64, LSTM 256, z 100, read 2x2, write 5x5 (28x28 images). */
export const PAPER_TABLE3_MNIST: Readonly<Table3Model> = Object.freeze({
  T: 64,
  encSize: 256,
  decSize: 256,
  nZ: 100,
  readN: 2,
  writeN: 5,
  A: 28,
  B: 28,
});

/** Human-readable names of the Table 3 fields, for deviation lists. */
export const TABLE3_FIELD_NAMES: Readonly<Record<keyof Table3Model, string>> = Object.freeze({
  T: "glimpses T",
  encSize: "encoder LSTM size",
  decSize: "decoder LSTM size",
  nZ: "latent size n_z",
  readN: "read grid N",
  writeN: "write grid N",
  A: "image width A",
  B: "image height B",
});

/** The test-set size of binarized MNIST, which Table 2 uses in full. */
export const PAPER_TEST_IMAGES = 10_000;

/** "Within tolerance" means |ours - paper| <= this many nats plus twice the standard error. */
export const DEFAULT_TOLERANCE_NATS = 1;

/** The Table 2 value a cell is compared with, resolved from an experiment's `paperTargets`. */
export interface PaperTarget {
  /** The row's name as the paper prints it, or the experiment's own name for a value not in Table 2. */
  row: string;
  /** The value compared with, in nats. */
  nats: number;
  /** Nats allowed beyond twice the standard error ({@linkcode DEFAULT_TOLERANCE_NATS} when absent). */
  tolerance?: number;
}

/**
 * How an experiment names a cell's row: a row id or the paper's model name (case-insensitive), or an object
 * with its own value in nats (needed for a row outside Table 2) or tolerance.
 */
export type TargetChoice = string | { row: string; nats?: number; tolerance?: number };

/**
 * One entry of the list form of `paperTargets`. Without `where`, the DRAW rows match cells by their
 * attention setting ("DRAW" attention on, "DRAW without attention" off) and any other row matches every
 * cell; `where` restricts the entry to cells whose values equal it.
 */
export type TargetRule = TargetChoice | { row: string; nats?: number; tolerance?: number; where?: Cell };

/**
 * An experiment's `paperTargets`: a map from a cell's label (`attention=false`, `grid=5x5`, `base` for an
 * experiment without factors; see `cellLabel`) to a choice or null; a function from the cell to one; or a
 * list of {@linkcode TargetRule}s, the first that matches winning. A cell without a row is not comparable.
 * @example
 * ```ts
 * const a: PaperTargets = { "attention=true": "DRAW", "attention=false": "DRAW without attention" };
 * const b: PaperTargets = (cell) => (cell.T === 64 ? "DRAW" : null);
 * const c: PaperTargets = [{ row: "draw-no-attention", where: { attention: false }, tolerance: 2 }];
 * ```
 */
export type PaperTargets =
  | readonly TargetRule[]
  | Readonly<Record<string, TargetChoice | null>>
  | ((cell: Cell) => TargetChoice | null | undefined);

/** The rows compared with when an experiment names none (the report's default). */
export const DEFAULT_PAPER_TARGETS: readonly TargetRule[] = Object.freeze(["draw", "draw-no-attention"]);

function resolveChoice(t: TargetChoice | null | undefined): PaperTarget | null {
  if (t === null || t === undefined) return null;
  const spec = typeof t === "string" ? { row: t } : t;
  const found = findTable2Row(spec.row);
  const nats = spec.nats ?? found?.nll;
  if (nats === undefined) return null;
  const target: PaperTarget = { row: found?.model ?? spec.row, nats };
  if (spec.tolerance !== undefined) target.tolerance = spec.tolerance;
  return target;
}

function ruleMatches(rule: TargetRule, cell: Cell, attention: boolean | undefined): boolean {
  const spec = typeof rule === "string" ? { row: rule } : rule;
  const row = findTable2Row(spec.row);
  if ("where" in spec && spec.where) {
    return Object.entries(spec.where).every(([k, v]) => canonicalJson(cell[k]) === canonicalJson(v));
  }
  if (row?.id === "draw") return attention !== false;
  if (row?.id === "draw-no-attention") return attention !== true;
  return true;
}

/**
 * The paper target of a cell, or null when the experiment names none for it. `attention` (the cell's model
 * setting) lets the list form match the DRAW rows.
 * @example
 * ```ts
 * paperTargetFor({ "attention=false": "DRAW without attention" }, { attention: false });
 * // { row: "DRAW without attention", nats: 87.4 }
 * ```
 */
export function paperTargetFor(
  targets: PaperTargets | undefined,
  cell: Cell,
  attention?: boolean,
): PaperTarget | null {
  if (targets === undefined) return null;
  if (typeof targets === "function") return resolveChoice(targets(cell));
  if (!Array.isArray(targets)) {
    return resolveChoice((targets as Readonly<Record<string, TargetChoice | null>>)[cellLabel(cell)]);
  }
  for (const rule of targets as readonly TargetRule[]) {
    if (!ruleMatches(rule, cell, attention)) continue;
    const target = resolveChoice(rule);
    if (target) return target;
  }
  return null;
}

/**
 * Checks the shape of `paperTargets`; returns problems naming the entry (empty when fine). A function
 * cannot be checked before it is called; an unknown row it returns makes the cell not comparable.
 */
export function checkPaperTargets(targets: unknown): string[] {
  if (typeof targets === "function") return [];
  const known = PAPER_TABLE2.map((r) => r.id).join(", ");
  const problems: string[] = [];
  const check = (t: unknown, where: string, nullable: boolean) => {
    if (nullable && (t === null || t === undefined)) return;
    const row = typeof t === "string" ? t : (t as { row?: unknown })?.row;
    const nats = typeof t === "object" && t !== null ? (t as { nats?: unknown }).nats : undefined;
    if (typeof row !== "string") problems.push(`${where} needs a row name, got ${JSON.stringify(t)}`);
    else if (!findTable2Row(row) && typeof nats !== "number") {
      problems.push(`${where} names no Table 2 row: ${JSON.stringify(row)} (known: ${known})`);
    }
  };
  if (Array.isArray(targets)) targets.forEach((t, i) => check(t, `paperTargets[${i}]`, false));
  else if (typeof targets === "object" && targets !== null) {
    for (const [k, v] of Object.entries(targets)) check(v, `paperTargets[${JSON.stringify(k)}]`, true);
  } else {
    problems.push(
      `paperTargets must be a list, an object keyed by cell label or a function, got ${
        JSON.stringify(targets)
      }`,
    );
  }
  return problems;
}
