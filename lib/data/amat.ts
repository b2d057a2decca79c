/**
 * Parser for the `.amat` text format of Larochelle & Murray's binarized MNIST: one image per line, 784 values
 * `0` or `1` separated by single spaces and ended by `\n`, so every line is exactly 1568 bytes. The parser
 * relies on that fixed layout to check and convert bytes directly (no string decoding), and it accepts the
 * content in chunks so a load can stream it while hashing.
 * @module
 */
import { DataError, showByte } from "./errors.ts";

/** Values (pixels) per row: 28 x 28. */
export const AMAT_COLS = 784;
/** Bytes per row: a digit and a separator for each value. */
export const AMAT_ROW_BYTES = 2 * AMAT_COLS;

const ZERO = 0x30;
const SPACE = 0x20;
const NEWLINE = 0x0a;

/** The result of parsing an `.amat` file. */
export interface AmatResult {
  /** Rows in the file. */
  rows: number;
  /** The first `min(rows, capacity)` rows as n x 784 values 0/1, row-major. */
  images: Float32Array;
}

/**
 * A streaming `.amat` parser: `push()` chunks of the (decompressed) content in order, then `finish()`.
 * Every row is checked; only the first `capacity` rows are stored, so a caller that knows the expected row
 * count (or wants a prefix) allocates exactly once.
 * @example
 * ```ts
 * const p = new AmatParser("x.amat", 2);
 * const row = new TextEncoder().encode(`${Array(784).fill("0").join(" ")}\n`);
 * p.push(row.subarray(0, 100)); // chunks may end anywhere
 * p.push(row.subarray(100));
 * p.finish().rows; // 1
 * ```
 */
export class AmatParser {
  readonly #out: Float32Array;
  readonly #carry = new Uint8Array(AMAT_ROW_BYTES);
  #carryLen = 0;
  #consumed = 0;
  #rows = 0;

  /**
   * A parser at the start of the content.
   * @param fileName named in every error
   * @param capacity rows to store (later rows are checked but not kept)
   */
  constructor(readonly fileName: string, readonly capacity: number) {
    this.#out = new Float32Array(capacity * AMAT_COLS);
  }

