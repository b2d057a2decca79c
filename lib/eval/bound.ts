/**
 * Evaluation: the paper's metric (the variational bound L = Lx + Lz in nats per image, eq 12's negative
 * log-likelihood bound) and an importance-weighted estimate of -log p(x) (Burda et al. 2016) with k samples.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { DrawConfig } from "../config/model.ts";
import { drawLossFused, fusedKernelsAvailable } from "../draw/fused.ts";
import { drawEpsilon, drawLoss } from "../draw/model.ts";
import type { DrawParams } from "../draw/params.ts";
import type { Estimate } from "../record/types.ts";
import type { RandomStream } from "../random.ts";
import { throwOnWebgpuError } from "../webgpu.ts";

/** Evaluation settings. */
export interface EvalOptions {
  /** Images per forward pass. */
  batchSize?: number;
  /** Bound samples S averaged per image. */
  samples?: number;
  /** IWAE importance samples per image (0 = skip). */
  iwaeK?: number;
  /** Called after each batch with the number of images done. */
  onProgress?: (done: number) => void;
  /**
   * Forward pass: `fused` (lib/draw/fused.ts kernels; wasm and cpu), `tape` ({@linkcode drawLoss} in tf
   * ops) or `auto` (fused where available). Same numbers to float32 rounding.
   */
  impl?: "auto" | "fused" | "tape";
}

/** Evaluation output: means over images, with standard errors over images. */
export interface EvalResult {
  images: number;
  bound: Estimate;
  lossX: number;
  lossZ: number;
  iwae?: Estimate & { k: number };
  /** Per-image bounds (for tests and statistics). */
  perImage: Float64Array;
  perImageIwae?: Float64Array;
}

/** Mean and standard error of the mean. */
export function meanStderr(x: ArrayLike<number>): Estimate {
  const n = x.length;
  let m = 0;
  for (let i = 0; i < n; i++) m += x[i];
  m /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += (x[i] - m) ** 2;
  return { mean: m, stderr: n > 1 ? Math.sqrt(v / (n - 1) / n) : 0 };
}

/** log(mean(exp(a))) computed stably in float64. */
export function logMeanExp(a: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < a.length; i++) max = Math.max(max, a[i]);
  if (!Number.isFinite(max)) return max;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.exp(a[i] - max);
  return max + Math.log(s / a.length);
}

/**
 * Evaluates the bound (and optionally IWAE) on `n` images of `images` (n x B*A, row-major), in a fixed
 * order, with epsilon from `stream` (use a fresh `eval` stream for reproducible numbers).
 */
export async function evaluate(
  cfg: DrawConfig,
  params: DrawParams,
  images: Float32Array,
  n: number,
  stream: RandomStream,
  opts: EvalOptions = {},
): Promise<EvalResult> {
  const D = cfg.A * cfg.B;
  const S = opts.samples ?? 1;
  const k = opts.iwaeK ?? 0;
  const batchSize = opts.batchSize ?? 500;
  const impl = opts.impl ?? "auto";
  const loss = impl === "fused" || (impl === "auto" && fusedKernelsAvailable()) ? drawLossFused : drawLoss;
  const perImage = new Float64Array(n);
  const perImageIwae = k > 0 ? new Float64Array(n) : undefined;
  let sumX = 0, sumZ = 0;
  for (let start = 0; start < n; start += batchSize) {
    const b = Math.min(batchSize, n - start);
    const x = tf.tensor2d(images.subarray(start * D, (start + b) * D), [b, D]);
    for (let s = 0; s < S; s++) {
      const eps = drawEpsilon(cfg, b, stream);
      const [lx, lz] = tf.tidy(() => {
        const l = loss(cfg, params, x, eps);
        return [l.lossX, l.lossZ];
      });
      const [dx, dz] = [await lx.data(), await lz.data()];
      for (let i = 0; i < b; i++) {
        perImage[start + i] += (dx[i] + dz[i]) / S;
        sumX += dx[i] / S;
        sumZ += dz[i] / S;
      }
      tf.dispose([eps, lx, lz]);
    }
    if (perImageIwae) {
      // Images in chunks of batchSize/k rows; each image repeated k times in a row, so rows
      // [i*k, (i+1)*k) hold image i's k importance samples.
      const chunk = Math.max(1, Math.floor(batchSize / k));
      for (let c = 0; c < b; c += chunk) {
        const m = Math.min(chunk, b - c);
        const xr = tf.tidy(() =>
          tf.reshape(tf.tile(tf.expandDims(tf.slice(x, [c, 0], [m, D]), 1), [1, k, 1]), [
            m * k,
            D,
          ]) as tf.Tensor2D
        ); //                                                                    [m*k, B*A]
        const eps = drawEpsilon(cfg, m * k, stream);
        const logW = tf.tidy(() => {
          const l = loss(cfg, params, xr, eps, { logWeights: true });
          return tf.sub(l.logPriorMinusPosterior!, l.lossX); // log p(x|z) + log p(z) - log q(z|x)   [m*k]
        });
        const w = await logW.data();
        for (let i = 0; i < m; i++) perImageIwae[start + c + i] = -logMeanExp(w.subarray(i * k, (i + 1) * k));
        tf.dispose([xr, eps, logW]);
      }
    }
    x.dispose();
    throwOnWebgpuError(); // a failed WebGPU kernel leaves wrong numbers: never report them
    opts.onProgress?.(start + b);
  }
  const result: EvalResult = {
    images: n,
    bound: meanStderr(perImage),
    lossX: sumX / n,
    lossZ: sumZ / n,
    perImage,
  };
  if (perImageIwae) result.iwae = { ...meanStderr(perImageIwae), k };
  if (perImageIwae) result.perImageIwae = perImageIwae;
  return result;
}
