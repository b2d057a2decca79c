/**
 * Fused DRAW kernels, registered as tfjs kernels for the wasm and cpu backends, and the functions that call
 * them. Their arithmetic is in lib/kernels/reference.ts (plain JS over float32 buffers); on wasm they read and
 * write the wasm heap in place, with no copies.
 *
 * Why: a tfjs-wasm kernel call costs ~5-20 us of dispatch and its elementwise kernels are scalar, so the
 * per-glimpse attention and LSTM arithmetic of DRAW, written with tf ops, cost ~750 kernel calls per glimpse.
 * Each kernel here replaces 10-60 of them (see bench/README.md). Matrix products and sigmoids are not fused
 * kernels: on wasm they run on the kernel engine's SIMD C (lib/kernels/wasm/ops.ts), on cpu on tfjs.
 * All arithmetic is done in float64 and rounded once to float32 on store, so results agree with the tf-op
 * formulation to float32 rounding. Every kernel is deterministic (fixed loop order).
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type Attrs, type BlockOp, type JsKernel, KERNEL_DEFS, runKernel } from "./reference.ts";
import { wasmAdam } from "./wasm/adam.ts";
import { wasmRead, wasmReadBackward, wasmWrite, wasmWriteBackward } from "./wasm/attention.ts";
import { implsDisabled, type WasmImpl } from "./wasm/impl.ts";
import {
  wasmLstmBackward,
  wasmLstmCell,
  wasmLstmHidden,
  wasmNoAttentionBackward,
  wasmNoAttentionInput,
  wasmPosterior,
  wasmPosteriorBackward,
  wasmStack,
} from "./wasm/lstm.ts";
import { wasmBernoulli, wasmBlocks, wasmSumCols, wasmSumSquares, wasmSumSteps } from "./wasm/misc.ts";
import { registerWebgpuKernels, webgpuKernelsUsable } from "./webgpu/mod.ts";

export type { BlockOp };

type F32 = Float32Array;

/** A fused kernel's two versions: the JS reference (cpu backend) and its C twin (wasm backend). */
export interface FusedKernel {
  reference: JsKernel;
  wasm: WasmImpl;
}

const twin = (name: string, wasm: WasmImpl): FusedKernel => ({ reference: KERNEL_DEFS[name], wasm });

/**
 * Every fused kernel by its tfjs kernel name, the JS reference beside its C twin (lib/kernels/wasm/*.ts,
 * each running the function of lib/kernels/wasm/src/*.c of the same name).
 */
export const FUSED_KERNELS: Readonly<Record<string, FusedKernel>> = Object.freeze({
  RedrawBlocks: twin("RedrawBlocks", wasmBlocks),
  RedrawSumCols: twin("RedrawSumCols", wasmSumCols),
  RedrawSumSteps: twin("RedrawSumSteps", wasmSumSteps),
  RedrawStack: twin("RedrawStack", wasmStack),
  RedrawLstmCell: twin("RedrawLstmCell", wasmLstmCell),
  RedrawLstmHidden: twin("RedrawLstmHidden", wasmLstmHidden),
  RedrawLstmBackward: twin("RedrawLstmBackward", wasmLstmBackward),
  RedrawPosterior: twin("RedrawPosterior", wasmPosterior),
  RedrawPosteriorBackward: twin("RedrawPosteriorBackward", wasmPosteriorBackward),
  RedrawBernoulli: twin("RedrawBernoulli", wasmBernoulli),
  RedrawRead: twin("RedrawRead", wasmRead),
  RedrawReadBackward: twin("RedrawReadBackward", wasmReadBackward),
  RedrawWrite: twin("RedrawWrite", wasmWrite),
  RedrawWriteBackward: twin("RedrawWriteBackward", wasmWriteBackward),
  RedrawNoAttentionInput: twin("RedrawNoAttentionInput", wasmNoAttentionInput),
  RedrawNoAttentionBackward: twin("RedrawNoAttentionBackward", wasmNoAttentionBackward),
  RedrawSumSquares: twin("RedrawSumSquares", wasmSumSquares),
  RedrawAdam: twin("RedrawAdam", wasmAdam),
});

const registered = new Set<string>();
/** Backends with a JS kernel path: their tensors live in JS-reachable memory. */
export const FUSED_BACKENDS: readonly string[] = ["wasm", "cpu"];

// deno-lint-ignore no-explicit-any
type AnyBackend = any;

function wasmBuffer(backend: AnyBackend): ArrayBufferLike {
  // The threaded build's shared memory can grow without Module.HEAPU8 being refreshed yet.
  return backend.wasm.wasmMemory?.buffer ?? backend.wasm.HEAPU8.buffer;
}

