/**
 * The paper's reference numbers that reports compare with: Table 2 (binarized MNIST negative log-likelihood)
 * and Table 3 (the MNIST model), with the citation.
 *
 * This file imports nothing: experiment files and the report share it.
 * @module
 */

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
