/**
 * Fused DRAW kernels written in plain JavaScript over float32 buffers, registered as tfjs kernels for the
 * wasm and cpu backends (on wasm they read and write the wasm heap in place: no copies).
 *
 * Why: a tfjs-wasm kernel call costs ~5-20 us of dispatch and its elementwise kernels are scalar, so the
 * per-glimpse attention and LSTM arithmetic of DRAW, written with tf ops, cost ~750 kernel calls per glimpse.
 * Each kernel here replaces 10-60 of them (see bench/README.md). Large matrix products stay on tfjs
 * (XNNPACK); sigmoids stay on tfjs too (XNNPACK's vectorised sigmoid is ~6x faster than JS `Math.exp`).
 * All arithmetic is done in float64 and rounded once to float32 on store, so results agree with the tf-op
 * formulation to float32 rounding. Every kernel is deterministic (fixed loop order).
 *
 * Layout conventions (see lib/draw/fused.ts): images are `[batch, B*A]` row-major; an attention "aux" row
 * holds `(gX, gY, sigma2, delta, gamma)` followed by `Fx [N, A]` and `Fy [N, B]`.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { gridOffsets, strideScale } from "./attention.ts";

type F32 = Float32Array;
// deno-lint-ignore no-explicit-any
type Attrs = Record<string, any>;

/** A kernel: output shapes from input shapes, and the computation on flat float32 buffers. */
interface JsKernel {
  outShapes(inShapes: number[][], attrs: Attrs): number[][];
  run(ins: Array<F32 | null>, outs: F32[], inShapes: number[][], attrs: Attrs): void;
}

const KERNELS = new Map<string, JsKernel>();
const registered = new Set<string>();
/** Backends with a JS kernel path: their tensors live in JS-reachable memory. */
export const FUSED_BACKENDS: readonly string[] = ["wasm", "cpu"];

// deno-lint-ignore no-explicit-any
type AnyBackend = any;

function wasmBuffer(backend: AnyBackend): ArrayBufferLike {
  // The threaded build's shared memory can grow without Module.HEAPU8 being refreshed yet.
  return backend.wasm.wasmMemory?.buffer ?? backend.wasm.HEAPU8.buffer;
}

function wasmKernelFunc(name: string) {
  const k = KERNELS.get(name)!;
  return (
    { inputs, attrs, backend }: { inputs: tf.NamedTensorInfoMap; attrs: Attrs; backend: AnyBackend },
  ) => {
    const n = attrs.nIn as number;
    const infos: Array<tf.TensorInfo | null> = [];
    for (let i = 0; i < n; i++) infos.push(inputs[`i${i}`] ?? null);
    const inShapes = infos.map((t) => (t ? t.shape : []));
    const shapes = k.outShapes(inShapes, attrs);
    // Allocate every output before taking any view: an allocation may grow (and move) the heap.
    const outs = shapes.map((s) => backend.makeOutput(s, "float32"));
    const buf = wasmBuffer(backend);
    const view = (t: tf.TensorInfo) =>
      new Float32Array(buf, backend.dataIdMap.get(t.dataId).memoryOffset, tf.util.sizeFromShape(t.shape));
    k.run(infos.map((t) => (t ? view(t) : null)), outs.map(view), inShapes, attrs);
    return outs;
  };
}

function cpuKernelFunc(name: string) {
  const k = KERNELS.get(name)!;
  return (
    { inputs, attrs, backend }: { inputs: tf.NamedTensorInfoMap; attrs: Attrs; backend: AnyBackend },
  ) => {
    const n = attrs.nIn as number;
    const infos: Array<tf.TensorInfo | null> = [];
    for (let i = 0; i < n; i++) infos.push(inputs[`i${i}`] ?? null);
    const inShapes = infos.map((t) => (t ? t.shape : []));
    const shapes = k.outShapes(inShapes, attrs);
    const outs = shapes.map((s) => new Float32Array(tf.util.sizeFromShape(s)));
    k.run(infos.map((t) => (t ? backend.readSync(t.dataId) as F32 : null)), outs, inShapes, attrs);
    return outs.map((o, i) => backend.makeTensorInfo(shapes[i], "float32", o));
  };
}

function define(name: string, k: JsKernel): void {
  KERNELS.set(name, k);
}