/** A fused kernel's inputs (`i0`, `i1`, ...; absent ones null), their shapes and its output shapes. */
function kernelIo(k: JsKernel, inputs: tf.NamedTensorInfoMap, attrs: Attrs) {
  const infos: Array<tf.TensorInfo | null> = [];
  for (let i = 0; i < (attrs.nIn as number); i++) infos.push(inputs[`i${i}`] ?? null);
  const inShapes = infos.map((t) => (t ? t.shape : []));
  return { infos, inShapes, shapes: k.outShapes(inShapes, attrs) };
}

function wasmKernelFunc(name: string) {
  const k = FUSED_KERNELS[name].reference;
  const impl = implsDisabled() ? undefined : FUSED_KERNELS[name].wasm;
  return (
    { inputs, attrs, backend }: { inputs: tf.NamedTensorInfoMap; attrs: Attrs; backend: AnyBackend },
  ) => {
    const { infos, inShapes, shapes } = kernelIo(k, inputs, attrs);
    // Allocate every output before taking any view: an allocation may grow (and move) the heap.
    const outs = shapes.map((s) => backend.makeOutput(s, "float32"));
    if (impl) {
      const at = (t: tf.TensorInfo) => backend.dataIdMap.get(t.dataId).memoryOffset as number;
      impl({ ins: infos.map((t) => (t ? at(t) : null)), outs: outs.map(at), inShapes, attrs });
      return outs;
    }
    const buf = wasmBuffer(backend);
    const view = (t: tf.TensorInfo) =>
      new Float32Array(buf, backend.dataIdMap.get(t.dataId).memoryOffset, tf.util.sizeFromShape(t.shape));
    runKernel(k, infos.map((t) => (t ? view(t) : null)), outs.map(view), inShapes, attrs);
    return outs;
  };
}

function cpuKernelFunc(name: string) {
  const k = FUSED_KERNELS[name].reference;
  return (
    { inputs, attrs, backend }: { inputs: tf.NamedTensorInfoMap; attrs: Attrs; backend: AnyBackend },
  ) => {
    const { infos, inShapes, shapes } = kernelIo(k, inputs, attrs);
    const outs = shapes.map((s) => new Float32Array(tf.util.sizeFromShape(s)));
    runKernel(k, infos.map((t) => (t ? backend.readSync(t.dataId) as F32 : null)), outs, inShapes, attrs);
    return outs.map((o, i) => backend.makeTensorInfo(shapes[i], "float32", o));
  };
}

/** Registers every fused kernel for the wasm and cpu backends, and on webgpu their WGSL forms (idempotent). */
export function registerFusedKernels(): void {
  if (tf.getBackend() === "webgpu") registerWebgpuKernels();
  for (const name of Object.keys(FUSED_KERNELS)) {
    for (const backendName of FUSED_BACKENDS) {
      const key = `${backendName}/${name}`;
      if (registered.has(key)) continue;
      registered.add(key);
      tf.registerKernel({
        kernelName: name,
        backendName,
        kernelFunc: (backendName === "wasm" ? wasmKernelFunc(name) : cpuKernelFunc(name)) as tf.KernelFunc,
      });
    }
  }
}

/** True when the active backend runs the fused kernels (on webgpu: lib/kernels/webgpu). */
export function fusedKernelsAvailable(): boolean {
  return FUSED_BACKENDS.includes(tf.getBackend()) || webgpuKernelsUsable();
}

/** Runs a fused kernel; `null` inputs are passed as absent. Always returns the list of outputs. */
function call(name: string, ins: Array<tf.Tensor | null>, attrs: Attrs = {}): tf.Tensor[] {
  const inputs: Record<string, tf.Tensor> = {};
  ins.forEach((t, i) => {
    if (t) inputs[`i${i}`] = t;
  });
  const out = tf.engine().runKernel(name, inputs, { ...attrs, nIn: ins.length }) as tf.Tensor | tf.Tensor[];
  return Array.isArray(out) ? out : [out];
}

// ---------------------------------------------------------------------------------------------------------
// Block copies: assembling weight matrices and splitting gradients (one kernel instead of slices/concats).

/** Copies blocks of the inputs into new zero-filled outputs (see {@linkcode BlockOp}). */
export function blocks(inputs: tf.Tensor[], outShapes: number[][], ops: BlockOp[]): tf.Tensor[] {
  return call("RedrawBlocks", inputs, { outShapes, ops });
}

/** See the RedrawSumCols kernel: sums `[tensor, columnOffset]` sources, per row or over the batch. */
export function sumCols(
  sources: Array<[tf.Tensor | null, number]>,
  width: number,
  colSum = false,
): tf.Tensor2D {
  return call("RedrawSumCols", sources.map((s) => s[0]), {
    width,
    offsets: sources.map((s) => s[1]),
    colSum,
  })[0] as tf.Tensor2D;
}

