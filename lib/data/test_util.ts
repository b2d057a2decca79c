/**
 * Helpers shared by the data tests: temporary data dirs and hand-made file contents.
 * @module
 */
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { fixturesDir } from "./datadir.ts";

/** Runs `fn` with a fresh temporary directory, removed afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "redraw-data-test-" });
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The decompressed content of a committed fixture, e.g. `("mnist", "t10k-labels-idx1-ubyte")`. */
export async function fixtureContent(subdir: string, name: string): Promise<Uint8Array> {
  const buf = gunzipSync(await Deno.readFile(join(fixturesDir(), subdir, `${name}.gz`)));
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

/** gzip-compresses bytes. */
export function gzip(bytes: Uint8Array): Uint8Array {
  const buf = gzipSync(bytes);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
}

/** `.amat` text for the given rows of 0/1 values (each row 784 values unless made otherwise). */
export function amatText(rows: number[][]): Uint8Array {
  return new TextEncoder().encode(rows.map((r) => r.join(" ") + "\n").join(""));
}

/** A row of 784 values with a simple pattern that differs by `seed`. */
export function patternRow(seed: number, length = 784): number[] {
  return Array.from({ length }, (_, i) => ((i * 7 + seed * 13) % 5 === 0 ? 1 : 0));
}

/** Lists everything under `dir` (files, and folders with a trailing slash), as paths relative to it. */
export async function listAll(dir: string, prefix = ""): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(join(dir, prefix))) {
    const rel = prefix ? join(prefix, e.name) : e.name;
    if (e.isDirectory) out.push(`${rel}/`, ...await listAll(dir, rel));
    else out.push(rel);
  }
  return out.sort();
}

/** Copies the committed fixtures into `dir`, keeping the `mnist/` and `binarized_mnist/` layout. */
export async function copyFixtures(dir: string): Promise<void> {
  for (const sub of ["mnist", "binarized_mnist"]) {
    await Deno.mkdir(join(dir, sub), { recursive: true });
    for await (const e of Deno.readDir(join(fixturesDir(), sub))) {
      if (e.isFile) await Deno.copyFile(join(fixturesDir(), sub, e.name), join(dir, sub, e.name));
    }
  }
}
