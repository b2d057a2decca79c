/**
 * Crash-safe file primitives for run records.
 *
 * - JSON files are written to a unique temporary file in the same folder, fsynced, then renamed over the
 *   target, so a reader sees either the old or the new content, never a mix. Temporary files start with
 *   `.` and contain `.tmp-`; readers of run folders ignore them ({@linkcode isTempFile}).
 * - JSONL files are append-only: each record is one line written by a single `write` and flushed, so a
 *   crash can leave at most one unterminated last line, which {@linkcode readJsonl} reports as a torn tail
 *   and ignores.
 *
 * This file imports no tfjs.
 * @module
 */

import { checkNoSpace, killArmed, killNow } from "../faults.ts";

/** A run-record file that is missing, unreadable, foreign, truncated or malformed. */
export class RecordError extends Error {
  /** Creates the error; `name` is set so that messages read "RecordError: ...". */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "RecordError";
  }
}

const encoder = new TextEncoder();
let tempCounter = 0;

/** True for the temporary files written by {@linkcode writeFileAtomic} (ignored by every reader). */
export function isTempFile(name: string): boolean {
  return name.startsWith(".") && name.includes(".tmp-");
}

function splitPath(path: string): { dir: string; base: string } {
  const i = path.lastIndexOf("/");
  return i < 0 ? { dir: ".", base: path } : { dir: path.slice(0, i) || "/", base: path.slice(i + 1) };
}

/** A temp-file name unique across processes and hosts sharing a folder (uniqueness, not experiment randomness). */
function tempPathFor(path: string): string {
  const { dir, base } = splitPath(path);
  return `${dir}/.${base}.tmp-${Deno.pid}-${++tempCounter}-${crypto.randomUUID().slice(0, 8)}`;
}

async function writeAll(file: Deno.FsFile, data: Uint8Array): Promise<void> {
  let done = 0;
  while (done < data.length) done += await file.write(data.subarray(done));
}

/** Fsyncs a folder so that a rename inside it survives a power loss; best effort (not every OS allows it). */
async function syncDir(dir: string): Promise<void> {
  let f: Deno.FsFile | undefined;
  try {
    f = await Deno.open(dir, { read: true });
    await f.sync();
  } catch {
    // Directory fsync is unsupported on some platforms and filesystems; the rename itself is still atomic.
  } finally {
    f?.close();
  }
}

/**
 * Writes `data` to `path` atomically: a unique temp file in the same folder, fsync, rename, folder fsync.
 * On any failure the temp file is removed and the target is left as it was.
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string): Promise<void> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  const tmp = tempPathFor(path);
  const point = `write:${splitPath(path).base}`;
  try {
    checkNoSpace(point);
    const file = await Deno.open(tmp, { write: true, createNew: true });
    try {
      if (killArmed(point)) {
        await writeAll(file, bytes.subarray(0, bytes.length >> 1));
        killNow();
      }
      await writeAll(file, bytes);
      await file.sync();
    } finally {
      file.close();
    }
    await Deno.rename(tmp, path);
  } catch (e) {
    await Deno.remove(tmp).catch(() => {});
    throw new RecordError(`Could not write ${path}: ${(e as Error).message}`, { cause: e });
  }
  await syncDir(splitPath(path).dir);
}

/**
 * Writes `value` as pretty-printed JSON to `path` atomically (see {@linkcode writeFileAtomic}).
 * JSON has no NaN or Infinity: such numbers are written as `null`.
 */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  await writeFileAtomic(path, JSON.stringify(value, null, 2) + "\n");
}

/**
 * Appends `obj` as one JSON line to `path` (created if missing) with a single write, then fsyncs it.
 *
 * If the file ends in a torn line (a crash cut the previous write), a newline is written first so the new
 * record starts on its own line; the torn fragment then shows up in {@linkcode readJsonl}'s `badLines`
 * instead of corrupting this record. Writers that resume should call {@linkcode truncateJsonlToStep} first,
 * which removes torn tails. JSON has no NaN or Infinity: such numbers are written as `null`.
 */
