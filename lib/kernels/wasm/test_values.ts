/**
 * Deterministic test inputs for the kernel engine's tests (a linear congruential generator: inputs for
 * comparisons, not randomness for lib/, which uses lib/random.ts).
 * @module
 */

/** A generator of numbers in [0, 1) from a seed. */
export function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

/** `n` numbers in [lo, hi) from a seed. */
export function values(n: number, seed: number, lo = -1, hi = 1): Float32Array {
  const next = rng(seed);
  return Float32Array.from({ length: n }, () => lo + (hi - lo) * next());
}

/** `n` bell-shaped numbers (the sum of three uniforms, centred; standard deviation `s`), from a generator. */
export function bell(next: () => number, n: number, s = 1): Float32Array {
  return Float32Array.from({ length: n }, () => (next() + next() + next() - 1.5) * 2 * s);
}

/** One kernel call to compare: inputs (null when absent), shapes and attributes. */
export interface KernelCase {
  name: string;
  label: string;
  inputs: Array<Float32Array | null>;
  inShapes: number[][];
  // deno-lint-ignore no-explicit-any
  attrs: Record<string, any>;
  /** The C result must have the JS's bits (NaN: any NaN). */
  exact?: boolean;
}

/** Index of the first element whose float32 bits differ, or -1; with `anyNaN`, any NaN equals any NaN. */
export function firstBitDifference(a: Float32Array, b: Float32Array, anyNaN = false): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  const u = new Uint32Array(a.buffer, a.byteOffset, a.length),
    v = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return u.findIndex((x, j) => x !== v[j] && !(anyNaN && Number.isNaN(a[j]) && Number.isNaN(b[j])));
}
