/**
 * Small statistics for the report: mean and spread over seeds, and thinning of long curves.
 * @module
 */

/** Mean, sample standard deviation (n - 1; 0 for one value) and count. */
export interface Spread {
  mean: number;
  std: number;
  n: number;
}

/** Mean and sample standard deviation of the finite values, or null when there are none. */
export function spread(values: readonly number[]): Spread | null {
  const v = values.filter((x) => Number.isFinite(x));
  if (v.length === 0) return null;
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = v.length < 2 ? 0 : Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1));
  return { mean, std, n: v.length };
}

/**
 * Keeps at most `max` items spread evenly over the array, always keeping the first and the last, so that a
 * curve of 100,000 steps becomes a chart of `max` points with the same shape and end.
 * @example
 * ```ts
 * thin([0, 1, 2, 3, 4], 3); // [0, 2, 4]
 * ```
 */
export function thin<T>(items: readonly T[], max = 2000): T[] {
  if (items.length <= max) return items.slice();
  if (max < 2) return items.slice(-1);
  const out: T[] = [];
  let last = -1;
  for (let i = 0; i < max; i++) {
    const j = Math.round((i * (items.length - 1)) / (max - 1));
    if (j !== last) out.push(items[j]);
    last = j;
  }
  return out;
}

/** The q-quantile (0..1) of the finite values by linear interpolation, or NaN when there are none. */
export function quantile(values: readonly number[], q: number): number {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const pos = (v.length - 1) * Math.min(1, Math.max(0, q));
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return v[lo] + (v[hi] - v[lo]) * (pos - lo);
}
