/**
 * `manifest.json`: what a run is, where it ran, from which code, and its lifecycle status.
 *
 * Every update is a read-modify-write of the whole file, written atomically; updates to the same run
 * folder from one process are serialised, so a heartbeat can never overwrite a status change made at the
 * same moment. A `running` manifest whose heartbeat is older than a threshold is shown as `interrupted` by
 * every reader ({@linkcode effectiveStatus}): a crashed run never looks alive.
 *
 * This file imports no tfjs.
 * @module
 */
import { readJson, RecordError, sha256Hex, writeFileAtomic, writeJsonAtomic } from "./io.ts";
import {
  type EnvironmentRecord,
  type GitRecord,
  type Manifest,
  RECORD_FORMAT_VERSION,
  type RunStatus,
} from "./types.ts";
import { validateManifest } from "./validate.ts";
import { DEFAULT_REPORTS_DIR } from "../config/run.ts";

/** The manifest's file name in a run folder. */
export const MANIFEST_FILE = "manifest.json";
/** The uncommitted diff's file name in a run folder. */
export const DIFF_FILE = "diff.patch";
/** Default seconds after which a `running` manifest's heartbeat counts as stale. */
export const DEFAULT_STALE_SECONDS = 120;

/** What the backend layer reports about itself (lib/backend.ts). */
export interface BackendInfo {
  requested: string;
  obtained: string;
  device: string;
  tfjsVersion: string;
}

function attempt<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

/** The CPU model from `/proc/cpuinfo` (Deno allows that file only with --allow-all), else from `lscpu`. */
async function cpuModel(): Promise<string> {
  const pattern = /^(?:model name|Model name|Hardware|Processor|cpu model)\s*:\s*(.+)$/m;
  try {
    const m = pattern.exec(await Deno.readTextFile("/proc/cpuinfo"));
    if (m) return m[1].trim();
  } catch {
    // Not Linux, or not permitted: try lscpu below.
  }
  try {
    const out = await new Deno.Command("lscpu", { stdout: "piped", stderr: "null", env: { LC_ALL: "C" } })
      .output();
    const m = pattern.exec(new TextDecoder().decode(out.stdout));
    if (out.success && m) return m[1].trim();
  } catch {
    // No lscpu, or no --allow-run=lscpu: the model is recorded as unknown.
  }
  return "unknown";
}

/**
 * Describes the machine and software a run uses. Needs `--allow-sys=hostname,osRelease,systemMemoryInfo`
 * and, for the CPU model, `--allow-run=lscpu` (Deno reads `/proc/cpuinfo` only with --allow-all); without
 * them those fields read "unknown" or 0.
 */
export async function collectEnvironment(backend: BackendInfo): Promise<EnvironmentRecord> {
  const release = attempt(() => Deno.osRelease(), "");
  return {
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    tfjs: backend.tfjsVersion,
    backendRequested: backend.requested,
    backend: backend.obtained,
    device: backend.device,
    os: release ? `${Deno.build.os} ${release}` : Deno.build.os,
    arch: Deno.build.arch,
    cpuModel: await cpuModel(),
    cores: navigator.hardwareConcurrency ?? 0,
    memoryBytes: attempt(() => Deno.systemMemoryInfo().total, 0),
    hostname: attempt(() => Deno.hostname(), "unknown"),
  };
}

async function git(repoRoot: string, args: string[]): Promise<string | null> {
  try {
    const out = await new Deno.Command("git", {
      args: ["-C", repoRoot, ...args],
      stdout: "piped",
      stderr: "null",
    })
      .output();
    return out.success ? new TextDecoder().decode(out.stdout) : null;
  } catch {
    // git missing, or no --allow-run=git: provenance is recorded as unknown rather than failing the run.
    return null;
  }
}

