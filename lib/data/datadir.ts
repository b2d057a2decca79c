/**
 * Where data files live: the data-dir setting, the committed fixtures, and finding a file in either.
 * @module
 */
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { DataError } from "./errors.ts";
import type { FileSpec } from "./sources.ts";

/** Environment variable that overrides the default data dir. */
export const DATA_DIR_ENV = "REDRAW_DATA_DIR";

/**
 * The data dir: `dataDir` if given, else `$REDRAW_DATA_DIR`, else `$XDG_CACHE_HOME/redraw`, else
 * `~/.cache/redraw`. Reads the environment only when `dataDir` is not given.
 * @example
 * ```ts
 * resolveDataDir({ dataDir: "../shared/data" }); // "../shared/data"
 * resolveDataDir();                              // e.g. "/home/me/.cache/redraw"
 * ```
 */
export function resolveDataDir(options: { dataDir?: string } = {}): string {
  if (options.dataDir !== undefined) {
    if (options.dataDir === "") throw new DataError("The data dir option is an empty string", "");
    return options.dataDir;
  }
  const fromEnv = Deno.env.get(DATA_DIR_ENV);
  if (fromEnv) return fromEnv;
  const xdg = Deno.env.get("XDG_CACHE_HOME");
  if (xdg) return join(xdg, "redraw");
  const home = Deno.env.get("HOME") ?? Deno.env.get("USERPROFILE");
  if (!home) {
    throw new DataError(
      `Cannot choose a data dir: none given, and ${DATA_DIR_ENV}, XDG_CACHE_HOME and HOME are all unset`,
      "",
    );
  }
  return join(home, ".cache", "redraw");
}

/** The committed fixtures folder (tests/fixtures/data), laid out like a data dir. */
export function fixturesDir(): string {
  return fileURLToPath(new URL("../../tests/fixtures/data/", import.meta.url));
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