  /** Parses the next chunk of content. Throws a {@linkcode DataError} at the first malformed byte. */
  push(chunk: Uint8Array): void {
    let p = 0;
    if (this.#carryLen > 0) {
      p = Math.min(AMAT_ROW_BYTES - this.#carryLen, chunk.length);
      this.#carry.set(chunk.subarray(0, p), this.#carryLen);
      this.#carryLen += p;
      if (this.#carryLen < AMAT_ROW_BYTES) {
        this.#consumed += p;
        return;
      }
      this.#row(this.#carry, 0, AMAT_ROW_BYTES, this.#consumed + p - AMAT_ROW_BYTES);
      this.#carryLen = 0;
    }
    const base = this.#consumed;
    for (; p + AMAT_ROW_BYTES <= chunk.length; p += AMAT_ROW_BYTES) {
      this.#row(chunk, p, chunk.length, base + p);
    }
    const rest = chunk.length - p;
    if (rest > 0) {
      this.#carry.set(chunk.subarray(p), 0);
      this.#carryLen = rest;
    }
    this.#consumed += chunk.length;
  }

  /** Ends the content: checks the last line is complete and the file has rows; returns the rows. */
  finish(): AmatResult {
    if (this.#carryLen > 0) {
      const start = this.#consumed - this.#carryLen;
      const why = diagnoseRow(this.#carry, 0, this.#carryLen, start, this.#rows + 1);
      throw new DataError(
        `${this.fileName}: ${
          why ??
            `the content ends inside line ${
              this.#rows + 1
            } (byte offset ${this.#consumed}), which has ${this.#carryLen} of its ${AMAT_ROW_BYTES} bytes; the file is truncated`
        }`,
        this.fileName,
        start,
      );
    }
    if (this.#rows === 0) {
      throw new DataError(`${this.fileName}: the content is empty (no rows)`, this.fileName, 0);
    }
    const kept = Math.min(this.#rows, this.capacity);
    return { rows: this.#rows, images: this.#out.subarray(0, kept * AMAT_COLS) };
  }

  /** Checks (and stores, while under capacity) one row of exactly AMAT_ROW_BYTES bytes at `src[off]`. */
  #row(src: Uint8Array, off: number, end: number, absOffset: number): void {
    const out = this.#out;
    const index = this.#rows;
    let bad = 0;
    if (index < this.capacity) {
      const q = index * AMAT_COLS;
      for (let j = 0, k = off; j < AMAT_COLS - 1; j++, k += 2) {
        const c = src[k];
        bad |= ((c & 0xfe) ^ ZERO) | (src[k + 1] ^ SPACE);
        out[q + j] = c & 1;
      }
      const c = src[off + AMAT_ROW_BYTES - 2];
      bad |= ((c & 0xfe) ^ ZERO) | (src[off + AMAT_ROW_BYTES - 1] ^ NEWLINE);
      out[q + AMAT_COLS - 1] = c & 1;
    } else {
      for (let k = off; k < off + AMAT_ROW_BYTES - 2; k += 2) {
        bad |= ((src[k] & 0xfe) ^ ZERO) | (src[k + 1] ^ SPACE);
      }
      bad |= ((src[off + AMAT_ROW_BYTES - 2] & 0xfe) ^ ZERO) | (src[off + AMAT_ROW_BYTES - 1] ^ NEWLINE);
    }
    if (bad !== 0) {
      const why = diagnoseRow(src, off, end, absOffset, index + 1) ?? `line ${index + 1} is malformed`;
      throw new DataError(`${this.fileName}: ${why}`, this.fileName, absOffset);
    }
    this.#rows++;
  }
}

/**
 * Explains the first byte of a row that breaks the layout, or null if the `end - off` available bytes
 * (at most one row) are a valid prefix of a row.
 */
function diagnoseRow(
  src: Uint8Array,
  off: number,
  end: number,
  absOffset: number,
  line: number,
): string | null {
  const avail = Math.min(end - off, AMAT_ROW_BYTES);
  for (let k = 0; k < avail; k++) {
    const b = src[off + k];
    const at = `byte offset ${absOffset + k}`;
    if (k % 2 === 0) {
      if ((b & 0xfe) === ZERO) continue;
      if (b === NEWLINE) {
        return k === 0
          ? `line ${line} is empty (${at}); every line must hold ${AMAT_COLS} values`
          : `line ${line} ends after ${
            k / 2
          } values and a trailing space (${at}); expected ${AMAT_COLS} values`;
      }
      return `line ${line}, value ${k / 2 + 1} (${at}): expected 0 or 1, found ${showByte(b)}`;
    }
    if (k < AMAT_ROW_BYTES - 1) {
      if (b === SPACE) continue;
      if (b === NEWLINE) {
        return `line ${line} has ${(k + 1) / 2} values; expected ${AMAT_COLS} (its newline is at ${at})`;
      }
      if ((b & 0xfe) === ZERO) {
        return `line ${line}, after value ${(k + 1) / 2} (${at}): expected a single space, found ${
          showByte(b)
        }`;
      }
      return `line ${line}, after value ${(k + 1) / 2} (${at}): expected a space, found ${showByte(b)}`;
    }
    if (b === NEWLINE) continue;
    if (b === SPACE) {
      const nl = src.subarray(off + k, end).indexOf(NEWLINE);
      const count = nl < 0 ? `more than ${AMAT_COLS}` : `${(k + nl + 1) / 2 | 0}`;
      return `line ${line} has ${count} values; expected ${AMAT_COLS} (no newline at ${at})`;
    }
    return `line ${line} should end with a newline at ${at}, found ${showByte(b)}`;
  }
  return null;
}

/**
 * Parses a whole `.amat` file held in memory.
 * @example
 * ```ts
 * const { rows, images } = parseAmat(new TextEncoder().encode(`1 ${Array(783).fill("0").join(" ")}\n`), "x.amat");
 * [rows, images.length, images[0]]; // [1, 784, 1]
 * ```
 */
export function parseAmat(bytes: Uint8Array, fileName: string): AmatResult {
  const p = new AmatParser(fileName, Math.ceil(bytes.length / AMAT_ROW_BYTES));
  p.push(bytes);
  return p.finish();
}
