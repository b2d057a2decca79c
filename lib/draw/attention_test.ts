/**
 * Tests of DRAW's Gaussian attention (eqs 19-29) against oracles written straight from the paper.
 * Run on the cpu backend (plain float32 JavaScript) so that the comparisons are exact and fast.
 */
import * as tf from "@tensorflow/tfjs";
import * as math from "mathjs";
import { assert, assertAlmostEquals, assertEquals, assertLess, assertLessOrEqual } from "@std/assert";
import { initBackend } from "../backend.ts";
import { RandomStream } from "../random.ts";
import { attentionParams, coverBias, filterbank, gridOffsets, read, write } from "./attention.ts";

await initBackend("cpu");

/** Uniform numbers in [lo, hi) from a stream. */
function uniformIn(s: RandomStream, n: number, lo: number, hi: number): number[] {
  return Array.from(s.uniform(n), (u) => lo + (hi - lo) * u);
}

/**
 * The filterbank of one axis straight from eqs 19-20 and 25-26, in float64 with mathjs, 1-based i and a:
 * mu_i = g + (i - N/2 - 0.5) delta, F[i, a] = exp(-(a - mu_i)^2 / (2 sigma^2)) / Z_i, Z_i = sum_a (...).
 */
function oracleAxis(g: number, delta: number, sigma2: number, N: number, size: number): number[][] {
  const F: number[][] = [];
  for (let i = 1; i <= N; i++) {
    const mu = math.add(g, math.multiply(math.subtract(math.subtract(i, N / 2), 0.5), delta)) as number;
    const row: number[] = [];
    for (let a = 1; a <= size; a++) {
      row.push(math.exp(math.divide(-math.square(a - mu), math.multiply(2, sigma2)) as number));
    }
    const Z = math.sum(row);
    F.push(row.map((v) => math.divide(v, Z) as number));
  }
  return F;
}

/** Random raw attention outputs (g~X, g~Y, log sigma^2, log delta~, log gamma), kept in a sane range. */
function randomRaw(s: RandomStream, batch: number): number[][] {
  return Array.from({ length: batch }, () => [
    ...uniformIn(s, 2, -1.2, 1.2),
    ...uniformIn(s, 1, -0.5, 3),
    ...uniformIn(s, 1, -1.5, 0.3),
    ...uniformIn(s, 1, -0.5, 0.5),
  ]);
}

/** Eqs 21-24 by hand for one raw row. */
function paramsByHand(raw: number[], N: number, A: number, B: number) {
  const [gXt, gYt, logSigma2, logDeltaT, logGamma] = raw;
  return {
    gX: ((A + 1) / 2) * (gXt + 1),
    gY: ((B + 1) / 2) * (gYt + 1),
    sigma2: Math.exp(logSigma2),
    // Eq 24 is undefined for N = 1, where the single centre is g whatever delta is (eqs 19-20).
    delta: N > 1 ? ((Math.max(A, B) - 1) / (N - 1)) * Math.exp(logDeltaT) : 0,
    gamma: Math.exp(logGamma),
  };
}

/** The filterbank of a batch of raw rows through the model's own attentionParams and filterbank. */
function modelFilterbank(raw: number[][], N: number, A: number, B: number) {
  return tf.tidy(() => {
    const p = attentionParams(tf.tensor2d(raw), N, A, B);
    const { Fx, Fy } = filterbank(p.gX, p.gY, p.sigma2, p.delta, N, A, B);
    return { Fx: Fx.arraySync(), Fy: Fy.arraySync(), gamma: p.gamma.arraySync() };
  });
}

/** Centre of mass (1-based pixel coordinate) of each row of a [N, size] filter. */
function centresOfMass(F: number[][]): number[] {
  return F.map((row) => row.reduce((acc, w, k) => acc + w * (k + 1), 0) / row.reduce((a, b) => a + b, 0));
}

