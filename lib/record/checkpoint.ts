/**
 * Checkpoints: `checkpoints/ckpt-<step, 9 digits>.bin` + `.json` in a run folder.
 *
 * The `.bin` holds every float32 tensor (model variables and Adam moments) concatenated little-endian.
 * The `.json` ({@linkcode CheckpointMeta}) holds the step, the trainer's state as opaque JSON (epoch,
 * counters, random stream states, batcher state, optimizer scalars such as Adam's iteration and beta
 * powers), the tensor table and the SHA-256 of the `.bin`. Both are written atomically, `.bin` first and
 * `.json` last: the `.json` is the commit point, so a `.bin` without its `.json` is an unfinished save and
 * is ignored. Loading verifies the JSON shape, byte lengths and checksum and falls back to an older
 * checkpoint when the newest is corrupt, saying so.
 *
 * This file imports no tfjs.
 * @module
 */
import { faultPoint } from "../faults.ts";
import { isTempFile, readJson, RecordError, sha256Hex, writeFileAtomic, writeJsonAtomic } from "./io.ts";

/** Marker identifying a checkpoint JSON. */
export const CHECKPOINT_FORMAT = "redraw-checkpoint";
/** Version of the checkpoint format; loaders refuse a newer one. */
export const CHECKPOINT_FORMAT_VERSION = 1;
/** Default folder of checkpoints inside a run folder. */
export const CHECKPOINT_FOLDER = "checkpoints";

/** One tensor's place in the `.bin`. `offset` and `length` are in bytes. */
export interface TensorEntry {
  name: string;
  shape: number[];
  dtype: "float32";
  offset: number;
  length: number;
}

/** The `.json` of a checkpoint. */
export interface CheckpointMeta {
  format: typeof CHECKPOINT_FORMAT;
  formatVersion: number;
  step: number;
  createdAt: string;
  /**
   * The trainer's state, opaque here. Suggested keys: `epoch`, `imagesSeen`, `wallTime`, `streams`
   * (random stream states), `batcher`, `optimizer` (`{ iteration, beta1Power, beta2Power }`), `trainer`.
   */
  state: Record<string, unknown>;
  tensors: TensorEntry[];
  binFile: string;
  binBytes: number;
  sha256: string;
}

/** A named float32 tensor. */
export interface CheckpointTensor {
  name: string;
  shape: number[];
  data: Float32Array;
}

/** What {@linkcode saveCheckpoint} writes. */
export interface CheckpointInput {
  step: number;
  state: Record<string, unknown>;
  tensors: CheckpointTensor[];
}

/** A checkpoint read back and verified. Tensor data are views over one buffer holding the `.bin`. */
export interface LoadedCheckpoint {
  /** File stem, e.g. `ckpt-000000600`. */
  name: string;
  step: number;
  state: Record<string, unknown>;
  tensors: CheckpointTensor[];
  meta: CheckpointMeta;
}

/** A committed checkpoint on disk (its `.json` exists). */
export interface CheckpointFile {
  name: string;
  step: number;
  jsonPath: string;
  binPath: string;
}

/** Where checkpoints live: `folder` is relative to the run folder (e.g. `"checkpoints/best"`). */
export interface CheckpointFolderOptions {
  folder?: string;
}

const MAX_STEP = 999_999_999;
const NAME_RE = /^ckpt-(\d{9})\.json$/;
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The file stem of the checkpoint at `step`, e.g. `ckpt-000000600`. */
export function checkpointName(step: number): string {
  if (!Number.isInteger(step) || step < 0 || step > MAX_STEP) {
    throw new RecordError(
      `Checkpoint step must be an integer from 0 to ${MAX_STEP}, got ${JSON.stringify(step)}`,
    );
  }
  return `ckpt-${String(step).padStart(9, "0")}`;
}

function folderOf(runDir: string, opts: CheckpointFolderOptions): string {
  return `${runDir}/${opts.folder ?? CHECKPOINT_FOLDER}`;
}

/**
 * Committed checkpoints in a run folder, oldest first. Temp files and `.bin` files without a `.json` are
 * not listed; a missing folder gives an empty list.
 */
export function listCheckpoints(
  runDir: string,
  opts: CheckpointFolderOptions = {},
): Promise<CheckpointFile[]> {
  return listIn(folderOf(runDir, opts));
}

