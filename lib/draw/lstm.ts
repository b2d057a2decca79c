/**
 * The LSTM cell used for RNN^enc and RNN^dec (eqs 5 and 7): the forget-gate LSTM of Gers et al. (2000)
 * without peepholes. The paper does not specify peepholes; this is the form of common DRAW code.
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** LSTM state (h, c), each `[batch, H]`. */
export interface LstmState {
  h: tf.Tensor2D;
  c: tf.Tensor2D;
}

/**
 * One LSTM step. Gates are computed with a single matmul over [input, h] (one kernel instead of eight).
 * @param W `[in + H, 4H]`, gate order (i, f, o, g)
 * @param b `[4H]`
 */
export function lstmStep(input: tf.Tensor2D, state: LstmState, W: tf.Tensor2D, b: tf.Tensor1D): LstmState {
  return tf.tidy(() => {
    const gates = tf.add(tf.matMul(tf.concat([input, state.h], 1), W), b); // [batch, 4H]
    const [i, f, o, g] = tf.split(gates, 4, 1) as tf.Tensor2D[]; //          4 x [batch, H]
    const c = tf.add(tf.mul(tf.sigmoid(f), state.c), tf.mul(tf.sigmoid(i), tf.tanh(g))); // [batch, H]
    const h = tf.mul(tf.sigmoid(o), tf.tanh(c)); //                                          [batch, H]
    return { h, c } as unknown as tf.TensorContainerObject;
  }) as unknown as LstmState;
}
