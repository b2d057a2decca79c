/**
 * Streams a data file's content, decompressing gzip when the file holds gzip data, and hashes the
 * decompressed bytes on the way, so a 78 MB `.amat` is never held in memory as text.
 * @module
 */
import { createHash } from "node:crypto";
import { pipeline, Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import { DataError, formatBytes } from "./errors.ts";

/** Read size for data files. */
const READ_CHUNK = 1 << 20;

/** What {@linkcode streamContent} learnt about a file. */
export interface ContentInfo {
  /** SHA-256 (hex) of the decompressed content. */
  sha256: string;
  /** Bytes of decompressed content. */
  bytes: number;
  /** Whether the file held gzip data. */
  gzip: boolean;
  /** SHA-256 (hex) of the file as stored (of the gzip bytes for a gzip file; else equal to `sha256`). */
  fileSha256: string;
}

async function* readChunks(file: Deno.FsFile): AsyncGenerator<Uint8Array> {
  try {
    while (true) {
      const buf = new Uint8Array(READ_CHUNK);
      const n = await file.read(buf);
      if (n === null) return;
      yield buf.subarray(0, n);
    }
  } finally {
    file.close();
  }
}

async function* prepend(first: Uint8Array, rest: AsyncIterator<Uint8Array>): AsyncGenerator<Uint8Array> {
  try {
    yield first;
    while (true) {
      const r = await rest.next();
      if (r.done) return;
      yield r.value;
    }
  } finally {
    await rest.return?.();
  }
}

async function* hashing(
  src: AsyncIterable<Uint8Array>,
  hash: ReturnType<typeof createHash>,
): AsyncGenerator<Uint8Array> {
  for await (const c of src) {
    hash.update(c);
    yield c;
  }
}

async function* gunzip(src: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  // pipeline() forwards errors of either side to the consumer and closes the source when the consumer stops.
  const out = pipeline(
    Readable.from(src, { objectMode: false }),
    createGunzip({ chunkSize: 1 << 18 }),
    () => {},
  );
  for await (const c of out) yield c as Uint8Array;
}

/**
 * Streams the decompressed content of `path` to `onChunk` in order, hashing it. Files that start with the
 * gzip magic bytes are decompressed whatever their name; a `.gz` name without gzip data is an error.
 * Errors thrown by `onChunk` (parse errors) propagate unchanged, and the file is closed in every case.
 * @throws {DataError} for an empty or unreadable file, or gzip data that is truncated or corrupt
 * @example
 * ```ts
 * let bytes = 0;
 * const info = await streamContent("tests/fixtures/data/mnist/t10k-labels-idx1-ubyte.gz", (c) => bytes += c.length);
 * info.sha256; // SHA-256 of the decompressed content, `bytes` long
 * ```
 */
export async function streamContent(
  path: string,
  onChunk: (chunk: Uint8Array) => void,
): Promise<ContentInfo> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(path);
  } catch (e) {
    throw new DataError(`Cannot read ${path}: ${(e as Error).message}`, path);
  }
  if (info.isDirectory) throw new DataError(`${path} is a directory, expected a data file`, path);
  if (info.size === 0) throw new DataError(`${path} is empty (0 bytes)`, path, 0);

  const file = await Deno.open(path);
  const raw = readChunks(file);
  const head = await raw.next();
  if (head.done) throw new DataError(`${path} is empty (0 bytes)`, path, 0);
  const isGzip = head.value.length >= 2 && head.value[0] === 0x1f && head.value[1] === 0x8b;
  if (!isGzip && path.endsWith(".gz")) {
    await raw.return(undefined);
    const first = Array.from(head.value.subarray(0, 4), (b) => b.toString(16).padStart(2, "0")).join(" ");
    throw new DataError(
      `${path} is named .gz but does not hold gzip data (byte offset 0: expected 1f 8b, found ${first})`,
      path,
      0,
    );
  }
  const source = prepend(head.value, raw);
  const fileHash = isGzip ? createHash("sha256") : null;
  const chunks = fileHash ? gunzip(hashing(source, fileHash)) : source;
  const hash = createHash("sha256");
  let bytes = 0;
  try {
    while (true) {
      let r: IteratorResult<Uint8Array>;
      try {
        r = await chunks.next();
      } catch (e) {
        if (e instanceof DataError) throw e;
        throw new DataError(
          `${path}: cannot decompress: ${(e as Error).message}; the gzip data is truncated or corrupt ` +
            `(the file has ${formatBytes(info.size)} bytes; ${formatBytes(bytes)} bytes were decompressed ` +
            `before the error)`,
          path,
          bytes,
        );
      }
      if (r.done) break;
      hash.update(r.value);
      onChunk(r.value);
      bytes += r.value.length;
    }
  } finally {
    await chunks.return(undefined);
  }
  const sha256 = hash.digest("hex");
  return { sha256, bytes, gzip: isGzip, fileSha256: fileHash ? fileHash.digest("hex") : sha256 };
}

/**
 * SHA-256 (hex) and size of a file's bytes as stored (no decompression).
 * @throws {DataError} when the file cannot be read
 */
export async function hashFile(path: string): Promise<{ sha256: string; bytes: number }> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path);
  } catch (e) {
    throw new DataError(`Cannot read ${path}: ${(e as Error).message}`, path);
  }
  const hash = createHash("sha256");
  let bytes = 0;
  for await (const c of readChunks(file)) {
    hash.update(c);
    bytes += c.length;
  }
  return { sha256: hash.digest("hex"), bytes };
}