async function listIn(dir: string): Promise<CheckpointFile[]> {
  const out: CheckpointFile[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      const m = NAME_RE.exec(e.name);
      if (!m || !e.isFile) continue;
      const name = e.name.slice(0, -".json".length);
      out.push({ name, step: Number(m[1]), jsonPath: `${dir}/${name}.json`, binPath: `${dir}/${name}.bin` });
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw new RecordError(`Could not list checkpoints in ${dir}: ${(e as Error).message}`, { cause: e });
  }
  return out.sort((a, b) => a.step - b.step);
}

function checkInput(ckpt: CheckpointInput): void {
  checkpointName(ckpt.step);
  if (typeof ckpt.state !== "object" || ckpt.state === null || Array.isArray(ckpt.state)) {
    throw new RecordError(`Checkpoint state must be an object, got ${JSON.stringify(ckpt.state)}`);
  }
  const seen = new Set<string>();
  for (const t of ckpt.tensors) {
    if (typeof t.name !== "string" || t.name === "") {
      throw new RecordError(
        `Checkpoint tensor names must be non-empty strings, got ${JSON.stringify(t.name)}`,
      );
    }
    if (seen.has(t.name)) throw new RecordError(`Checkpoint tensor "${t.name}" appears twice`);
    seen.add(t.name);
    if (!(t.data instanceof Float32Array)) {
      throw new RecordError(`Checkpoint tensor "${t.name}" is not a Float32Array`);
    }
    if (!Array.isArray(t.shape) || !t.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new RecordError(`Checkpoint tensor "${t.name}" has an invalid shape ${JSON.stringify(t.shape)}`);
    }
    const n = t.shape.reduce((a, b) => a * b, 1);
    if (n !== t.data.length) {
      throw new RecordError(
        `Checkpoint tensor "${t.name}" has shape ${
          JSON.stringify(t.shape)
        } (${n} values) but ${t.data.length} values`,
      );
    }
  }
}

/** Serialises the state, refusing NaN and Infinity, which JSON would silently turn into null. */
function stateJson(state: Record<string, unknown>): Record<string, unknown> {
  const text = JSON.stringify(state, (key, v) => {
    if (typeof v === "number" && !Number.isFinite(v)) {
      throw new RecordError(`Checkpoint state field "${key}" is ${v}, which JSON cannot represent`);
    }
    return v;
  });
  return JSON.parse(text);
}

function packTensors(tensors: CheckpointTensor[]): { bin: Uint8Array; entries: TensorEntry[] } {
  const total = tensors.reduce((a, t) => a + t.data.byteLength, 0);
  const bin = new Uint8Array(total);
  const view = new DataView(bin.buffer);
  const entries: TensorEntry[] = [];
  let offset = 0;
  for (const t of tensors) {
    if (LITTLE_ENDIAN) {
      bin.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), offset);
    } else {
      for (let i = 0; i < t.data.length; i++) view.setFloat32(offset + 4 * i, t.data[i], true);
    }
    entries.push({ name: t.name, shape: [...t.shape], dtype: "float32", offset, length: t.data.byteLength });
    offset += t.data.byteLength;
  }
  return { bin, entries };
}

/**
 * Writes a checkpoint atomically (`.bin` then `.json`, each via temp file + rename) and prunes all but the
 * newest `keep` checkpoints, stray temp files and unfinished `.bin` files in the folder. Callers must hold
 * the run folder's lock (see lib/record/lock.ts): pruning assumes a single writer.
 *
 * Every line of metrics/gradients/eval for steps up to `ckpt.step` must be written before this is called,
 * so that a resume from this checkpoint neither loses nor repeats a line.
 */
