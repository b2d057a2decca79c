/**
 * A per-run-folder lock, so that several experiment runners sharing a runs folder (on one machine or on a
 * shared filesystem) never run the same cell at once.
 *
 * The lock is `<dir>/lock.json`, created exclusively (`createNew`, i.e. `O_CREAT|O_EXCL`, atomic on local
 * filesystems and on NFS v3+). It holds the owner's pid, hostname, a unique token, the start time and a
 * `refreshedAt` time that the owner rewrites every few seconds. The owner also keeps an advisory
 * exclusive `flock` on the file for as long as it holds the lock; the kernel drops that when the process
 * dies, however it dies. (Deno only lets a process read `/proc` with `--allow-all`, and probing a pid needs
 * unrestricted `--allow-run`, so the flock is how a least-privilege runner tells a live owner from a dead one.)
 *
 * A lock is stale, and may be taken over, when:
 * - its owner ran on this host (same hostname) and no longer holds its flock (the process is gone):
 *   detected at once;
 * - otherwise, when neither its `refreshedAt` nor its file time has moved for `staleAfterSeconds` and no
 *   flock on it is visible (on a shared filesystem whose locking works across hosts, a visible flock means
 *   the owner is alive; where it does not, only the refresh time counts).
 *
 * Take-over is race-free: to remove a stale lock with token T, a process must first create the breaker
 * file `.lock.break-<T>` exclusively; only that process re-reads `lock.json`, checks it still carries T and
 * is still stale, and removes it; then every contender competes again through the exclusive create, which
 * exactly one wins. A live owner can only lose its lock by failing to refresh it for `staleAfterSeconds`
 * while its flock is invisible (another host, filesystem without shared locking): it then finds on its next
 * refresh that `lock.json` is no longer its file and is told through `onLost`. (One residual case: a
 * process killed inside the milliseconds of a take-over leaves its breaker, which is removed after
 * `staleAfterSeconds`; if two processes remove that same breaker at the same instant, both may proceed.)
 *
 * This file imports no tfjs.
 * @module
 */
import { RecordError } from "./io.ts";

/** The lock's file name in a run folder. */
export const LOCK_FILE = "lock.json";

/** The content of `lock.json`. */
export interface LockInfo {
  format: "redraw-lock";
  /** Unique per acquisition. */
  token: string;
  pid: number;
  hostname: string;
  startedAt: string;
  refreshedAt: string;
  /** Free text saying who holds it, e.g. the command line. */
  owner: string;
}

/** Options of {@linkcode tryAcquireLock}. */
export interface LockOptions {
  /** Seconds without refresh after which a lock of another host is stale (default 60). */
  staleAfterSeconds?: number;
  /** Seconds between refreshes (default 10); 0 disables the timer (call `refresh()` yourself). */
  refreshSeconds?: number;
  /** Recorded in the lock, e.g. the command line. */
  owner?: string;
  /** Called once if a refresh finds that the lock was taken over (the work in progress should stop). */
  onLost?: (reason: string) => void;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let hostnameCache: string | null | undefined;
/** This host's name, or null without `--allow-sys=hostname` (then no lock is judged by the same-host rule). */
function myHostname(): string | null {
  if (hostnameCache === undefined) {
    try {
      hostnameCache = Deno.hostname();
    } catch {
      hostnameCache = null;
    }
  }
  return hostnameCache;
}

function parseInfo(text: string): LockInfo | null {
  try {
    const v = JSON.parse(text);
    if (v?.format !== "redraw-lock" || typeof v.token !== "string" || typeof v.pid !== "number") return null;
    return v as LockInfo;
  } catch {
    return null;
  }
}

async function readAll(file: Deno.FsFile): Promise<string> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  const buf = new Uint8Array(16 * 1024);
  for (let n; total < 1 << 20 && (n = await file.read(buf)) !== null;) {
    chunks.push(buf.slice(0, n));
    total += n;
  }
  const all = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    all.set(c, o);
    o += c.length;
  }
  return decoder.decode(all);
}

/** Whether a process holds a flock on the open file: "alive", "gone", or "unknown" (no flock support). */
async function probe(file: Deno.FsFile): Promise<"alive" | "gone" | "unknown"> {
  try {
    // A shared probe never blocks other probers; it fails only against the owner's exclusive lock.
    if (!(await file.tryLock(false))) return "alive";
    await file.unlock();
    return "gone";
  } catch {
    return "unknown";
  }
}

/** What {@linkcode inspectLock} found. */
export interface LockState {
  state: "free" | "held" | "stale";
  /** The lock's content, null when free or unreadable. */
  info: LockInfo | null;
  /** Why it is held or stale, in words (for messages such as "cell skipped: held by pid 12 on node-3"). */
  reason: string;
}

