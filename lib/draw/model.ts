/**
 * DRAW: A Recurrent Neural Network For Image Generation (Gregor et al. 2015), one readable file.
 *
 * Training (eqs 3-8, loss eqs 9-12), generation from the prior (eqs 13-16), and reconstruction sequences
 * for reports. Images are `[batch, B*A]` rows of B*A values in [0, 1] (row-major, B rows of A pixels).
 * All randomness arrives as explicit epsilon tensors drawn from named streams (lib/random.ts).
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { DrawConfig } from "../config/model.ts";
import { attentionParams, filterbank, read, write } from "./attention.ts";
import { bernoulliNll, klPerStep } from "./loss.ts";
import { type LstmState, lstmStep } from "./lstm.ts";
import type { DrawParams } from "./params.ts";
import type { RandomStream } from "../random.ts";
import { normalsOnEngineThreads, normalTensor } from "../kernels/wasm/normal.ts";

/** Per-example loss terms (eqs 9-12). */
export interface DrawLoss {
  /** L^x, `[batch]` nats. */
  lossX: tf.Tensor1D;
  /** L^z = sum_t KL_t, `[batch]` nats. */
  lossZ: tf.Tensor1D;
  /** KL of each glimpse, `[batch, T]`. */
  klPerStep: tf.Tensor2D;
  /** log p(z) - log q(z|x) of the sampled z_{1:T}, `[batch]` (only with `logWeights: true`, for IWAE). */
  logPriorMinusPosterior?: tf.Tensor1D;
}

/** Attention parameters of one step for one image, in pixels (for drawing boxes in reports). */
export interface GlimpseBox {
  gX: number;
  gY: number;
  delta: number;
  sigma2: number;
  N: number;
}

/** A recorded drawing sequence for a batch. */
export interface Sequence {
  /** canvases[t] = sigmoid(c_t), `[batch][B*A]`. */
  canvases: Float32Array[][];
  write?: GlimpseBox[][]; // [t][image]
  read?: GlimpseBox[][]; //  [t][image]
}

function dense(x: tf.Tensor2D, W: tf.Variable, b: tf.Variable): tf.Tensor2D {
  return tf.add(tf.matMul(x, W as tf.Tensor2D), b) as tf.Tensor2D;
}

function tileRows(v: tf.Variable, batch: number): tf.Tensor2D {
  return tf.tile(v as tf.Tensor2D, [batch, 1]);
}

interface StepOut {
  canvas: tf.Tensor2D;
  hEnc: LstmState;
  hDec: LstmState;
  mu: tf.Tensor2D;
  logSigma: tf.Tensor2D;
  z: tf.Tensor2D;
  readAtt?: ReturnType<typeof attentionParams>;
  writeAtt?: ReturnType<typeof attentionParams>;
}

/** Eq 4 (read) with attention (eq 27) or without (eq 17). */
function readStep(cfg: DrawConfig, p: DrawParams, x: tf.Tensor2D, xHat: tf.Tensor2D, hDecPrev: tf.Tensor2D) {
  if (!cfg.attention) return { r: tf.concat([x, xHat], 1) as tf.Tensor2D }; // eq 17   [batch, 2*B*A]
  const att = attentionParams(dense(hDecPrev, p["read/attW"], p["read/attB"]), cfg.readN, cfg.A, cfg.B); // eq 21
  const { Fx, Fy } = filterbank(att.gX, att.gY, att.sigma2, att.delta, cfg.readN, cfg.A, cfg.B); // [batch, N, A|B]
  return { r: read(x, xHat, Fx, Fy, att.gamma), att }; //                          eq 27   [batch, 2*N*N]
}

/** Eq 8's write(h^dec_t) with attention (eqs 28-29) or without (eq 18). */
function writeStep(cfg: DrawConfig, p: DrawParams, hDec: tf.Tensor2D) {
  const w = dense(hDec, p["write/W"], p["write/b"]); //                eq 28 / eq 18   [batch, N*N | B*A]
  if (!cfg.attention) return { update: w };
  const att = attentionParams(dense(hDec, p["write/attW"], p["write/attB"]), cfg.writeN, cfg.A, cfg.B); // eq 21
  const { Fx, Fy } = filterbank(att.gX, att.gY, att.sigma2, att.delta, cfg.writeN, cfg.A, cfg.B);
  return { update: write(w, Fx, Fy, att.gamma), att }; //                 eq 29   [batch, B*A]
}