for (const [A, B] of [[7, 5], [28, 28]]) {
  Deno.test(`filterbank() matches a float64 mathjs oracle of eqs 19-26 for N = 1, 2, 3, 5, 12 on ${A}x${B}`, () => {
    const s = new RandomStream("filterbank-oracle", 1000 + A);
    let worst = 0;
    for (const N of [1, 2, 3, 5, 12]) {
      const raw = randomRaw(s, 6);
      const got = modelFilterbank(raw, N, A, B);
      raw.forEach((r, b) => {
        const p = paramsByHand(r, N, A, B);
        const Fx = oracleAxis(p.gX, p.delta, p.sigma2, N, A);
        const Fy = oracleAxis(p.gY, p.delta, p.sigma2, N, B);
        for (let i = 0; i < N; i++) {
          for (let a = 0; a < A; a++) {
            assert(Number.isFinite(Fx[i][a]), `oracle Fx not finite for raw ${r}`);
            worst = Math.max(worst, Math.abs(got.Fx[b][i][a] - Fx[i][a]));
          }
          for (let y = 0; y < B; y++) worst = Math.max(worst, Math.abs(got.Fy[b][i][y] - Fy[i][y]));
        }
      });
    }
    console.log(`largest |filterbank - oracle| on ${A}x${B}: ${worst.toExponential(2)}`);
    assertLess(worst, 1e-5);
  });
}

Deno.test("filterbank() rows sum to 1 for every glimpse", () => {
  const s = new RandomStream("filterbank-rows", 7);
  for (const N of [1, 2, 5, 12]) {
    const got = modelFilterbank(randomRaw(s, 8), N, 7, 5);
    for (const F of [got.Fx, got.Fy]) {
      for (const glimpse of F) {
        for (const row of glimpse) assertAlmostEquals(row.reduce((a, b) => a + b, 0), 1, 1e-5);
      }
    }
  }
});

Deno.test("filterbank() stays normalised where the unnormalised Gaussian underflows (sigma << distance)", () => {
  // sigma^2 = e^-4 and a centre 20 pixels outside the image: every exp() underflows in float32.
  const raw = [[-3, 3, -4, 0, 0]];
  const got = modelFilterbank(raw, 3, 7, 5);
  for (const row of [...got.Fx[0], ...got.Fy[0]]) {
    assert(row.every(Number.isFinite), `row not finite: ${row}`);
    assertAlmostEquals(row.reduce((a, b) => a + b, 0), 1, 1e-5);
  }
});

Deno.test("filterbank() indexes pixels from 1: a filter centred on g = 5 peaks on the fifth pixel", () => {
  const { Fx, Fy } = tf.tidy(() => {
    const fb = filterbank(
      tf.tensor2d([[5]]),
      tf.tensor2d([[2]]),
      tf.tensor2d([[0.25]]),
      tf.tensor2d([[1]]),
      1,
      9,
      4,
    );
    return { Fx: fb.Fx.arraySync(), Fy: fb.Fy.arraySync() };
  });
  const argmax = (row: number[]) => row.indexOf(Math.max(...row));
  assertEquals(argmax(Fx[0][0]), 4); // array index 4 = pixel a = 5
  assertEquals(argmax(Fy[0][0]), 1); // array index 1 = pixel b = 2
  assertAlmostEquals(centresOfMass(Fx[0])[0], 5, 1e-4);
});

