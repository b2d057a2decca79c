/**
 * Tests of DRAW's loss terms (eqs 9-12): the KL closed form and the Bernoulli NLL on logits.
 */
import * as tf from "@tensorflow/tfjs";
import * as math from "mathjs";
import { assert, assertAlmostEquals, assertEquals, assertLess } from "@std/assert";
import { initBackend } from "../backend.ts";
import { RandomStream } from "../random.ts";
import { bernoulliNll, klPerStep } from "./loss.ts";

await initBackend("cpu");

/** KL(N(mu, sigma^2) || N(0, 1)) summed over dims, in float64 with mathjs: 0.5 sum(mu^2 + s^2 - 2 log s - 1). */
function oracleKl(mu: number[], logSigma: number[]): number {
  const terms = mu.map((m, d) => {
    const sigma = math.exp(logSigma[d]);
    return math.square(m) + math.square(sigma) - 2 * math.log(sigma) - 1;
  });
  return math.multiply(0.5, math.sum(terms)) as number;
}

function kl(mu: number[][], logSigma: number[][]): Float32Array {
  return tf.tidy(() => klPerStep(tf.tensor2d(mu), tf.tensor2d(logSigma)).dataSync() as Float32Array);
}

Deno.test("klPerStep() matches the closed form computed with mathjs, summed over z dims", () => {
  const s = new RandomStream("kl-oracle", 1);
  const batch = 5, nZ = 7;
  const mu = Array.from({ length: batch }, () => Array.from(s.normal(nZ), (v) => 2 * v));
  const logSigma = Array.from({ length: batch }, () => Array.from(s.uniform(nZ), (u) => 3 * u - 2));
  const got = kl(mu, logSigma);
  assertEquals(got.length, batch);
  mu.forEach((m, b) => {
    const want = oracleKl(m, logSigma[b]);
    assertAlmostEquals(got[b], want, 1e-5 * Math.max(1, want));
  });
});

Deno.test("klPerStep() is exactly 0 when the posterior is the prior (mu = 0, sigma = 1)", () => {
  assertEquals(Array.from(kl([[0, 0, 0], [0, 0, 0]], [[0, 0, 0], [0, 0, 0]])), [0, 0]);
});

Deno.test("klPerStep() has the constant -nZ/2 per step: sigma = e gives 0.5 nZ (e^2 - 3)", () => {
  // With mu = 0 and log sigma = 1: 0.5 * nZ * (e^2 - 2 - 1). A constant of -1/2 per step (instead of per
  // dimension) would give 0.5 * (nZ (e^2 - 2) - 1).
  const nZ = 4;
  const got = kl([new Array(nZ).fill(0)], [new Array(nZ).fill(1)])[0];
  assertAlmostEquals(got, 0.5 * nZ * (Math.E ** 2 - 3), 1e-5);
});

Deno.test("klPerStep() reads its second argument as log sigma, not log sigma^2", () => {
  // log sigma = ln 2 means sigma^2 = 4: KL = 0.5 (4 - 2 ln 2 - 1) per dim.
  const got = kl([[0]], [[Math.log(2)]])[0];
  assertAlmostEquals(got, 0.5 * (4 - 2 * Math.log(2) - 1), 1e-6);
});

Deno.test("klPerStep() agrees with a Monte Carlo estimate of E_q[log q(z) - log p(z)] within 4 standard errors", () => {
  const s = new RandomStream("kl-monte-carlo", 2);
  const mu = [0.7, -1.3, 0.1];
  const logSigma = [-0.4, 0.3, -1.1];
  const n = 200_000;
  const eps = s.normal(n * mu.length);
  let sum = 0, sumSq = 0;
  for (let k = 0; k < n; k++) {
    let logRatio = 0;
    mu.forEach((m, d) => {
      const e = eps[k * mu.length + d];
      const z = m + Math.exp(logSigma[d]) * e;
      // log N(z; mu, sigma) - log N(z; 0, 1); the 0.5 log(2 pi) terms cancel.
      logRatio += -0.5 * e * e - logSigma[d] + 0.5 * z * z;
    });
    sum += logRatio;
    sumSq += logRatio * logRatio;
  }
  const mean = sum / n;
  const se = Math.sqrt((sumSq / n - mean * mean) / n);
  const closed = kl([mu], [logSigma])[0];
  console.log(`KL closed form ${closed.toFixed(5)}, Monte Carlo ${mean.toFixed(5)} +- ${se.toFixed(5)}`);
  assertLess(Math.abs(closed - mean), 4 * se);
  assertLess(se, 0.01); // the estimate is tight enough that a wrong constant (0.5 per dim) would fail
});

