/**
 * Guards for tfjs-webgpu 4.22 under Deno's WebGPU, installed by `initBackend("webgpu")`.
 *
 * WebGPU reports validation errors only through the device's `uncapturederror` event, and tfjs never
 * listens: an invalid pipeline silently drops its dispatch and the others of its command buffer, and the
 * step goes on with stale or zero values. Found on an NVIDIA H200 and on llvmpipe: `tf.addN` of more than
 * 7 tensors binds more storage buffers than the default limit of 8 (tfjs splits `concat` for that limit,
 * not `AddN`), which zeroed a whole training step's read-back. So:
 * - {@linkcode installWebgpuGuards} records every uncaptured device error, and
 *   {@linkcode throwOnWebgpuError} turns it into an exception that the trainer and the bench raise;
 * - `AddN` is re-registered to sum at most `maxStorageBuffersPerShaderStage - 1` inputs per dispatch.
 * @module
 */
import * as tf from "@tensorflow/tfjs";

interface WebgpuBackendLike {
  device: GPUDevice;
  disposeData(dataId: object): void;
}

let firstError: string | null = null;
let guardedDevice: GPUDevice | null = null;
let addNPatched = false;

/** The largest number of inputs one AddN dispatch may bind (one storage buffer is the output). */
export function addNChunk(device: GPUDevice): number {
  return Math.max(2, device.limits.maxStorageBuffersPerShaderStage - 1);
}

function patchAddN(): void {
  if (addNPatched) return;
  const original = tf.getKernel(tf.AddN, "webgpu");
  if (!original) throw new Error('tfjs-webgpu has no "AddN" kernel to guard: is the backend imported?');
  tf.unregisterKernel(tf.AddN, "webgpu");
  const sum: tf.KernelFunc = (args) => {
    const inputs = args.inputs as unknown as tf.TensorInfo[];
    const backend = args.backend as unknown as WebgpuBackendLike;
    const chunk = addNChunk(backend.device);
    if (inputs.length <= chunk) return original.kernelFunc(args);
    // Sum each chunk, then the partial sums (recursively, for more than chunk^2 inputs).
    const partials: tf.TensorInfo[] = [];
    for (let i = 0; i < inputs.length; i += chunk) {
      const part = inputs.slice(i, i + chunk);
      partials.push(
        part.length === 1
          ? part[0]
          : sum({ ...args, inputs: part as unknown as tf.NamedTensorInfoMap }) as tf.TensorInfo,
      );
    }
    const out = sum({ ...args, inputs: partials as unknown as tf.NamedTensorInfoMap }) as tf.TensorInfo;
    for (const p of partials) if (!inputs.includes(p)) backend.disposeData(p.dataId);
    return out;
  };
  tf.registerKernel({ ...original, kernelFunc: sum });
  addNPatched = true;
}

/**
 * Installs the guards on the active webgpu backend (idempotent). Call after `tf.setBackend("webgpu")`.
 */
export function installWebgpuGuards(): void {
  patchAddN();
  const backend = tf.backend() as unknown as Partial<WebgpuBackendLike>;
  const device = backend.device;
  if (!device) throw new Error(`installWebgpuGuards() needs the webgpu backend, got ${tf.getBackend()}`);
  if (device === guardedDevice) return;
  device.addEventListener("uncapturederror", (e) => {
    const error = (e as GPUUncapturedErrorEvent).error;
    const kind = error.constructor?.name === "GPUOutOfMemoryError" ? "out of GPU memory: " : "";
    firstError ??= kind + error.message;
  });
  device.lost.then((info) => {
    firstError ??= `the GPU device was lost (${info.reason}): ${info.message}`;
  });
  guardedDevice = device;
}

/** The first WebGPU error since the last {@linkcode throwOnWebgpuError}, or null. */
export function webgpuError(): string | null {
  return firstError;
}

/**
 * Throws (once per error) when the WebGPU device reported an error (a failed validation, running out of
 * memory, the device lost): results computed since then may be wrong, so nothing from them may be recorded.
 * `context` says what was running, e.g. the batch size and the GPU memory held.
 */
export function throwOnWebgpuError(context?: string): void {
  if (firstError === null) return;
  const message = firstError;
  firstError = null;
  const where = context ? ` (${context})` : "";
  throw new Error(`WebGPU reported an error${where}, so this step's results cannot be trusted: ${message}`);
}

/** GPU memory held by tfjs-webgpu's buffers, in bytes (0 on other backends). */
export function gpuBytesHeld(): number {
  const m = tf.memory() as tf.MemoryInfo & { numBytesAllocatedInGPU?: number };
  return m.numBytesAllocatedInGPU ?? 0;
}