for (const N of [3, 4, 5, 6]) {
  Deno.test(`filterbank() centres the ${N % 2 ? "odd" : "even"} grid N = ${N} on g (eqs 19-20)`, () => {
    // A wide image and narrow filters, so that the centre of mass of each row is mu_i itself.
    const A = 61, g = 27.3, delta = 3.5;
    const Fx = tf.tidy(() =>
      filterbank(tf.tensor2d([[g]]), tf.tensor2d([[g]]), tf.tensor2d([[1]]), tf.tensor2d([[delta]]), N, A, A)
        .Fx.arraySync()
    )[0];
    const centres = centresOfMass(Fx);
    centres.forEach((c, k) =>
      assertAlmostEquals(c, g + (k + 1 - N / 2 - 0.5) * delta, 1e-3)
    );
    assertAlmostEquals(
      centres.reduce((a, b) =>
        a + b, 0) / N,
      g,
      1e-3,
    );
    if (N % 2 === 1) {
      assertAlmostEquals(centres[(N - 1) / 2], g, 1e-3);
    }
    const offsets = Array.from(gridOffsets(N));
    assertEquals(
      offsets.reduce((a, b) =>
        a + b, 0),
      0,
    );
    if (N % 2 === 1) {
      assertEquals(offsets[(N - 1) / 2], 0);
    }
  });
}

Deno.test("attentionParams() delta multiplies: doubling exp(log delta~) doubles the spacing of the filter centres", () => {
  const A = 61, N = 4;
  const spacing = (logDeltaT: number) =>
    tf.tidy(() => {
      const p = attentionParams(tf.tensor2d([[0, 0, 0, logDeltaT, 0]]), N, A, A);
      const F = filterbank(p.gX, p.gY, p.sigma2, p.delta, N, A, A).Fx.arraySync()[0];
      const c = centresOfMass(F);
      return { delta: p.delta.arraySync()[0][0], gap: (c[N - 1] - c[0]) / (N - 1) };
    });
  const one = spacing(Math.log(0.15));
  const two = spacing(Math.log(0.3));
  assertAlmostEquals(one.delta, (60 / 3) * 0.15, 1e-5);
  assertAlmostEquals(two.delta / one.delta, 2, 1e-6);
  assertAlmostEquals(two.gap / one.gap, 2, 1e-3);
});

Deno.test("attentionParams() follows eqs 21-24 computed by hand (A != B, N = 3)", () => {
  const A = 7, B = 5, N = 3;
  const raw = [[0.2, -0.4, Math.log(3), Math.log(0.5), Math.log(2)], [-1, 1, 0, 0, 0]];
  const got = tf.tidy(() => {
    const p = attentionParams(tf.tensor2d(raw), N, A, B);
    return Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v.arraySync().map((r) => r[0])]));
  });
  // Row 0: gX = 4 * 1.2, gY = 3 * 0.6, sigma^2 = 3 (the head emits log sigma^2), delta = 6/2 * 0.5, gamma = 2.
  const expected = [{ gX: 4.8, gY: 1.8, sigma2: 3, delta: 1.5, gamma: 2 }, paramsByHand(raw[1], N, A, B)];
  assertEquals(expected[1], { gX: 0, gY: 6, sigma2: 1, delta: 3, gamma: 1 });
  expected.forEach((e, b) => {
    for (const [k, v] of Object.entries(e)) assertAlmostEquals(got[k][b], v, 1e-5, `${k}[${b}]`);
  });
  for (const k of ["gX", "gY", "sigma2", "delta", "gamma"]) assert(k in got, `missing ${k}`);
});

Deno.test("attentionParams() of a zero raw output puts g at the image centre (A + 1) / 2", () => {
  const p = tf.tidy(() => {
    const q = attentionParams(tf.zeros([1, 5]), 2, 28, 9);
    return { gX: q.gX.dataSync()[0], gY: q.gY.dataSync()[0], delta: q.delta.dataSync()[0] };
  });
  assertEquals(p, { gX: 14.5, gY: 5, delta: 27 });
});

/** Explicit-loop glimpse: gamma * sum_b sum_a Fy[j, b] x[b, a] Fx[i, a], stored at j * N + i. */
function oracleRead(x: number[], Fx: number[][], Fy: number[][], gamma: number, A: number): number[] {
  const N = Fx.length, B = Fy[0].length;
  const out = new Array(N * N).fill(0);
  for (let j = 0; j < N; j++) {
    for (let i = 0; i < N; i++) {
      let acc = 0;
      for (let b = 0; b < B; b++) for (let a = 0; a < A; a++) acc += Fy[j][b] * x[b * A + a] * Fx[i][a];
      out[j * N + i] = gamma * acc;
    }
  }
  return out;
}