export async function saveCheckpoint(
  runDir: string,
  ckpt: CheckpointInput,
  keep = 3,
  opts: CheckpointFolderOptions = {},
): Promise<CheckpointFile> {
  checkInput(ckpt);
  if (!Number.isInteger(keep) || keep < 1) {
    throw new RecordError(`Checkpoints to keep must be an integer >= 1, got ${JSON.stringify(keep)}`);
  }
  const dir = folderOf(runDir, opts);
  await Deno.mkdir(dir, { recursive: true });
  const name = checkpointName(ckpt.step);
  const file: CheckpointFile = {
    name,
    step: ckpt.step,
    jsonPath: `${dir}/${name}.json`,
    binPath: `${dir}/${name}.bin`,
  };
  const state = stateJson(ckpt.state);
  const { bin, entries } = packTensors(ckpt.tensors);
  const meta: CheckpointMeta = {
    format: CHECKPOINT_FORMAT,
    formatVersion: CHECKPOINT_FORMAT_VERSION,
    step: ckpt.step,
    createdAt: new Date().toISOString(),
    state,
    tensors: entries,
    binFile: `${name}.bin`,
    binBytes: bin.length,
    sha256: await sha256Hex(bin),
  };
  // Overwriting a step (a resumed run saving the same step again): uncommit the old one first, so that no
  // moment exists where its .json describes the new .bin.
  await Deno.remove(file.jsonPath).catch(() => {});
  await writeFileAtomic(file.binPath, bin);
  if (!opts.folder) faultPoint(`checkpoint:${ckpt.step}`);
  await writeJsonAtomic(file.jsonPath, meta);
  await prune(dir, keep, name);
  return file;
}

async function prune(dir: string, keep: number, justSaved: string): Promise<void> {
  const committed = await listIn(dir);
  const kept = new Set(committed.slice(-keep).map((c) => c.name));
  kept.add(justSaved);
  for (const c of committed) {
    if (kept.has(c.name)) continue;
    // The .json goes first: without it the checkpoint is no longer committed, whatever happens next.
    await Deno.remove(c.jsonPath).catch(() => {});
    await Deno.remove(c.binPath).catch(() => {});
  }
  for await (const e of Deno.readDir(dir)) {
    const orphanBin = /^ckpt-\d{9}\.bin$/.test(e.name) && !kept.has(e.name.slice(0, -".bin".length));
    if (e.isFile && (isTempFile(e.name) || orphanBin)) await Deno.remove(`${dir}/${e.name}`).catch(() => {});
  }
}

function short(hash: string): string {
  return hash.length > 16 ? hash.slice(0, 16) + "…" : hash;
}

/** Checks a parsed checkpoint JSON; returns a description of the first problem or null. */
function metaProblem(m: unknown, file: CheckpointFile): string | null {
  if (typeof m !== "object" || m === null || Array.isArray(m)) return "its .json is not an object";
  const o = m as Record<string, unknown>;
  if (o.format !== CHECKPOINT_FORMAT) {
    return `its .json is not a redraw checkpoint (format ${JSON.stringify(o.format)})`;
  }
  if (!Number.isInteger(o.formatVersion) || (o.formatVersion as number) < 1) {
    return `its formatVersion ${JSON.stringify(o.formatVersion)} is invalid`;
  }
  if ((o.formatVersion as number) > CHECKPOINT_FORMAT_VERSION) {
    return `it has format version ${o.formatVersion}, newer than this redraw understands (${CHECKPOINT_FORMAT_VERSION})`;
  }
  if (o.step !== file.step) {
    return `its .json says step ${JSON.stringify(o.step)} but its name says ${file.step}`;
  }
  if (typeof o.state !== "object" || o.state === null || Array.isArray(o.state)) {
    return "its state is not an object";
  }
  if (typeof o.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(o.sha256)) {
    return "its sha256 is not a hex digest";
  }
  if (!Number.isInteger(o.binBytes) || (o.binBytes as number) < 0) return "its binBytes is not a byte count";
  if (!Array.isArray(o.tensors)) return "its tensor table is missing";
  let offset = 0;
  for (const [i, t] of (o.tensors as unknown[]).entries()) {
    const e = t as Partial<TensorEntry>;
    const where = `tensor ${i} (${JSON.stringify(e?.name)})`;
    if (typeof e !== "object" || e === null || typeof e.name !== "string") return `${where} has no name`;
    if (e.dtype !== "float32") return `${where} has dtype ${JSON.stringify(e.dtype)}, expected "float32"`;
    if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      return `${where} has an invalid shape ${JSON.stringify(e.shape)}`;
    }
    const bytes = 4 * e.shape.reduce((a, b) => a * b, 1);
    if (e.offset !== offset) return `${where} starts at byte ${JSON.stringify(e.offset)}, expected ${offset}`;
    if (e.length !== bytes) return `${where} is ${JSON.stringify(e.length)} bytes, its shape needs ${bytes}`;
    offset += bytes;
  }
  if (offset !== o.binBytes) return `its tensors add up to ${offset} bytes but binBytes is ${o.binBytes}`;
  return null;
}

