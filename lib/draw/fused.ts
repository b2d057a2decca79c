/**
 * The DRAW loss (eqs 3-12) and its gradients computed with a hand-written backward pass, for the wasm, cpu
 * and webgpu backends (on webgpu the kernels are WGSL: lib/kernels/webgpu). Same model and numbers as {@linkcode drawLoss} (to float32 rounding; lib/draw/fused_test.ts
 * compares both), with ~25 kernel calls per glimpse instead of ~750:
 *
 * - the per-glimpse arithmetic runs in fused kernels (lib/kernels/dispatch.ts: C twins on wasm, JS on cpu);
 * - each layer is one matrix product with its bias fused in, on the variables themselves (on wasm the kernel
 *   engine's own SIMD product, lib/kernels/wasm/ops.ts; on cpu tfjs's `_FusedMatMul`): encoder
 *   `[r, h^dec_{t-1}, h^enc_{t-1}] enc/W` (the JS read kernel writes that row directly), posterior, decoder
 *   `[z, h^dec_{t-1}] dec/W`, and every head reading h^dec_t at once: `h^dec_t WQ` with
 *   WQ = [write | write attention | read attention of step t+1];
 * - weight gradients are batched over time (as cuDNN does for LSTMs): the per-step inputs and output
 *   gradients are stacked and each weight gradient is one `[K, T*batch] @ [T*batch, N]` product instead of T
 *   small ones;
 * - without attention, x's share of the encoder product (x @ (W_x + W_x-hat), x-hat = x - sigmoid(c)) is
 *   computed once instead of once per glimpse.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { DrawConfig } from "../config/model.ts";
import type { DrawLoss, drawLoss } from "./model.ts";
import type { DrawParams } from "./params.ts";
import {
  bernoulli,
  blocks,
  fusedKernelsAvailable,
  fusedRead,
  fusedReadBackward,
  fusedWrite,
  fusedWriteBackward,
  lstmBackward,
  lstmCell,
  lstmForwardOne,
  lstmHidden,
  noAttentionBackward,
  noAttentionInput,
  posterior,
  posteriorBackward,
  registerFusedKernels,
  stack,
  sumCols,
  sumSteps,
} from "../kernels/dispatch.ts";
import { gemm, packB, type Packed, sigmoid as wasmSigmoid } from "../kernels/wasm/ops.ts";
import { wasmEngine } from "../kernels/wasm/engine.ts";
import { lstmForward as wasmLstmForward } from "../kernels/wasm/lstm.ts";
import { implsDisabled } from "../kernels/wasm/impl.ts";

export { fusedKernelsAvailable, registerFusedKernels };

/** Sizes of the layers. */
interface Dims {
  b: number;
  D: number;
  He: number;
  Hd: number;
  nZ: number;
  /** Columns of the encoder input before h^dec: 2 N^2 glimpse values, or D (s = sigmoid(canvas)). */
  R: number;
  /** Columns of Q = h^dec WQ + bQ (with attention: padded with zero columns to a multiple of 8). */
  Wq: number;
  /** Column of the read head's raw output in Q (attention only). */
  readRaw: number;
}

function roundUp(n: number, m: number): number {
  return Math.ceil(n / m) * m;
}

function dims(cfg: DrawConfig, b: number): Dims {
  const D = cfg.A * cfg.B;
  const Nw2 = cfg.writeN * cfg.writeN;
  return {
    b,
    D,
    He: cfg.encSize,
    Hd: cfg.decSize,
    nZ: cfg.nZ,
    R: cfg.attention ? 2 * cfg.readN * cfg.readN : D,
    // A multiple of 8: the engine's product works in 8-column panels (and tfjs-wasm's XNNPACK product, used
    // before it, was up to 10x slower for some odd widths: 64x257x35 vs 64x257x40, measured).
    Wq: cfg.attention ? roundUp(Nw2 + 10, 8) : D,
    readRaw: Nw2 + 5,
  };
}

/**
 * The right operand of a product, prepared once per call for all T glimpses: on wasm, packed for the kernel
 * engine's product (lib/kernels/wasm/src/gemm.c); elsewhere the matrix itself (transposed when asked).
 */
type Operand = { packed: Packed; mat?: undefined } | { packed?: undefined; mat: tf.Tensor2D };

/** Prepares `W` (or its transpose) as a product operand. */
function operand(W: tf.Tensor2D, transpose = false): Operand {
  if (wasmEngine()) return { packed: packB(W, transpose) };
  return { mat: transpose ? tf.transpose(W) as tf.Tensor2D : W };
}