/**
 * Records the commit, whether the checkout is dirty, and saves `git diff HEAD --binary` to
 * `<runDir>/diff.patch` (an empty file when clean). Untracked files make the checkout dirty and are listed
 * at the top of the patch as `# untracked: <path>` lines (which `git apply` skips). The reports folder
 * ({@linkcode DEFAULT_REPORTS_DIR}) is left out of both: every experiment rewrites its committed report
 * there, a page cannot move a run's numbers, and otherwise the next experiment in the same checkout would
 * be recorded as dirty. Without git, or outside a repository, returns
 * `{ commit: null, dirty: false, diffFile: null }` and writes no patch.
 */
export async function collectGit(repoRoot: string, runDir: string): Promise<GitRecord> {
  const head = await git(repoRoot, ["rev-parse", "HEAD"]);
  const commit = head?.trim() ?? "";
  if (!/^([0-9a-f]{40}|[0-9a-f]{64})$/.test(commit)) return { commit: null, dirty: false, diffFile: null };
  const paths = ["--", ".", `:(exclude)${DEFAULT_REPORTS_DIR}`];
  const status = (await git(repoRoot, ["status", "--porcelain", ...paths])) ?? "";
  const diff = (await git(repoRoot, ["diff", "HEAD", "--binary", ...paths])) ?? "";
  const untracked = status.split("\n").filter((l) => l.startsWith("?? ")).map((l) =>
    `# untracked: ${l.slice(3)}\n`
  );
  const dirty = status.trim() !== "";
  await Deno.mkdir(runDir, { recursive: true });
  await writeFileAtomic(`${runDir}/${DIFF_FILE}`, untracked.join("") + diff);
  return { commit, dirty, diffFile: dirty ? DIFF_FILE : null };
}

/** SHA-256 of `<repoRoot>/deno.lock`, or null when there is none. */
export async function lockfileSha256(repoRoot: string): Promise<string | null> {
  try {
    return await sha256Hex(await Deno.readFile(`${repoRoot}/deno.lock`));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return null;
    throw new RecordError(`Could not read ${repoRoot}/deno.lock: ${(e as Error).message}`, { cause: e });
  }
}

/** The fields a caller provides; the lifecycle fields are filled in by {@linkcode createManifest}. */
export type ManifestInit =
  & Omit<
    Manifest,
    "formatVersion" | "status" | "reason" | "failure" | "startedAt" | "endedAt" | "heartbeatAt" | "notes"
  >
  & { notes?: string[] };

/**
 * Writes a new `manifest.json` with status `running` and returns it. Refuses (before writing) a manifest
 * that would not pass {@linkcode validateManifest}.
 */
export async function createManifest(
  runDir: string,
  init: ManifestInit,
  now: Date = new Date(),
): Promise<Manifest> {
  const time = now.toISOString();
  const manifest: Manifest = {
    formatVersion: RECORD_FORMAT_VERSION,
    ...init,
    status: "running",
    startedAt: time,
    endedAt: null,
    heartbeatAt: time,
    notes: init.notes ?? [],
  };
  const path = `${runDir}/${MANIFEST_FILE}`;
  validateManifest(manifest, path);
  await Deno.mkdir(runDir, { recursive: true });
  await writeJsonAtomic(path, manifest);
  return manifest;
}

/**
 * Reads and validates `<runDir>/manifest.json`. A manifest written by a newer redraw (a higher
 * `formatVersion`) is refused with a message saying so, before any other check.
 */
export async function readManifest(runDir: string): Promise<Manifest> {
  const path = `${runDir}/${MANIFEST_FILE}`;
  const raw = await readJson(path, "manifest");
  const version = (raw as { formatVersion?: unknown } | null)?.formatVersion;
  if (typeof version === "number" && version > RECORD_FORMAT_VERSION) {
    throw new RecordError(
      `${path} has format version ${version}, newer than this redraw understands (${RECORD_FORMAT_VERSION}); ` +
        `update redraw to read this run`,
    );
  }
  return validateManifest(raw, path);
}

const queues = new Map<string, Promise<unknown>>();

