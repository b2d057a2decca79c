import * as tf from "@tensorflow/tfjs";
import { assert, assertAlmostEquals, assertEquals, assertLess } from "@std/assert";
import { initBackend } from "../backend.ts";
import type { DrawConfig } from "../config/model.ts";
import { createParams, disposeParams } from "../draw/params.ts";
import { bernoulliNll } from "../draw/loss.ts";
import { lstmStep } from "../draw/lstm.ts";
import { RandomStream, splitSeed } from "../random.ts";
import { evaluate, logMeanExp, meanStderr } from "./bound.ts";

await initBackend("cpu");

// T = 1 and a 1-D latent: log p(x) = log integral N(z; 0, 1) p(x | z) dz is a 1-D integral.
const tiny: DrawConfig = {
  A: 4,
  B: 4,
  T: 1,
  nZ: 1,
  encSize: 8,
  decSize: 8,
  attention: false,
  readN: 2,
  writeN: 2,
  readInit: "cover",
  writeInit: "cover",
};

function images(n: number, seed: number): Float32Array {
  const u = new RandomStream("x", seed).uniform(n * 16);
  return u.map((v) => (v < 0.4 ? 1 : 0));
}

/** -log p(x) by the trapezoidal rule over z in [-12, 12] (float64 accumulation of float32 likelihoods). */
function exactNll(params: ReturnType<typeof createParams>, x: Float32Array): number {
  const m = 4801;
  const zs = Float32Array.from({ length: m }, (_, i) => -12 + (24 * i) / (m - 1));
  const logLik = tf.tidy(() => {
    const z = tf.tensor2d(zs, [m, 1]);
    const h0 = tf.tile(params["init/hDec"], [m, 1]) as tf.Tensor2D;
    const h = lstmStep(
      z,
      { h: h0, c: tf.zeros([m, 8]) },
      params["dec/W"] as tf.Tensor2D,
      params["dec/b"] as tf.Tensor1D,
    );
    const canvas = tf.add(
      tf.add(tf.matMul(h.h, params["write/W"] as tf.Tensor2D), params["write/b"]),
      params["init/canvas"],
    );
    const xs = tf.tile(tf.tensor2d(x, [1, 16]), [m, 1]) as tf.Tensor2D;
    return tf.neg(bernoulliNll(xs, canvas as tf.Tensor2D));
  });
  const ll = logLik.dataSync();
  logLik.dispose();
  const dz = 24 / (m - 1);
  const terms = Array.from(zs, (z, i) => ll[i] - 0.5 * z * z - 0.5 * Math.log(2 * Math.PI) + Math.log(dz));
  terms[0] -= Math.log(2);
  terms[m - 1] -= Math.log(2);
  return -(logMeanExp(terms) + Math.log(m));
}

Deno.test("logMeanExp() and meanStderr() match direct float64 formulas", () => {
  assertAlmostEquals(logMeanExp([0, Math.log(3)]), Math.log(2), 1e-12);
  assertAlmostEquals(logMeanExp([-1000, -1000]), -1000, 1e-9);
  const e = meanStderr([1, 2, 3, 4]);
  assertEquals(e.mean, 2.5);
  assertAlmostEquals(e.stderr, Math.sqrt(5 / 3 / 4), 1e-12); // sample variance 5/3 over n = 4
});

Deno.test("evaluate() with k = 1 estimates the same quantity as the bound", async () => {
  const params = createParams(tiny, splitSeed(3).init);
  const x = images(400, 1);
  const r = await evaluate(tiny, params, x, 400, new RandomStream("eval", 11), { samples: 4, iwaeK: 1 });
  // Per image, the k=1 estimate is Lx + (log q - log p) at one z; its mean is the bound. Compare means over
  // 400 images with 4 standard errors.
  const diff = r.iwae!.mean - r.bound.mean;
  assertLess(Math.abs(diff), 4 * Math.hypot(r.iwae!.stderr, r.bound.stderr) / 3 + 0.05);
  disposeParams(params);
});

Deno.test("evaluate() on a T=1, 1-D latent model: bound >= -log p(x) and IWAE is closer", async () => {
  const params = createParams(tiny, splitSeed(5).init);
  const n = 24;
  const x = images(n, 2);
  const before = tf.memory().numTensors;
  const r = await evaluate(tiny, params, x, n, new RandomStream("eval", 7), {
    samples: 200,
    iwaeK: 2000,
    batchSize: 4000,
  });
  assertEquals(tf.memory().numTensors, before);
  let exact = 0, gapBound = 0, gapIwae = 0;
  for (let i = 0; i < n; i++) {
    const nll = exactNll(params, x.subarray(i * 16, (i + 1) * 16));
    exact += nll / n;
    gapBound += (r.perImage[i] - nll) / n;
    gapIwae += (r.perImageIwae![i] - nll) / n;
  }
  assert(gapBound > -0.05, `the bound must not be below -log p(x): gap ${gapBound}`);
  assertLess(Math.abs(gapIwae), 0.05, `IWAE(k=2000) within 0.05 nats of -log p(x) = ${exact}`);
  assertLess(Math.abs(gapIwae), Math.abs(gapBound) + 1e-9, "IWAE is closer than the bound");
  disposeParams(params);
});
