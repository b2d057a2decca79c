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