/** x W (+ b) (+ addend) for an operand from {@linkcode operand}. */
function mul(
  x: tf.Tensor2D,
  W: Operand,
  b: tf.Tensor1D | null = null,
  addend: tf.Tensor2D | null = null,
): tf.Tensor2D {
  if (W.packed) return gemm(x, W.packed, b, addend);
  let y = b ? dense(x, W.mat, b) : tf.matMul(x, W.mat) as tf.Tensor2D;
  if (addend) y = tf.add(y, addend) as tf.Tensor2D;
  return y;
}

/**
 * Glimpse 1's layer product x W + b (+ addend) when x's columns [k, K) are the same in every row: h^enc_0
 * and h^dec_0 are learned vectors, tiled over the batch (eqs 4, 7 at t = 1). Their share, one row times
 * W[k:], is computed once and added to the bias, so only columns [0, k) are multiplied per example. Packed operands
 * only (wasm); the same numbers as {@linkcode mul} to float32 rounding (the sum is split in two).
 */
function mulSharedTail(
  x: tf.Tensor2D,
  W: Operand & { packed: Packed },
  k: number,
  b: tf.Tensor1D | null,
  addend: tf.Tensor2D | null,
): tf.Tensor2D {
  const K = x.shape[1], N = W.packed.n;
  const row = tf.slice(x, [0, 0], [1, K]) as tf.Tensor2D; //                   [1, K]
  const shared = tf.reshape(gemm(row, W.packed, null, null, { k0: k, k1: K }), [N]); // [N]
  // The shared row enters as the product's bias, which is broadcast over the rows for free.
  const bias = b ? tf.add(b, shared) as tf.Tensor1D : shared as tf.Tensor1D;
  const out = gemm(x, W.packed, bias, addend, { k0: 0, k1: k });
  tf.dispose([row, shared, bias]);
  return out;
}

/**
 * Glimpse 1's input gradient dX = dG W^T for such a product: per example only for columns [0, k) (to the
 * end of their last 8-column panel), and for the shared columns summed over the batch, (sum_b dG) W^T, which
 * is all that the learned h_0 vectors need. `shared` holds columns [c0, K) of that `[1, K]` row.
 */
function inputGradSharedTail(
  dG: tf.Tensor2D,
  dGsum: tf.Tensor2D,
  WT: Operand & { packed: Packed },
  k: number,
): { perExample: tf.Tensor2D; shared: tf.Tensor2D; c0: number } {
  const K = WT.packed.n, c0 = 8 * Math.floor(k / 8);
  return {
    perExample: gemm(dG, WT.packed, null, null, { col1: Math.min(K, 8 * Math.ceil(k / 8)) }), // [b, >= k]
    shared: gemm(dGsum, WT.packed, null, null, { col0: c0 }), //                               [1, K - c0]
    c0,
  };
}

/** sigmoid(x): on wasm by the kernel engine (all threads), elsewhere tfjs's. */
function sigmoid(x: tf.Tensor2D): tf.Tensor2D {
  return wasmEngine() ? wasmSigmoid(x) : tf.sigmoid(x) as tf.Tensor2D;
}

/** A B, with B used once. */
function matMul(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (!wasmEngine()) return tf.matMul(a, b) as tf.Tensor2D;
  const p = packB(b);
  const out = gemm(a, p);
  p.data.dispose();
  return out;
}

/** Layer matrices and biases: the variables themselves where their layout already fits. */
interface Weights {
  /** Encoder: rows match the per-step input `[r, h^dec, h^enc]` (without attention `[s, h^dec, h^enc]`). */
  WE: tf.Tensor2D;
  /** Encoder bias (without attention it is inside XWb instead). */
  bE: tf.Tensor1D | null;
  /** Without attention: x (W_x + W_x-hat) + b, the share of the encoder gates that does not change with t. */
  XWb: tf.Tensor2D | null;
  WQ: tf.Tensor2D;
  bQ: tf.Tensor1D;
  /** The layer matrices as product operands: encoder, posterior, decoder, heads. */
  E: Operand;
  P: Operand;
  Dc: Operand;
  Q: Operand;
}

/**
 * With attention, only the heads reading h^dec_t are assembled: WQ = [write/W | write/attW | read/attW]
 * (zero-padded). Without attention the encoder's per-step matrix is [-W_x-hat; W_hdec; W_henc] (since
 * x-hat = x - s, the x-hat product splits into a constant x part, hoisted into XWb, and -s W_x-hat).
 */