/** -sum_p [x log sigmoid(c) + (1 - x) log(1 - sigmoid(c))], naively in float64 (fine for |c| <= 30). */
function naiveNll(x: number[], c: number[]): number {
  return x.reduce((acc, xi, p) => {
    const s = 1 / (1 + Math.exp(-c[p]));
    return acc - (xi * Math.log(s) + (1 - xi) * Math.log(1 - s));
  }, 0);
}

function nll(x: number[][], c: number[][]): Float32Array {
  return tf.tidy(() => bernoulliNll(tf.tensor2d(x), tf.tensor2d(c)).dataSync() as Float32Array);
}

Deno.test("bernoulliNll() matches a naive float64 oracle for binary and grey targets", () => {
  const s = new RandomStream("nll-oracle", 3);
  const P = 20;
  const c = Array.from({ length: 4 }, () => Array.from(s.uniform(P), (u) => 24 * u - 12));
  const x = [
    Array.from(s.uniform(P), (u) => (u < 0.5 ? 0 : 1)),
    Array.from(s.uniform(P), (u) => (u < 0.3 ? 0 : 1)),
    Array.from(s.uniform(P)), // grey levels in [0, 1]
    new Array(P).fill(0),
  ];
  const got = nll(x, c);
  x.forEach((xi, b) => assertAlmostEquals(got[b], naiveNll(xi, c[b]), 1e-5 * Math.max(1, got[b])));
});

Deno.test("bernoulliNll() is finite and exact for large |logits| (no log(0), no overflow)", () => {
  const c = [[100, -100, 1e4, -1e4, 88.8, -88.8]];
  const right = nll([[1, 0, 1, 0, 1, 0]], c)[0]; // every pixel predicted correctly with certainty
  const wrong = nll([[0, 1, 0, 1, 0, 1]], c)[0]; // every pixel wrong: NLL = sum |c|
  assert(Number.isFinite(right) && Number.isFinite(wrong), `right ${right}, wrong ${wrong}`);
  assertAlmostEquals(right, 0, 1e-30);
  assertAlmostEquals(wrong, 100 + 100 + 1e4 + 1e4 + 88.8 + 88.8, 1e-2);
  // The gradient sigmoid(c) - x is finite as well.
  const g = tf.tidy(() =>
    tf.grad((l: tf.Tensor) => tf.sum(bernoulliNll(tf.tensor2d([[0, 1, 0, 1, 0, 1]]), l as tf.Tensor2D)))(
      tf.tensor2d(c),
    ).dataSync()
  );
  assertEquals(Array.from(g), [1, -1, 1, -1, 1, -1]);
});

Deno.test("bernoulliNll() gradient wrt the logits is sigmoid(c) - x away from 0", () => {
  const c = [[-3, -0.5, 0.25, 2, 7]];
  const x = [[1, 0, 1, 0, 1]];
  const g = tf.tidy(() =>
    tf.grad((l: tf.Tensor) => tf.sum(bernoulliNll(tf.tensor2d(x), l as tf.Tensor2D)))(tf.tensor2d(c))
      .dataSync()
  );
  c[0].forEach((ci, p) => assertAlmostEquals(g[p], 1 / (1 + Math.exp(-ci)) - x[0][p], 1e-6));
});