/** Sums a `[T*batch, n]` stack of per-step rows over the steps. */
export function sumSteps(stacked: tf.Tensor2D, T: number): tf.Tensor2D {
  return call("RedrawSumSteps", [stacked], { T })[0] as tf.Tensor2D;
}

/** `[T*b, n]` (or transposed `[n, T*b]`) from T tensors `[b, n]`. */
export function stack(ts: tf.Tensor2D[], transposed = false): tf.Tensor2D {
  return call("RedrawStack", ts, { transposed })[0] as tf.Tensor2D;
}

// ---------------------------------------------------------------------------------------------------------
// LSTM cell (eqs 5 and 7), forward in two halves around the gate sigmoids (the engine's SIMD sigmoid on wasm,
// tfjs's on cpu), backward in one pass.
// tanh comes from the sigmoid without a transcendental: with s = sigmoid(v), tanh(v) = 2 sigmoid(2v) - 1 and
// sigmoid(2v) = s^2 / (s^2 + (1 - s)^2), so tanh(v) = (2s - 1) / (s^2 + (1 - s)^2).

/** c = f c_prev + i tanh(g) from the gate sigmoids `sg` `[batch, 4H]` (order i, f, o, g) and c_prev (null: 0). */
export function lstmCell(sg: tf.Tensor2D, cPrev: tf.Tensor2D | null): tf.Tensor2D {
  return call("RedrawLstmCell", [sg, cPrev])[0] as tf.Tensor2D;
}

/** The whole cell forward in one kernel, `[sg, c, sc, h]` from the gate pre-activations (webgpu only). */
export function lstmForwardOne(gates: tf.Tensor2D, cPrev: tf.Tensor2D | null): tf.Tensor2D[] {
  return call("RedrawLstmForward", [gates, cPrev]) as tf.Tensor2D[];
}

/** h = o tanh(c) from the gate sigmoids and sigmoid(c). */
export function lstmHidden(sg: tf.Tensor2D, sc: tf.Tensor2D): tf.Tensor2D {
  return call("RedrawLstmHidden", [sg, sc])[0] as tf.Tensor2D;
}

/**
 * LSTM backward; `dh` = sum of the `[tensor, columnOffset]` sources (at most three). Returns
 * `[dG, dc_prev, dG summed over the batch]`.
 */
export function lstmBackward(
  sg: tf.Tensor2D,
  sc: tf.Tensor2D,
  cPrev: tf.Tensor2D | null,
  dcNext: tf.Tensor2D | null,
  dh: Array<[tf.Tensor2D | null, number]>,
): tf.Tensor2D[] {
  const src = [...dh, [null, 0], [null, 0], [null, 0]].slice(0, 3) as Array<[tf.Tensor2D | null, number]>;
  const out = call("RedrawLstmBackward", [sg, sc, cPrev, dcNext, ...src.map((x) => x[0])], {
    offsets: src.map((x) => x[1]),
  });
  return out as tf.Tensor2D[];
}

// ---------------------------------------------------------------------------------------------------------
// Posterior sample and KL (eqs 1-2, 6, 11).

/**
 * From `[mu, log sigma, padding]` (`[batch, >= 2 nZ]`, eqs 1-2): `[z, h^dec_{t-1}]`, the per-example KL of the step, and
 * (with `logWeights`) log p(z) - log q(z|x). `eps` is read from element `epsOffset` on (a step of `[T, batch, nZ]`).
 */
export function posterior(
  pp: tf.Tensor2D,
  eps: tf.Tensor,
  hDec: tf.Tensor2D,
  nZ: number,
  logWeights: boolean,
  epsOffset = 0,
): tf.Tensor[] {
  return call("RedrawPosterior", [pp, eps, hDec], { nZ, Hd: hDec.shape[1], logWeights, epsOffset });
}

/** Gradient of `[mu, log sigma]`: from dz (first nZ columns of `dXdec`) and `scale` times the KL. */
export function posteriorBackward(
  dXdec: tf.Tensor2D,
  pp: tf.Tensor2D,
  eps: tf.Tensor,
  nZ: number,
  scale: number,
  epsOffset = 0,
): tf.Tensor2D {
  return call("RedrawPosteriorBackward", [dXdec, pp, eps], { nZ, scale, epsOffset })[0] as tf.Tensor2D;
}

// ---------------------------------------------------------------------------------------------------------
// Bernoulli likelihood (eq 9) and its gradient.

