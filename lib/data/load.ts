/**
 * `loadDataset()`: the library entry point that finds, verifies and parses one split of a dataset.
 * @module
 */
import { AmatParser } from "./amat.ts";
import {
  type DataSource,
  fixturesDir,
  locateFile,
  locateShipped,
  recordedPath,
  resolveDataDirSource,
  shippedDir,
} from "./datadir.ts";
import { type DownloadOptions, ensureFiles } from "./download.ts";
import { ChecksumError, formatBytes } from "./errors.ts";
import { IdxReader, IMAGE_BYTES } from "./idx.ts";
import { type ContentInfo, hashFile, streamContent } from "./read.ts";
import { type DatasetName, type FileSpec, type Split, splitFiles } from "./sources.ts";

/**
 * How grey-level MNIST becomes binary: `dynamic` keeps grey levels and the batcher draws a fresh Bernoulli
 * sample of each image every epoch; `threshold` sets pixel > 127 to 1 at load; `none` keeps grey levels.
 * Binarized MNIST is binary already, so it is always `none`.
 */
export type Binarize = "dynamic" | "threshold" | "none";

/** Pixels per image: 28 x 28. */
export const PIXELS: number = IMAGE_BYTES;
/** MNIST validation images taken from the end of the IDX train file, by default. */
export const DEFAULT_VALID_SIZE = 10_000;
/** The same for the 256-image fixtures. */
export const FIXTURE_VALID_SIZE = 64;

/** Options of {@linkcode loadDataset}. */
export interface LoadOptions extends DownloadOptions {
  /**
   * Data dir (else `$REDRAW_DATA_DIR`, else `$XDG_CACHE_HOME/redraw` or `~/.cache/redraw`), searched before
   * the shipped copy.
   */
  dataDir?: string;
  /** MNIST only; default `dynamic`. */
  binarize?: Binarize;
  /** MNIST only: images at the end of the IDX train file that form "valid" (default 10,000; 64 for fixtures). */
  validSize?: number;
  /**
   * Load the 256-row fixtures, verified against their own pins: from tests/fixtures/data, or from `dataDir`
   * when it is given (tests use that to try data-dir layouts).
   */
  fixtures?: boolean;
  /** Download missing files into the data dir (default false). Fixtures are never downloaded. */
  download?: boolean;
  /** Keep only the first `limit` images of the split (smoke runs). The whole file is still verified. */
  limit?: number;
  /**
   * Where the shipped copy of the binarized MNIST is looked for when the data dir lacks a file (default: the
   * repository's `data/`); null never uses it (tests of the missing-file error).
   */
  shippedDir?: string | null;
}

/** Which copy of one file a load read, as a manifest records it. */
export interface DataCopy {
  /** How the copy was found: `data-dir`, `env`, `cache`, `shipped` or `fixtures`. */
  source: DataSource;
  /** Its path, relative to the repository when inside it. */
  path: string;
  /** SHA-256 of the file as stored (the gzip bytes for a `.gz` file). */
  sha256: string;
}

/** One loaded, verified split. */
export interface Dataset {
  /** Which dataset. */
  name: DatasetName;
  /** Which split. */
  split: Split;
  /** n x 784 pixel values in [0, 1], row-major 28 x 28 per image. */
  images: Float32Array;
  /** Images in the split (after `limit`). */
  n: number;
  /** Verified SHA-256 of the decompressed content of the images file (`.amat` or IDX images). */
  sha256: string;
  /** Verified SHA-256 of each source file's decompressed content, by canonical file name. */
  files: Record<string, string>;
  /** Digit labels (MNIST only). */
  labels?: Uint8Array;
  /**
   * The binarization: `dynamic` means the batcher samples a fresh one every epoch; `threshold` was applied at
   * load; `none` means the values are used as they are (always so for binarized MNIST).
   */
  binarize: Binarize;
  /** Index of the split's first image in its source file (MNIST valid: 50,000). */
  offset: number;
  /** Whether this came from the committed fixtures. */
  fixtures: boolean;
  /** The path each file was read from, by canonical file name. */
  paths: Record<string, string>;
  /** Which copy of each file was read, by canonical file name. */
  copies: Record<string, DataCopy>;
}

const NAMES: readonly DatasetName[] = ["binarized-mnist", "mnist"];
const SPLITS: readonly Split[] = ["train", "valid", "test"];
const MODES: readonly Binarize[] = ["dynamic", "threshold", "none"];

