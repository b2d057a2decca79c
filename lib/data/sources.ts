/**
 * The datasets' files: canonical names, where to download them, and their pinned SHA-256 values.
 *
 * Content pins are the publishers' files' SHA-256 values, which agree with `tensorflow/datasets` url_checksums
 * (binarized_mnist.txt, mnist.txt) and torchvision's MD5 list; docs/data.md gives their origin. The shipped
 * copies' pins are those of the gzip files committed in data/binarized_mnist (also in its SHA256SUMS).
 * @module
 */

/** Dataset names understood by `loadDataset`. */
export type DatasetName = "binarized-mnist" | "mnist";
/** Dataset splits. For MNIST, "valid" is the tail of the IDX train file. */
export type Split = "train" | "valid" | "test";
/** File formats. */
export type FileKind = "amat" | "idx-images" | "idx-labels";

/** Where a file is published, and the pin of the file exactly as served. */
export interface RemoteSpec {
  /** Name the download is stored under (raw `.amat`, or MNIST's `.gz`). */
  fileName: string;
  /** The canonical download URL. */
  url: string;
  /** SHA-256 of the bytes served (for `.gz` downloads, of the compressed file). */
  sha256: string;
  /** Size of the bytes served. */
  bytes: number;
}

/**
 * The copy of a file shipped with the repository (`data/<subdir>/<fileName>`): the published content,
 * gzip-compressed, pinned by the SHA-256 of the compressed bytes so that a damaged copy is refused with both
 * hashes before it is decompressed.
 */
export interface ShippedSpec {
  /** Name of the shipped file, e.g. `binarized_mnist_test.amat.gz`. */
  fileName: string;
  /** SHA-256 of the shipped (gzip) file. */
  sha256: string;
  /** Size of the shipped file. */
  bytes: number;
}

/** One data file and its pins. */
export interface FileSpec {
  /** Canonical decompressed name, e.g. `binarized_mnist_train.amat` or `train-images-idx3-ubyte`. */
  name: string;
  /** The data dir's subfolder for this dataset. */
  subdir: "binarized_mnist" | "mnist";
  /** The file format. */
  kind: FileKind;
  /** SHA-256 of the decompressed content: what every load verifies. */
  sha256: string;
  /** Size of the decompressed content. */
  bytes: number;
  /** Rows (images) or labels in the file. */
  count: number;
  /** Absent for fixtures, which are never downloaded. */
  remote?: RemoteSpec;
  /** The copy shipped in the repository's `data/` folder (binarized MNIST only). */
  shipped?: ShippedSpec;
}

/** A file published at a canonical URL. */
export type PublishedFile = FileSpec & { remote: RemoteSpec };

/**
 * Where the fixed binarization of Larochelle & Murray (2011) is published, as raw `.amat` text
 * (the DRAW paper's benchmark data).
 */
export const BINARIZED_MNIST_URL = "http://www.cs.toronto.edu/~larocheh/public/datasets/binarized_mnist/";

/**
 * Where MNIST is downloaded from: Google's mirror of the canonical files, byte-identical to those first
 * published at http://yann.lecun.com/exdb/mnist/ (the canonical origin, which now often refuses downloads).
 */
export const MNIST_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/";

function binarized(
  split: Split,
  sha256: string,
  rows: number,
  shipped: { sha256: string; bytes: number },
): PublishedFile & { shipped: ShippedSpec } {
  const name = `binarized_mnist_${split}.amat`;
  const bytes = rows * 1568;
  return {
    name,
    subdir: "binarized_mnist",
    kind: "amat",
    sha256,
    bytes,
    count: rows,
    remote: { fileName: name, url: `${BINARIZED_MNIST_URL}${name}`, sha256, bytes },
    shipped: { fileName: `${name}.gz`, ...shipped },
  };
}

function mnist(
  name: string,
  kind: "idx-images" | "idx-labels",
  count: number,
  sha256: string,
  gz: { sha256: string; bytes: number },
): PublishedFile {
  const bytes = kind === "idx-images" ? 16 + count * 784 : 8 + count;
  const fileName = `${name}.gz`;
  return {
    name,
    subdir: "mnist",
    kind,
    sha256,
    bytes,
    count,
    remote: { fileName, url: `${MNIST_URL}${fileName}`, ...gz },
  };
}

