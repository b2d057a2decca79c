/**
 * Explicit, serialisable randomness: one root seed split into named streams.
 *
 * Every stream is counter-based: draw number i of a stream is a pure function of (stream seed, i), so a
 * stream's whole state is `{ seed, counter }`. That makes checkpoints trivial (store the counters) and makes
 * results independent of the tfjs backend, since no tfjs random op is used anywhere in lib/.
 * @module
 */

/** The named streams of a run. Each has its own seed derived from the root seed. */
export const STREAM_NAMES = ["init", "epsilon", "dataOrder", "binarize", "eval"] as const;
/** A stream name. */
export type StreamName = typeof STREAM_NAMES[number];

/** The serialisable state of one stream. */
export interface StreamState {
  name: string;
  seed: number;
  counter: number;
}

/** A 32-bit integer hash with good avalanche (lowbias32 by C. Wellons). */
export function hash32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Hashes a string (FNV-1a, then {@linkcode hash32}) to an unsigned 32-bit integer. */
export function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return hash32(h >>> 0);
}

/** Validates a root seed: an integer in [1, 2^31 - 1] (tfjs treats 0 as "unseeded", so seeds start at 1). */
export function checkSeed(seed: unknown, where = "seed"): number {
  if (typeof seed !== "number" || !Number.isInteger(seed) || seed < 1 || seed > 0x7fffffff) {
    throw new RangeError(`${where} must be an integer from 1 to 2147483647, got ${JSON.stringify(seed)}`);
  }
  return seed;
}

const TWO_POW_32 = 4294967296;

/** The high word's half of draw `i`'s hash: the same for 2^32 draws in a row. */
function hashHigh(seed: number, hi: number): number {
  return hash32((hi + 0x9e3779b9) ^ Math.imul(seed, 0x85ebca6b));
}

/** Draw number `i` (an integer below 2^53) of the stream with this seed: an unsigned 32-bit integer. */
export function drawUint32(seed: number, i: number): number {
  const lo = i >>> 0;
  const hi = Math.floor(i / TWO_POW_32) >>> 0;
  return hash32(hash32(lo ^ seed) ^ hashHigh(seed, hi));
}

/** The 32-bit draws that {@linkcode RandomStream.normal} consumes for `n` values: two per pair, a lone last value too. */
export function normalDraws(n: number): number {
  return 2 * Math.ceil(n / 2);
}

/**
 * Elements [from, to) of the `normal(n)` sequence that a stream with this seed starts at draw `counter`
 * (to <= n), written to out[outOffset + k - from] for each k: the same bits as `normal(n)`, whichever chunks
 * compute them. Elements 2m and 2m + 1 are one Box-Muller pair made from draws counter + 2m and
 * counter + 2m + 1 (cosine, sine), so `from` must be even; an odd `to` keeps only the cosine of the last pair.
 * Pure: chunks can run on any thread.
 * @example
 * ```ts
 * const s = new RandomStream("epsilon", 1234);
 * const out = new Float32Array(10);
 * normalsInto(out, 0, s.seed, s.counter, 0, 4);
 * normalsInto(out, 4, s.seed, s.counter, 4, 10); // out equals s.normal(10)
 * ```
 */
export function normalsInto(
  out: Float32Array,
  outOffset: number,
  seed: number,
  counter: number,
  from: number,
  to: number,
): void {
  if (from % 2 !== 0) throw new RangeError(`normalsInto: from must be even, got ${from}`);
  let hi = -1, high = 0;
  for (let k = from; k < to; k += 2) {
    const i = counter + k;
    // Both draws' high words, hashed once per 2^32 draws (the same value as drawUint32 computes).
    const hi1 = Math.floor(i / TWO_POW_32) >>> 0;
    if (hi1 !== hi) high = hashHigh(seed, hi = hi1);
    const u1 = (hash32(hash32((i >>> 0) ^ seed) ^ high) + 0.5) / TWO_POW_32;
    const i2 = i + 1;
    const hi2 = Math.floor(i2 / TWO_POW_32) >>> 0;
    if (hi2 !== hi) high = hashHigh(seed, hi = hi2);
    const u2 = (hash32(hash32((i2 >>> 0) ^ seed) ^ high) + 0.5) / TWO_POW_32;
    const r = Math.sqrt(-2 * Math.log(u1));
    const o = outOffset + k - from;
    out[o] = r * Math.cos(2 * Math.PI * u2);
    if (k + 1 < to) out[o + 1] = r * Math.sin(2 * Math.PI * u2);
  }
}