/** One glimpse of the training-time recurrence, eqs 3-8. */
function step(
  cfg: DrawConfig,
  p: DrawParams,
  x: tf.Tensor2D,
  canvas: tf.Tensor2D,
  hEnc: LstmState,
  hDec: LstmState,
  eps: tf.Tensor2D,
): StepOut {
  const xHat = tf.sub(x, tf.sigmoid(canvas)) as tf.Tensor2D; //                  eq 3    [batch, B*A]
  const { r, att: readAtt } = readStep(cfg, p, x, xHat, hDec.h); //              eq 4
  const hEncNext = lstmStep(
    tf.concat([r, hDec.h], 1),
    hEnc,
    p["enc/W"] as tf.Tensor2D,
    p["enc/b"] as tf.Tensor1D,
  ); // eq 5
  const [mu, logSigma] = tf.split(dense(hEncNext.h, p["post/W"], p["post/b"]), 2, 1) as tf.Tensor2D[]; // eqs 1-2 [batch, nZ]
  const z = tf.add(mu, tf.mul(tf.exp(logSigma), eps)) as tf.Tensor2D; //         eq 6 (reparameterised) [batch, nZ]
  const hDecNext = lstmStep(z, hDec, p["dec/W"] as tf.Tensor2D, p["dec/b"] as tf.Tensor1D); // eq 7  [batch, decSize]
  const { update, att: writeAtt } = writeStep(cfg, p, hDecNext.h);
  const canvasNext = tf.add(canvas, update) as tf.Tensor2D; //                  eq 8    [batch, B*A]
  return { canvas: canvasNext, hEnc: hEncNext, hDec: hDecNext, mu, logSigma, z, readAtt, writeAtt };
}

function initialState(cfg: DrawConfig, p: DrawParams, batch: number) {
  return {
    canvas: tileRows(p["init/canvas"], batch), //                                   c_0      [batch, B*A]
    hEnc: { h: tileRows(p["init/hEnc"], batch), c: tf.zeros([batch, cfg.encSize]) } as LstmState, // h^enc_0
    hDec: { h: tileRows(p["init/hDec"], batch), c: tf.zeros([batch, cfg.decSize]) } as LstmState, // h^dec_0
  };
}

/**
 * The per-example loss of a batch (eqs 3-12), to be called inside `tf.variableGrads` / `tf.tidy`.
 * @param x images `[batch, B*A]`
 * @param eps one fresh N(0, 1) sample per step: `[T, batch, nZ]`
 * @param opts.logWeights also return log p(z) - log q(z|x) for importance weighting
 */
export function drawLoss(
  cfg: DrawConfig,
  p: DrawParams,
  x: tf.Tensor2D,
  eps: tf.Tensor3D,
  opts: { logWeights?: boolean } = {},
): DrawLoss {
  const batch = x.shape[0];
  let { canvas, hEnc, hDec } = initialState(cfg, p, batch);
  const epsT = tf.unstack(eps) as tf.Tensor2D[]; //                                   T x [batch, nZ]
  const kls: tf.Tensor1D[] = [];
  let logRatio: tf.Tensor1D | undefined;
  for (let t = 0; t < cfg.T; t++) {
    const s = step(cfg, p, x, canvas, hEnc, hDec, epsT[t]);
    ({ canvas, hEnc, hDec } = s);
    kls.push(klPerStep(s.mu, s.logSigma)); //                                        eq 11 summand [batch]
    if (opts.logWeights) {
      // log N(z; 0, 1) - log N(z; mu, sigma) = (eps^2 - z^2) / 2 + log sigma, summed over dims.
      const lr = tf.sum(
        tf.add(tf.mul(tf.sub(tf.square(epsT[t]), tf.square(s.z)), 0.5), s.logSigma),
        1,
      ) as tf.Tensor1D;
      logRatio = logRatio ? tf.add(logRatio, lr) : lr;
    }
  }
  const klPerStepT = tf.stack(kls, 1) as tf.Tensor2D; //                              [batch, T]
  return {
    lossX: bernoulliNll(x, canvas), //                                                eq 9   [batch]
    lossZ: tf.sum(klPerStepT, 1) as tf.Tensor1D, //                                   eq 10  [batch]
    klPerStep: klPerStepT,
    logPriorMinusPosterior: logRatio,
  };
}

/**
 * Draws the `[T, batch, nZ]` epsilon tensor for one batch from a stream (fresh for every step t). On a
 * multithreaded wasm kernel engine all its threads compute the values (the same bits as `stream.normal`).
 */
export function drawEpsilon(cfg: DrawConfig, batch: number, stream: RandomStream): tf.Tensor3D {
  const shape: [number, number, number] = [cfg.T, batch, cfg.nZ];
  if (normalsOnEngineThreads()) return normalTensor<tf.Rank.R3>(shape, stream);
  return tf.tensor3d(stream.normal(cfg.T * batch * cfg.nZ), shape);
}