export async function appendJsonl(path: string, obj: unknown, opts: { sync?: boolean } = {}): Promise<void> {
  const line = JSON.stringify(obj);
  if (line === undefined) {
    throw new RecordError(`Cannot append ${String(obj)} to ${path}: not JSON-serialisable`);
  }
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true, append: true, create: true });
  } catch (e) {
    throw new RecordError(`Could not open ${path} for appending: ${(e as Error).message}`, { cause: e });
  }
  try {
    const point = `append:${splitPath(path).base}`;
    checkNoSpace(point);
    const size = (await file.stat()).size;
    let prefix = "";
    if (size > 0) {
      await file.seek(-1, Deno.SeekMode.End);
      const last = new Uint8Array(1);
      await file.read(last);
      if (last[0] !== 0x0a) prefix = "\n";
    }
    if (killArmed(point)) {
      await writeAll(file, encoder.encode(prefix + line.slice(0, line.length >> 1)));
      killNow();
    }
    await writeAll(file, encoder.encode(prefix + line + "\n"));
    if (opts.sync ?? true) await file.sync();
  } catch (e) {
    throw new RecordError(`Could not append to ${path}: ${(e as Error).message}`, { cause: e });
  } finally {
    file.close();
  }
}

/** What {@linkcode readJsonl} found. */
export interface JsonlContent<T> {
  /** The parsed complete lines, in file order (bad lines left out). */
  lines: T[];
  /** True when the file ends in an unterminated line (a write cut by a crash); that line is ignored. */
  tornTail: boolean;
  /** 1-based numbers of complete lines that are not valid JSON or fail `check`. */
  badLines: number[];
  /** One message per bad line: file, line number, reason and the start of the text. */
  problems: string[];
}

/** Options of {@linkcode readJsonl}. */
export interface ReadJsonlOptions {
  /** Return an empty result for a missing file instead of throwing. */
  missingOk?: boolean;
  /** Throw a {@linkcode RecordError} on the first bad line instead of reporting it. */
  strict?: boolean;
  /** Returns a problem description for a parsed line that is not the expected kind of record, else null. */
  check?: (value: unknown) => string | null;
}

function quote(text: string, max = 60): string {
  return JSON.stringify(text.length > max ? text.slice(0, max) + "…" : text);
}