/** L^x per example (eq 9) from the canvas logits, and `scale * dL^x/dc`. */
export function bernoulli(x: tf.Tensor2D, canvas: tf.Tensor2D, scale: number): [tf.Tensor1D, tf.Tensor2D] {
  return call("RedrawBernoulli", [x, canvas], { scale }) as [tf.Tensor1D, tf.Tensor2D];
}

// ---------------------------------------------------------------------------------------------------------
// Gaussian attention (eqs 19-29).

/**
 * Read: returns the encoder input `[r, h^dec_{t-1}, h^enc_{t-1}]` and the attention aux rows.
 * `rawOffset` is the column of the read head's raw output in `q`.
 */
export function fusedRead(
  x: tf.Tensor2D,
  s: tf.Tensor2D,
  q: tf.Tensor2D,
  hDec: tf.Tensor2D,
  hEnc: tf.Tensor2D,
  N: number,
  A: number,
  B: number,
  rawOffset: number,
): [tf.Tensor2D, tf.Tensor2D] {
  return call("RedrawRead", [x, s, q, hDec, hEnc], { N, A, B, rawOffset }) as [tf.Tensor2D, tf.Tensor2D];
}

/** Read backward: `[d canvas_{t-1}, d raw read head]`. */
export function fusedReadBackward(
  dXenc: tf.Tensor2D,
  aux: tf.Tensor2D,
  x: tf.Tensor2D,
  s: tf.Tensor2D,
  dcvs: tf.Tensor2D,
  xenc: tf.Tensor2D,
  N: number,
  A: number,
  B: number,
): [tf.Tensor2D, tf.Tensor2D] {
  return call("RedrawReadBackward", [dXenc, aux, x, s, dcvs, xenc], { N, A, B }) as [
    tf.Tensor2D,
    tf.Tensor2D,
  ];
}

/** Write: `[canvas_t, aux]` from canvas_{t-1} and Q_t = [w, raw write head, ...]. */
export function fusedWrite(
  cvs: tf.Tensor2D,
  q: tf.Tensor2D,
  N: number,
  A: number,
  B: number,
): [tf.Tensor2D, tf.Tensor2D] {
  return call("RedrawWrite", [cvs, q], { N, A, B }) as [tf.Tensor2D, tf.Tensor2D];
}

/** Write backward: dQ_t (see the kernel's doc). `dcvs` null gives only the read-head block. */
export function fusedWriteBackward(
  dcvs: tf.Tensor2D | null,
  aux: tf.Tensor2D | null,
  q: tf.Tensor2D,
  drawNext: tf.Tensor2D | null,
  N: number,
  A: number,
  B: number,
): tf.Tensor2D {
  return call("RedrawWriteBackward", [dcvs, aux, q, drawNext], { N, A, B })[0] as tf.Tensor2D;
}

// ---------------------------------------------------------------------------------------------------------
// Without attention (eqs 17-18): the encoder reads [x, x-hat]; x's product is hoisted out of the loop, so
// the per-step input is [s, h^dec, h^enc] with s = sigmoid(canvas).

/** `[s, h^dec, h^enc]` for the attention-free encoder. */
export function noAttentionInput(s: tf.Tensor2D, hDec: tf.Tensor2D, hEnc: tf.Tensor2D): tf.Tensor2D {
  return call("RedrawNoAttentionInput", [s, hDec, hEnc])[0] as tf.Tensor2D;
}

/** d canvas_{t-1} = d canvas_t + ds * s (1 - s), ds = first D columns of `dXenc`. */
export function noAttentionBackward(dXenc: tf.Tensor2D, dcvs: tf.Tensor2D, s: tf.Tensor2D): tf.Tensor2D {
  return call("RedrawNoAttentionBackward", [dXenc, dcvs, s])[0] as tf.Tensor2D;
}

// ---------------------------------------------------------------------------------------------------------
// Optimiser: the sum of squared gradients (for the global norm) and Adam's update in one pass per variable.

/** Sum of squares of all elements of the tensors, float64-accumulated, as a `[1]` tensor. */
export function sumSquares(ts: tf.Tensor[]): tf.Tensor1D {
  return call("RedrawSumSquares", ts)[0] as tf.Tensor1D;
}

/**
 * One Adam update of a variable (PyTorch's form, see lib/train/adam.ts) with gradient `scale * g`:
 * returns the new `[p, m, v]`.
 */
export function adamUpdate(
  p: tf.Tensor,
  m: tf.Tensor,
  v: tf.Tensor,
  g: tf.Tensor,
  h: { lr: number; beta1: number; beta2: number; epsilon: number; c1: number; c2: number; scale: number },
): [tf.Tensor, tf.Tensor, tf.Tensor] {
  return call("RedrawAdam", [p, m, v, g], h) as [tf.Tensor, tf.Tensor, tf.Tensor];
}
