/**
 * Parser for the IDX format of the MNIST files: a big-endian header (magic number, item count, and for
 * images the row and column counts) followed by unsigned bytes. Streams like {@linkcode AmatParser} so a
 * load can hash and convert in one pass.
 * @module
 */
import { DataError, formatBytes } from "./errors.ts";

/** Magic number of an IDX file of unsigned-byte images (3 dimensions). */
export const IDX_IMAGES_MAGIC = 2051;
/** Magic number of an IDX file of unsigned-byte labels (1 dimension). */
export const IDX_LABELS_MAGIC = 2049;
/** Bytes per MNIST image (28 x 28). */
export const IMAGE_BYTES = 784;
/** MNIST labels are digits. */
const LABEL_LIMIT = 10;

/** The two IDX file kinds used here. */
export type IdxKind = "images" | "labels";

/** A checked IDX header. */
export interface IdxHeader {
  /** Images or labels. */
  kind: IdxKind;
  /** Items (images or labels) declared by the header. */
  count: number;
  /** Header size: 16 for images, 8 for labels. */
  headerBytes: number;
  /** Bytes per item: 784 for images, 1 for labels. */
  itemBytes: number;
  /** The exact content size the header implies. */
  totalBytes: number;
}

function headerSize(kind: IdxKind): number {
  return kind === "images" ? 16 : 8;
}

/**
 * Reads and checks an IDX header: the magic number, and for images 28 x 28 dimensions.
 * @throws {DataError} naming the file, the byte offset, and the expected and found values
 */