function assemble(cfg: DrawConfig, p: DrawParams, x: tf.Tensor2D, d: Dims): Weights {
  const { D, He, Hd } = d;
  const v = (k: string) => p[k] as tf.Tensor;
  if (cfg.attention) {
    const Nw2 = cfg.writeN * cfg.writeN;
    const [WQ, bQ] = blocks(
      [v("write/W"), v("write/b"), v("write/attW"), v("write/attB"), v("read/attW"), v("read/attB")],
      [[Hd, d.Wq], [d.Wq]], // a reshaped bias would keep its 2-D data shape, which _FusedMatMul rejects
      [
        { out: 0, in: 0, rows: Hd, cols: Nw2 },
        { out: 1, in: 1, rows: 1, cols: Nw2 },
        { out: 0, in: 2, rows: Hd, cols: 5, dc0: Nw2 },
        { out: 1, in: 3, rows: 1, cols: 5, dc0: Nw2 },
        { out: 0, in: 4, rows: Hd, cols: 5, dc0: Nw2 + 5 },
        { out: 1, in: 5, rows: 1, cols: 5, dc0: Nw2 + 5 },
      ],
    );
    return withOperands(p, {
      WE: p["enc/W"] as tf.Tensor2D,
      bE: p["enc/b"] as tf.Tensor1D,
      XWb: null,
      WQ: WQ as tf.Tensor2D,
      bQ: bQ as tf.Tensor1D,
    });
  }
  // enc/W rows: [x (D), x-hat (D), h^dec, h^enc].
  const [WE, Wsum] = blocks([v("enc/W")], [[D + Hd + He, 4 * He], [D, 4 * He]], [
    { out: 0, in: 0, r0: D, rows: D, cols: 4 * He, scale: -1 },
    { out: 0, in: 0, r0: 2 * D, rows: Hd + He, cols: 4 * He, dr0: D },
    { out: 1, in: 0, rows: D, cols: 4 * He },
    { out: 1, in: 0, r0: D, rows: D, cols: 4 * He, add: true },
  ]);
  return withOperands(p, {
    WE: WE as tf.Tensor2D,
    bE: null,
    XWb: mul(x, operand(Wsum as tf.Tensor2D), p["enc/b"] as tf.Tensor1D),
    WQ: p["write/W"] as tf.Tensor2D,
    bQ: p["write/b"] as tf.Tensor1D,
  });
}

function withOperands(p: DrawParams, w: Omit<Weights, "E" | "P" | "Dc" | "Q">): Weights {
  return {
    ...w,
    E: operand(w.WE),
    P: operand(p["post/W"] as tf.Tensor2D),
    Dc: operand(p["dec/W"] as tf.Tensor2D),
    Q: operand(w.WQ),
  };
}

/** c_0, h^enc_0, h^dec_0 for a batch (the learned initial states, tiled). */
function initialStates(p: DrawParams, d: Dims): tf.Tensor2D[] {
  const { b, D, He, Hd } = d;
  return blocks(
    [p["init/canvas"], p["init/hEnc"], p["init/hDec"]],
    [[b, D], [b, He], [b, Hd]],
    [
      { out: 0, in: 0, rows: b, cols: D, rStep: 0 },
      { out: 1, in: 1, rows: b, cols: He, rStep: 0 },
      { out: 2, in: 2, rows: b, cols: Hd, rStep: 0 },
    ],
  ) as tf.Tensor2D[];
}

/** Everything one glimpse leaves for the backward pass. */
interface Glimpse {
  s: tf.Tensor2D;
  readAux?: tf.Tensor2D;
  xenc: tf.Tensor2D;
  sgE: tf.Tensor2D;
  cE: tf.Tensor2D;
  scE: tf.Tensor2D;
  hEnc: tf.Tensor2D;
  pp: tf.Tensor2D;
  xdec: tf.Tensor2D;
  sgD: tf.Tensor2D;
  cD: tf.Tensor2D;
  scD: tf.Tensor2D;
  hDec: tf.Tensor2D;
  /** Q_t (attention only: without it the write product adds straight into the canvas). */
  q: tf.Tensor2D | null;
  writeAux?: tf.Tensor2D;
  canvas: tf.Tensor2D;
  kl: tf.Tensor1D;
  logRatio?: tf.Tensor1D;
}