/**
 * A counter-based random stream. Draw i is `hash(seed, i)`; `counter` counts 32-bit draws consumed.
 * @example
 * ```ts
 * const s = new RandomStream("epsilon", 1234);
 * const eps = s.normal(64 * 100); // Float32Array of N(0, 1) samples
 * const saved = s.state();        // { name, seed, counter } for a checkpoint
 * ```
 */
export class RandomStream {
  /** Creates a stream from its seed (itself derived from the root seed) and a counter. */
  constructor(readonly name: string, readonly seed: number, public counter = 0) {}

  /** Restores a stream from {@linkcode RandomStream.state}. */
  static fromState(s: StreamState): RandomStream {
    return new RandomStream(s.name, s.seed >>> 0, s.counter);
  }

  /** The state to store in a checkpoint. */
  state(): StreamState {
    return { name: this.name, seed: this.seed, counter: this.counter };
  }

  /** The next unsigned 32-bit integer. */
  nextUint32(): number {
    return drawUint32(this.seed, this.counter++);
  }

  /** The next uniform number in the open interval (0, 1). */
  nextUniform(): number {
    return (this.nextUint32() + 0.5) / TWO_POW_32;
  }

  /** `n` uniform numbers in (0, 1). */
  uniform(n: number): Float32Array {
    const out = new Float32Array(n);
    for (let i = 0; i < n; i++) out[i] = this.nextUniform();
    return out;
  }

  /** `n` standard normal numbers (Box-Muller, both outputs used). */
  normal(n: number): Float32Array {
    const out = new Float32Array(n);
    normalsInto(out, 0, this.seed, this.counter, 0, n);
    this.counter += normalDraws(n);
    return out;
  }

  /** An integer uniform in [0, n). */
  nextInt(n: number): number {
    return Math.floor(this.nextUniform() * n);
  }

  /** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
  permutation(n: number): Int32Array {
    const p = new Int32Array(n);
    for (let i = 0; i < n; i++) p[i] = i;
    for (let i = n - 1; i > 0; i--) {
      const j = this.nextInt(i + 1);
      const t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }
}

/** The seed of the named stream under a root seed: stable across versions, never 0. */
export function streamSeed(rootSeed: number, name: string): number {
  return (hash32(checkSeed(rootSeed, "root seed") ^ hashString(name)) || 1) >>> 0;
}

/** All named streams of a run, freshly created from the root seed. */
export type Streams = Record<StreamName, RandomStream>;

/**
 * Splits a root seed into the named streams.
 * @example
 * ```ts
 * const streams = splitSeed(1);
 * streams.dataOrder.permutation(50_000);
 * ```
 */
export function splitSeed(rootSeed: number): Streams {
  checkSeed(rootSeed, "root seed");
  return Object.fromEntries(
    STREAM_NAMES.map((n) => [n, new RandomStream(n, streamSeed(rootSeed, n))]),
  ) as Streams;
}

/** Serialises all streams (for checkpoints and manifests). */
export function streamStates(s: Streams): Record<StreamName, StreamState> {
  return Object.fromEntries(STREAM_NAMES.map((n) => [n, s[n].state()])) as Record<StreamName, StreamState>;
}

/** Restores all streams from {@linkcode streamStates}; throws if one is missing. */
export function restoreStreams(states: Record<string, StreamState>): Streams {
  return Object.fromEntries(STREAM_NAMES.map((n) => {
    const st = states[n];
    if (!st || typeof st.seed !== "number" || typeof st.counter !== "number") {
      throw new Error(`Random stream state "${n}" is missing or malformed`);
    }
    return [n, RandomStream.fromState(st)];
  })) as Streams;
}