/** Explicit-loop write (eq 29): (1 / gamma) sum_j sum_i Fy[j, b] w[j, i] Fx[i, a], stored at b * A + a. */
function oracleWrite(w: number[], Fx: number[][], Fy: number[][], gamma: number): number[] {
  const N = Fx.length, A = Fx[0].length, B = Fy[0].length;
  const out = new Array(B * A).fill(0);
  for (let b = 0; b < B; b++) {
    for (let a = 0; a < A; a++) {
      let acc = 0;
      for (let j = 0; j < N; j++) for (let i = 0; i < N; i++) acc += Fy[j][b] * w[j * N + i] * Fx[i][a];
      out[b * A + a] = acc / gamma;
    }
  }
  return out;
}

Deno.test("read() and write() match explicit loops over the filters (A = 7, B = 5, N = 3)", () => {
  const A = 7, B = 5, N = 3, batch = 3;
  const s = new RandomStream("read-oracle", 3);
  const raw = randomRaw(s, batch);
  const x = Array.from({ length: batch }, () => Array.from(s.uniform(A * B)));
  const xHat = Array.from({ length: batch }, () => uniformIn(s, A * B, -1, 1));
  const w = Array.from({ length: batch }, () => uniformIn(s, N * N, -2, 2));
  const { Fx, Fy, gamma } = modelFilterbank(raw, N, A, B);
  const got = tf.tidy(() => {
    const [fx, fy, g] = [tf.tensor3d(Fx), tf.tensor3d(Fy), tf.tensor2d(gamma)];
    return {
      pair: read(tf.tensor2d(x), tf.tensor2d(xHat), fx, fy, g).arraySync(),
      written: write(tf.tensor2d(w), fx, fy, g).arraySync(),
    };
  });
  let worst = 0;
  const cmp = (a: number[], b: number[]) => {
    assertEquals(a.length, b.length);
    a.forEach((v, k) => (worst = Math.max(worst, Math.abs(v - b[k]) / Math.max(1, Math.abs(b[k])))));
  };
  for (let b = 0; b < batch; b++) {
    const g = gamma[b][0];
    assert(Math.abs(g - 1) > 1e-3, "gamma should differ from 1 so that its role is tested");
    const rx = oracleRead(x[b], Fx[b], Fy[b], g, A);
    cmp(got.pair[b], [...rx, ...oracleRead(xHat[b], Fx[b], Fy[b], g, A)]); // eq 27: [read x, read x-hat]
    cmp(got.written[b], oracleWrite(w[b], Fx[b], Fy[b], g));
  }
  assertLess(worst, 1e-5);
});

/** gamma Fy x Fx^T alone, `[batch, N*N]`: the first half of eq 27's read(x, x-hat). */
function readX(x: tf.Tensor2D, Fx: tf.Tensor3D, Fy: tf.Tensor3D, gamma: tf.Tensor2D): tf.Tensor2D {
  return tf.slice(read(x, tf.zerosLike(x), Fx, Fy, gamma), [0, 0], [-1, Fx.shape[1] ** 2]);
}

