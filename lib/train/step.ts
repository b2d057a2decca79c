/**
 * One training step: loss and gradients (eqs 3-12), global-norm clipping, Adam, and the numbers the run
 * records. Non-finite losses or gradients are detected before any update is applied.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { DrawConfig } from "../draw/config.ts";
import { drawLossAndGrads, fusedKernelsAvailable } from "../draw/fused.ts";
import { sumSquares } from "../draw/kernels.ts";
import { drawLoss } from "../draw/model.ts";
import type { DrawParams } from "../draw/params.ts";
import type { GradStat } from "../record/types.ts";
import { type Adam, clipByGlobalNorm, globalNorm } from "./adam.ts";
import { gradStat, log10Histogram } from "./gradstats.ts";

/** What one step reports. Loss terms are batch means in nats per image. */
export interface StepResult {
  finite: boolean;
  loss: number;
  lossX: number;
  lossZ: number;
  globalNormBefore: number;
  globalNormAfter: number;
  clipped: boolean;
  /** Batch-mean KL per glimpse (only when `opts.stats`). */
  klPerStep?: number[];
  gradStats?: Record<string, GradStat>;
  histogram?: Record<string, number[]>;
  /** Variables whose gradient has NaN or Inf (only when not finite). */
  nonFinite?: string[];
}

/** Options of {@linkcode trainStep}. */
export interface StepOptions {
  learningRate: number;
  clipNorm: number;
  /** Read back KL per step and per-variable gradient statistics (logging steps only: it syncs). */
  stats?: boolean;
  /** Also compute gradient histograms. */
  histogram?: boolean;
  /** Test hook: make the loss NaN. */
  injectNaN?: boolean;
  /**
   * How gradients are computed: `fused` (hand-written backward pass with fused kernels, lib/draw/fused.ts;
   * wasm and cpu), `tape` (tfjs autodiff of {@linkcode drawLoss}), or `auto` (fused where available).
   * Both give the same numbers to float32 rounding; each is deterministic.
   */
  impl?: "auto" | "fused" | "tape";
}

/** Loss terms and gradients keyed by our variable names. */
function lossAndGrads(
  cfg: DrawConfig,
  params: DrawParams,
  x: tf.Tensor2D,
  eps: tf.Tensor3D,
  opts: StepOptions,
): {
  value: tf.Scalar;
  lossX: tf.Scalar;
  lossZ: tf.Scalar;
  kl: tf.Tensor1D;
  named: Record<string, tf.Tensor>;
  /** True when the fused path computed them (its norm and clipping are fused too). */
  fused: boolean;
} {
  const impl = opts.impl ?? "auto";
  if (impl === "fused" || (impl === "auto" && fusedKernelsAvailable())) {
    const { loss, grads } = drawLossAndGrads(cfg, params, x, eps, { gradScale: opts.injectNaN ? NaN : 1 });
    const out = tf.tidy(() => {
      const total = tf.mean(tf.add(loss.lossX, loss.lossZ)) as tf.Scalar; //          L = Lx + Lz, batch mean
      return {
        value: opts.injectNaN ? tf.mul(total, NaN) as tf.Scalar : total,
        lossX: tf.mean(loss.lossX) as tf.Scalar,
        lossZ: tf.mean(loss.lossZ) as tf.Scalar,
        kl: tf.mean(loss.klPerStep, 0) as tf.Tensor1D, //                               [T]
      };
    });
    tf.dispose([loss.lossX, loss.lossZ, loss.klPerStep]);
    return { ...out, named: grads, fused: true };
  }
  let aux: { lossX: tf.Scalar; lossZ: tf.Scalar; kl: tf.Tensor1D } | undefined;
  const { value, grads } = tf.variableGrads(() => {
    const l = drawLoss(cfg, params, x, eps);
    aux = {
      lossX: tf.keep(tf.mean(l.lossX)) as tf.Scalar,
      lossZ: tf.keep(tf.mean(l.lossZ)) as tf.Scalar,
      kl: tf.keep(tf.mean(l.klPerStep, 0)) as tf.Tensor1D, //                    [T]
    };
    const total = tf.mean(tf.add(l.lossX, l.lossZ)) as tf.Scalar; //           L = Lx + Lz, batch mean
    return opts.injectNaN ? tf.mul(total, NaN) as tf.Scalar : total;
  }, Object.values(params));
  // variableGrads keys gradients by tfjs variable name; map back to our names.
  const byTfName = new Map(Object.entries(params).map(([k, v]) => [v.name, k]));
  const named: Record<string, tf.Tensor> = {};
  for (const [tfName, g] of Object.entries(grads)) named[byTfName.get(tfName)!] = g;
  return { value, ...aux!, named, fused: false };
}

/**
 * Runs one Adam step on a batch.
 * @param x `[batch, B*A]`, eps `[T, batch, nZ]`
 */
export function trainStep(
  cfg: DrawConfig,
  params: DrawParams,
  adam: Adam,
  x: tf.Tensor2D,
  eps: tf.Tensor3D,
  opts: StepOptions,
): StepResult {
  const { value, lossX: lx, lossZ: lz, kl, named, fused } = lossAndGrads(cfg, params, x, eps, opts);
  // Fused path: the squared norm in one float64-accumulated kernel, clipping folded into Adam's kernel.
  const norm = fused ? sumSquares(Object.values(named)) : globalNorm(named);
  const head = tf.tidy(() => tf.concat([tf.stack([value, lx, lz]), tf.reshape(norm, [1])]));
  const [loss, lossX, lossZ, normOut] = head.dataSync();
  head.dispose();
  const normBefore = fused ? Math.sqrt(normOut) : normOut;
  const result: StepResult = {
    finite: Number.isFinite(loss) && Number.isFinite(normBefore),
    loss,
    lossX,
    lossZ,
    globalNormBefore: normBefore,
    globalNormAfter: Math.min(normBefore, opts.clipNorm),
    clipped: normBefore > opts.clipNorm,
  };
  if (opts.stats || !result.finite) result.klPerStep = Array.from(kl.dataSync());
  if (!result.finite) {
    result.nonFinite = Object.entries(named)
      .filter(([, g]) => tf.tidy(() => tf.any(tf.logicalNot(tf.isFinite(g))).dataSync()[0] === 1))
      .map(([k]) => k);
  } else {
    if (opts.stats) {
      result.gradStats = {};
      if (opts.histogram) result.histogram = {};
      for (const [k, g] of Object.entries(named)) {
        const data = g.dataSync() as Float32Array;
        result.gradStats[k] = gradStat(data);
        if (result.histogram) result.histogram[k] = log10Histogram(data);
      }
    }
    if (fused) {
      // Pascanu et al.'s global-norm clipping, as clipByGlobalNorm: scale = min(1, clipNorm / norm).
      adam.apply(named, opts.learningRate, Math.min(opts.clipNorm / Math.max(normBefore, 1e-12), 1));
    } else {
      const clippedGrads = clipByGlobalNorm(named, norm as tf.Scalar, opts.clipNorm);
      adam.apply(clippedGrads, opts.learningRate);
      tf.dispose(Object.values(clippedGrads));
    }
  }
  tf.dispose([value, norm, lx, lz, kl, ...Object.values(named)]);
  return result;
}