async function boxes(att: ReturnType<typeof attentionParams>, N: number): Promise<GlimpseBox[]> {
  const [gX, gY, delta, sigma2] = await Promise.all([
    att.gX.data(),
    att.gY.data(),
    att.delta.data(),
    att.sigma2.data(),
  ]);
  return Array.from(gX, (_, i) => ({ gX: gX[i], gY: gY[i], delta: delta[i], sigma2: sigma2[i], N }));
}

async function rows(t: tf.Tensor2D): Promise<Float32Array[]> {
  const [n, d] = t.shape;
  const data = (await t.data()) as Float32Array;
  return Array.from({ length: n }, (_, i) => data.slice(i * d, (i + 1) * d));
}

/**
 * Eqs 13-16: generation. z_t is sampled from the prior N(0, I) and only the decoder runs:
 * h~^dec_t = RNN^dec(h~^dec_{t-1}, z~_t), c~_t = c~_{t-1} + write(h~^dec_t). Returns every step's
 * sigmoid(c~_t) and the write attention, so reports can draw the sequence with its boxes.
 */
export async function generate(
  cfg: DrawConfig,
  p: DrawParams,
  n: number,
  stream: RandomStream,
): Promise<Sequence> {
  const zAll = drawEpsilon(cfg, n, stream); //                                         eq 13  [T, n, nZ]
  const seq: Sequence = { canvases: [], write: cfg.attention ? [] : undefined };
  let canvas = tileRows(p["init/canvas"], n);
  let hDec: LstmState = { h: tileRows(p["init/hDec"], n), c: tf.zeros([n, cfg.decSize]) };
  const zT = tf.unstack(zAll) as tf.Tensor2D[];
  for (let t = 0; t < cfg.T; t++) {
    const next = tf.tidy(() => {
      const h = lstmStep(zT[t], hDec, p["dec/W"] as tf.Tensor2D, p["dec/b"] as tf.Tensor1D); // eq 14
      const { update, att } = writeStep(cfg, p, h.h); //                                     eq 15
      const c = tf.add(canvas, update) as tf.Tensor2D;
      return { h: h.h, cell: h.c, c, image: tf.sigmoid(c), ...(att ?? {}) } as tf.TensorContainerObject;
    }) as unknown as
      & { h: tf.Tensor2D; cell: tf.Tensor2D; c: tf.Tensor2D; image: tf.Tensor2D }
      & Partial<ReturnType<typeof attentionParams>>;
    tf.dispose([canvas, hDec.h, hDec.c]);
    canvas = next.c;
    hDec = { h: next.h, c: next.cell };
    seq.canvases.push(await rows(next.image)); //                                          eq 16 means
    if (cfg.attention) seq.write!.push(await boxes(next as ReturnType<typeof attentionParams>, cfg.writeN));
    tf.dispose(
      [next.image, next.gX, next.gY, next.delta, next.sigma2, next.gamma].filter((t) => t) as tf.Tensor[],
    );
  }
  tf.dispose([canvas, hDec.h, hDec.c, zAll, ...zT]);
  return seq;
}

/** Runs the training-time recurrence on `x` and records each step's canvas and read/write attention. */
export async function reconstruct(
  cfg: DrawConfig,
  p: DrawParams,
  x: tf.Tensor2D,
  stream: RandomStream,
): Promise<Sequence> {
  const n = x.shape[0];
  const eps = drawEpsilon(cfg, n, stream);
  const epsT = tf.unstack(eps) as tf.Tensor2D[];
  const seq: Sequence = {
    canvases: [],
    write: cfg.attention ? [] : undefined,
    read: cfg.attention ? [] : undefined,
  };
  let state = tf.tidy(() =>
    initialState(cfg, p, n) as unknown as tf.TensorContainerObject
  ) as unknown as ReturnType<typeof initialState>;
  for (let t = 0; t < cfg.T; t++) {
    const s = tf.tidy(() => {
      const o = step(cfg, p, x, state.canvas, state.hEnc, state.hDec, epsT[t]);
      return { ...o, image: tf.sigmoid(o.canvas) } as unknown as tf.TensorContainerObject;
    }) as unknown as StepOut & { image: tf.Tensor2D };
    tf.dispose(state as unknown as tf.TensorContainer);
    state = { canvas: s.canvas, hEnc: s.hEnc, hDec: s.hDec };
    seq.canvases.push(await rows(s.image));
    if (s.readAtt) seq.read!.push(await boxes(s.readAtt, cfg.readN));
    if (s.writeAtt) seq.write!.push(await boxes(s.writeAtt, cfg.writeN));
    tf.dispose([s.image, s.mu, s.logSigma, s.z, s.readAtt, s.writeAtt] as unknown as tf.TensorContainer);
  }
  tf.dispose([state as unknown as tf.TensorContainer, eps, ...epsT]);
  return seq;
}
