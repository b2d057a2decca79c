/**
 * The data layer: the DRAW paper's binarized MNIST (shipped in `data/`) and grey-level MNIST, found in a data
 * dir, the shipped copy or downloaded,
 * verified against published SHA-256 values, parsed, and served in deterministic mini-batches.
 *
 * @example
 * ```ts
 * import { Batcher, loadDataset } from "./mod.ts";
 * import { splitSeed } from "../random.ts";
 *
 * const train = await loadDataset("binarized-mnist", "train", { fixtures: true }); // without: all 50,000
 * const streams = splitSeed(1);
 * const batcher = new Batcher(train, { batchSize: 64, order: streams.dataOrder, binarize: streams.binarize });
 * const { images, n } = batcher.next(); // Float32Array of n x 784
 * ```
 * @module
 */
export { AMAT_COLS, AMAT_ROW_BYTES, AmatParser, type AmatResult, parseAmat } from "./amat.ts";
export {
  type Batch,
  Batcher,
  type BatcherOptions,
  type BatcherState,
  type BatchSource,
  type EvalBatch,
  evalBatches,
  sampleBernoulli,
} from "./batches.ts";
export {
  candidatePaths,
  DATA_DIR_ENV,
  type DataSource,
  fixturesDir,
  locateFile,
  locateShipped,
  recordedPath,
  resolveDataDir,
  resolveDataDirSource,
  type ResolvedDataDir,
  shippedDir,
} from "./datadir.ts";
export {
  downloadFile,
  type DownloadOptions,
  ensureFiles,
  type EnsureOptions,
  type FetchImpl,
} from "./download.ts";
export { ChecksumError, DataError, MissingDataError, type MissingFile } from "./errors.ts";
export {
  IDX_IMAGES_MAGIC,
  IDX_LABELS_MAGIC,
  type IdxHeader,
  type IdxImages,
  type IdxKind,
  IdxReader,
  IMAGE_BYTES,
  parseIdxImages,
  parseIdxLabels,
  readIdxHeader,
} from "./idx.ts";
export {
  type Binarize,
  type DataCopy,
  type Dataset,
  DEFAULT_VALID_SIZE,
  FIXTURE_VALID_SIZE,
  loadDataset,
  type LoadOptions,
  PIXELS,
} from "./load.ts";
export { type ContentInfo, hashFile, streamContent } from "./read.ts";
export { type DatasetRecord, datasetRecord } from "./record.ts";
export type { RandomStream, StreamState } from "../random.ts";
export {
  BINARIZED_MNIST_URL,
  DATA_FILES,
  type DatasetName,
  type FileKind,
  type FileSpec,
  FIXTURE_FILES,
  FIXTURE_ROWS,
  MNIST_URL,
  type PublishedFile,
  type RemoteSpec,
  type ShippedSpec,
  type Split,
  type SplitFiles,
  splitFiles,
} from "./sources.ts";