function checkCount(value: unknown, what: string, min: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new RangeError(`${what} must be an integer >= ${min}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/**
 * Refuses a shipped copy whose stored bytes are not the committed file, before decompressing it, so that
 * damage anywhere in the gzip data is reported with both hashes rather than as a decompression error.
 */
async function verifyShipped(path: string, spec: FileSpec): Promise<void> {
  const pin = spec.shipped!;
  const got = await hashFile(path);
  if (got.sha256 === pin.sha256) return;
  const size = got.bytes === pin.bytes
    ? `${formatBytes(got.bytes)} bytes, the expected size`
    : `${formatBytes(got.bytes)} bytes, expected ${formatBytes(pin.bytes)}`;
  throw new ChecksumError(
    `${path} (the copy of ${spec.name} shipped with redraw) is damaged: its SHA-256 is ${got.sha256} ` +
      `(${size}); expected SHA-256 ${pin.sha256}. The file was not used; restore it with ` +
      `\`git checkout -- ${recordedPath(path)}\`, or put the published file in a data dir (--data-dir).`,
    path,
    pin.sha256,
    got.sha256,
  );
}

/**
 * Finds each file: in the data dir (`--data-dir`, `REDRAW_DATA_DIR` or the cache, so a user's own copy always
 * wins), else the shipped copy, else downloads it when allowed; otherwise one error lists what is missing.
 */
async function findFiles(
  specs: FileSpec[],
  options: LoadOptions,
  what: string,
): Promise<{ paths: Record<string, string>; sources: Record<string, DataSource> }> {
  const fixtures = options.fixtures === true;
  const { dir, source } = fixtures && options.dataDir === undefined
    ? { dir: fixturesDir(), source: "fixtures" as const }
    : resolveDataDirSource(options);
  const shipped = fixtures ? null : options.shippedDir === undefined ? shippedDir() : options.shippedDir;
  const paths: Record<string, string> = {};
  const sources: Record<string, DataSource> = {};
  const rest: FileSpec[] = [];
  for (const spec of specs) {
    const own = await locateFile(dir, spec);
    const found = own ?? (shipped === null ? null : await locateShipped(shipped, spec));
    if (found === null) rest.push(spec);
    else [paths[spec.name], sources[spec.name]] = [found, own ? source : "shipped"];
  }
  const fetched = await ensureFiles(dir, rest, {
    ...options,
    download: options.download === true && !fixtures,
    what,
  });
  for (const name of Object.keys(fetched)) [paths[name], sources[name]] = [fetched[name], source];
  return { paths, sources };
}

function verify(path: string, spec: FileSpec, info: ContentInfo): void {
  if (info.sha256 === spec.sha256) return;
  const size = info.bytes === spec.bytes
    ? `${formatBytes(info.bytes)} bytes, the expected size`
    : `${formatBytes(info.bytes)} bytes, expected ${formatBytes(spec.bytes)}`;
  throw new ChecksumError(
    `${path} is not the published ${spec.name}: its content has SHA-256 ${info.sha256} (${size}); expected ` +
      `SHA-256 ${spec.sha256}. The file was not used; replace it with the published file.`,
    path,
    spec.sha256,
    info.sha256,
  );
}

/**
 * Loads one split of a dataset: finds its files in the data dir, else (binarized MNIST) the copy shipped in
 * the repository's `data/`, else downloads them if `download` is set; verifies each file's SHA-256 against
 * the published value (and a shipped copy's against the committed file), and parses it. Never returns a partial dataset:
 * any problem is a `DataError` naming the file and the byte offset or line.
 * @example
 * ```ts
 * const test = await loadDataset("binarized-mnist", "test"); // the shipped copy unless the data dir has one
 * test.n;                                            // 10000
 * test.copies["binarized_mnist_test.amat"].source;  // "shipped"
 * const smoke = await loadDataset("mnist", "test", { fixtures: true, binarize: "threshold", limit: 32 });
 * smoke.n; // 32
 * // With the real files: loadDataset("binarized-mnist", "train", { dataDir: DIR }) has n 50000.
 * ```
 */