/**
 * Loads and verifies one checkpoint; throws a {@linkcode RecordError} whose message says what is wrong
 * (garbage or foreign `.json`, missing or truncated `.bin`, checksum mismatch).
 */
export async function loadCheckpoint(file: CheckpointFile): Promise<LoadedCheckpoint> {
  let raw: unknown;
  try {
    raw = await readJson(file.jsonPath, "checkpoint");
  } catch (e) {
    throw new RecordError(`${file.name} is corrupt (${(e as Error).message})`, { cause: e });
  }
  const problem = metaProblem(raw, file);
  if (problem) throw new RecordError(`${file.name} is corrupt (${problem})`);
  const meta = raw as CheckpointMeta;
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(file.binPath);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? `${meta.binFile} is missing` : (e as Error).message;
    throw new RecordError(`${file.name} is corrupt (${why})`, { cause: e });
  }
  if (bytes.length !== meta.binBytes) {
    throw new RecordError(
      `${file.name} is corrupt (${meta.binFile} is ${bytes.length} bytes, expected ${meta.binBytes})`,
    );
  }
  const actual = await sha256Hex(bytes);
  if (actual !== meta.sha256) {
    throw new RecordError(
      `${file.name} is corrupt (sha256 mismatch: expected ${short(meta.sha256)}, got ${short(actual)})`,
    );
  }
  if (bytes.byteOffset % 4 !== 0) bytes = bytes.slice();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const tensors = meta.tensors.map((t) => {
    let data: Float32Array;
    if (LITTLE_ENDIAN) {
      data = new Float32Array(bytes.buffer, bytes.byteOffset + t.offset, t.length / 4);
    } else {
      data = new Float32Array(t.length / 4);
      for (let i = 0; i < data.length; i++) data[i] = view.getFloat32(t.offset + 4 * i, true);
    }
    return { name: t.name, shape: [...t.shape], data };
  });
  return { name: file.name, step: meta.step, state: meta.state, tensors, meta };
}

/**
 * Loads the newest valid checkpoint, trying newer ones first. Each corrupt checkpoint skipped adds a note,
 * e.g. `ckpt-000000600 is corrupt (sha256 mismatch: expected 1a2b…, got 3c4d…); resumed from
 * ckpt-000000400`, meant for the manifest's `notes`. With no checkpoint at all: `{ checkpoint: null,
 * notes: [] }`.
 */
export async function loadLatestCheckpoint(
  runDir: string,
  opts: CheckpointFolderOptions = {},
): Promise<{ checkpoint: LoadedCheckpoint | null; notes: string[] }> {
  const files = await listCheckpoints(runDir, opts);
  const corrupt: string[] = [];
  for (const file of files.reverse()) {
    try {
      const checkpoint = await loadCheckpoint(file);
      return { checkpoint, notes: corrupt.map((c) => `${c}; resumed from ${checkpoint.name}`) };
    } catch (e) {
      if (!(e instanceof RecordError)) throw e;
      corrupt.push(e.message);
    }
  }
  return {
    checkpoint: null,
    notes: corrupt.map((c) => `${c}; no valid checkpoint left, starting from step 0`),
  };
}

/**
 * Checks that a loaded checkpoint has exactly the expected tensors (names and shapes), e.g. before
 * restoring a model; throws a {@linkcode RecordError} naming the first difference.
 */
export function checkTensorsMatch(
  ckpt: LoadedCheckpoint,
  expected: ReadonlyArray<{ name: string; shape: readonly number[] }>,
): void {
  const have = new Map(ckpt.tensors.map((t) => [t.name, t.shape]));
  for (const e of expected) {
    const shape = have.get(e.name);
    if (!shape) throw new RecordError(`${ckpt.name} has no tensor "${e.name}"`);
    if (shape.length !== e.shape.length || shape.some((d, i) => d !== e.shape[i])) {
      throw new RecordError(
        `${ckpt.name} tensor "${e.name}" has shape ${JSON.stringify(shape)}, expected ${
          JSON.stringify(e.shape)
        }`,
      );
    }
    have.delete(e.name);
  }
  if (have.size > 0) {
    throw new RecordError(`${ckpt.name} has unexpected tensors: ${[...have.keys()].join(", ")}`);
  }
}