/** The recurrent state between glimpses. */
interface State {
  canvas: tf.Tensor2D;
  hEnc: tf.Tensor2D;
  hDec: tf.Tensor2D;
  cE: tf.Tensor2D | null;
  cD: tf.Tensor2D | null;
  /** Q_{t-1} (attention: it holds the read head's raw output for step t). */
  q: tf.Tensor2D | null;
}

/** What every glimpse of one pass reads: the model, its variables and their assembled products, the sizes. */
interface Pass {
  cfg: DrawConfig;
  p: DrawParams;
  w: Weights;
  d: Dims;
  /** The images, `[batch, D]`. */
  x: tf.Tensor2D;
  /** The whole `[T, batch, nZ]` noise; step t's slice is read in place. */
  eps: tf.Tensor3D;
}

const LINEAR = { transposeA: false, transposeB: false, activation: "linear" };

/**
 * x W + b as one tfjs product with fused bias (cpu backend; wasm uses the engine's `gemm`). Runs the
 * `_FusedMatMul` kernel directly: `tf.fused.matMul`
 * wraps it in a custom-gradient op whose bookkeeping costs more than the kernel for these sizes.
 */
function dense(x: tf.Tensor2D, W: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor2D {
  const [m, k] = x.shape, n = W.shape[1];
  const inputs = { a: tf.reshape(x, [1, m, k]), b: tf.reshape(W, [1, k, n]), bias: b };
  const out = tf.engine().runKernel(
    "_FusedMatMul",
    inputs as unknown as tf.NamedTensorMap,
    LINEAR,
  ) as tf.Tensor;
  return tf.reshape(out, [m, n]);
}

/**
 * The LSTM forward from the gate pre-activations: `[sg, c, sc, h]` (gate sigmoids, cell, sigmoid(c), hidden).
 * On wasm one C kernel (the same bits as the four calls; not with REDRAW_WASM_KERNELS=js), elsewhere sigmoid,
 * cell, sigmoid, hidden.
 */
function lstmForward(gates: tf.Tensor2D, cPrev: tf.Tensor2D | null): tf.Tensor2D[] {
  if (wasmEngine() && !implsDisabled()) return wasmLstmForward(gates, cPrev);
  if (tf.getBackend() === "webgpu") return lstmForwardOne(gates, cPrev);
  const sg = sigmoid(gates);
  const c = lstmCell(sg, cPrev);
  const sc = sigmoid(c);
  return [sg, c, sc, lstmHidden(sg, sc)];
}

/** One glimpse, eqs 3-8. */
function glimpse(f: Pass, t: number, prev: State, logWeights: boolean): Glimpse {
  const { cfg, p, w, d, x, eps } = f;
  const s = sigmoid(prev.canvas); //                  eq 3: x-hat = x - s   [batch, D]
  let xenc: tf.Tensor2D, readAux: tf.Tensor2D | undefined;
  if (cfg.attention) {
    [xenc, readAux] = fusedRead(x, s, prev.q!, prev.hDec, prev.hEnc, cfg.readN, cfg.A, cfg.B, d.readRaw); // eq 27
  } else {
    xenc = noAttentionInput(s, prev.hDec, prev.hEnc); //                eq 17 (x's share in XWb)
  }
  const gE = t === 0 && w.E.packed // eq 5                                                     [batch, 4 He]
    ? mulSharedTail(xenc, w.E, d.R, w.bE, w.XWb)
    : mul(xenc, w.E, w.bE, w.XWb);
  // gate sigmoids [batch, 4 He], c^enc_t, sigmoid(c^enc_t), h^enc_t [batch, He]
  const [sgE, cE, scE, hEnc] = lstmForward(gE, prev.cE);
  const pp = mul(hEnc, w.P, p["post/b"] as tf.Tensor1D); //              eqs 1-2: [mu, log sigma]
  const [xdec, kl, logRatio] = posterior(
    pp,
    eps,
    prev.hDec,
    d.nZ,
    logWeights,
    t * d.b * d.nZ,
  ) as tf.Tensor2D[]; // eq 6
  const gD = t === 0 && w.Dc.packed // eq 7                                                    [batch, 4 Hd]
    ? mulSharedTail(xdec, w.Dc, d.nZ, p["dec/b"] as tf.Tensor1D, null)
    : mul(xdec, w.Dc, p["dec/b"] as tf.Tensor1D);
  const [sgD, cD, scD, hDec] = lstmForward(gD, prev.cD); //             h^dec_t            [batch, Hd]
  let q: tf.Tensor2D | null = null, canvas: tf.Tensor2D, writeAux: tf.Tensor2D | undefined;
  if (cfg.attention) {
    q = mul(hDec, w.Q, w.bQ); //                                         eqs 28, 21 heads
    [canvas, writeAux] = fusedWrite(prev.canvas, q, cfg.writeN, cfg.A, cfg.B); // eqs 8, 29
  } else {
    canvas = mul(hDec, w.Q, w.bQ, prev.canvas); //                       eqs 8, 18: c_{t-1} + W(h^dec_t)
  }
  return {
    s,
    readAux,
    xenc,
    sgE,
    cE,
    scE,
    hEnc,
    pp,
    xdec,
    sgD,
    cD,
    scD,
    hDec,
    q,
    writeAux,
    canvas,
    kl: kl as unknown as tf.Tensor1D,
    logRatio: logRatio as unknown as tf.Tensor1D | undefined,
  };
}

function checkBackend(): void {
  if (!fusedKernelsAvailable()) {
    throw new Error(
      `The fused DRAW kernels run on the wasm, cpu and webgpu backends only (active: ${tf.getBackend()})`,
    );
  }
  registerFusedKernels();
}

function initialState(f: Pass): State {
  const [canvas, hEnc, hDec] = initialStates(f.p, f.d);
  return { canvas, hEnc, hDec, cE: null, cD: null, q: f.cfg.attention ? mul(hDec, f.w.Q, f.w.bQ) : null };
}

/**
 * The per-example loss terms of a batch, as {@linkcode drawLoss} (same arguments), computed with the fused
 * kernels and without keeping the recurrence's intermediate tensors. wasm, cpu and webgpu backends.
 */
export const drawLossFused: typeof drawLoss = (cfg, p, x, eps, opts = {}) => {
  checkBackend();
  const d = dims(cfg, x.shape[0]);
  const logWeights = opts.logWeights ?? false;
  return tf.tidy(() => {
    const f: Pass = { cfg, p, w: assemble(cfg, p, x, d), d, x, eps };
    let state = initialState(f);
    const kls: tf.Tensor1D[] = [];
    let logRatio: tf.Tensor1D | undefined;
    for (let t = 0; t < cfg.T; t++) {
      const prev = state;
      const out = tf.tidy(() => {
        const g = glimpse(f, t, prev, logWeights);
        const keep = { canvas: g.canvas, hEnc: g.hEnc, hDec: g.hDec, cE: g.cE, cD: g.cD, q: g.q, kl: g.kl };
        return (g.logRatio
          ? { ...keep, lr: logRatio ? tf.add(logRatio, g.logRatio) : g.logRatio }
          : keep) as unknown as tf.TensorContainerObject;
      }) as unknown as State & { kl: tf.Tensor1D; lr?: tf.Tensor1D };
      tf.dispose(
        [prev.canvas, prev.hEnc, prev.hDec, prev.cE, prev.cD, prev.q].filter((v) => v) as tf.Tensor[],
      );
      if (out.lr) {
        if (logRatio) logRatio.dispose();
        logRatio = out.lr;
      }
      kls.push(out.kl);
      state = out;
    }
    const [lossX] = bernoulli(x, state.canvas, 0); //                     eq 9   [batch]
    const klPerStep = stack(kls.map((k) => tf.reshape(k, [1, d.b]) as tf.Tensor2D), true); // [batch, T]
    return {
      lossX,
      lossZ: tf.sum(klPerStep, 1) as tf.Tensor1D, //                       eq 10  [batch]
      klPerStep,
      logPriorMinusPosterior: logRatio,
    } as unknown as tf.TensorContainerObject;
  }) as unknown as DrawLoss;
};

/** The loss terms and the gradient of mean(L^x + L^z) (eq 12's batch mean) for every variable. */
export interface LossAndGrads {
  loss: DrawLoss;
  /** Gradients keyed like the params, with the params' shapes. */
  grads: Record<string, tf.Tensor>;
}

/**
 * The gradient of a weight used by all T steps, sum_t X_t^T dG_t (X_t `[b, K]`, dG_t `[b, N]`), as one
 * `[K, T*b] @ [T*b, N]` product over the stacked steps (the stacking writes X transposed); `g` is the stack
 * of the dG_t, `[T*b, N]`, which the bias gradients use too.
 */
function weightGrad(xs: tf.Tensor2D[], g: tf.Tensor2D): tf.Tensor2D {
  return matMul(stack(xs, true), g);
}

/** Column sums of a `[rows, n]` matrix as `[n]` (a bias gradient). */
function colSum(m: tf.Tensor2D): tf.Tensor1D {
  return tf.reshape(sumCols([[m, 0]], m.shape[1], true), [m.shape[1]]) as tf.Tensor1D;
}

/** The transposed operands of the backward pass's input-gradient products. */
interface Transposed {
  WET: Operand;
  WQT: Operand;
  WDT: Operand;
  WPT: Operand;
}

/** What every backward step reads: the pass, the scale `g` of the seed gradient and the transposed operands. */
interface BackPass extends Pass {
  g: number;
  wt: Transposed;
}

/** What glimpse t's backward step hands to glimpse t-1's (the gradients flowing back through time). */
interface Carry {
  /** d canvas_t. */
  dcvs: tf.Tensor2D;
  dXenc: tf.Tensor2D | null;
  dXdec: tf.Tensor2D | null;
  dcE: tf.Tensor2D | null;
  dcD: tf.Tensor2D | null;
  /** d of the raw read head in Q_t (attention only). */
  draw: tf.Tensor2D | null;
}

/** The per-step gradients the weight gradients stack over time, and glimpse 1's batch-summed shares. */
interface Backward {
  dGE: tf.Tensor2D[];
  dGD: tf.Tensor2D[];
  sGE: tf.Tensor2D[];
  sGD: tf.Tensor2D[];
  dPP: tf.Tensor2D[];
  dQ: tf.Tensor2D[];
  /** What h^enc_0 and h^dec_0 receive from glimpse 1's products, summed over the batch (packed operands). */
  sharedE: [tf.Tensor2D, number] | null;
  sharedD: [tf.Tensor2D, number] | null;
  /** The carry after glimpse 1: the gradients of the initial state. */
  last: Carry;
}

/** The T glimpses of the forward pass, from the initial state. */
function forwardAll(f: Pass): { init: State; steps: Glimpse[]; last: State } {
  const init = initialState(f);
  const steps: Glimpse[] = [];
  let prev = init;
  for (let t = 0; t < f.cfg.T; t++) {
    const s = glimpse(f, t, prev, false);
    steps.push(s);
    prev = { canvas: s.canvas, hEnc: s.hEnc, hDec: s.hDec, cE: s.cE, cD: s.cD, q: s.q };
  }
  return { init, steps, last: prev };
}

/**
 * Backward through glimpse t: the write, the decoder LSTM (eq 7), the posterior (eqs 6, 11), the encoder
 * LSTM (eq 5) and the read (eq 27, or eq 17 without attention). `g` scales the KL's gradient.
 */
function backwardStep(f: BackPass, s: Glimpse, before: Glimpse | null, next: Carry, t: number) {
  const { cfg, d, x, eps, g, wt } = f;
  const { b, Hd, nZ, R } = d;
  const dq = cfg.attention
    ? fusedWriteBackward(next.dcvs, s.writeAux!, s.q!, next.draw, cfg.writeN, cfg.A, cfg.B) // eqs 29, 21
    : next.dcvs; //                                                                        eq 18
  const dH = mul(dq, wt.WQT); //                                    [batch, Hd]
  const [dgD, dcD, sumD] = lstmBackward(s.sgD, s.scD, before?.cD ?? null, next.dcD, [
    [dH, 0],
    [next.dXdec, nZ],
    [next.dXenc, R],
  ]); //                                                                 eq 7
  // Glimpse 1: h^dec_0's columns are only needed summed over the batch (inputGradSharedTail).
  const firstD = t === 0 && wt.WDT.packed ? inputGradSharedTail(dgD, sumD, wt.WDT, nZ) : null;
  const dXdec = firstD ? firstD.perExample : mul(dgD, wt.WDT); //   [batch, nZ + Hd]
  const dpp = posteriorBackward(dXdec, s.pp, eps, nZ, g, t * b * nZ); //              eqs 6, 11
  const dHe = mul(dpp, wt.WPT); //                                  [batch, He]
  const [dgE, dcE, sumE] = lstmBackward(s.sgE, s.scE, before?.cE ?? null, next.dcE, [
    [dHe, 0],
    [next.dXenc, R + Hd],
  ]); //                                                                 eq 5
  const firstE = t === 0 && wt.WET.packed ? inputGradSharedTail(dgE, sumE, wt.WET, R) : null;
  const dXenc = firstE ? firstE.perExample : mul(dgE, wt.WET); //   [batch, R + Hd + He]
  let dcvs: tf.Tensor2D;
  let draw: tf.Tensor2D | null = null;
  if (cfg.attention) {
    [dcvs, draw] = fusedReadBackward(dXenc, s.readAux!, x, s.s, next.dcvs, s.xenc, cfg.readN, cfg.A, cfg.B); // eq 27
  } else {
    dcvs = noAttentionBackward(dXenc, next.dcvs, s.s); //                                  eq 17
  }
  const carry: Carry = { dcvs, dXenc, dXdec, dcE, dcD, draw };
  const shared = firstE && firstD
    ? {
      sharedE: [firstE.shared, R - firstE.c0] as [tf.Tensor2D, number],
      sharedD: [firstD.shared, nZ - firstD.c0] as [tf.Tensor2D, number],
    }
    : null;
  return { dgE, dgD, sumE, sumD, dpp, dq, carry, shared };
}

/** Backward through time from dL/dc_T: the input gradients of each product use the transposed matrices. */
function backwardAll(f: BackPass, steps: Glimpse[], dcT: tf.Tensor2D): Backward {
  const bw: Backward = {
    dGE: [],
    dGD: [],
    sGE: [],
    sGD: [],
    dPP: [],
    dQ: [],
    sharedE: null,
    sharedD: null,
    last: { dcvs: dcT, dXenc: null, dXdec: null, dcE: null, dcD: null, draw: null },
  };
  for (let t = f.cfg.T - 1; t >= 0; t--) {
    const r = backwardStep(f, steps[t], t > 0 ? steps[t - 1] : null, bw.last, t);
    bw.dGE[t] = r.dgE;
    bw.dGD[t] = r.dgD;
    bw.sGE[t] = r.sumE;
    bw.sGD[t] = r.sumD;
    bw.dPP[t] = r.dpp;
    bw.dQ[t] = r.dq;
    bw.last = r.carry;
    if (r.shared) ({ sharedE: bw.sharedE, sharedD: bw.sharedD } = r.shared);
  }
  return bw;
}

/**
 * The gradients of the learned initial state. h^dec_0 feeds the first decoder and encoder inputs and, with
 * attention, the first read head (via Q_0, whose gradient `dQ0` is returned for the write weights too).
 */
function initialGrads(cfg: DrawConfig, d: Dims, init: State, bw: Backward, WQT: Operand) {
  const { D, He, Hd, nZ, R } = d;
  const [srcE, offE] = bw.sharedE ?? [bw.last.dXenc!, R];
  const [srcD, offD] = bw.sharedD ?? [bw.last.dXdec!, nZ];
  let dhDec0 = sumCols([[srcD, offD], [srcE, offE]], Hd, true);
  let dQ0: tf.Tensor2D | null = null;
  if (cfg.attention) {
    dQ0 = fusedWriteBackward(null, null, init.q!, bw.last.draw, cfg.writeN, cfg.A, cfg.B);
    dhDec0 = tf.add(dhDec0, sumCols([[mul(dQ0, WQT), 0]], Hd, true)) as tf.Tensor2D;
  }
  const grads: Record<string, tf.Tensor> = {
    "init/canvas": sumCols([[bw.last.dcvs, 0]], D, true),
    "init/hEnc": sumCols([[srcE, offE + Hd]], He, true),
    "init/hDec": dhDec0,
  };
  return { grads, dQ0 };
}

/** Weight gradients batched over time: one `[K, T*batch] @ [T*batch, N]` product per layer. */
function weightGrads(
  cfg: DrawConfig,
  d: Dims,
  x: tf.Tensor2D,
  init: State,
  steps: Glimpse[],
  bw: Backward,
  dQ0: tf.Tensor2D | null,
  grads: Record<string, tf.Tensor>,
): void {
  const { D, He, Hd } = d;
  const gP = stack(bw.dPP), gE = stack(bw.dGE);
  const dWE = weightGrad(steps.map((s) => s.xenc), gE);
  grads["dec/W"] = weightGrad(steps.map((s) => s.xdec), stack(bw.dGD));
  grads["dec/b"] = colSum(stack(bw.sGD));
  grads["post/W"] = weightGrad(steps.map((s) => s.hEnc), gP);
  grads["post/b"] = colSum(gP);
  // Q_t = h^dec_t WQ + bQ for t = 1..T; with attention also Q_0, whose gradient is the first read head's.
  const qIn = cfg.attention ? [init.hDec, ...steps.map((s) => s.hDec)] : steps.map((s) => s.hDec);
  const qGrad = cfg.attention ? [dQ0!, ...bw.dQ] : bw.dQ;
  const gQ = stack(qGrad);
  const dWQ = weightGrad(qIn, gQ);
  const dbQ = sumCols([[gQ, 0]], d.Wq, true);
  grads["enc/b"] = colSum(stack(bw.sGE));
  if (cfg.attention) {
    grads["enc/W"] = dWE;
    const Nw2 = cfg.writeN * cfg.writeN;
    const parts = blocks([dWQ, dbQ], [[Hd, Nw2], [1, Nw2], [Hd, 5], [1, 5], [Hd, 5], [1, 5]], [
      { out: 0, in: 0, rows: Hd, cols: Nw2 },
      { out: 1, in: 1, rows: 1, cols: Nw2 },
      { out: 2, in: 0, c0: Nw2, rows: Hd, cols: 5 },
      { out: 3, in: 1, c0: Nw2, rows: 1, cols: 5 },
      { out: 4, in: 0, c0: Nw2 + 5, rows: Hd, cols: 5 },
      { out: 5, in: 1, c0: Nw2 + 5, rows: 1, cols: 5 },
    ]);
    grads["write/W"] = parts[0];
    grads["write/b"] = tf.reshape(parts[1], [Nw2]);
    grads["write/attW"] = parts[2];
    grads["write/attB"] = tf.reshape(parts[3], [5]);
    grads["read/attW"] = parts[4];
    grads["read/attB"] = tf.reshape(parts[5], [5]);
  } else {
    // W_x and W_x-hat both get x^T sum_t dG_t (through XWb); W_x-hat also gets -(s rows of dWE).
    const dWsum = matMul(stack([x], true), sumSteps(gE, cfg.T));
    grads["enc/W"] = blocks([dWsum, dWE], [[2 * D + Hd + He, 4 * He]], [
      { out: 0, in: 0, rows: D, cols: 4 * He },
      { out: 0, in: 0, rows: D, cols: 4 * He, dr0: D },
      { out: 0, in: 1, rows: D, cols: 4 * He, dr0: D, scale: -1, add: true },
      { out: 0, in: 1, r0: D, rows: Hd + He, cols: 4 * He, dr0: 2 * D },
    ])[0];
    grads["write/W"] = dWQ;
    grads["write/b"] = tf.reshape(dbQ, [D]);
  }
}

/**
 * Loss (as {@linkcode drawLoss}) and the gradients of the batch-mean loss mean(L^x + L^z), by a hand-written
 * backward pass through time: the forward glimpses, the backward steps from the last glimpse to the first,
 * the initial state's gradients, then every weight's gradient batched over time. `opts.gradScale`
 * multiplies the seed gradient (NaN makes every gradient NaN, as a NaN loss would). wasm, cpu and webgpu
 * backends.
 */
export function drawLossAndGrads(
  cfg: DrawConfig,
  p: DrawParams,
  x: tf.Tensor2D,
  eps: tf.Tensor3D,
  opts: { gradScale?: number } = {},
): LossAndGrads {
  checkBackend();
  const d = dims(cfg, x.shape[0]);
  const g = (opts.gradScale ?? 1) / d.b; //                                  d mean / d per-example loss
  return tf.tidy(() => {
    const f: Pass = { cfg, p, w: assemble(cfg, p, x, d), d, x, eps };
    const { init, steps, last } = forwardAll(f);
    const [lossX, dcT] = bernoulli(x, last.canvas, g); //                        eq 9 and dL/dc_T
    const klPerStep = stack(steps.map((s) => tf.reshape(s.kl, [1, d.b]) as tf.Tensor2D), true); // [batch, T]
    const wt: Transposed = {
      WET: operand(f.w.WE, true),
      WQT: operand(f.w.WQ, true),
      WDT: operand(p["dec/W"] as tf.Tensor2D, true),
      WPT: operand(p["post/W"] as tf.Tensor2D, true),
    };
    const bw = backwardAll({ ...f, g, wt }, steps, dcT as tf.Tensor2D);
    const { grads, dQ0 } = initialGrads(cfg, d, init, bw, wt.WQT);
    weightGrads(cfg, d, x, init, steps, bw, dQ0, grads);
    return {
      loss: { lossX, lossZ: tf.sum(klPerStep, 1) as tf.Tensor1D, klPerStep },
      grads,
    } as unknown as tf.TensorContainerObject;
  }) as unknown as LossAndGrads;
}