/** The real files with their published pins. */
export const DATA_FILES = {
  binarizedTrain: binarized(
    "train",
    "ad693b29f94c14277b095f5238ddefbbdaaae0939789dd2f4f0205278cee3e4d",
    50_000,
    { sha256: "af247bd6075cf9adc4715459dcd5f13eaa99a2c92d8d81379a05da94770b6c0e", bytes: 2_196_952 },
  ),
  binarizedValid: binarized(
    "valid",
    "1de3d397c40fe8eeb33dafd4099a1f665ec01e96d9be234aaeeac8a34930e2e2",
    10_000,
    { sha256: "533b71bc0198f4d73c54ae5fe6c96fc08dc3cf1b3fae24c5521dbc0452507e38", bytes: 439_620 },
  ),
  binarizedTest: binarized(
    "test",
    "e6687bfea3f820c174f33b7865140b2a2dd2930ef786f35d45795fc193b5ab2c",
    10_000,
    { sha256: "32a3c54d03504632bf9f131b4a148c7567aa6fc87da017049b044bdc14c2a0f2", bytes: 416_802 },
  ),
  mnistTrainImages: mnist(
    "train-images-idx3-ubyte",
    "idx-images",
    60_000,
    "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    { sha256: "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", bytes: 9_912_422 },
  ),
  mnistTrainLabels: mnist(
    "train-labels-idx1-ubyte",
    "idx-labels",
    60_000,
    "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    { sha256: "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", bytes: 28_881 },
  ),
  mnistTestImages: mnist(
    "t10k-images-idx3-ubyte",
    "idx-images",
    10_000,
    "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    { sha256: "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", bytes: 1_648_877 },
  ),
  mnistTestLabels: mnist(
    "t10k-labels-idx1-ubyte",
    "idx-labels",
    10_000,
    "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    { sha256: "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", bytes: 4_542 },
  ),
} as const satisfies Record<string, PublishedFile>;

/** Rows in each committed fixture file. */
export const FIXTURE_ROWS = 256;

function fixture(spec: FileSpec, sha256: string): FileSpec {
  const bytes = spec.kind === "amat"
    ? FIXTURE_ROWS * 1568
    : spec.kind === "idx-images"
    ? 16 + FIXTURE_ROWS * 784
    : 8 + FIXTURE_ROWS;
  return { name: spec.name, subdir: spec.subdir, kind: spec.kind, sha256, bytes, count: FIXTURE_ROWS };
}

/**
 * The committed fixtures (tests/fixtures/data, cut by lib/data/make_fixtures.ts): the first 256 rows of
 * each file, with their own pins.
 */
export const FIXTURE_FILES = {
  binarizedTrain: fixture(
    DATA_FILES.binarizedTrain,
    "9fc6bb40ec76d36352e2fa95b5b03f3ca7f18a2f3bfe078aab849c38219d6ced",
  ),
  binarizedValid: fixture(
    DATA_FILES.binarizedValid,
    "bee222e83b1d059c4b626fa9f7ac7803ad76150246aa47244be2a0e4bd2da29a",
  ),
  binarizedTest: fixture(
    DATA_FILES.binarizedTest,
    "f51f061c692e213f60186a69799ff377ba03b40e1cb88b9d4dfe7a4b51334b89",
  ),
  mnistTrainImages: fixture(
    DATA_FILES.mnistTrainImages,
    "72626568dec4c69d590339e550f5bc3997d1d2f567b16d202de3915e900d02da",
  ),
  mnistTrainLabels: fixture(
    DATA_FILES.mnistTrainLabels,
    "5d76c837dba082c38acf8d0550513e814af1e36b58d9aeb18c850a8e8100a123",
  ),
  mnistTestImages: fixture(
    DATA_FILES.mnistTestImages,
    "d13186a8171483437b6a936d3a0131b2bb83cc7008923c4be04f42b173a18935",
  ),
  mnistTestLabels: fixture(
    DATA_FILES.mnistTestLabels,
    "7b7f0b73a7c9b36bc8377eb426dd6f4a2b668c90185f8f8f4175105f0d84fb0f",
  ),
} as const satisfies Record<string, FileSpec>;

/** The files one split is read from: the images file, and for MNIST the labels file. */
export interface SplitFiles {
  /** The `.amat` or IDX images file. */
  images: FileSpec;
  /** The IDX labels file (MNIST only). */
  labels?: FileSpec;
}

/** The files that hold `split` of dataset `name` (MNIST train and valid share the IDX train files). */
export function splitFiles(name: DatasetName, split: Split, fixtures = false): SplitFiles {
  const f = fixtures ? FIXTURE_FILES : DATA_FILES;
  if (name === "binarized-mnist") {
    return {
      images: split === "train" ? f.binarizedTrain : split === "valid" ? f.binarizedValid : f.binarizedTest,
    };
  }
  return split === "test"
    ? { images: f.mnistTestImages, labels: f.mnistTestLabels }
    : { images: f.mnistTrainImages, labels: f.mnistTrainLabels };
}