Deno.test("write() is the adjoint of read() of x for the same filters and gamma = 1: <read(x), w> = <x, write(w)>", () => {
  const s = new RandomStream("adjoint", 11);
  for (const [A, B, N] of [[7, 5, 3], [28, 28, 5], [6, 9, 2]]) {
    const batch = 4;
    const raw = randomRaw(s, batch).map((r) => [...r.slice(0, 4), 0]); // log gamma = 0
    const x = Array.from({ length: batch }, () => uniformIn(s, A * B, -1, 1));
    const w = Array.from({ length: batch }, () => uniformIn(s, N * N, -1, 1));
    const [lhs, rhs] = tf.tidy(() => {
      const p = attentionParams(tf.tensor2d(raw), N, A, B);
      const { Fx, Fy } = filterbank(p.gX, p.gY, p.sigma2, p.delta, N, A, B);
      const r = readX(tf.tensor2d(x), Fx, Fy, p.gamma);
      const u = write(tf.tensor2d(w), Fx, Fy, p.gamma);
      return [
        tf.sum(tf.mul(r, tf.tensor2d(w)), 1).dataSync(),
        tf.sum(tf.mul(tf.tensor2d(x), u), 1).dataSync(),
      ];
    });
    lhs.forEach((l, b) =>
      assertAlmostEquals(l, rhs[b], 1e-5 * Math.max(1, Math.abs(rhs[b])), `${A}x${B} N=${N}`)
    );
  }
});

Deno.test("write() divides by gamma: <read(x), w> = gamma^2 <x, write(w)> for gamma != 1", () => {
  const A = 7, B = 5, N = 3;
  const s = new RandomStream("adjoint-gamma", 12);
  const raw = [[0.1, -0.2, 0.5, -0.3, Math.log(1.7)]];
  const x = [uniformIn(s, A * B, -1, 1)];
  const w = [uniformIn(s, N * N, -1, 1)];
  const [lhs, rhs] = tf.tidy(() => {
    const p = attentionParams(tf.tensor2d(raw), N, A, B);
    const { Fx, Fy } = filterbank(p.gX, p.gY, p.sigma2, p.delta, N, A, B);
    const r = readX(tf.tensor2d(x), Fx, Fy, p.gamma);
    const u = write(tf.tensor2d(w), Fx, Fy, p.gamma);
    return [tf.sum(tf.mul(r, tf.tensor2d(w))).dataSync()[0], tf.sum(tf.mul(tf.tensor2d(x), u)).dataSync()[0]];
  });
  assertAlmostEquals(lhs, 1.7 * 1.7 * rhs, 1e-5 * Math.max(1, Math.abs(lhs)));
});

/**
 * Central-difference check of `f` (a scalar function of some float32 inputs) against tf.grads at the given
 * entries. Returns the largest relative error |fd - grad| / max(|fd|, |grad|, floor).
 */
function gradCheck(
  f: (...xs: tf.Tensor[]) => tf.Scalar,
  inputs: { values: number[][]; check: number[] }[],
  h: number,
  floor: number,
): number {
  const analytic = tf.tidy(() => {
    const ts = inputs.map((i) => tf.tensor2d(i.values));
    return tf.grads(f)(ts).map((g) => Array.from(g.dataSync()));
  });
  const evalAt = (k: number, flat: number, dx: number) =>
    tf.tidy(() => {
      const ts = inputs.map((inp, m) => {
        const t = tf.tensor2d(inp.values);
        if (m !== k) return t;
        const d = new Float32Array(t.size);
        d[flat] = dx;
        return tf.add(t, tf.tensor2d(d, t.shape as [number, number]));
      });
      return f(...ts).dataSync()[0];
    });
  let worst = 0;
  inputs.forEach((inp, k) => {
    for (const flat of inp.check) {
      const fd = (evalAt(k, flat, h) - evalAt(k, flat, -h)) / (2 * h);
      const an = analytic[k][flat];
      const rel = Math.abs(fd - an) / Math.max(Math.abs(fd), Math.abs(an), floor);
      worst = Math.max(worst, rel);
    }
  });
  return worst;
}

