/**
 * DRAW's selective attention (Gregor et al. 2015, section 3.2, eqs 19-29).
 *
 * Coordinates follow the paper: pixel index a in 1..A (columns, x) and b in 1..B (rows, y); grid index
 * i in 1..N. An image is stored row-major as [batch, B, A], so `read = gamma * Fy . x . Fx^T` (eq 27).
 * @module
 */
import * as tf from "@tensorflow/tfjs";

/** Attention parameters of one head, each `[batch, 1]`. */
export type AttentionParams = {
  /** Grid centre, 1-based pixel coordinates (eqs 22-23). */
  gX: tf.Tensor2D;
  gY: tf.Tensor2D;
  /** Isotropic filter variance sigma^2 (emitted as log sigma^2, eq 21). */
  sigma2: tf.Tensor2D;
  /** Stride between grid points (eq 24). */
  delta: tf.Tensor2D;
  /** Intensity gamma (emitted as log gamma, eq 21). */
  gamma: tf.Tensor2D;
};

/** The stride scale (max(A,B) - 1) / (N - 1) of eq 24. For N = 1 the stride is unused; we divide by 1. */
export function strideScale(N: number, A: number, B: number): number {
  return (Math.max(A, B) - 1) / Math.max(N - 1, 1);
}

/**
 * Eqs 21-24: maps a head's raw linear output to attention parameters.
 * raw[:, 0..4] = (g~X, g~Y, log sigma^2, log delta~, log gamma).
 * @example
 * ```ts
 * import * as tf from "@tensorflow/tfjs";
 * const p = attentionParams(tf.zeros([1, 5]), 2, 28, 28); // gX = gY = 14.5 (centre), delta = 27
 * ```
 */
export function attentionParams(raw: tf.Tensor2D, N: number, A: number, B: number): AttentionParams {
  return tf.tidy(() => {
    const [gXt, gYt, logSigma2, logDeltaT, logGamma] = tf.split(raw, 5, 1) as tf.Tensor2D[]; // 5 x [batch, 1]
    return {
      gX: tf.mul(tf.add(gXt, 1), (A + 1) / 2), // eq 22: (A+1)/2 (g~X + 1)                         [batch, 1]
      gY: tf.mul(tf.add(gYt, 1), (B + 1) / 2), // eq 23: (B+1)/2 (g~Y + 1)                         [batch, 1]
      sigma2: tf.exp(logSigma2), //                                                                [batch, 1]
      delta: tf.mul(tf.exp(logDeltaT), strideScale(N, A, B)), // eq 24: a multiply, not a divide   [batch, 1]
      gamma: tf.exp(logGamma), //                                                                  [batch, 1]
    };
  }) as AttentionParams;
}

/** Grid offsets (i - N/2 - 0.5) for i = 1..N (eqs 19-20), so the grid is centred on g. */
export function gridOffsets(N: number): Float32Array {
  return Float32Array.from({ length: N }, (_, k) => k + 1 - N / 2 - 0.5);
}

/**
 * One axis of the filterbank: F[i, a] = exp(-(a - mu_i)^2 / (2 sigma^2)) / Z (eqs 25-26), with
 * mu_i = g + (i - N/2 - 0.5) delta (eqs 19-20) and a in 1..size. Computed as a softmax over a of the
 * exponent, which is exactly the normalised Gaussian and cannot underflow to 0/0.
 */
function axisFilter(
  g: tf.Tensor2D,
  delta: tf.Tensor2D,
  sigma2: tf.Tensor2D,
  N: number,
  size: number,
): tf.Tensor3D {
  return tf.tidy(() => {
    const offsets = tf.tensor3d(gridOffsets(N), [1, N, 1]); //                   [1, N, 1]
    const pixels = tf.tensor3d(Float32Array.from({ length: size }, (_, a) => a + 1), [1, 1, size]); // [1, 1, size]
    const mu = tf.add(tf.expandDims(g, 2), tf.mul(offsets, tf.expandDims(delta, 2))); // [batch, N, 1]
    const d = tf.sub(pixels, mu); //                                                 [batch, N, size]
    const exponent = tf.div(tf.neg(tf.square(d)), tf.mul(tf.expandDims(sigma2, 2), 2)); // [batch, N, size]
    return tf.softmax(exponent) as tf.Tensor3D; // rows sum to 1 (the 1/Z of eqs 25-26)  [batch, N, size]
  });
}