async function readBytes(path: string, what: string, missingOk: boolean): Promise<Uint8Array | null> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      if (missingOk) return null;
      throw new RecordError(`The ${what} ${path} does not exist`, { cause: e });
    }
    throw new RecordError(`Could not read the ${what} ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Reads a JSONL file written by {@linkcode appendJsonl}.
 *
 * An unterminated last line is a torn write: it is ignored and `tornTail` is set. A complete line that is
 * not JSON (or fails `opts.check`) is reported in `badLines`/`problems` with its line number, or thrown
 * with `strict`. Blank lines carry no record and are skipped. A file that is not UTF-8 text is refused.
 */
export async function readJsonl<T>(path: string, opts: ReadJsonlOptions = {}): Promise<JsonlContent<T>> {
  const bytes = await readBytes(path, "JSONL file", opts.missingOk ?? false);
  const out: JsonlContent<T> = { lines: [], tornTail: false, badLines: [], problems: [] };
  if (bytes === null) return out;
  const end = bytes.lastIndexOf(0x0a) + 1;
  out.tornTail = end < bytes.length;
  let text: string;
  try {
    // The torn tail may end inside a multi-byte character, so only the complete lines are decoded strictly.
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(0, end));
  } catch (e) {
    throw new RecordError(`${path} is not UTF-8 text; it is not a redraw JSONL file`, { cause: e });
  }
  const rows = text.split("\n");
  rows.pop(); // the empty string after the final newline
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    if (row.trim() === "") continue;
    let problem: string | null;
    let value: unknown;
    try {
      value = JSON.parse(row);
      problem = opts.check ? opts.check(value) : null;
    } catch (e) {
      problem = `not valid JSON (${(e as Error).message})`;
    }
    if (problem === null) {
      out.lines.push(value as T);
      continue;
    }
    const msg = `${path} line ${i + 1} is ${problem}: ${quote(row)}`;
    if (opts.strict) throw new RecordError(msg);
    out.badLines.push(i + 1);
    out.problems.push(msg);
  }
  return out;
}

/**
 * Reads and parses a JSON file; errors name the file and say what it was supposed to be (`what`, e.g.
 * "manifest"), distinguishing a missing, empty, truncated and foreign file.
 */
export async function readJson(path: string, what: string): Promise<unknown> {
  const bytes = (await readBytes(path, `${what} file`, false))!;
  if (bytes.length === 0) throw new RecordError(`The ${what} file ${path} is empty (a write was cut short?)`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (e) {
    throw new RecordError(`The ${what} file ${path} is not UTF-8 text; it is not a redraw file`, {
      cause: e,
    });
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    const looksTruncated = /^\s*[{[]/.test(text) && !/[}\]]\s*$/.test(text);
    throw new RecordError(
      `The ${what} file ${path} is not valid JSON (${(e as Error).message})` +
        (looksTruncated ? "; it looks truncated" : `; it starts with ${quote(text, 40)}`),
      { cause: e },
    );
  }
}

/** What {@linkcode truncateJsonlToStep} did. */
export interface TruncateResult {
  /** Complete lines kept. */
  kept: number;
  /** Complete lines removed (written after the step). */
  removed: number;
  /** Whether a torn last line was removed. */
  tornTail: boolean;
}

/**
 * Cuts a JSONL file of step records back to `step`: everything from the first complete line whose `step`
 * is greater than `step` is removed, and so is a torn last line. Used on resume, so that lines written
 * after the checkpoint being resumed from are written again identically rather than duplicated.
 *
 * Lines up to the cut are kept byte for byte (including any bad line, which readers keep reporting), except
 * those for which `opts.drop` returns true (the trainer drops an unfinished run's final test evaluation,
 * which it writes after its last checkpoint). The rewrite is atomic (temp file + rename); a file that needs
 * no change is not touched, and a missing file is left missing.
 */
export async function truncateJsonlToStep(
  path: string,
  step: number,
  opts: { drop?: (line: Record<string, unknown>) => boolean } = {},
): Promise<TruncateResult> {
  const bytes = await readBytes(path, "JSONL file", true);
  if (bytes === null) return { kept: 0, removed: 0, tornTail: false };
  const completeEnd = bytes.lastIndexOf(0x0a) + 1;
  const tornTail = completeEnd < bytes.length;
  const decoder = new TextDecoder();
  const keep: Uint8Array[] = [];
  let kept = 0;
  let removed = 0;
  let cut = false;
  let start = 0;
  while (start < completeEnd) {
    const nl = bytes.indexOf(0x0a, start);
    if (!cut) {
      let line: unknown;
      try {
        line = JSON.parse(decoder.decode(bytes.subarray(start, nl)));
      } catch {
        line = undefined; // a bad line carries no step: it is kept like any line before the cut
      }
      const rec = typeof line === "object" && line !== null ? line as Record<string, unknown> : null;
      if (typeof rec?.step === "number" && rec.step > step) cut = true;
      else if (rec && opts.drop?.(rec)) removed++;
      else {
        keep.push(bytes.subarray(start, nl + 1));
        kept++;
      }
    }
    if (cut) removed++;
    start = nl + 1;
  }
  if (removed === 0 && !tornTail) return { kept, removed, tornTail };
  const out = new Uint8Array(keep.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of keep) {
    out.set(b, at);
    at += b.length;
  }
  await writeFileAtomic(path, out);
  return { kept, removed, tornTail };
}

/** Hex SHA-256 of bytes or a string (UTF-8). */
export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === "string" ? encoder.encode(data) : data;
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}
