/**
 * Adam (Kingma & Ba 2015) with global-norm gradient clipping, written out so that its whole state can be
 * checkpointed and restored exactly (tfjs's optimiser hides its moment names and step count).
 * Update (PyTorch's form): m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * p -= lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps).
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { DrawParams } from "../draw/params.ts";
import { adamUpdate, fusedKernelsAvailable, registerFusedKernels } from "../kernels/dispatch.ts";

/** Adam hyper-parameters. */
export interface AdamConfig {
  beta1: number;
  beta2: number;
  epsilon: number;
}

/** Adam's first and second moments per variable and its step counter. */
export class Adam {
  readonly m: Record<string, tf.Variable> = {};
  readonly v: Record<string, tf.Variable> = {};
  /** Number of updates applied so far. */
  t = 0;

  /** Creates zero moments shaped like `params`. */
  constructor(readonly params: DrawParams, readonly cfg: AdamConfig) {
    for (const [name, p] of Object.entries(params)) {
      this.m[name] = tf.tidy(() => tf.variable(tf.zerosLike(p), false));
      this.v[name] = tf.tidy(() => tf.variable(tf.zerosLike(p), false));
    }
  }

  /**
   * Applies one update with learning rate `lr` to the gradients `scale * grads` (`scale` < 1 is global-norm
   * clipping; with the default 1, `grads` must already be clipped). On wasm and cpu each variable is updated
   * by one fused kernel (lib/kernels/dispatch.ts), elsewhere by tf ops; both compute the same formula.
   */
  apply(grads: Record<string, tf.Tensor>, lr: number, scale = 1): void {
    this.t += 1;
    const { beta1, beta2, epsilon } = this.cfg;
    const c1 = 1 - Math.pow(beta1, this.t);
    const c2 = 1 - Math.pow(beta2, this.t);
    if (fusedKernelsAvailable()) {
      registerFusedKernels();
      for (const [name, p] of Object.entries(this.params)) {
        const [p2, m2, v2] = adamUpdate(p, this.m[name], this.v[name], grads[name], {
          lr,
          beta1,
          beta2,
          epsilon,
          c1,
          c2,
          scale,
        });
        this.m[name].assign(m2);
        this.v[name].assign(v2);
        p.assign(p2);
        tf.dispose([p2, m2, v2]);
      }
      return;
    }
    tf.tidy(() => {
      for (const [name, p] of Object.entries(this.params)) {
        const g = scale === 1 ? grads[name] : tf.mul(grads[name], scale);
        const m = tf.add(tf.mul(this.m[name], beta1), tf.mul(g, 1 - beta1));
        const v = tf.add(tf.mul(this.v[name], beta2), tf.mul(tf.square(g), 1 - beta2));
        this.m[name].assign(m);
        this.v[name].assign(v);
        const update = tf.div(tf.mul(m, lr / c1), tf.add(tf.sqrt(tf.div(v, c2)), epsilon));
        p.assign(tf.sub(p, update));
      }
    });
  }

  /** Frees the moments. */
  dispose(): void {
    for (const x of [...Object.values(this.m), ...Object.values(this.v)]) x.dispose();
  }
}

/**
 * Global L2 norm of all gradients, as a scalar tensor (not read back, so no sync).
 */
export function globalNorm(grads: Record<string, tf.Tensor>): tf.Scalar {
  return tf.tidy(() => tf.sqrt(tf.addN(Object.values(grads).map((g) => tf.sum(tf.square(g))))) as tf.Scalar);
}

/**
 * Scales all gradients by min(1, clipNorm / norm) (Pascanu et al. 2013's global-norm clipping).
 * A NaN norm propagates NaN, which the trainer detects.
 */
export function clipByGlobalNorm(
  grads: Record<string, tf.Tensor>,
  norm: tf.Scalar,
  clipNorm: number,
): Record<string, tf.Tensor> {
  return tf.tidy(() => {
    const scale = tf.minimum(tf.div(clipNorm, tf.maximum(norm, 1e-12)), 1);
    return Object.fromEntries(Object.entries(grads).map(([k, g]) => [k, tf.mul(g, scale)]));
  });
}
