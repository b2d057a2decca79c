/**
 * The signature of a fused kernel's C (WebAssembly) twin. Each twin (attention.ts, lstm.ts, misc.ts,
 * adam.ts, over src/*.c) is named in lib/kernels/dispatch.ts's table beside its JS reference
 * (lib/kernels/reference.ts); on the wasm backend the dispatch runs the twin, and the JS version stays the
 * reference (and the cpu backend's kernel).
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

/** Runs the kernel, typically as one or more `runKernel` calls of lib/kernels/wasm/engine.ts. */
export type WasmImpl = (c: ImplCall) => void;

/** Set `REDRAW_WASM_KERNELS=js` to run the JS versions on wasm (for comparisons). */
export function implsDisabled(): boolean {
  try {
    return Deno.env.get("REDRAW_WASM_KERNELS") === "js";
  } catch {
    return false; // no env permission: the default
  }
}
