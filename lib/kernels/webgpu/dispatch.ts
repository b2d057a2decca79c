/**
 * Dispatch of hand-written WGSL programs on tfjs-webgpu's own device, buffers and command encoder.
 *
 * tfjs-webgpu's `runWebGPUProgram` binds exactly one output; the fused DRAW kernels have up to four (the
 * LSTM forward writes gate sigmoids, cell, sigmoid(cell) and hidden state at once). So a kernel here is a
 * complete WGSL module whose bindings are, in order, its outputs, its present inputs and (when it has run-time
 * parameters) one uniform block; it is recorded into the same compute pass that tfjs's own programs use, in
 * program order, so tfjs tensors flow in and out with no copy and no extra submission. Sizes are baked into
 * the source as constants (one pipeline per shape, cached); values that change between calls (Adam's bias
 * corrections, the gradient scale, the epsilon offset of a glimpse) travel in the uniform block.
 * @module
 */
import type * as tf from "@tensorflow/tfjs";

/** tfjs-webgpu's backend, reached through the members this module uses. */
export interface WebgpuBackend {
  device: GPUDevice;
  queue: GPUQueue;
  tensorMap: { get(dataId: object): { resource: GPUBuffer | null } };
  commandEncoder: GPUCommandEncoder | null;
  computePassEncoder: GPUComputePassEncoder | null;
  commandQueueOwnedIds: WeakSet<object>;
  uniformPendingDisposal: GPUBuffer[];
  dispatchCountInPass: number;
  bufferManager: { acquireBuffer(size: number, usage: number): GPUBuffer };
  makeTensorInfo(shape: number[], dtype: "float32"): tf.TensorInfo;
  uploadToGPU(dataId: object): void;
  ensureCommandEncoderReady(): void;
  endComputePassEncoder(): void;
  submitQueue(): void;
  recordAndSubmit(...args: unknown[]): void;
  /** Set while tfjs profiles (`tf.profile`, `tf.time`): each program's GPU time is collected into it. */
  activeTimers: Array<{ name: string; query: Promise<number> }> | null;
  supportTimestampQuery: boolean;
  querySet: GPUQuerySet | null;
  querySetCount: number;
  getQueryTime(): Promise<number>;
}

/** Threads per workgroup of the one-dimensional kernels. */
export const WORKGROUP = 64;
/** The most workgroups along one dimension (WebGPU's default limit). */
const MAX_GROUPS = 65535;

const pipelines = new WeakMap<GPUDevice, Map<string, GPUComputePipeline>>();
let dispatches = 0;
let tfjsCounted = false;

/**
 * GPU dispatches recorded since the process started: this module's and tfjs-webgpu's own (counted from the
 * first {@linkcode countTfjsDispatches} on). The bench reads it around a training step.
 */
export function dispatchCount(): number {
  return dispatches;
}

/** Makes {@linkcode dispatchCount} include the dispatches of tfjs-webgpu's own programs (idempotent). */
export function countTfjsDispatches(backend: WebgpuBackend): void {
  if (tfjsCounted) return;
  tfjsCounted = true;
  const proto = Object.getPrototypeOf(backend) as WebgpuBackend;
  const original = proto.recordAndSubmit;
  proto.recordAndSubmit = function (this: WebgpuBackend, ...args: unknown[]) {
    dispatches++;
    return original.apply(this, args);
  };
}

function pipeline(device: GPUDevice, code: string): GPUComputePipeline {
  let cache = pipelines.get(device);
  if (!cache) pipelines.set(device, cache = new Map());
  let p = cache.get(code);
  if (!p) {
    const module = device.createShaderModule({ code });
    p = device.createComputePipeline({ layout: "auto", compute: { module, entryPoint: "main" } });
    cache.set(code, p);
  }
  return p;
}

/** The GPU buffer of a tensor (uploaded first when it still lives on the CPU side). */
function bufferOf(backend: WebgpuBackend, t: tf.TensorInfo): GPUBuffer {
  backend.uploadToGPU(t.dataId);
  return backend.tensorMap.get(t.dataId).resource!;
}

/** A new float32 output tensor with its GPU buffer allocated. */
export function newOutput(backend: WebgpuBackend, shape: number[]): tf.TensorInfo {
  const out = backend.makeTensorInfo(shape, "float32");
  backend.uploadToGPU(out.dataId);
  return out;
}

/** Workgroup counts covering `threads` threads of {@linkcode WORKGROUP} each, and the x stride in threads. */
export function grid(threads: number): { groups: [number, number]; strideX: number } {
  const total = Math.max(1, Math.ceil(threads / WORKGROUP));
  const x = Math.min(total, MAX_GROUPS);
  return { groups: [x, Math.ceil(total / x)], strideX: x * WORKGROUP };
}

/** One launch of a kernel. */
export interface Launch {
  /** The complete WGSL module (entry point `main`). */
  code: string;
  outs: tf.TensorInfo[];
  /** Present inputs, bound after the outputs in this order. */
  ins: tf.TensorInfo[];
  /** Run-time parameters as 32-bit words (see {@linkcode uniformWords}); none: no uniform binding. */
  params?: Uint32Array;
  groups: [number, number];
}

