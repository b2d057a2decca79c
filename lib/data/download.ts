/**
 * The download cache: finding a split's files in the data dir, downloading missing ones from their
 * canonical URLs when allowed, and the single clear error when offline.
 *
 * A download streams to a temporary file in the destination folder while hashing, and is renamed into place
 * only when its SHA-256 and size match the pins, so the cache never holds a partial or wrong file (rename
 * within one folder is atomic). The fetch function is injectable so tests simulate failures offline.
 * @module
 */
import { createHash } from "node:crypto";
import { dirname, join, resolve } from "node:path";
import { candidatePaths, DATA_DIR_ENV, locateFile } from "./datadir.ts";
import { ChecksumError, DataError, formatBytes, MissingDataError, type MissingFile } from "./errors.ts";
import type { FileSpec, RemoteSpec } from "./sources.ts";

/** A fetch-compatible function (the global `fetch` by default). */
export type FetchImpl = (url: string, init?: { signal?: AbortSignal }) => Promise<Response>;

/** Options of {@linkcode downloadFile} and {@linkcode ensureFiles}. */
export interface DownloadOptions {
  /** Replaces the global `fetch` (tests use this to simulate the network). */
  fetchImpl?: FetchImpl;
  /** Aborts the download (the temporary file is removed). */
  signal?: AbortSignal;
  /** Called as bytes arrive. */
  onProgress?: (p: { file: string; received: number; total: number }) => void;
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  for (let done = 0; done < bytes.length;) done += await file.write(bytes.subarray(done));
}

/** Removes a file or an empty folder; a missing path or a folder that is not empty is left alone. */
async function removeQuietly(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch {
    // Nothing to undo.
  }
}

/** Creates `dir` and any missing parents; returns the folders it created, outermost first. */
async function makeDir(dir: string): Promise<string[]> {
  const missing: string[] = [];
  for (let d = resolve(dir);; d = dirname(d)) {
    try {
      await Deno.stat(d);
      break;
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound) || dirname(d) === d) throw e;
      missing.unshift(d);
    }
  }
  await Deno.mkdir(dir, { recursive: true });
  return missing;
}

/**
 * Downloads one file into `destDir`, verifying size and SHA-256 of the bytes served before it appears there
 * under `remote.fileName`. On any failure the temporary file is removed and nothing else is written.
 * @returns the path of the stored file
 * @throws {ChecksumError} when the bytes served are not the pinned file (shows expected and actual hashes)
 * @throws {DataError} when the request fails, or the server sends an error status or too many bytes
 */
export async function downloadFile(
  remote: RemoteSpec,
  destDir: string,
  options: DownloadOptions = {},
): Promise<string> {
  const fetchImpl = options.fetchImpl ?? fetch;
  const dest = join(destDir, remote.fileName);
  let response: Response;
  try {
    response = await fetchImpl(remote.url, { signal: options.signal });
  } catch (e) {
    throw new DataError(`Cannot download ${remote.url}: ${(e as Error).message}`, dest);
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw new DataError(
      `Cannot download ${remote.url}: the server answered HTTP ${response.status} ${response.statusText}`
        .trim(),
      dest,
    );
  }
  const created = await makeDir(destDir);
  let tmp = "";
  try {
    tmp = await Deno.makeTempFile({ dir: destDir, prefix: `.${remote.fileName}.`, suffix: ".part" });
    const hash = createHash("sha256");
    let received = 0;
    const file = await Deno.open(tmp, { write: true, truncate: true });
    try {
      for await (const chunk of response.body) {
        received += chunk.length;
        if (received > remote.bytes) {
          throw new DataError(
            `Download of ${remote.url} was stopped: the server sent more than the expected ` +
              `${formatBytes(remote.bytes)} bytes; nothing was kept`,
            dest,
            remote.bytes,
          );
        }
        hash.update(chunk);
        await writeAll(file, chunk);
        options.onProgress?.({ file: remote.fileName, received, total: remote.bytes });
      }
    } finally {
      file.close();
    }
    const actual = hash.digest("hex");
    if (actual !== remote.sha256 || received !== remote.bytes) {
      throw new ChecksumError(
        `Download of ${remote.url} is not the published file: SHA-256 ${actual} (${
          formatBytes(received)
        } bytes), ` +
          `expected ${remote.sha256} (${
            formatBytes(remote.bytes)
          } bytes); it was discarded and nothing was ` +
          `written to ${destDir}`,
        dest,
        remote.sha256,
        actual,
      );
    }
    await Deno.rename(tmp, dest);
    return dest;
  } catch (e) {
    if (tmp) await removeQuietly(tmp);
    // A folder this download created goes too, so a failed download leaves the data dir as it was.
    for (const dir of created.reverse()) await removeQuietly(dir);
    if (e instanceof DataError) throw e;
    throw new DataError(`Download of ${remote.url} failed: ${(e as Error).message}; nothing was kept`, dest);
  }
}

