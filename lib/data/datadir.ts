/**
 * Where data files live: the user's data dir (`--data-dir`, `REDRAW_DATA_DIR` or the cache), the copy of the
 * binarized MNIST shipped in the repository's `data/` folder, the committed fixtures, and finding a file there.
 * @module
 */
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { DataError } from "./errors.ts";
import type { FileSpec } from "./sources.ts";

/** Environment variable that overrides the default data dir. */
export const DATA_DIR_ENV = "REDRAW_DATA_DIR";

/**
 * Which copy of a file a load used: the data dir given as an option (`--data-dir`), the one in
 * `REDRAW_DATA_DIR`, the user cache, the copy shipped in the repository's `data/`, or the test fixtures.
 */
export type DataSource = "data-dir" | "env" | "cache" | "shipped" | "fixtures";

/** The data dir and how it was chosen. */
export interface ResolvedDataDir {
  /** The folder searched first. */
  dir: string;
  /** `data-dir` (the option), `env` (`REDRAW_DATA_DIR`) or `cache`. */
  source: "data-dir" | "env" | "cache";
}

/**
 * The data dir and how it was chosen: `dataDir` if given, else `$REDRAW_DATA_DIR`, else
 * `$XDG_CACHE_HOME/redraw`, else `~/.cache/redraw`. Reads the environment only when `dataDir` is not given.
 */
export function resolveDataDirSource(options: { dataDir?: string } = {}): ResolvedDataDir {
  if (options.dataDir !== undefined) {
    if (options.dataDir === "") throw new DataError("The data dir option is an empty string", "");
    return { dir: options.dataDir, source: "data-dir" };
  }
  const fromEnv = Deno.env.get(DATA_DIR_ENV);
  if (fromEnv) return { dir: fromEnv, source: "env" };
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  if (xdg) return { dir: join(xdg, "redraw"), source: "cache" };
  const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE");
  if (!home) {
    throw new DataError(
      `Cannot choose a data dir: none given, and ${DATA_DIR_ENV}, XDG_CACHE_HOME and HOME are all unset`,
      "",
    );
  }
  return { dir: join(home, ".cache", "redraw"), source: "cache" };
}

/**
 * The data dir: `dataDir` if given, else `$REDRAW_DATA_DIR`, else `$XDG_CACHE_HOME/redraw`, else
 * `~/.cache/redraw`. Reads the environment only when `dataDir` is not given.
 * @example
 * ```ts
 * resolveDataDir({ dataDir: "/data/mnist" }); // "/data/mnist"
 * resolveDataDir();                          // e.g. "/home/me/.cache/redraw"
 * ```
 */
export function resolveDataDir(options: { dataDir?: string } = {}): string {
  return resolveDataDirSource(options).dir;
}

/** The repository's root folder. */
export function repoRoot(): string {
  return fileURLToPath(new URL("../../", import.meta.url));
}

/** The committed fixtures folder (tests/fixtures/data), laid out like a data dir. */
export function fixturesDir(): string {
  return fileURLToPath(new URL("../../tests/fixtures/data/", import.meta.url));
}

/**
 * The copy of the binarized MNIST shipped with the repository (`data/binarized_mnist/*.amat.gz`), used when
 * the data dir does not hold a file, so the paper's dataset needs neither a flag nor the network.
 */
export function shippedDir(): string {
  return fileURLToPath(new URL("../../data/", import.meta.url));
}

/** A path as a manifest records it: relative to the repository when inside it, else as given. */
export function recordedPath(path: string): string {
  const rel = relative(repoRoot(), path);
  return rel.startsWith("..") || rel === "" || /^[/\\]/.test(rel) ? path : rel;
}

/**
 * The paths where a file is looked for, in order: the dataset's subfolder, then the top level; under each,
 * the raw name then the `.gz` name. The first path is where downloads go (with the download's own name).
 */
export function candidatePaths(dir: string, spec: Pick<FileSpec, "name" | "subdir">): string[] {
  return [
    join(dir, spec.subdir, spec.name),
    join(dir, spec.subdir, `${spec.name}.gz`),
    join(dir, spec.name),
    join(dir, `${spec.name}.gz`),
  ];
}

/**
 * Finds a data file in `dir`; null when no candidate exists. A candidate that exists but is not a regular
 * file (a directory, say) is an error rather than skipped, so the user learns why their file is not used.
 */
export async function locateFile(
  dir: string,
  spec: Pick<FileSpec, "name" | "subdir">,
): Promise<string | null> {
  for (const path of candidatePaths(dir, spec)) {
    let info: Deno.FileInfo;
    try {
      info = await Deno.stat(path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) continue;
      throw new DataError(`Cannot read ${path}: ${(e as Error).message}`, path);
    }
    if (info.isDirectory) {
      throw new DataError(
        `${path} is a directory, but the data file ${spec.name} should be a file there`,
        path,
      );
    }
    if (!info.isFile) throw new DataError(`${path} is not a regular file`, path);
    return path;
  }
  return null;
}

/**
 * Finds the shipped copy of a file in `dir` (`<dir>/<subdir>/<file>.gz`); null when the file has no shipped
 * copy or it is absent. Only the shipped name is accepted there, because only that file has a pin.
 */
export async function locateShipped(
  dir: string,
  spec: Pick<FileSpec, "name" | "subdir" | "shipped">,
): Promise<string | null> {
  if (!spec.shipped) return null;
  const path = join(dir, spec.subdir, spec.shipped.fileName);
  try {
    return (await Deno.stat(path)).isFile ? path : null;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.NotADirectory) return null;
    throw new DataError(`Cannot read ${path}: ${(e as Error).message}`, path);
  }
}
