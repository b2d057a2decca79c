/**
 * Standard normals from a counter-based stream (lib/random.ts) computed on all the kernel engine's threads,
 * straight into a tfjs-wasm tensor: tfjs kernel `RedrawNormal` (wasm backend).
 *
 * Draw i of a stream is a pure function of (seed, i), so each thread computes its own chunks of Box-Muller
 * pairs with lib/random.ts's `normalsInto`, the function `RandomStream.normal` itself uses: the values are
 * those of `stream.normal(n)`, bit for bit, whatever the thread count and split.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { normalDraws, type RandomStream } from "../../random.ts";
import { JOB_NORMAL } from "./claim.ts";
import { ptr, registerWasmKernel, runJob, wasmEngine, type WasmKernelArgs } from "./engine.ts";

/** Box-Muller pairs a chunk must hold to be worth a thread's wake-up (~50 ns a pair: ~50 us). */
const MIN_PAIRS = 1024;

/** The tfjs kernel RedrawNormal. Attrs: shape, seed, counter; no inputs. */
function normalKernel(
  { attrs, backend }: WasmKernelArgs<{ shape: number[]; seed: number; counter: number }>,
): tf.TensorInfo {
  const { shape, seed, counter } = attrs;
  const n = shape.reduce((a, b) => a * b, 1);
  const out = backend.makeOutput(shape, "float32");
  if (n > 0) runJob(JOB_NORMAL, [ptr(out), n, seed, counter], Math.ceil(n / 2), MIN_PAIRS);
  return out;
}

/** Registers `RedrawNormal` for the wasm backend (idempotent). */
export function registerNormalKernel(): void {
  registerWasmKernel("RedrawNormal", normalKernel);
}

/**
 * A float32 tensor of `stream.normal(size)`'s values (same bits) computed on the wasm kernel engine's threads;
 * advances the stream exactly as `normal` does. Needs the wasm backend.
 */
export function normalTensor<R extends tf.Rank>(shape: number[], stream: RandomStream): tf.Tensor<R> {
  if (!wasmEngine()) throw new Error(`RedrawNormal needs the wasm backend (active: ${tf.getBackend()})`);
  registerNormalKernel();
  const n = shape.reduce((a, b) => a * b, 1);
  const attrs = { shape: [...shape], seed: stream.seed, counter: stream.counter };
  const t = tf.engine().runKernel("RedrawNormal", {}, attrs as unknown as tf.NamedAttrMap) as tf.Tensor<R>;
  stream.counter += normalDraws(n);
  return t;
}

/** True when the wasm kernel engine runs on more than one thread (then {@linkcode normalTensor} is faster). */
export function normalsOnEngineThreads(): boolean {
  return tf.getBackend() === "wasm" && (wasmEngine()?.threads ?? 1) > 1;
}
