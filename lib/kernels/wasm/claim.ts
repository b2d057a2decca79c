import { normalsInto } from "../../random.ts";

/**
 * The control block shared by the kernel engine's threads (lib/kernels/wasm/engine.ts, worker.ts), and chunk claiming.
 * @module
 */

/**
 * Control block layout, as indices of its Int32 slots: job sequence number, quit flag, function index,
 * argument count, items, chunk size, the claim word, chunks finished, job kind (JOB_WASM: the module's export
 * number in slot FN; otherwise a JS job of {@linkcode jsJob}). Arguments are float64 from byte ARGS_BYTE. The
 * claim word packs the job's sequence number (11 bits), its chunk count and the next chunk (10 bits each): a
 * thread claims a chunk by compare-and-swap only while the word still names the job it read, so a worker that
 * read a job's description while the main thread was already writing the next one never runs a mixed job.
 */
export const SLOT = {
  SEQ: 0,
  QUIT: 1,
  FN: 2,
  NARGS: 3,
  ITEMS: 4,
  CHUNK: 5,
  CLAIM: 6,
  FINISHED: 7,
  KIND: 8,
} as const;
/** Job kinds: a kernel of the wasm module, or standard normals (args: output byte offset, n, seed, counter). */
export const JOB_WASM = 0, JOB_NORMAL = 1;
/** Byte offset of the float64 arguments, and the block's size. */
export const ARGS_BYTE = 512, CTRL_BYTES = 1024;
/** The claim word of job `seq` with `chunks` chunks, `next` of them claimed (see the layout above). */
export function claimWord(seq: number, chunks: number, next: number): number {
  return ((seq & 0x7ff) << 20) | (chunks << 10) | next;
}

/** Claims the next chunk of job `seq`: its index, or -1 when none is left or the job is no longer current. */
export function claim(I: Int32Array, seq: number): number {
  for (;;) {
    const w = Atomics.load(I, SLOT.CLAIM);
    const next = w & 0x3ff, chunks = (w >> 10) & 0x3ff;
    if (w >>> 20 !== (seq & 0x7ff) || next >= chunks) return -1;
    if (Atomics.compareExchange(I, SLOT.CLAIM, w, w + 1) === w) return next;
  }
}

/**
 * Runs work items [lo, hi) of JS job `kind` on `heap` (the shared memory's buffer), the same on every thread.
 * JOB_NORMAL: item m is the Box-Muller pair of elements 2m, 2m + 1 of `RandomStream.normal(n)` for a stream
 * at (seed, counter), written as float32 from byte offset args[0] (lib/random.ts's normalsInto).
 */
export function jsJob(
  kind: number,
  heap: ArrayBufferLike,
  args: ArrayLike<number>,
  lo: number,
  hi: number,
): void {
  if (kind !== JOB_NORMAL) throw new Error(`Unknown engine job kind ${kind}`);
  const [out, n, seed, counter] = [args[0], args[1], args[2], args[3]];
  const from = 2 * lo, to = Math.min(n, 2 * hi);
  normalsInto(new Float32Array(heap, out + 4 * from, to - from), 0, seed, counter, from, to);
}
