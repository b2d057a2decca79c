/**
 * DRAW's loss terms (Gregor et al. 2015, eqs 9-12), per example.
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/**
 * KL( N(mu, sigma^2) || N(0, 1) ) summed over latent dimensions, for one time step (the summand of eq 11):
 * 0.5 * sum_d (mu^2 + sigma^2 - 2 log sigma - 1). The constant is -nZ/2 per step, so T steps give -T nZ / 2
 * (the paper writes -T/2 with the sum over dimensions implied).
 * @param mu `[batch, nZ]`
 * @param logSigma `[batch, nZ]` (the posterior emits log sigma, eq 2)
 * @returns `[batch]`
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * klPerStep(tf.zeros([2, 3]), tf.zeros([2, 3])); // [0, 0]: the posterior equals the prior
 * ```
 */
export function klPerStep(mu: tf.Tensor2D, logSigma: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const sigma2 = tf.exp(tf.mul(logSigma, 2)); //                                    [batch, nZ]
    const terms = tf.sub(tf.add(tf.square(mu), sigma2), tf.add(tf.mul(logSigma, 2), 1)); // [batch, nZ]
    return tf.mul(tf.sum(terms, 1), 0.5) as tf.Tensor1D; //                          [batch]
  });
}

/**
 * Eq 9: L^x = -log D(x | c_T) for a Bernoulli D with means sigmoid(c_T), from the logits c_T, summed over
 * pixels, as softplus(c) - x c.
 * @param x binary (or [0, 1]) images `[batch, B*A]`
 * @param logits canvas c_T `[batch, B*A]`
 * @returns `[batch]`, nats
 */
export function bernoulliNll(x: tf.Tensor2D, logits: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    // softplus(c) - x c: tfjs's softplus is stable, and its gradient sigmoid(c) is exact at c = 0, where the
    // relu/abs form's subgradients would give -x instead of 0.5 - x.
    const perPixel = tf.sub(tf.softplus(logits), tf.mul(x, logits)); //               [batch, B*A]
    return tf.sum(perPixel, 1) as tf.Tensor1D; //                                       [batch]
  });
}