interface Observed extends LockState {
  /** Identifies this lock instance: its token, or the inode for an unreadable file. */
  key: string;
}

async function observe(path: string, staleAfterSeconds: number): Promise<Observed> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { state: "free", info: null, reason: "no lock", key: "" };
    throw new RecordError(`Could not read the lock ${path}: ${(e as Error).message}`, { cause: e });
  }
  try {
    const stat = await file.stat();
    const info = parseInfo(await readAll(file));
    const key = info?.token ?? `inode-${stat.ino}-${stat.mtime?.getTime()}`;
    const refreshed = Math.max(stat.mtime?.getTime() ?? 0, info ? Date.parse(info.refreshedAt) || 0 : 0);
    const age = Math.max(0, Math.round((Date.now() - refreshed) / 1000));
    const timed = (who: string): Observed =>
      age > staleAfterSeconds
        ? { state: "stale", info, key, reason: `${who} has not refreshed it for ${age} s` }
        : { state: "held", info, key, reason: `held by ${who}, refreshed ${age} s ago` };
    // An unreadable lock is one whose creator has not written it yet (or died doing so): judged by age only.
    if (!info) return timed("an unreadable lock file");
    const who = `pid ${info.pid} on ${info.hostname}`;
    const owner = await probe(file);
    if (owner === "alive") return { state: "held", info, key, reason: `held by ${who}, which is running` };
    if (owner === "gone" && info.hostname === myHostname()) {
      return { state: "stale", info, key, reason: `${who} is no longer running` };
    }
    return timed(who);
  } finally {
    file.close();
  }
}

/** Describes the lock of `dir` without taking it (for status displays and `doctor`). */
export async function inspectLock(dir: string, staleAfterSeconds = 60): Promise<LockState> {
  const { state, info, reason } = await observe(`${dir}/${LOCK_FILE}`, staleAfterSeconds);
  return { state, info, reason };
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await file.write(bytes.subarray(done));
}