export async function loadDataset(
  name: DatasetName,
  split: Split,
  options: LoadOptions = {},
): Promise<Dataset> {
  if (!NAMES.includes(name)) {
    throw new RangeError(`Unknown dataset ${JSON.stringify(name)}; expected "binarized-mnist" or "mnist"`);
  }
  if (!SPLITS.includes(split)) {
    throw new RangeError(`Unknown split ${JSON.stringify(split)}; expected "train", "valid" or "test"`);
  }
  const mode = options.binarize ?? "dynamic";
  if (!MODES.includes(mode)) {
    throw new RangeError(`binarize must be "dynamic", "threshold" or "none", got ${JSON.stringify(mode)}`);
  }
  const limit = options.limit === undefined ? Infinity : checkCount(options.limit, "limit", 1);
  const fixtures = options.fixtures === true;
  const files = splitFiles(name, split, fixtures);
  const specs = files.labels ? [files.images, files.labels] : [files.images];
  const { paths, sources } = await findFiles(
    specs,
    options,
    `${name} "${split}"${fixtures ? " (fixtures)" : ""}`,
  );
  for (const spec of specs) if (sources[spec.name] === "shipped") await verifyShipped(paths[spec.name], spec);
  const copy = (spec: FileSpec, info: ContentInfo): DataCopy => ({
    source: sources[spec.name],
    path: recordedPath(paths[spec.name]),
    sha256: info.fileSha256,
  });

  if (name === "binarized-mnist") {
    const spec = files.images;
    const path = paths[spec.name];
    const parser = new AmatParser(path, Math.min(spec.count, limit));
    const info = await streamContent(path, (c) => parser.push(c));
    const { images } = parser.finish();
    verify(path, spec, info);
    return {
      name,
      split,
      images,
      n: images.length / PIXELS,
      sha256: info.sha256,
      files: { [spec.name]: info.sha256 },
      binarize: "none",
      offset: 0,
      fixtures,
      paths,
      copies: { [spec.name]: copy(spec, info) },
    };
  }

  const total = files.images.count;
  let start = 0, end = total;
  if (split !== "test") {
    const validSize = checkCount(
      options.validSize ?? (fixtures ? FIXTURE_VALID_SIZE : DEFAULT_VALID_SIZE),
      "validSize",
      0,
    );
    if (validSize >= total) {
      throw new RangeError(
        `validSize must be less than the ${total} MNIST training images, got ${validSize}`,
      );
    }
    if (split === "valid" && validSize === 0) {
      throw new RangeError(`The "valid" split is empty with validSize 0`);
    }
    start = split === "train" ? 0 : total - validSize;
    end = split === "train" ? total - validSize : total;
  }
  end = Math.min(end, start + limit);
  const images = await readIdxImages(paths[files.images.name], files.images, start, end, mode);
  const labels = await readIdxLabels(paths[files.labels!.name], files.labels!, start, end);
  const labelsSpec = files.labels!;
  return {
    name,
    split,
    images: images.values,
    n: end - start,
    sha256: images.sha256,
    files: { [files.images.name]: images.sha256, [files.labels!.name]: labels.sha256 },
    labels: labels.values,
    binarize: mode,
    offset: start,
    fixtures,
    paths,
    copies: {
      [files.images.name]: copy(files.images, images.info),
      [labelsSpec.name]: copy(labelsSpec, labels.info),
    },
  };
}

/** Streams an IDX images file, keeping images [start, end) converted by the binarization mode. */
async function readIdxImages(
  path: string,
  spec: FileSpec,
  start: number,
  end: number,
  mode: Binarize,
): Promise<{ values: Float32Array; sha256: string; info: ContentInfo }> {
  const lut = new Float32Array(256);
  for (let g = 0; g < 256; g++) lut[g] = mode === "threshold" ? (g > 127 ? 1 : 0) : g / 255;
  const values = new Float32Array((end - start) * PIXELS);
  const lo = start * PIXELS, hi = end * PIXELS;
  const reader = new IdxReader(path, "images", () => {}, (bytes, at) => {
    const from = Math.max(lo, at), to = Math.min(hi, at + bytes.length);
    for (let i = from; i < to; i++) values[i - lo] = lut[bytes[i - at]];
  });
  const info = await streamContent(path, (c) => reader.push(c));
  reader.finish();
  verify(path, spec, info);
  return { values, sha256: info.sha256, info };
}

/** Streams an IDX labels file, keeping labels [start, end). */
async function readIdxLabels(
  path: string,
  spec: FileSpec,
  start: number,
  end: number,
): Promise<{ values: Uint8Array; sha256: string; info: ContentInfo }> {
  const values = new Uint8Array(end - start);
  const reader = new IdxReader(path, "labels", () => {}, (bytes, at) => {
    const from = Math.max(start, at), to = Math.min(end, at + bytes.length);
    if (to > from) values.set(bytes.subarray(from - at, to - at), from - start);
  });
  const info = await streamContent(path, (c) => reader.push(c));
  reader.finish();
  verify(path, spec, info);
  return { values, sha256: info.sha256, info };
}
