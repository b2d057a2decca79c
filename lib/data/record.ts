/**
 * What a run records about its data (the manifest's `dataset` field).
 * @module
 */
import type { Dataset } from "./load.ts";

/** The data a run used (the manifest's `dataset` field). */
export interface DatasetRecord {
  name: string;
  /** Split sizes actually used (after limits). */
  splits: { train: number; valid: number; test: number };
  /** SHA-256 of each source file's (decompressed) content, by file name. */
  sha256: Record<string, string>;
  /**
   * Which copy of each file was read, by file name: how it was found (`data-dir` for `--data-dir`, `env` for
   * `REDRAW_DATA_DIR`, `cache`, `shipped` for the repository's `data/`, `fixtures`), its path (relative to
   * the repository when inside it) and the SHA-256 of the file as stored. Absent in older records.
   */
  copies?: Record<string, { source: string; path: string; sha256: string }>;
  binarize?: string;
  /** True when the committed test fixtures were used instead of the real files. */
  fixtures?: boolean;
  /** The data folder the files were looked for in, absolute (absent with the fixtures): `verify` reuses it. */
  dir?: string;
}

/**
 * The manifest record of the splits a run used: dataset name, split sizes after limits (0 for a split not
 * loaded), every source file's verified SHA-256, which copy of each file was read (data dir, environment,
 * cache, shipped or fixtures, with its path and the SHA-256 of the file as stored), and the binarization.
 * @example
 * ```ts
 * import { loadDataset } from "./load.ts";
 * const test = await loadDataset("binarized-mnist", "test", { fixtures: true });
 * datasetRecord([test]).splits; // { train: 0, valid: 0, test: 1000 }
 * ```
 */
export function datasetRecord(datasets: Dataset[]): DatasetRecord {
  if (datasets.length === 0) throw new RangeError("datasetRecord() needs at least one dataset");
  const name = datasets[0].name;
  const splits = { train: 0, valid: 0, test: 0 };
  const sha256: Record<string, string> = {};
  const copies: DatasetRecord["copies"] = {};
  for (const d of datasets) {
    if (d.name !== name) {
      throw new RangeError(`datasetRecord() got datasets ${name} and ${d.name}; expected one`);
    }
    splits[d.split] = d.n;
    Object.assign(sha256, d.files);
    Object.assign(copies, d.copies);
  }
  const record: DatasetRecord = { name, splits, sha256, copies };
  if (name === "mnist") record.binarize = datasets[0].binarize;
  return record;
}
