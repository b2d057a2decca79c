/**
 * Test support: runs a fused kernel's C implementation (on the wasm backend, through tfjs) and its JS
 * reference (lib/kernels/reference.ts) on the same inputs and returns both outputs.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type Attrs, KERNEL_DEFS, runKernel } from "../reference.ts";
import { FUSED_KERNELS, registerFusedKernels } from "../dispatch.ts";
import { stopWasmThreads } from "../../backend.ts";
import { engineThreads, setEngineThreads, stopWasmEngine, wasmEngine } from "./engine.ts";

/** Outputs of both versions, and the largest difference relative to max(1, |reference|). */
export interface KernelComparison {
  c: Float32Array[];
  js: Float32Array[];
  maxError: number;
}

/** Runs kernel `name` both ways; the wasm backend must be active. */
export function compareKernel(
  name: string,
  inputs: Array<Float32Array | null>,
  inShapes: number[][],
  attrs: Attrs,
): KernelComparison {
  if (!FUSED_KERNELS[name]) throw new Error(`No fused kernel is named ${name}`);
  registerFusedKernels();
  const k = KERNEL_DEFS[name];
  const outShapes = k.outShapes(inShapes, { ...attrs, nIn: inputs.length });
  const js = outShapes.map((s) => new Float32Array(s.reduce((a, b) => a * b, 1)));
  runKernel(k, inputs.map((x) => (x ? x.slice() : null)), js, inShapes, { ...attrs, nIn: inputs.length });
  const c = tf.tidy(() => {
    const named: Record<string, tf.Tensor> = {};
    inputs.forEach((x, i) => {
      if (x) named[`i${i}`] = tf.tensor(x, inShapes[i]);
    });
    const out = tf.engine().runKernel(name, named, { ...attrs, nIn: inputs.length }) as
      | tf.Tensor
      | tf.Tensor[];
    return (Array.isArray(out) ? out : [out]).map((t) => t.dataSync() as Float32Array);
  });
  let maxError = 0;
  c.forEach((o, i) => {
    for (let j = 0; j < o.length; j++) {
      const e = Math.abs(o[j] - js[i][j]) / Math.max(1, Math.abs(js[i][j]));
      if (!(e <= maxError)) {
        maxError = Number.isNaN(e) && Number.isNaN(o[j]) === Number.isNaN(js[i][j]) ? maxError : e;
      }
    }
  });
  return { c, js, maxError };
}

/**
 * Runs `fn` with the kernel engine restarted on `n` threads (1 or the threaded build's count), then restarts it
 * with the threads it had: the thread-count tests compare outputs of both in one process.
 */
export function onEngineThreads<T>(n: number, fn: () => T): T {
  const before = engineThreads();
  const restart = (k: number) => {
    stopWasmEngine();
    setEngineThreads(k);
    wasmEngine();
    if (engineThreads() !== k) throw new Error(`The engine runs ${engineThreads()} threads, not ${k}`);
  };
  restart(n);
  try {
    return fn();
  } finally {
    restart(before);
  }
}

/**
 * Registers a last test that stops the wasm threads (engine workers and tfjs's pthreads keep a test process
 * alive), for test files that start the threaded build with `setWasmThreads`.
 */
export function stopThreadsAfterTests(): void {
  Deno.test({
    name: "the wasm threads are stopped",
    fn: () => stopWasmThreads(),
    sanitizeOps: false,
    sanitizeResources: false,
  });
}