/** How {@linkcode ensureFiles} should behave when files are missing. */
export interface EnsureOptions extends DownloadOptions {
  /** Download missing files (default false: fail with one error listing them). */
  download?: boolean;
  /** Describes the request in errors, e.g. `binarized-mnist "train"`. */
  what?: string;
}

function missingEntry(dir: string, spec: FileSpec): MissingFile {
  const [first, ...alternatives] = candidatePaths(dir, spec);
  const putAt = spec.remote ? join(dir, spec.subdir, spec.remote.fileName) : first;
  return {
    name: spec.name,
    putAt,
    alternatives: [first, ...alternatives].filter((p) => p !== putAt),
    url: spec.remote?.url ?? "",
    sha256: spec.remote?.sha256 ?? spec.sha256,
    contentSha256: spec.sha256,
  };
}

function missingMessage(dir: string, what: string, missing: MissingFile[], canDownload: boolean): string {
  const lines = [
    `Missing data for ${what}: ${missing.length} file${missing.length === 1 ? "" : "s"} not found in ${dir}` +
    (canDownload ? " and downloading is off:" : ":"),
  ];
  for (const m of missing) {
    lines.push(`  ${m.name}`);
    lines.push(`    put it at: ${m.putAt}`);
    lines.push(`               (also accepted: ${m.alternatives.join(", ")})`);
    if (m.url) lines.push(`    get it at: ${m.url}`);
    lines.push(
      m.sha256 === m.contentSha256
        ? `    SHA-256:   ${m.sha256}`
        : `    SHA-256:   ${m.sha256} (the file as served; its decompressed content is ${m.contentSha256})`,
    );
  }
  lines.push(
    canDownload
      ? `Download them with the option download: true (the CLI's --download), or copy them there; ` +
        `choose another folder with --data-dir or ${DATA_DIR_ENV}.`
      : `These are committed fixtures: restore them from git, or rebuild them with lib/data/make_fixtures.ts.`,
  );
  return lines.join("\n");
}

/**
 * Finds each file in `dir`; downloads the missing ones when `download` is set, else throws one
 * {@linkcode MissingDataError} listing every missing file, where to put it, and its SHA-256.
 * @returns the path of each file, by canonical name
 */
export async function ensureFiles(
  dir: string,
  specs: FileSpec[],
  options: EnsureOptions = {},
): Promise<Record<string, string>> {
  const paths: Record<string, string> = {};
  const missing: FileSpec[] = [];
  for (const spec of specs) {
    const found = await locateFile(dir, spec);
    if (found) paths[spec.name] = found;
    else missing.push(spec);
  }
  if (missing.length === 0) return paths;
  const canDownload = missing.every((s) => s.remote);
  if (!options.download || !canDownload) {
    const entries = missing.map((s) => missingEntry(dir, s));
    throw new MissingDataError(
      missingMessage(dir, options.what ?? "the dataset", entries, canDownload),
      dir,
      entries,
    );
  }
  for (const spec of missing) {
    paths[spec.name] = await downloadFile(spec.remote!, join(dir, spec.subdir), options);
  }
  return paths;
}