/** Registers every fused kernel for the wasm and cpu backends (idempotent). */
export function registerFusedKernels(): void {
  for (const name of KERNELS.keys()) {
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

/** True when the active backend runs the fused kernels. */
export function fusedKernelsAvailable(): boolean {
  return FUSED_BACKENDS.includes(tf.getBackend());
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

/**
 * One block copy: `out[o][dr0 + r, dc0 + c] (= or +=) scale * in[i][r0 + r*rStep, c0 + c]` (or the
 * transposed source when `transpose`); `i = -1` fills with `scale`.
 */
export interface BlockOp {
  out: number;
  in: number;
  r0?: number;
  c0?: number;
  rows: number;
  cols: number;
  dr0?: number;
  dc0?: number;
  scale?: number;
  add?: boolean;
  transpose?: boolean;
  /** Source row step; 0 repeats one source row (tiling). */
  rStep?: number;
}

define("RedrawBlocks", {
  outShapes: (_s, a) => a.outShapes,
  run(ins, outs, inShapes, a) {
    for (const o of outs) o.fill(0);
    const outShapes = a.outShapes as number[][];
    for (const op of a.ops as BlockOp[]) {
      const dst = outs[op.out];
      const dw = outShapes[op.out][outShapes[op.out].length - 1]; // rows of a 1-D output: just row 0
      const scale = op.scale ?? 1;
      const dr0 = op.dr0 ?? 0, dc0 = op.dc0 ?? 0;
      if (op.in < 0) {
        for (let r = 0; r < op.rows; r++) {
          const d = (dr0 + r) * dw + dc0;
          for (let c = 0; c < op.cols; c++) dst[d + c] = op.add ? dst[d + c] + scale : scale;
        }
        continue;
      }
      const src = ins[op.in]!;
      const sw = inShapes[op.in].length > 1
        ? inShapes[op.in][inShapes[op.in].length - 1]
        : inShapes[op.in][0];
      const r0 = op.r0 ?? 0, c0 = op.c0 ?? 0, rStep = op.rStep ?? 1;
      for (let r = 0; r < op.rows; r++) {
        const d = (dr0 + r) * dw + dc0;
        if (op.transpose) {
          // dst[r, c] = src[c0 + c, r0 + r]
          for (let c = 0; c < op.cols; c++) {
            const v = scale * src[(c0 + c) * sw + r0 + r];
            dst[d + c] = op.add ? dst[d + c] + v : v;
          }
        } else {
          const s = (r0 + r * rStep) * sw + c0;
          if (scale === 1 && !op.add) dst.set(src.subarray(s, s + op.cols), d);
          else {for (let c = 0; c < op.cols; c++) {
              dst[d + c] = op.add ? dst[d + c] + scale * src[s + c] : scale * src[s + c];
            }}
        }
      }
    }
  },
});

/** Copies blocks of the inputs into new zero-filled outputs (see {@linkcode BlockOp}). */
export function blocks(inputs: tf.Tensor[], outShapes: number[][], ops: BlockOp[]): tf.Tensor[] {
  return call("RedrawBlocks", inputs, { outShapes, ops });
}

/**
 * Sums column blocks of several `[batch, *]` inputs: `out[n, j] = sum_k in_k[n, off_k + j]` for j < width,
 * or their column sums over the batch (`colSum`, shape `[1, width]`; the gradient of a tiled row).
 */
define("RedrawSumCols", {
  outShapes: (s, a) => [a.colSum ? [1, a.width] : [s.find((x) => x.length)![0], a.width]],
  run(ins, [out], inShapes, a) {
    const width = a.width as number;
    const offs = a.offsets as number[];
    const rows = inShapes.find((x) => x.length)![0];
    if (a.colSum) {
      const acc = new Float64Array(width);
      for (let k = 0; k < ins.length; k++) {
        const src = ins[k];
        if (!src) continue;
        const w = inShapes[k][1];
        for (let n = 0; n < rows; n++) {
          const o = n * w + offs[k];
          for (let j = 0; j < width; j++) acc[j] += src[o + j];
        }
      }
      out.set(acc);
      return;
    }
    out.fill(0);
    for (let k = 0; k < ins.length; k++) {
      const src = ins[k];
      if (!src) continue;
      const w = inShapes[k][1];
      for (let n = 0; n < rows; n++) {
        const o = n * w + offs[k], d = n * width;
        for (let j = 0; j < width; j++) out[d + j] += src[o + j];
      }
    }
  },
});

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

/** `[T*batch, n]` stacked per-step rows summed over the T steps: `[batch, n]`. */
define("RedrawSumSteps", {
  outShapes: (s, a) => [[s[0][0] / a.T, s[0][1]]],
  run([x], [out], s, a) {
    const T = a.T as number;
    const size = out.length;
    const acc = new Float64Array(size);
    for (let t = 0; t < T; t++) {
      const o = t * size;
      for (let i = 0; i < size; i++) acc[i] += x![o + i];
    }
    out.set(acc);
    void s;
  },
});

/** Sums a `[T*batch, n]` stack of per-step rows over the steps. */
export function sumSteps(stacked: tf.Tensor2D, T: number): tf.Tensor2D {
  return call("RedrawSumSteps", [stacked], { T })[0] as tf.Tensor2D;
}

// ---------------------------------------------------------------------------------------------------------
// LSTM cell (eqs 5 and 7), forward in two halves around tfjs sigmoids (XNNPACK's), backward in one pass.
// tanh comes from the sigmoid without a transcendental: with s = sigmoid(v), tanh(v) = 2 sigmoid(2v) - 1 and
// sigmoid(2v) = s^2 / (s^2 + (1 - s)^2), so tanh(v) = (2s - 1) / (s^2 + (1 - s)^2).

/** tanh(v) from s = sigmoid(v) (see above). */
function tanhFromSigmoid(s: number): number {
  const r = 1 - s;
  return (s - r) / (s * s + r * r);
}

define("RedrawLstmCell", {
  outShapes: (s) => [[s[0][0], s[0][1] / 4]],
  run([sg, cp], [c], s) {
    const [b, H4] = s[0];
    const H = H4 / 4;
    for (let n = 0; n < b; n++) {
      const g = n * H4, o = n * H;
      for (let j = 0; j < H; j++) {
        const tg = tanhFromSigmoid(sg![g + 3 * H + j]);
        c[o + j] = sg![g + H + j] * (cp ? cp[o + j] : 0) + sg![g + j] * tg; // c = f c_prev + i tanh(g)
      }
    }
  },
});

define("RedrawLstmHidden", {
  outShapes: (s) => [[s[0][0], s[0][1] / 4]],
  run([sg, sc], [h], s) {
    const [b, H4] = s[0];
    const H = H4 / 4;
    for (let n = 0; n < b; n++) {
      const g = n * H4, o = n * H;
      for (let j = 0; j < H; j++) h[o + j] = sg![g + 2 * H + j] * tanhFromSigmoid(sc![o + j]); // h = o tanh(c)
    }
  },
});

/**
 * LSTM backward: gradients of the gate pre-activations `[batch, 4H]` and of the previous cell state.
 * `dh` is the sum of column blocks of up to three gradient sources (attrs.offsets).
 */
define("RedrawLstmBackward", {
  outShapes: (s) => [[s[0][0], s[0][1]], [s[0][0], s[0][1] / 4]],
  run([sg, sc, cpv, dcNext, d0, d1, d2], [dG, dcp], s, a) {
    const [b, H4] = s[0];
    const H = H4 / 4;
    const offs = a.offsets as number[];
    const w0 = s[4].length ? s[4][1] : 0, w1 = s[5].length ? s[5][1] : 0, w2 = s[6].length ? s[6][1] : 0;
    for (let n = 0; n < b; n++) {
      const g = n * H4, o = n * H;
      const o0 = n * w0 + offs[0], o1 = n * w1 + offs[1], o2 = n * w2 + offs[2];
      for (let j = 0; j < H; j++) {
        let dh = 0;
        if (d0) dh += d0[o0 + j];
        if (d1) dh += d1[o1 + j];
        if (d2) dh += d2[o2 + j];
        const i = sg![g + j], f = sg![g + H + j], og = sg![g + 2 * H + j];
        const tg = tanhFromSigmoid(sg![g + 3 * H + j]);
        const tc = tanhFromSigmoid(sc![o + j]);
        const cp = cpv ? cpv[o + j] : 0;
        const dc = (dcNext ? dcNext[o + j] : 0) + dh * og * (1 - tc * tc);
        dG[g + j] = dc * tg * i * (1 - i);
        dG[g + H + j] = dc * cp * f * (1 - f);
        dG[g + 2 * H + j] = dh * tc * og * (1 - og);
        dG[g + 3 * H + j] = dc * i * (1 - tg * tg);
        dcp[o + j] = dc * f;
      }
    }
  },
});

/** c = f c_prev + i tanh(g) from the gate sigmoids `sg` `[batch, 4H]` (order i, f, o, g) and c_prev (null: 0). */
export function lstmCell(sg: tf.Tensor2D, cPrev: tf.Tensor2D | null): tf.Tensor2D {
  return call("RedrawLstmCell", [sg, cPrev])[0] as tf.Tensor2D;
}

/** h = o tanh(c) from the gate sigmoids and sigmoid(c). */
export function lstmHidden(sg: tf.Tensor2D, sc: tf.Tensor2D): tf.Tensor2D {
  return call("RedrawLstmHidden", [sg, sc])[0] as tf.Tensor2D;
}

/** LSTM backward; `dh` = sum of the `[tensor, columnOffset]` sources (at most three). */
export function lstmBackward(
  sg: tf.Tensor2D,
  sc: tf.Tensor2D,
  cPrev: tf.Tensor2D | null,
  dcNext: tf.Tensor2D | null,
  dh: Array<[tf.Tensor2D | null, number]>,
): [tf.Tensor2D, tf.Tensor2D] {
  const src = [...dh, [null, 0], [null, 0], [null, 0]].slice(0, 3) as Array<[tf.Tensor2D | null, number]>;
  const out = call("RedrawLstmBackward", [sg, sc, cPrev, dcNext, ...src.map((x) => x[0])], {
    offsets: src.map((x) => x[1]),
  });
  return out as [tf.Tensor2D, tf.Tensor2D];
}

// ---------------------------------------------------------------------------------------------------------
// Posterior sample and KL (eqs 1-2, 6, 11).

define("RedrawPosterior", {
  outShapes: (s, a) => {
    const b = s[0][0];
    const out = [[b, a.nZ + a.Hd], [b]];
    if (a.logWeights) out.push([b]);
    return out;
  },
  run([pp, eps, hDec], outs, s, a) {
    const [xdec, kl, lr] = outs;
    const nZ = a.nZ as number, Hd = a.Hd as number;
    const [b, P] = s[0];
    const w = nZ + Hd;
    for (let n = 0; n < b; n++) {
      let k = 0, l = 0;
      for (let j = 0; j < nZ; j++) {
        const mu = pp![n * P + j], ls = pp![n * P + nZ + j];
        const sigma = Math.exp(ls);
        const e = eps![a.epsOffset + n * nZ + j];
        const z = Math.fround(mu + sigma * e); //                           eq 6, reparameterised
        xdec[n * w + j] = z;
        k += mu * mu + sigma * sigma - 2 * ls - 1; //                        eq 11 summand
        if (lr) l += (e * e - z * z) * 0.5 + ls; //                         log N(z; 0, 1) - log N(z; mu, sigma)
      }
      kl[n] = 0.5 * k;
      if (lr) lr[n] = l;
      xdec.set(hDec!.subarray(n * Hd, (n + 1) * Hd), n * w + nZ); //         [z, h^dec_{t-1}]
    }
  },
});

define("RedrawPosteriorBackward", {
  outShapes: (s) => [[s[1][0], s[1][1]]],
  run([dXdec, pp, eps], [dpp], s, a) {
    const nZ = a.nZ as number, g = a.scale as number;
    const [b, wd] = s[0];
    const P = s[1][1];
    for (let n = 0; n < b; n++) {
      for (let j = 0; j < nZ; j++) {
        const mu = pp![n * P + j], ls = pp![n * P + nZ + j];
        const sigma = Math.exp(ls);
        const dz = dXdec![n * wd + j];
        dpp[n * P + j] = mu * g + dz;
        dpp[n * P + nZ + j] = (sigma * sigma - 1) * g + dz * sigma * eps![a.epsOffset + n * nZ + j];
      }
      for (let j = 2 * nZ; j < P; j++) dpp[n * P + j] = 0; // padding columns
    }
  },
});

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

define("RedrawBernoulli", {
  outShapes: (s) => [[s[0][0]], s[0]],
  run([x, c], [loss, dc], s, a) {
    const [b, D] = s[0];
    const g = a.scale as number;
    for (let n = 0; n < b; n++) {
      let l = 0;
      for (let k = n * D; k < (n + 1) * D; k++) {
        const v = c![k], xv = x![k];
        const e = Math.exp(-Math.abs(v));
        l += Math.max(v, 0) - xv * v + Math.log1p(e);
        const sig = v >= 0 ? 1 / (1 + e) : e / (1 + e);
        dc[k] = (sig - xv) * g;
      }
      loss[n] = l;
    }
  },
});

/** L^x per example (eq 9) from the canvas logits, and `scale * dL^x/dc`. */
export function bernoulli(x: tf.Tensor2D, canvas: tf.Tensor2D, scale: number): [tf.Tensor1D, tf.Tensor2D] {
  return call("RedrawBernoulli", [x, canvas], { scale }) as [tf.Tensor1D, tf.Tensor2D];
}

// ---------------------------------------------------------------------------------------------------------
// Gaussian attention (eqs 19-29).

/** Constants of one head: grid offsets, stride scale, aux row length (5 parameters, Fx, Fy). */
interface Head {
  N: number;
  A: number;
  B: number;
  offsets: Float64Array;
  stride: number;
  aux: number;
}

function head(N: number, A: number, B: number): Head {
  return {
    N,
    A,
    B,
    offsets: Float64Array.from(gridOffsets(N)),
    stride: strideScale(N, A, B),
    aux: 5 + N * (A + B),
  };
}

/**
 * Eqs 21-26 for one image: parameters from the raw head output `raw[ro..ro+5]`, then the filterbanks
 * `F = [Fx (N x A), Fy (N x B)]` (float64 scratch), also stored with the parameters in `aux[ao..]` as
 * (gX, gY, sigma2, delta, gamma, Fx, Fy). Each filter row is a softmax over pixels of -(a - mu)^2 / (2 sigma^2),
 * i.e. the normalised Gaussian without 0/0.
 * @returns gamma
 */
function filterbankRow(h: Head, raw: F32, ro: number, aux: F32, ao: number, F: Float64Array): number {
  const { N, A, B, offsets } = h;
  const gX = ((A + 1) / 2) * (raw[ro] + 1); //                                     eq 22
  const gY = ((B + 1) / 2) * (raw[ro + 1] + 1); //                                 eq 23
  const sigma2 = Math.exp(raw[ro + 2]);
  const delta = Math.exp(raw[ro + 3]) * h.stride; //                               eq 24
  const gamma = Math.exp(raw[ro + 4]);
  aux[ao] = gX;
  aux[ao + 1] = gY;
  aux[ao + 2] = sigma2;
  aux[ao + 3] = delta;
  aux[ao + 4] = gamma;
  const inv = 1 / (2 * sigma2);
  let row = 0;
  for (let axis = 0; axis < 2; axis++) {
    const size = axis === 0 ? A : B;
    const g = axis === 0 ? gX : gY;
    for (let i = 0; i < N; i++, row += size) {
      const mu = g + offsets[i] * delta; //                                        eqs 19-20
      let max = -Infinity;
      for (let a = 0; a < size; a++) {
        const d = a + 1 - mu;
        const e = -d * d * inv;
        F[row + a] = e;
        if (e > max) max = e;
      }
      let sum = 0;
      for (let a = 0; a < size; a++) {
        const v = Math.exp(F[row + a] - max);
        F[row + a] = v;
        sum += v;
      }
      const norm = 1 / sum;
      for (let a = 0; a < size; a++) F[row + a] *= norm; //                       eqs 25-26
    }
  }
  for (let k = 0; k < row; k++) aux[ao + 5 + k] = F[k];
  return gamma;
}

/** Loads the filterbanks of one image from its aux row into float64 scratch. @returns gamma */
function loadFilterbank(h: Head, aux: F32, ao: number, F: Float64Array): number {
  const n = h.N * (h.A + h.B);
  for (let k = 0; k < n; k++) F[k] = aux[ao + 5 + k];
  return aux[ao + 4];
}

/**
 * Backward of {@linkcode filterbankRow}: from dF = [dFx, dFy] (float64) and d gamma to the raw head output
 * gradient, written at `draw[ro..ro+5]`.
 */
function filterbankBackward(
  h: Head,
  aux: F32,
  ao: number,
  F: Float64Array,
  dF: Float64Array,
  dGamma: number,
  draw: F32,
  ro: number,
): void {
  const { N, A, B, offsets } = h;
  const gX = aux[ao], gY = aux[ao + 1], sigma2 = aux[ao + 2], delta = aux[ao + 3], gamma = aux[ao + 4];
  let dgX = 0, dgY = 0, dSigma2 = 0, dDelta = 0;
  let row = 0;
  for (let axis = 0; axis < 2; axis++) {
    const size = axis === 0 ? A : B;
    const g = axis === 0 ? gX : gY;
    for (let i = 0; i < N; i++, row += size) {
      const mu = g + offsets[i] * delta;
      let dot = 0;
      for (let a = 0; a < size; a++) dot += F[row + a] * dF[row + a];
      let dMu = 0, dS = 0;
      for (let a = 0; a < size; a++) {
        const de = F[row + a] * (dF[row + a] - dot); //                           softmax backward
        const d = a + 1 - mu;
        dMu += de * d;
        dS += de * d * d;
      }
      dMu /= sigma2; //                                                            de/dmu = (a - mu) / sigma2
      dSigma2 += dS / (2 * sigma2 * sigma2); //                                    de/dsigma2 = (a - mu)^2 / (2 sigma2^2)
      if (axis === 0) dgX += dMu;
      else dgY += dMu;
      dDelta += offsets[i] * dMu;
    }
  }
  draw[ro] = dgX * ((A + 1) / 2);
  draw[ro + 1] = dgY * ((B + 1) / 2);
  draw[ro + 2] = dSigma2 * sigma2; //                                              d log sigma2
  draw[ro + 3] = dDelta * delta; //                                                d log delta~
  draw[ro + 4] = dGamma * gamma; //                                                d log gamma
}

/** Float64 scratch for one image's attention products. */
class Scratch {
  F: Float64Array;
  dF: Float64Array;
  img: Float64Array;
  img2: Float64Array;
  U: Float64Array;
  M: Float64Array;
  MB: Float64Array;
  T: Float64Array;
  W: Float64Array;
  acc: Float64Array;
  constructor(h: Head) {
    const { N, A, B } = h;
    this.F = new Float64Array(N * (A + B));
    this.dF = new Float64Array(N * (A + B));
    this.img = new Float64Array(A * B);
    this.img2 = new Float64Array(A * B);
    this.U = new Float64Array(N * A);
    this.M = new Float64Array(N * A);
    this.MB = new Float64Array(N * B);
    this.T = new Float64Array(B * N);
    this.W = new Float64Array(N * N);
    this.acc = new Float64Array(A * B);
  }
}

/** out[i, c] = sum_y L[i, y] R[y, c] for L `[n, m]` at lo, R `[m, k]` at ro (float64, row-major). */
function mmNN(
  L: Float64Array,
  lo: number,
  R: Float64Array,
  ro: number,
  n: number,
  m: number,
  k: number,
  out: Float64Array,
) {
  for (let i = 0; i < n; i++) {
    const oi = i * k;
    for (let c = 0; c < k; c++) out[oi + c] = 0;
    for (let y = 0; y < m; y++) {
      const f = L[lo + i * m + y];
      if (f === 0) continue;
      const ry = ro + y * k;
      for (let c = 0; c < k; c++) out[oi + c] += f * R[ry + c];
    }
  }
}

/** out[i, j] = sum_c L[i, c] R[j, c] for L `[n, k]` at lo, R `[m, k]` at ro. */
function mmNT(
  L: Float64Array,
  lo: number,
  R: Float64Array,
  ro: number,
  n: number,
  m: number,
  k: number,
  out: Float64Array,
) {
  for (let i = 0; i < n; i++) {
    const li = lo + i * k;
    for (let j = 0; j < m; j++) {
      const rj = ro + j * k;
      let acc = 0;
      for (let c = 0; c < k; c++) acc += L[li + c] * R[rj + c];
      out[i * m + j] = acc;
    }
  }
}

/**
 * Read (eq 27) for a batch: `[gamma Fy x Fx^T, gamma Fy x-hat Fx^T]` with x-hat = x - s, followed by copies of
 * h^dec_{t-1} and h^enc_{t-1}: the encoder input row `[r, h^dec_{t-1}, h^enc_{t-1}]`.
 */
define("RedrawRead", {
  outShapes: (s, a) => [[s[0][0], 2 * a.N * a.N + s[3][1] + s[4][1]], [s[0][0], head(a.N, a.A, a.B).aux]],
  run([x, sv, q, hDec, hEnc], [xenc, aux], sh, a) {
    const h = head(a.N, a.A, a.B);
    const { N, A, B } = h;
    const b = sh[0][0], D = A * B, wq = sh[2][1], hd = sh[3][1], he = sh[4][1];
    const w = 2 * N * N + hd + he;
    const S = new Scratch(h);
    const { F, img, img2, T, W } = S;
    for (let n = 0; n < b; n++) {
      const gamma = filterbankRow(h, q!, n * wq + a.rawOffset, aux, n * h.aux, F);
      for (let p = 0; p < D; p++) {
        const v = x![n * D + p];
        img[p] = v;
        img2[p] = v - sv![n * D + p];
      }
      for (let k = 0; k < 2; k++) {
        mmNT(k === 0 ? img : img2, 0, F, 0, B, N, A, T); //                       T = img Fx^T   [B, N]
        mmNN(F, N * A, T, 0, N, B, N, W); //                                       W = Fy T       [N, N]
        const out = n * w + k * N * N;
        for (let q2 = 0; q2 < N * N; q2++) xenc[out + q2] = gamma * W[q2];
      }
      xenc.set(hDec!.subarray(n * hd, (n + 1) * hd), n * w + 2 * N * N);
      xenc.set(hEnc!.subarray(n * he, (n + 1) * he), n * w + 2 * N * N + hd);
    }
  },
});

/**
 * Read backward: from dr (first 2N^2 columns of `dXenc`) to d canvas_{t-1} = d canvas_t - d x-hat * s (1 - s)
 * (x-hat = x - sigmoid(canvas)) and the raw read-head gradient `[batch, 5]`.
 */
define("RedrawReadBackward", {
  outShapes: (s) => [s[4], [s[4][0], 5]],
  run([dXenc, aux, x, sv, dcvs, xenc], [dcvsPrev, draw], sh, a) {
    const h = head(a.N, a.A, a.B);
    const { N, A, B } = h;
    const b = sh[4][0], D = A * B, wd = sh[0][1], wx = sh[5][1];
    const S = new Scratch(h);
    const { F, dF, img, img2, U, M, MB, acc } = S;
    const dr = new Float64Array(N * N);
    for (let n = 0; n < b; n++) {
      const ao = n * h.aux;
      const gamma = loadFilterbank(h, aux!, ao, F);
      for (let p = 0; p < D; p++) {
        const v = x![n * D + p];
        img[p] = v;
        img2[p] = v - sv![n * D + p];
      }
      dF.fill(0);
      let dGamma = 0;
      for (let k = 0; k < 2; k++) {
        const im = k === 0 ? img : img2;
        for (let q2 = 0; q2 < N * N; q2++) {
          dr[q2] = gamma * dXenc![n * wd + k * N * N + q2];
          dGamma += dXenc![n * wd + k * N * N + q2] * xenc![n * wx + k * N * N + q2]; // r = gamma g
        }
        mmNN(F, N * A, im, 0, N, B, A, U); //                                     U = Fy img     [N, A]
        mmNN(dr, 0, F, 0, N, N, A, M); //                                          M = gamma dr Fx [N, A]
        // dFx[j, c] += sum_i gamma dr[i, j] U[i, c]
        for (let i = 0; i < N; i++) {
          for (let j = 0; j < N; j++) {
            const f = dr[i * N + j];
            for (let c = 0; c < A; c++) dF[j * A + c] += f * U[i * A + c];
          }
        }
        mmNT(M, 0, im, 0, N, B, A, MB); //                                         dFy += M img^T [N, B]
        for (let q2 = 0; q2 < N * B; q2++) dF[N * A + q2] += MB[q2];
        if (k === 1) {
          // d x-hat[y, c] = sum_i Fy[i, y] M[i, c]
          for (let y = 0; y < B; y++) {
            const oy = y * A;
            for (let c = 0; c < A; c++) acc[oy + c] = 0;
            for (let i = 0; i < N; i++) {
              const f = F[N * A + i * B + y];
              if (f === 0) continue;
              for (let c = 0; c < A; c++) acc[oy + c] += f * M[i * A + c];
            }
          }
        }
      }
      filterbankBackward(h, aux!, ao, F, dF, dGamma / gamma, draw, n * 5);
      for (let p = 0; p < D; p++) {
        const s = sv![n * D + p];
        dcvsPrev[n * D + p] = dcvs![n * D + p] - acc[p] * s * (1 - s);
      }
    }
  },
});

/** Eq 29 for a batch: canvas + (1/gamma) Fy^T w Fx, with w and the raw write head read from columns of Q. */
define("RedrawWrite", {
  outShapes: (s, a) => [s[0], [s[0][0], head(a.N, a.A, a.B).aux]],
  run([cvs, q], [out, aux], sh, a) {
    const h = head(a.N, a.A, a.B);
    const { N, A, B } = h;
    const b = sh[0][0], D = A * B, wq = sh[1][1];
    const S = new Scratch(h);
    const { F, U, W, acc } = S;
    for (let n = 0; n < b; n++) {
      const gamma = filterbankRow(h, q!, n * wq + N * N, aux, n * h.aux, F);
      for (let q2 = 0; q2 < N * N; q2++) W[q2] = q![n * wq + q2];
      mmNN(W, 0, F, 0, N, N, A, U); //                                             U = w Fx      [N, A]
      // V[y, c] = sum_i Fy[i, y] U[i, c]; canvas += V / gamma
      for (let y = 0; y < B; y++) {
        const oy = y * A;
        for (let c = 0; c < A; c++) acc[oy + c] = 0;
        for (let i = 0; i < N; i++) {
          const f = F[N * A + i * B + y];
          if (f === 0) continue;
          for (let c = 0; c < A; c++) acc[oy + c] += f * U[i * A + c];
        }
      }
      for (let p = 0; p < D; p++) out[n * D + p] = cvs![n * D + p] + acc[p] / gamma;
    }
  },
});

/**
 * Write backward: from d canvas_t to dQ_t = [dw, d raw write head, d raw read head of step t+1, 0...]; the
 * read block is copied from `drawNext` (the read head of step t+1 reads h^dec_t through the same Q_t).
 */
define("RedrawWriteBackward", {
  outShapes: (s) => [s[2]],
  run([dcvs, aux, q, drawNext], [dq], sh, a) {
    const h = head(a.N, a.A, a.B);
    const { N, A, B } = h;
    const b = sh[2][0], D = A * B, wq = sh[2][1];
    const S = new Scratch(h);
    const { F, dF, U, M, W, acc } = S;
    const dw = new Float64Array(N * N);
    for (let n = 0; n < b; n++) {
      const o = n * wq;
      for (let k = 0; k < wq; k++) dq[o + k] = 0;
      if (drawNext) { for (let k = 0; k < 5; k++) dq[o + N * N + 5 + k] = drawNext[n * 5 + k]; }
      if (!dcvs) continue;
      const ao = n * h.aux;
      const gamma = loadFilterbank(h, aux!, ao, F);
      const ig = 1 / gamma;
      for (let p = 0; p < D; p++) acc[p] = dcvs[n * D + p] * ig; //               dV = d canvas / gamma
      for (let q2 = 0; q2 < N * N; q2++) W[q2] = q![o + q2];
      mmNN(F, N * A, acc, 0, N, B, A, M); //                                       P = Fy dV     [N, A]
      mmNN(W, 0, F, 0, N, N, A, U); //                                             Wx = w Fx     [N, A]
      mmNT(M, 0, F, 0, N, N, A, dw); //                                            dw = P Fx^T   [N, N]
      let wdw = 0;
      for (let q2 = 0; q2 < N * N; q2++) {
        dq[o + q2] = dw[q2];
        wdw += W[q2] * dw[q2];
      }
      // dFx[j, c] = sum_i w[i, j] P[i, c]
      for (let j = 0; j < N; j++) {
        for (let c = 0; c < A; c++) dF[j * A + c] = 0;
        for (let i = 0; i < N; i++) {
          const f = W[i * N + j];
          for (let c = 0; c < A; c++) dF[j * A + c] += f * M[i * A + c];
        }
      }
      // dFy[i, y] = sum_c Wx[i, c] dV[y, c]
      for (let i = 0; i < N; i++) {
        for (let y = 0; y < B; y++) {
          let s2 = 0;
          for (let c = 0; c < A; c++) s2 += U[i * A + c] * acc[y * A + c];
          dF[N * A + i * B + y] = s2;
        }
      }
      filterbankBackward(h, aux!, ao, F, dF, -wdw * ig, dq, o + N * N); //          d gamma = -sum w dw / gamma
    }
  },
});

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

define("RedrawNoAttentionInput", {
  outShapes: (s) => [[s[0][0], s[0][1] + s[1][1] + s[2][1]]],
  run([sv, hDec, hEnc], [out], sh) {
    const [b, D] = sh[0];
    const hd = sh[1][1], he = sh[2][1];
    const w = D + hd + he;
    for (let n = 0; n < b; n++) {
      out.set(sv!.subarray(n * D, (n + 1) * D), n * w);
      out.set(hDec!.subarray(n * hd, (n + 1) * hd), n * w + D);
      out.set(hEnc!.subarray(n * he, (n + 1) * he), n * w + D + hd);
    }
  },
});

define("RedrawNoAttentionBackward", {
  outShapes: (s) => [s[1]],
  run([dXenc, dcvs, sv], [out], sh) {
    const [b, D] = sh[1];
    const wd = sh[0][1];
    for (let n = 0; n < b; n++) {
      for (let p = 0; p < D; p++) {
        const s = sv![n * D + p];
        out[n * D + p] = dcvs![n * D + p] + dXenc![n * wd + p] * s * (1 - s);
      }
    }
  },
});

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

define("RedrawSumSquares", {
  outShapes: () => [[1]],
  run(ins, [out]) {
    let acc = 0;
    for (const g of ins) {
      if (!g) continue;
      for (let i = 0; i < g.length; i++) acc += g[i] * g[i];
    }
    out[0] = acc;
  },
});

define("RedrawAdam", {
  outShapes: (s) => [s[0], s[0], s[0]],
  run([p, m, v, g], [p2, m2, v2], _s, a) {
    const { beta1, beta2, epsilon } = a;
    const lr1 = a.lr / a.c1, invC2 = 1 / a.c2, scale = a.scale as number;
    const n = p!.length;
    for (let i = 0; i < n; i++) {
      const gi = g![i] * scale;
      const mi = beta1 * m![i] + (1 - beta1) * gi;
      const vi = beta2 * v![i] + (1 - beta2) * gi * gi;
      m2[i] = mi;
      v2[i] = vi;
      p2[i] = p![i] - (lr1 * mi) / (Math.sqrt(vi * invC2) + epsilon);
    }
  },
});

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
