/**
 * How many threads redraw's wasm kernels may use: one per core of this machine. The kernel engine
 * (lib/kernels/wasm/engine.ts) runs every kernel call on the main thread and `threads - 1` workers that spin briefly
 * between calls, so threads beyond the cores only wait for each other; tfjs-wasm itself keeps XNNPACK on one
 * thread and sets no lower limit. Results are bit-identical for every thread count.
 * @module
 */

/** The cores this process sees (`navigator.hardwareConcurrency`, at least 1). */
export function machineCores(): number {
  const n = globalThis.navigator?.hardwareConcurrency;
  return Number.isInteger(n) && n > 0 ? n : 1;
}

/**
 * Why a thread count is refused, or null when `text` is an integer from 1 to `cores`.
 * @example
 * ```ts
 * import { threadsProblem } from "./threads.ts";
 * threadsProblem("2", 4); // null
 * threadsProblem("16", 4);
 * // "must be an integer from 1 to 4, the cores of this machine (navigator.hardwareConcurrency):
 * //  more threads than cores only wait for each other"
 * ```
 */
export function threadsProblem(text: string, cores = machineCores()): string | null {
  const n = Number(text);
  if (text.trim() !== "" && Number.isInteger(n) && n >= 1 && n <= cores) return null;
  return `must be an integer from 1 to ${cores}, the cores of this machine (navigator.hardwareConcurrency): ` +
    "more threads than cores only wait for each other";
}