/** Records a launch into tfjs-webgpu's current compute pass (submitting as tfjs does every k dispatches). */
export function launch(backend: WebgpuBackend, l: Launch): void {
  const device = backend.device;
  const buffers = [...l.outs, ...l.ins].map((t) => bufferOf(backend, t));
  const entries: GPUBindGroupEntry[] = buffers.map((buffer, i) => ({ binding: i, resource: { buffer } }));
  if (l.params && l.params.length > 0) {
    const size = Math.ceil(l.params.length / 4) * 16;
    const u = backend.bufferManager.acquireBuffer(size, GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST);
    const words = new Uint32Array(size / 4);
    words.set(l.params);
    backend.queue.writeBuffer(u, 0, words);
    backend.uniformPendingDisposal.push(u);
    entries.push({ binding: buffers.length, resource: { buffer: u } });
  }
  // Tensors used by recorded work must outlive it: tfjs defers their disposal to the next submission.
  for (const t of [...l.outs, ...l.ins]) backend.commandQueueOwnedIds.add(t.dataId);
  const p = pipeline(device, l.code);
  const bindGroup = device.createBindGroup({ layout: p.getBindGroupLayout(0), entries });
  backend.ensureCommandEncoderReady();
  // Under tfjs's profiler, time the dispatch in a pass of its own, as tfjs times its programs.
  const timed = backend.activeTimers != null && backend.supportTimestampQuery;
  if (timed) {
    backend.endComputePassEncoder();
    backend.querySet ??= device.createQuerySet({ type: "timestamp", count: backend.querySetCount });
    backend.computePassEncoder = backend.commandEncoder!.beginComputePass({
      timestampWrites: { querySet: backend.querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 },
    });
  } else if (!backend.computePassEncoder) {
    backend.computePassEncoder = backend.commandEncoder!.beginComputePass({});
  }
  backend.computePassEncoder!.setPipeline(p);
  backend.computePassEncoder!.setBindGroup(0, bindGroup);
  backend.computePassEncoder!.dispatchWorkgroups(l.groups[0], l.groups[1]);
  dispatches++;
  backend.dispatchCountInPass++;
  if (timed) {
    backend.endComputePassEncoder();
    backend.activeTimers!.push({ name: "redraw", query: backend.getQueryTime() });
  } else if (backend.dispatchCountInPass >= submitBatch()) {
    backend.endComputePassEncoder();
    backend.submitQueue();
  }
}

let batchSize = 15;
/** tfjs's WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE, read once per process by {@linkcode setSubmitBatch}. */
function submitBatch(): number {
  return batchSize;
}

/** Keeps this module's submission cadence equal to tfjs's flag. */
export function setSubmitBatch(n: number): void {
  batchSize = n;
}

/**
 * The uniform words of a launch: integers as u32, floats as their float32 bits (NaN stays NaN). Read in WGSL
 * with {@linkcode paramU} and {@linkcode paramF}.
 */
export function uniformWords(values: Array<{ u: number } | { f: number }>): Uint32Array {
  const words = new Uint32Array(values.length);
  const f = new Float32Array(words.buffer);
  values.forEach((v, i) => {
    if ("u" in v) words[i] = v.u;
    else f[i] = v.f;
  });
  return words;
}

/** WGSL reading uniform word `i` as u32. */
export function paramU(i: number): string {
  return `P[${i >> 2}][${i & 3}]`;
}

/** WGSL reading uniform word `i` as f32. */
export function paramF(i: number): string {
  return `bitcast<f32>(P[${i >> 2}][${i & 3}])`;
}

/**
 * The binding declarations of a kernel: `outs` read-write, then `ins` read-only, then (with `nParams` > 0)
 * the uniform block `P`.
 */
export function header(outs: string[], ins: string[], nParams = 0): string {
  const lines: string[] = [];
  let b = 0;
  for (const o of outs) lines.push(`@group(0) @binding(${b++}) var<storage, read_write> ${o}: array<f32>;`);
  for (const n of ins) lines.push(`@group(0) @binding(${b++}) var<storage, read> ${n}: array<f32>;`);
  if (nParams > 0) {
    lines.push(`@group(0) @binding(${b++}) var<uniform> P: array<vec4<u32>, ${Math.ceil(nParams / 4)}>;`);
  }
  return lines.join("\n") + "\n";
}

/** The entry point of a one-dimensional kernel: `i` is the flat thread index. */
export function entry(strideX: number): string {
  return `@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${strideX}u;
`;
}

/** A WGSL f32 literal of a JS number (finite). */
export function f32(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`A WGSL constant must be finite, got ${x}`);
  const s = String(x);
  return /[.eE]/.test(s) ? `f32(${s})` : `${s}.0`;
}

// deno-lint-ignore no-explicit-any
export type Attrs = Record<string, any>;

/** A fused kernel on webgpu: inputs (`null` where absent) and attributes as the JS kernel takes them. */
export type GpuKernel = (
  backend: WebgpuBackend,
  ins: Array<tf.TensorInfo | null>,
  attrs: Attrs,
) => tf.TensorInfo[];

/** The last dimension of a shape (a 1-D tensor is one row). */
export function lastDim(s: number[]): number {
  return s[s.length - 1];
}

/** Elements of a shape. */
export function size(s: number[]): number {
  return s.reduce((a, b) => a * b, 1);
}

/** The most storage buffers one dispatch may bind on this device. */
export function maxBindings(backend: WebgpuBackend): number {
  return backend.device.limits.maxStorageBuffersPerShaderStage;
}
