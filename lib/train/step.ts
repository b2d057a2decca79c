/**
 * One training step: loss and gradients (eqs 3-12), global-norm clipping, Adam, and the numbers the run
 * records. Non-finite losses or gradients are detected before any update is applied.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { DrawConfig } from "../config/model.ts";
import { drawLossAndGrads, fusedKernelsAvailable } from "../draw/fused.ts";
import { sumSquares } from "../kernels/dispatch.ts";
import { drawLoss } from "../draw/model.ts";
import type { DrawParams } from "../draw/params.ts";
import type { GradStat } from "../record/types.ts";
import { type Adam, clipByGlobalNorm, globalNorm } from "./adam.ts";
import { gradStat, log10Histogram } from "./gradstats.ts";
import { gpuBytesHeld, throwOnWebgpuError } from "../webgpu.ts";

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
   * wasm, cpu and webgpu), `tape` (tfjs autodiff of {@linkcode drawLoss}), or `auto` (fused where available).
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

type Values = Float32Array | Int32Array | Uint8Array;
/** The step core: it yields the tensor whose values it needs next and is resumed with them. */
type Readback = Generator<tf.Tensor, StepResult, Values>;

/**
 * The arguments of {@linkcode trainStep} and {@linkcode trainStepAsync}: the model, its variables, the
 * optimizer, a batch `x` `[batch, B*A]`, its noise `eps` `[T, batch, nZ]` and the options.
 */
export type StepArgs = [
  cfg: DrawConfig,
  params: DrawParams,
  adam: Adam,
  x: tf.Tensor2D,
  eps: tf.Tensor3D,
  opts: StepOptions,
];

/** Ends the core after a failed read, so that its `finally` blocks dispose every tensor, and rethrows. */
function abort(core: Readback, e: unknown): never {
  core.throw(e); // runs the core's finally blocks, then throws e again
  throw e;
}

/** `t.dataSync()`, ending the core first when the read fails. */
function readSync(core: Readback, t: tf.Tensor): Values {
  try {
    return t.dataSync();
  } catch (e) {
    abort(core, e);
  }
}

/**
 * The step, written once for both read-back styles: it yields each tensor whose values it needs and is
 * resumed with them. {@linkcode trainStep} answers with `dataSync()`, {@linkcode trainStepAsync} with
 * `await data()` (the only read that tfjs-webgpu supports in Deno, which has no canvas).
 */
function* stepCore(...[cfg, params, adam, x, eps, opts]: StepArgs): Readback {
  const { value, lossX: lx, lossZ: lz, kl, named, fused } = lossAndGrads(cfg, params, x, eps, opts);
  try {
    // Fused path: the squared norm in one float64-accumulated kernel, clipping folded into Adam's kernel.
    const norm = fused ? sumSquares(Object.values(named)) : globalNorm(named);
    try {
      const head = tf.tidy(() => tf.concat([tf.stack([value, lx, lz]), tf.reshape(norm, [1])]));
      let headValues: Values;
      try {
        headValues = yield head;
      } finally {
        head.dispose();
      }
      // On webgpu, a kernel that failed validation has left wrong values: stop before Adam changes anything.
      throwOnWebgpuError(
        `training step with batch ${x.shape[0]}; tfjs held ${
          (gpuBytesHeld() / 2 ** 20).toFixed(1)
        } MiB of GPU memory`,
      );
      const [loss, lossX, lossZ, normOut] = headValues;
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
      if (opts.stats || !result.finite) result.klPerStep = Array.from(yield kl);
      if (!result.finite) {
        result.nonFinite = [];
        for (const [k, g] of Object.entries(named)) {
          const bad = tf.tidy(() => tf.any(tf.logicalNot(tf.isFinite(g))));
          try {
            if ((yield bad)[0] === 1) result.nonFinite.push(k);
          } finally {
            bad.dispose();
          }
        }
        return result;
      }
      if (opts.stats) {
        result.gradStats = {};
        if (opts.histogram) result.histogram = {};
        for (const [k, g] of Object.entries(named)) {
          const data = (yield g) as Float32Array;
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
      return result;
    } finally {
      norm.dispose();
    }
  } finally {
    tf.dispose([value, lx, lz, kl, ...Object.values(named)]);
  }
}

/** Runs one Adam step on a batch, reading results back synchronously (wasm, cpu, tensorflow). */
export function trainStep(...args: StepArgs): StepResult {
  const core = stepCore(...args);
  let next = core.next();
  while (!next.done) next = core.next(readSync(core, next.value));
  return next.value;
}

/**
 * {@linkcode trainStep} with asynchronous read-back: the same numbers on every backend, and the only form
 * that works on `webgpu` in Deno (its synchronous read needs a canvas).
 */
export async function trainStepAsync(...args: StepArgs): Promise<StepResult> {
  const core = stepCore(...args);
  let next = core.next();
  while (!next.done) next = core.next(await next.value.data().catch((e) => abort(core, e)));
  return next.value;
}
