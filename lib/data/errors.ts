/**
 * Errors raised by the data layer. Each names the file and, where it applies, the byte offset or line, so a
 * user can find the problem with `gzip -dc FILE | head -c ...` or a hex viewer.
 * @module
 */

/** A data file is missing, unreadable, malformed or not the published one. */
export class DataError extends Error {
  /**
   * An error about one file.
   * @param message sentence-case description naming the file and the offending value
   * @param file the path (or name) of the file concerned
   * @param offset byte offset of the problem in the (decompressed) content, when known
   */
  constructor(message: string, readonly file: string, readonly offset?: number) {
    super(message);
    this.name = "DataError";
  }
}

/** A file's SHA-256 differs from the pinned, published value: the file is not used. */
export class ChecksumError extends DataError {
  /** `expected` is the pinned SHA-256, `actual` the one computed. */
  constructor(message: string, file: string, readonly expected: string, readonly actual: string) {
    super(message, file);
    this.name = "ChecksumError";
  }
}

/** One file that a load needs and could not find. */
export interface MissingFile {
  /** Canonical (decompressed) file name, e.g. `binarized_mnist_train.amat`. */
  name: string;
  /** Where it would be picked up first (the path a download writes to). */
  putAt: string;
  /** Other accepted names (the `.gz` or raw form). */
  alternatives: string[];
  /** Where to get it. */
  url: string;
  /** SHA-256 of the file as downloaded from `url`. */
  sha256: string;
  /** SHA-256 of the decompressed content (what is verified). */
  contentSha256: string;
}

/** Files needed for a load are absent and downloading is off (or impossible, for fixtures). */
export class MissingDataError extends DataError {
  /** `dir` is the data dir searched; `missing` lists every file not found. */
  constructor(message: string, dir: string, readonly missing: MissingFile[]) {
    super(message, dir);
    this.name = "MissingDataError";
  }
}

/** Formats a byte count with thousands separators, e.g. `78,400,000`. */
export function formatBytes(n: number): string {
  return n.toLocaleString("en-US");
}

/** Shows one byte as it appears in the file: `'x' (0x78)`, or just the hex for control characters. */
export function showByte(b: number): string {
  const hex = `0x${b.toString(16).padStart(2, "0")}`;
  if (b >= 0x20 && b < 0x7f) return `'${String.fromCharCode(b)}' (${hex})`;
  const names: Record<number, string> = {
    0x0a: "newline",
    0x0d: "carriage return",
    0x09: "tab",
    0x00: "NUL",
  };
  return names[b] ? `${names[b]} (${hex})` : hex;
}
