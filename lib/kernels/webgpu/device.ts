/**
 * The `webgpu` backend's device, created as tfjs-webgpu 4.22 creates it plus a higher storage-buffer limit:
 * WebGPU's default of 8 bindings per stage is below what the fused kernels bind (the LSTM backward reads
 * seven tensors and writes three), and more bindings let a stack of T glimpses take fewer dispatches.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { requiredStorageBuffers } from "./mod.ts";

/**
 * Replaces tfjs-webgpu's backend factory by one that asks the adapter for more storage buffers per stage
 * (idempotent; does nothing once the backend exists). Call after importing tfjs-backend-webgpu and before
 * `tf.setBackend("webgpu")`.
 */
export async function registerWebgpuBackend(): Promise<void> {
  const { WebGPUBackend } = await import("@tensorflow/tfjs-backend-webgpu");
  if (tf.engine().registry["webgpu"]) return;
  tf.removeBackend("webgpu");
  tf.registerBackend("webgpu", async () => {
    const adapter = await navigator.gpu.requestAdapter({ powerPreference: "high-performance" });
    if (!adapter) throw new Error("No WebGPU adapter");
    const features: GPUFeatureName[] = [];
    if (adapter.features.has("timestamp-query")) features.push("timestamp-query");
    const l = adapter.limits;
    const device = await adapter.requestDevice({
      requiredFeatures: features,
      requiredLimits: {
        maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
        maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
        maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
        maxBufferSize: l.maxBufferSize,
        maxComputeWorkgroupSizeX: l.maxComputeWorkgroupSizeX,
        maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
        maxStorageBuffersPerShaderStage: requiredStorageBuffers(l.maxStorageBuffersPerShaderStage),
      },
    });
    return new WebGPUBackend(device, adapter.info);
  }, 3);
}