/** Creates `path` exclusively; returns the open file or null if it exists. */
async function createExclusive(path: string): Promise<Deno.FsFile | null> {
  try {
    return await Deno.open(path, { read: true, write: true, createNew: true });
  } catch (e) {
    if (e instanceof Deno.errors.AlreadyExists) return null;
    throw new RecordError(`Could not create the lock ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** Removes the stale lock instance `victim` if this process wins its breaker. */
async function breakLock(dir: string, victim: Observed, staleAfterSeconds: number): Promise<void> {
  const lockPath = `${dir}/${LOCK_FILE}`;
  const breaker = `${dir}/.lock.break-${victim.key.replace(/[^\w.-]/g, "_")}`;
  const claim = await createExclusive(breaker);
  if (!claim) {
    // Another process is breaking this lock right now, or died doing so (then its breaker goes stale).
    const st = await Deno.stat(breaker).catch(() => null);
    const age = st?.mtime ? (Date.now() - st.mtime.getTime()) / 1000 : 0;
    if (age > staleAfterSeconds) await Deno.remove(breaker).catch(() => {});
    return;
  }
  claim.close();
  try {
    const now = await observe(lockPath, staleAfterSeconds);
    if (now.key === victim.key && now.state === "stale") await Deno.remove(lockPath).catch(() => {});
  } finally {
    await Deno.remove(breaker).catch(() => {});
  }
}

/**
 * Tries to take the lock of folder `dir` (created if missing). Resolves to a {@linkcode Lock} when this
 * process now holds it, or null when another live process does (use {@linkcode inspectLock} to say who).
 * A stale lock (see the module notes) is taken over. Needs read/write access to `dir` and
 * `--allow-sys=hostname`.
 */
export async function tryAcquireLock(dir: string, opts: LockOptions = {}): Promise<Lock | null> {
  const staleAfter = opts.staleAfterSeconds ?? 60;
  const refreshSeconds = opts.refreshSeconds ?? 10;
  if (!(staleAfter > 0)) throw new RangeError(`staleAfterSeconds must be > 0, got ${staleAfter}`);
  if (!(refreshSeconds >= 0 && refreshSeconds < staleAfter)) {
    throw new RangeError(
      `refreshSeconds must be from 0 to below staleAfterSeconds (${staleAfter}), got ${refreshSeconds}`,
    );
  }
  try {
    await Deno.mkdir(dir, { recursive: true });
  } catch (e) {
    throw new RecordError(`Could not create the folder ${dir} to lock it: ${(e as Error).message}`, {
      cause: e,
    });
  }
  const lockPath = `${dir}/${LOCK_FILE}`;
  const now = new Date().toISOString();
  const info: LockInfo = {
    format: "redraw-lock",
    token: crypto.randomUUID(),
    pid: Deno.pid,
    hostname: myHostname() ?? "unknown",
    startedAt: now,
    refreshedAt: now,
    owner: opts.owner ?? "",
  };
  for (let attempt = 0; attempt < 8; attempt++) {
    const file = await createExclusive(lockPath);
    if (file) {
      try {
        // The flock is taken before the content is written, so a readable lock always has its flock.
        await file.tryLock(true).catch(() => false);
        await writeAll(file, encoder.encode(JSON.stringify(info) + "\n"));
        await file.sync();
        const ino = (await file.stat()).ino;
        return new Lock(dir, info, file, ino, staleAfter, refreshSeconds, opts.onLost);
      } catch (e) {
        file.close();
        await Deno.remove(lockPath).catch(() => {});
        throw new RecordError(`Could not write the lock ${lockPath}: ${(e as Error).message}`, { cause: e });
      }
    }
    const seen = await observe(lockPath, staleAfter);
    if (seen.state === "held") return null;
    if (seen.state === "stale") await breakLock(dir, seen, staleAfter);
    // A short pause lets a concurrent breaker finish before the next exclusive create.
    await sleep(attempt * 5);
  }
  return null;
}

/** A held lock: its file stays open (keeping the flock) and is refreshed on a timer until released. */
export class Lock {
  /** Path of `lock.json`. */
  readonly path: string;
  /** True once a refresh found the lock taken over (the work in progress should stop). */
  lost = false;
  #file: Deno.FsFile;
  #ino: number | null;
  #timer: ReturnType<typeof setInterval> | undefined;
  #inFlight: Promise<boolean> = Promise.resolve(true);
  #onLost?: (reason: string) => void;
  #released = false;

  /** Use {@linkcode tryAcquireLock}. */
  constructor(
    readonly dir: string,
    readonly info: LockInfo,
    file: Deno.FsFile,
    ino: number | null,
    readonly staleAfterSeconds: number,
    refreshSeconds: number,
    onLost?: (reason: string) => void,
  ) {
    this.path = `${dir}/${LOCK_FILE}`;
    this.#file = file;
    this.#ino = ino;
    this.#onLost = onLost;
    if (refreshSeconds > 0) {
      const timer = setInterval(() => void this.refresh(), refreshSeconds * 1000);
      Deno.unrefTimer(timer);
      this.#timer = timer;
    }
  }

  /** Why `lock.json` at the path is no longer this lock's file, or null if it still is. */
  async #notOurs(): Promise<string | null> {
    let st: Deno.FileInfo;
    try {
      st = await Deno.stat(this.path);
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) return `${this.path} was removed by another process`;
      return null; // a transient error (e.g. an NFS hiccup): assume ours and try again later
    }
    if (this.#ino !== null && st.ino !== null && st.ino === this.#ino) return null;
    const text = await Deno.readTextFile(this.path).catch(() => "");
    const current = parseInfo(text);
    if (current?.token === this.info.token) return null;
    return `${this.path} now belongs to ${
      current ? `pid ${current.pid} on ${current.hostname}` : "someone else"
    }`;
  }

  #markLost(reason: string): false {
    if (!this.lost) {
      this.lost = true;
      if (this.#timer !== undefined) clearInterval(this.#timer);
      this.#timer = undefined;
      this.#onLost?.(reason);
    }
    return false;
  }

  /**
   * Rewrites `refreshedAt` through this lock's own open file (never through the path, so it can never
   * write into a lock another process has since created). Resolves false, and calls `onLost`, when
   * `lock.json` is no longer this lock's file.
   */
  refresh(): Promise<boolean> {
    this.#inFlight = this.#inFlight.then(async () => {
      if (this.lost || this.#released) return !this.lost;
      const lost = await this.#notOurs();
      if (lost) return this.#markLost(lost);
      try {
        this.info.refreshedAt = new Date().toISOString();
        const bytes = encoder.encode(JSON.stringify(this.info) + "\n");
        await this.#file.seek(0, Deno.SeekMode.Start);
        await writeAll(this.#file, bytes);
        await this.#file.truncate(bytes.length);
      } catch {
        // A failed refresh (e.g. disk full) is retried at the next tick; the lock goes stale only after many.
      }
      return true;
    });
    return this.#inFlight;
  }

  /** Stops refreshing, removes `lock.json` if it is still this lock's file, and drops the flock. Idempotent. */
  async release(): Promise<void> {
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#inFlight;
    if (this.#released) return;
    this.#released = true;
    try {
      if (!this.lost && (await this.#notOurs()) === null) await Deno.remove(this.path).catch(() => {});
    } finally {
      // Closing drops the flock only after the file is gone, so no prober sees a readable, unlocked lock.
      this.#file.close();
    }
  }
}
