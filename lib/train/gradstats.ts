/**
 * Gradient statistics for `gradients.jsonl`: per-variable L2 norm, mean, standard deviation, max |g|,
 * fraction of exact zeros, and a histogram of log10 |g| over fixed bins.
 * @module
 */
import type { GradStat } from "../record/types.ts";

/** Fixed histogram edges for log10|g|: -12 .. 2 in steps of 0.5; zeros are counted in the first bin. */
export const HIST_EDGES: readonly number[] = Array.from({ length: 29 }, (_, i) => -12 + i * 0.5);

/** Statistics of one gradient array (float64 accumulation). */
export function gradStat(g: Float32Array): GradStat {
  let sum = 0, sumSq = 0, maxAbs = 0, zeros = 0;
  for (let i = 0; i < g.length; i++) {
    const x = g[i];
    sum += x;
    sumSq += x * x;
    const a = Math.abs(x);
    if (a > maxAbs || Number.isNaN(a)) maxAbs = a;
    if (x === 0) zeros++;
  }
  const n = g.length;
  const mean = sum / n;
  return {
    norm: Math.sqrt(sumSq),
    mean,
    std: Math.sqrt(Math.max(sumSq / n - mean * mean, 0)),
    maxAbs,
    fracZero: zeros / n,
  };
}

/** Counts of log10|g| per bin of {@linkcode HIST_EDGES} (len - 1 bins; out-of-range values clamp). */
export function log10Histogram(g: Float32Array): number[] {
  const counts = new Array(HIST_EDGES.length - 1).fill(0);
  const lo = HIST_EDGES[0], width = HIST_EDGES[1] - HIST_EDGES[0];
  for (let i = 0; i < g.length; i++) {
    const a = Math.abs(g[i]);
    const l = a > 0 ? Math.log10(a) : lo;
    const bin = Math.min(counts.length - 1, Math.max(0, Math.floor((l - lo) / width)));
    if (Number.isFinite(l)) counts[bin]++;
  }
  return counts;
}
