/**
 * The fused DRAW kernels on WebGPU: WGSL programs with the names and semantics of the JS kernels of
 * lib/kernels/reference.ts, registered as tfjs kernels of the `webgpu` backend so that the hand-written
 * forward and backward of lib/draw/fused.ts run on the GPU unchanged (see README.md beside this file).
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import * as attention from "./attention.ts";
import * as blocks from "./blocks.ts";
import { countTfjsDispatches, type GpuKernel, setSubmitBatch, type WebgpuBackend } from "./dispatch.ts";
import * as lstm from "./lstm.ts";
import * as optim from "./optim.ts";
import * as posterior from "./posterior.ts";

export { dispatchCount } from "./dispatch.ts";

/** Every WGSL kernel by tfjs kernel name. */
export const WEBGPU_KERNELS: Record<string, GpuKernel> = {
  RedrawBlocks: blocks.blocks,
  RedrawSumCols: blocks.sumCols,
  RedrawSumSteps: blocks.sumSteps,
  RedrawStack: blocks.stack,
  RedrawNoAttentionInput: blocks.noAttentionInput,
  RedrawNoAttentionBackward: blocks.noAttentionBackward,
  RedrawLstmForward: lstm.lstmForward,
  RedrawLstmCell: lstm.lstmCell,
  RedrawLstmHidden: lstm.lstmHidden,
  RedrawLstmBackward: lstm.lstmBackward,
  RedrawPosterior: posterior.posterior,
  RedrawPosteriorBackward: posterior.posteriorBackward,
  RedrawBernoulli: posterior.bernoulli,
  RedrawRead: attention.read,
  RedrawReadBackward: attention.readBackward,
  RedrawWrite: attention.write,
  RedrawWriteBackward: attention.writeBackward,
  RedrawSumSquares: optim.sumSquares,
  RedrawAdam: optim.adam,
};

/**
 * Storage buffers the largest kernel binds (the LSTM backward: 7 inputs, 3 outputs). The adapter must allow
 * it; {@linkcode requiredStorageBuffers} asks for it when the device is created.
 */
export const STORAGE_BUFFERS_NEEDED = 10;

/** The storage-buffer limit to request from an adapter: enough for the kernels, and up to 32 for stacking. */
export function requiredStorageBuffers(adapterLimit: number): number {
  return Math.min(adapterLimit, 32);
}

let registered = false;

/**
 * Registers the WGSL kernels with tfjs for the `webgpu` backend (idempotent), and sets tfjs-webgpu's flags
 * that the fused step's determinism needs: its matrix products always take the tiled program (the split-K
 * program, chosen for few output tiles and a long inner dimension, sums with float atomics, whose order
 * varies between runs).
 */
export function registerWebgpuKernels(): void {
  if (registered) return;
  registered = true;
  tf.env().set("WEBGPU_MATMUL_PROGRAM_TYPE", 3); // MatMulPackedProgram
  setSubmitBatch(tf.env().getNumber("WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE"));
  for (const [kernelName, run] of Object.entries(WEBGPU_KERNELS)) {
    tf.registerKernel({
      kernelName,
      backendName: "webgpu",
      kernelFunc: (({ inputs, attrs, backend }) => {
        const ins: Array<tf.TensorInfo | null> = [];
        for (let i = 0; i < (attrs!.nIn as number); i++) {
          ins.push((inputs as tf.NamedTensorInfoMap)[`i${i}`] ?? null);
        }
        return run(backend as unknown as WebgpuBackend, ins, attrs as Record<string, unknown>);
      }) as tf.KernelFunc,
    });
  }
}

/** True when the active backend is webgpu with a device that can bind what the kernels need. */
export function webgpuKernelsUsable(): boolean {
  if (tf.getBackend() !== "webgpu") return false;
  const backend = tf.backend() as unknown as WebgpuBackend;
  countTfjsDispatches(backend);
  return backend.device.limits.maxStorageBuffersPerShaderStage >= STORAGE_BUFFERS_NEEDED;
}