export function readIdxHeader(bytes: Uint8Array, fileName: string, kind: IdxKind): IdxHeader {
  const need = headerSize(kind);
  if (bytes.length < need) {
    throw new DataError(
      `${fileName}: the content has ${bytes.length} bytes, too short for an IDX ${kind} header of ${need} bytes`,
      fileName,
      bytes.length,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, need);
  const magic = view.getUint32(0);
  const expected = kind === "images" ? IDX_IMAGES_MAGIC : IDX_LABELS_MAGIC;
  if (magic !== expected) {
    const hint = magic === IDX_IMAGES_MAGIC
      ? " (an images file)"
      : magic === IDX_LABELS_MAGIC
      ? " (a labels file)"
      : bytes[0] === 0x1f && bytes[1] === 0x8b
      ? " (gzip data: is the file compressed twice?)"
      : "";
    throw new DataError(
      `${fileName}: wrong IDX magic number at byte offset 0: expected ${expected} (0x${
        hex8(expected)
      }, ${kind}), ` +
        `found ${magic} (0x${hex8(magic)})${hint}`,
      fileName,
      0,
    );
  }
  const count = view.getUint32(4);
  if (kind === "images") {
    for (const [offset, what] of [[8, "rows"], [12, "columns"]] as const) {
      const v = view.getUint32(offset);
      if (v !== 28) {
        throw new DataError(
          `${fileName}: the IDX header gives ${v} ${what} per image at byte offset ${offset}; expected 28`,
          fileName,
          offset,
        );
      }
    }
  }
  const itemBytes = kind === "images" ? IMAGE_BYTES : 1;
  return { kind, count, headerBytes: need, itemBytes, totalBytes: need + count * itemBytes };
}

function hex8(n: number): string {
  return n.toString(16).padStart(8, "0");
}

function countError(fileName: string, h: IdxHeader, actual: number, complete: boolean): DataError {
  const items = h.kind === "images" ? "images" : "labels";
  const have = complete ? `the content has ${formatBytes(actual)} bytes` : `the content goes on past that`;
  const whole = (actual - h.headerBytes) / h.itemBytes;
  const wholeNote = complete && Number.isInteger(whole) ? ` (${formatBytes(whole)} ${items})` : "";
  return new DataError(
    `${fileName}: wrong ${h.kind === "images" ? "image" : "label"} count: the header (byte offset 4) says ` +
      `${formatBytes(h.count)} ${items}, which needs exactly ${
        formatBytes(h.totalBytes)
      } bytes, but ${have}` +
      `${wholeNote}`,
    fileName,
    Math.min(actual, h.totalBytes),
  );
}

/**
 * A streaming IDX reader: `push()` chunks in order, then `finish()`. Each run of item bytes is handed to
 * `onData(bytes, dataOffset)`, where `dataOffset` counts from the first item byte; `onHeader` sees the checked
 * header before any data. Labels are checked to be digits.
 */
export class IdxReader {
  #head: Uint8Array;
  #headLen = 0;
  #header: IdxHeader | null = null;
  #consumed = 0;

  /** `fileName` is named in errors; the callbacks receive the header and then the item bytes. */
  constructor(
    readonly fileName: string,
    readonly kind: IdxKind,
    readonly onHeader: (h: IdxHeader) => void,
    readonly onData: (bytes: Uint8Array, dataOffset: number) => void,
  ) {
    this.#head = new Uint8Array(headerSize(kind));
  }

  /** Reads the next chunk; throws a {@linkcode DataError} at the first problem. */
  push(chunk: Uint8Array): void {
    let p = 0;
    if (!this.#header) {
      p = Math.min(this.#head.length - this.#headLen, chunk.length);
      this.#head.set(chunk.subarray(0, p), this.#headLen);
      this.#headLen += p;
      this.#consumed += p;
      if (this.#headLen < this.#head.length) return;
      this.#header = readIdxHeader(this.#head, this.fileName, this.kind);
      this.onHeader(this.#header);
    }
    const h = this.#header;
    if (p === chunk.length) return;
    const start = this.#consumed;
    const end = start + chunk.length - p;
    if (end > h.totalBytes) throw countError(this.fileName, h, end, false);
    const data = chunk.subarray(p);
    if (this.kind === "labels") {
      for (let i = 0; i < data.length; i++) {
        if (data[i] >= LABEL_LIMIT) {
          throw new DataError(
            `${this.fileName}: label ${start + i - h.headerBytes} at byte offset ${start + i} is ${
              data[i]
            }; ` +
              `expected a digit 0 to 9`,
            this.fileName,
            start + i,
          );
        }
      }
    }
    this.onData(data, start - h.headerBytes);
    this.#consumed = end;
  }

  /** Ends the content; checks the byte count matches the header's item count. Returns the header. */
  finish(): IdxHeader {
    if (!this.#header) {
      if (this.#headLen === 0) {
        throw new DataError(`${this.fileName}: the content is empty`, this.fileName, 0);
      }
      readIdxHeader(this.#head.subarray(0, this.#headLen), this.fileName, this.kind);
      throw new DataError(`${this.fileName}: incomplete IDX header`, this.fileName, this.#headLen);
    }
    if (this.#consumed !== this.#header.totalBytes) {
      throw countError(this.fileName, this.#header, this.#consumed, true);
    }
    return this.#header;
  }
}

/** IDX images held in memory. */
export interface IdxImages {
  /** Images in the file. */
  count: number;
  /** Rows per image (28). */
  rows: number;
  /** Columns per image (28). */
  cols: number;
  /** count x 784 grey levels 0..255, row-major. */
  pixels: Uint8Array;
}

/**
 * Parses a whole IDX images file (decompressed) held in memory.
 * @example
 * ```ts
 * const bytes = new Uint8Array(16 + 784); // one all-black 28 x 28 image
 * const header = new DataView(bytes.buffer);
 * [0x0803, 1, 28, 28].forEach((v, i) => header.setUint32(4 * i, v));
 * const { count, pixels } = parseIdxImages(bytes, "t10k-images-idx3-ubyte");
 * [count, pixels.length]; // [1, 784]
 * ```
 */
export function parseIdxImages(bytes: Uint8Array, fileName: string): IdxImages {
  let pixels = new Uint8Array(0);
  const r = new IdxReader(fileName, "images", (h) => {
    pixels = new Uint8Array(Math.min(h.count * IMAGE_BYTES, Math.max(0, bytes.length - h.headerBytes)));
  }, (data, off) => pixels.set(data, off));
  r.push(bytes);
  const h = r.finish();
  return { count: h.count, rows: 28, cols: 28, pixels };
}

/** Parses a whole IDX labels file (decompressed) held in memory; returns the labels. */
export function parseIdxLabels(bytes: Uint8Array, fileName: string): Uint8Array {
  let labels = new Uint8Array(0);
  const r = new IdxReader(fileName, "labels", (h) => {
    labels = new Uint8Array(Math.min(h.count, Math.max(0, bytes.length - h.headerBytes)));
  }, (data, off) => labels.set(data, off));
  r.push(bytes);
  r.finish();
  return labels;
}