/**
 * Eqs 19-20 and 25-26: the horizontal and vertical filterbanks of one head.
 * @returns `Fx: [batch, N, A]`, `Fy: [batch, N, B]`, every row summing to 1.
 */
export function filterbank(
  gX: tf.Tensor2D,
  gY: tf.Tensor2D,
  sigma2: tf.Tensor2D,
  delta: tf.Tensor2D,
  N: number,
  A: number,
  B: number,
): { Fx: tf.Tensor3D; Fy: tf.Tensor3D } {
  return { Fx: axisFilter(gX, delta, sigma2, N, A), Fy: axisFilter(gY, delta, sigma2, N, B) };
}

/** Swaps the last two axes explicitly (tfjs-wasm's matMul transpose flags are 12-40x slower). */
function transposeLast(x: tf.Tensor3D): tf.Tensor3D {
  return tf.transpose(x, [0, 2, 1]);
}

/**
 * Eq 27: read(x, x-hat) = [gamma Fy x Fx^T, gamma Fy x-hat Fx^T], both images through the same filters.
 * @returns `[batch, 2*N*N]`
 */
export function read(
  x: tf.Tensor2D,
  xHat: tf.Tensor2D,
  Fx: tf.Tensor3D,
  Fy: tf.Tensor3D,
  gamma: tf.Tensor2D,
): tf.Tensor2D {
  return tf.tidy(() => {
    const [batch, N, A] = Fx.shape;
    const B = Fy.shape[2];
    // Both images side by side, [batch, B, 2A], so Fy is applied once for the pair.
    const pair = tf.concat([tf.reshape(x, [batch, B, A]), tf.reshape(xHat, [batch, B, A])], 2); // [batch, B, 2A]
    const rows = tf.matMul(Fy, pair); //                                         [batch, N, 2A]
    const [rx, rxHat] = tf.split(rows, 2, 2) as tf.Tensor3D[]; //                 2 x [batch, N, A]
    const FxT = transposeLast(Fx); //                                           [batch, A, N]
    const both = tf.concat([tf.matMul(rx, FxT), tf.matMul(rxHat, FxT)], 1); //    [batch, 2N, N]
    return tf.mul(tf.reshape(both, [batch, 2 * N * N]), gamma); //              [batch, 2*N*N]
  });
}

/**
 * Eq 29: write(w) = (1 / gamma) Fy^T . w . Fx.
 * @param w patch `[batch, N*N]` (eq 28)
 * @returns canvas update `[batch, B*A]`
 */
export function write(w: tf.Tensor2D, Fx: tf.Tensor3D, Fy: tf.Tensor3D, gamma: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => {
    const [batch, N, A] = Fx.shape;
    const B = Fy.shape[2];
    const patch = tf.reshape(w, [batch, N, N]); //                              [batch, N, N]
    const img = tf.matMul(tf.matMul(transposeLast(Fy), patch), Fx); //          [batch, B, A]
    return tf.div(tf.reshape(img, [batch, B * A]), gamma); //                   [batch, B*A]
  });
}

/**
 * Biases for a head's raw output such that the first patch covers the whole image (section 3.2: "the
 * grid of filters covers the whole image"): centre at the image centre (g~ = 0), stride so that N strides
 * span max(A, B) (delta = max(A,B)/N), sigma = delta/2 so neighbouring filters overlap, gamma = 1.
 * A zero bias instead gives sigma = 1 pixel on a 27-pixel stride for N = 2: the 2x2 read sees four nearly
 * blank corner pixels and the posterior collapses (KL -> 0, ~208 nats, seen in a reference run).
 * @returns [g~X, g~Y, log sigma^2, log delta~, log gamma]
 */
export function coverBias(N: number, A: number, B: number): number[] {
  const deltaCover = Math.max(A, B) / N;
  const sigma = deltaCover / 2;
  const logDeltaTilde = N > 1 ? Math.log(deltaCover / strideScale(N, A, B)) : 0;
  return [0, 0, Math.log(sigma * sigma), logDeltaTilde, 0];
}