Deno.test("read() and write() gradients wrt the raw attention parameters and the image match central differences", () => {
  const A = 7, B = 5, batch = 2;
  const s = new RandomStream("attention-gradcheck", 21);
  let worst = 0;
  for (const N of [2, 3]) {
    const raw = randomRaw(s, batch).map((
      r,
    ) => [r[0] * 0.5, r[1] * 0.5, 0.3 + 0.3 * r[2], -0.3 + 0.2 * r[3], r[4]]);
    const x = Array.from({ length: batch }, () => Array.from(s.uniform(A * B)));
    const xHat = Array.from({ length: batch }, () => uniformIn(s, A * B, -1, 1));
    const w = Array.from({ length: batch }, () => uniformIn(s, N * N, -1, 1));
    const rw = tf.tensor2d(Array.from({ length: batch }, () => uniformIn(s, 2 * N * N, -1, 1)));
    const ww = tf.tensor2d(Array.from({ length: batch }, () => uniformIn(s, A * B, -1, 1)));
    const all = (n: number) => Array.from({ length: n }, (_, k) => k);
    const sample = (n: number) => Array.from(s.permutation(n).slice(0, 12));
    const readLoss = (r: tf.Tensor, img: tf.Tensor, imgHat: tf.Tensor) => {
      const p = attentionParams(r as tf.Tensor2D, N, A, B);
      const { Fx, Fy } = filterbank(p.gX, p.gY, p.sigma2, p.delta, N, A, B);
      return tf.sum(
        tf.mul(read(img as tf.Tensor2D, imgHat as tf.Tensor2D, Fx, Fy, p.gamma), rw),
      ) as tf.Scalar;
    };
    const writeLoss = (r: tf.Tensor, patch: tf.Tensor) => {
      const p = attentionParams(r as tf.Tensor2D, N, A, B);
      const { Fx, Fy } = filterbank(p.gX, p.gY, p.sigma2, p.delta, N, A, B);
      return tf.sum(tf.mul(write(patch as tf.Tensor2D, Fx, Fy, p.gamma), ww)) as tf.Scalar;
    };
    worst = Math.max(
      worst,
      gradCheck(
        readLoss,
        [
          { values: raw, check: all(batch * 5) },
          { values: x, check: sample(batch * A * B) },
          { values: xHat, check: sample(batch * A * B) },
        ],
        1e-2,
        1e-2,
      ),
      gradCheck(
        writeLoss,
        [{ values: raw, check: all(batch * 5) }, { values: w, check: all(batch * N * N) }],
        1e-2,
        1e-2,
      ),
    );
    tf.dispose([rw, ww]);
  }
  console.log(`largest attention gradient-check relative error: ${worst.toExponential(2)}`);
  assertLess(worst, 1e-2);
});

Deno.test("coverBias() makes the first 2x2 read cover the image, while a zero bias sees only the corners (the trap)", () => {
  const A = 28, B = 28, N = 2;
  const weights = (bias: number[]) => modelFilterbank([bias], N, A, B).Fx[0];
  const cover = weights(coverBias(N, A, B));
  const zero = weights([0, 0, 0, 0, 0]);
  // Mass each filter row puts on the central 8 pixels (a = 11..18).
  const central = (row: number[]) => row.slice(10, 18).reduce((a, b) => a + b, 0);
  for (const row of cover) assertLess(0.15, central(row));
  for (const row of zero) assertLess(central(row), 1e-12);
  // Every pixel gets weight from some filter under "cover"; the zero bias leaves the middle blind.
  const coverage = (F: number[][]) => Array.from({ length: A }, (_, a) => F[0][a] + F[1][a]);
  assertLess(0.01, Math.min(...coverage(cover)));
  assertLess(Math.min(...coverage(zero)), 1e-12);
  // The "cover" grid spans the image: centres mu_i (eq 19) in the first and last quarter, sigma = delta / 2.
  const p = paramsByHand(coverBias(N, A, B), N, A, B);
  const mu = Array.from(gridOffsets(N), (o) => p.gX + o * p.delta);
  assertLessOrEqual(mu[0], A / 4 + 1);
  assertLessOrEqual(3 * A / 4, mu[1]);
  assertAlmostEquals(Math.sqrt(p.sigma2), p.delta / 2, 1e-9);
});
