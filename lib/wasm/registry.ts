/**
 * The C (WebAssembly) implementations of fused DRAW kernels, by the tfjs kernel name of their JS version in
 * lib/draw/kernel_math.ts. On the wasm backend lib/draw/kernels.ts runs an implementation registered here
 * instead of the JS one; the JS version stays the reference (and the cpu backend's kernel).
 * @module
 */

/** Arguments of an implementation: byte offsets of the inputs (null when absent) and outputs in the heap. */
export interface ImplCall {
  ins: Array<number | null>;
  outs: number[];
  inShapes: number[][];
  // deno-lint-ignore no-explicit-any
  attrs: Record<string, any>;
}

/** Runs the kernel, typically as one or more `runKernel` calls of lib/wasm/engine.ts. */
export type WasmImpl = (c: ImplCall) => void;

/** Implementations by kernel name. */
export const WASM_IMPLS: Record<string, WasmImpl> = {};

/** Set `REDRAW_WASM_KERNELS=js` to run the JS versions on wasm (for comparisons). */
export function implsDisabled(): boolean {
  try {
    return Deno.env.get("REDRAW_WASM_KERNELS") === "js";
  } catch {
    return false; // no env permission: the default
  }
}

/** Registers the C implementation of a fused kernel. */
export function defineWasmImpl(name: string, impl: WasmImpl): void {
  WASM_IMPLS[name] = impl;
}