/** Runs `fn` after every earlier queued update of the same run folder in this process. */
function serialised<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const run = (queues.get(key) ?? Promise.resolve()).then(fn, fn);
  const tail = run.catch(() => {});
  queues.set(key, tail);
  tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key);
  });
  return run;
}

/** A change to a manifest: fields to set (`undefined` removes an optional field), or a function of it. */
export type ManifestPatch = Partial<Manifest> | ((m: Manifest) => Partial<Manifest>);

/**
 * Applies `patch` to `<runDir>/manifest.json` and writes it atomically; returns the new manifest.
 * Updates from this process to the same folder run one after another (never lost to interleaving).
 */
export function updateManifest(runDir: string, patch: ManifestPatch): Promise<Manifest> {
  return serialised(runDir.replace(/\/+$/, ""), async () => {
    const current = await readManifest(runDir);
    const changes = typeof patch === "function" ? patch(current) : patch;
    const next = { ...current, ...changes } as Manifest;
    for (const k of Object.keys(next) as (keyof Manifest)[]) if (next[k] === undefined) delete next[k];
    const path = `${runDir}/${MANIFEST_FILE}`;
    validateManifest(next, path);
    await writeJsonAtomic(path, next);
    return next;
  });
}

/**
 * The status a reader should show: `running` with a heartbeat older than `staleAfterSeconds` is
 * `interrupted` (the process died without saying so). Hosts sharing a runs folder should keep their clocks
 * within a fraction of that threshold.
 */
export function effectiveStatus(
  manifest: Pick<Manifest, "status" | "heartbeatAt">,
  now: Date = new Date(),
  staleAfterSeconds: number = DEFAULT_STALE_SECONDS,
): RunStatus {
  if (manifest.status !== "running") return manifest.status;
  const age = (now.getTime() - Date.parse(manifest.heartbeatAt)) / 1000;
  return Number.isFinite(age) && age <= staleAfterSeconds ? "running" : "interrupted";
}

/** Options of {@linkcode Heartbeat}. */
export interface HeartbeatOptions {
  /** Seconds between beats; keep well under the readers' stale threshold (default 30). */
  intervalSeconds?: number;
  /** Called when a beat cannot be written (e.g. disk full); the heartbeat keeps trying. */
  onError?: (e: Error) => void;
}

/**
 * Rewrites the manifest's `heartbeatAt` every few seconds while a run is alive. The timer does not keep
 * the process alive; call {@linkcode Heartbeat.stop} (which waits for a beat in flight) before setting
 * the final status.
 */
export class Heartbeat {
  #timer: ReturnType<typeof setInterval> | undefined;
  #inFlight: Promise<void> = Promise.resolve();
  #interval: number;
  #onError: (e: Error) => void;
  /** The last error a beat met, if any. */
  lastError: Error | null = null;

  /** Prepares a heartbeat for `runDir`; nothing happens before {@linkcode Heartbeat.start}. */
  constructor(readonly runDir: string, opts: HeartbeatOptions = {}) {
    this.#interval = opts.intervalSeconds ?? 30;
    if (!(this.#interval > 0)) {
      throw new RangeError(`Heartbeat interval must be > 0 seconds, got ${this.#interval}`);
    }
    this.#onError = opts.onError ?? (() => {});
  }

  /** Starts beating (idempotent). */
  start(): void {
    if (this.#timer !== undefined) return;
    const timer = setInterval(() => void this.beat(), this.#interval * 1000);
    Deno.unrefTimer(timer);
    this.#timer = timer;
  }

  /** Writes one beat now; resolves when it is written (errors go to `onError`, not to the caller). */
  beat(): Promise<void> {
    this.#inFlight = this.#inFlight.then(async () => {
      try {
        await updateManifest(this.runDir, { heartbeatAt: new Date().toISOString() });
        this.lastError = null;
      } catch (e) {
        this.lastError = e as Error;
        this.#onError(e as Error);
      }
    });
    return this.#inFlight;
  }

  /** Stops the timer and waits for a beat in flight. */
  async stop(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#inFlight;
  }
}
