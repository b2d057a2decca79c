/**
 * Tests of the DRAW recurrence (eqs 1-16) on tiny models: gradients against central differences, and one
 * test per deviation of the widely copied seed implementation proving it is absent.
 */
import * as tf from "@tensorflow/tfjs";
import {
  assert,
  assertAlmostEquals,
  assertEquals,
  assertGreater,
  assertLess,
  assertNotEquals,
} from "@std/assert";
import { initBackend } from "../backend.ts";
import { RandomStream, splitSeed } from "../random.ts";
import { type DrawConfig, validateDrawConfig } from "../config/model.ts";
import { filterbank, gridOffsets } from "./attention.ts";
import { createParams, disposeParams, type DrawParams, paramShapes } from "./params.ts";
import { drawEpsilon, drawLoss, generate, reconstruct, type Sequence } from "./model.ts";

await initBackend("cpu");

/** A tiny model (T = 3, 6x6 images, read 2x2 != write 3x3) for exact and fast checks. */
function tiny(over: Partial<DrawConfig> = {}): DrawConfig {
  return validateDrawConfig({
    A: 6,
    B: 6,
    T: 3,
    nZ: 2,
    encSize: 5,
    decSize: 4,
    attention: true,
    readN: 2,
    writeN: 3,
    readInit: "cover",
    writeInit: "cover",
    ...over,
  });
}

/** Binary images `[n, B*A]` from a stream. */
function binaryImages(cfg: DrawConfig, n: number, stream: RandomStream): tf.Tensor2D {
  return tf.tensor2d(Array.from(stream.uniform(n * cfg.A * cfg.B), (u) => (u < 0.4 ? 1 : 0)), [
    n,
    cfg.A * cfg.B,
  ]);
}

/** Adds `scale * N(0, 1)` noise to every variable, so that checks do not sit at the special initial point. */
function jitter(params: DrawParams, stream: RandomStream, scale: number): void {
  for (const v of Object.values(params)) {
    tf.tidy(() => v.assign(tf.add(v, tf.mul(tf.tensor(stream.normal(v.size), v.shape), scale))));
  }
}

/** Adds `delta` to the given flat entries (all entries when omitted) of one variable. */
function nudge(v: tf.Variable, delta: number, entries?: number[]): void {
  tf.tidy(() => {
    const d = new Float32Array(v.size);
    if (entries) { for (const k of entries) d[k] = delta; }
    else d.fill(delta);
    v.assign(tf.add(v, tf.tensor(d, v.shape)));
  });
}

/** The summed loss sum_batch (L^x + L^z) as a number. */
function totalLoss(cfg: DrawConfig, p: DrawParams, x: tf.Tensor2D, eps: tf.Tensor3D): number {
  return tf.tidy(() => {
    const l = drawLoss(cfg, p, x, eps);
    return tf.sum(tf.add(l.lossX, l.lossZ)).dataSync()[0];
  });
}

/** Runs `fn` inside tf.tidy and returns its (non-tensor) result; every tensor made inside is disposed. */
function within<T>(fn: () => T): T {
  let out: T | undefined;
  tf.tidy(() => {
    out = fn();
  });
  return out as T;
}

/** Analytic gradients of the summed loss, by variable name. */
function lossGrads(
  cfg: DrawConfig,
  p: DrawParams,
  x: tf.Tensor2D,
  eps: tf.Tensor3D,
): Map<string, Float32Array> {
  return within(() => {
    const names = Object.keys(p);
    const { grads } = tf.variableGrads(() => {
      const l = drawLoss(cfg, p, x, eps);
      return tf.sum(tf.add(l.lossX, l.lossZ)) as tf.Scalar;
    }, names.map((n) => p[n]));
    return new Map(names.map((n) => {
      const g = grads[p[n].name];
      assert(g, `variable ${n} receives no gradient: the loss does not use it`);
      return [n, g.dataSync() as Float32Array];
    }));
  });
}

/** Flat canvases of a sequence, for bit-for-bit comparison. */
function flat(seq: Sequence): number[] {
  return seq.canvases.flatMap((step) => step.flatMap((row) => Array.from(row)));
}

for (const attention of [true, false]) {
  Deno.test(
    `drawLoss() gradients match central differences for a sample of entries of every variable (attention ${
      attention ? "on, read 2x2, write 3x3" : "off"
    })`,
    () => {
      const cfg = tiny({ attention });
      const streams = splitSeed(attention ? 5 : 6);
      const p = createParams(cfg, streams.init);
      jitter(p, streams.init, 0.3);
      const x = binaryImages(cfg, 2, streams.binarize);
      const eps = drawEpsilon(cfg, 2, streams.epsilon);
      const analytic = lossGrads(cfg, p, x, eps);
      let worst = 0, worstName = "";
      let checked = 0;
      for (const [name, v] of Object.entries(p)) {
        const entries = Array.from(streams.eval.permutation(v.size).slice(0, 6));
        for (const k of entries) {
          const central = (h: number) => {
            nudge(v, h, [k]);
            const up = totalLoss(cfg, p, x, eps);
            nudge(v, -2 * h, [k]);
            const down = totalLoss(cfg, p, x, eps);
            nudge(v, h, [k]);
            return (up - down) / (2 * h);
          };
          // Richardson extrapolation of two central differences cancels the h^2 truncation error, so the
          // steps can stay large enough (2e-2, 4e-2) for float32 rounding of the loss not to dominate.
          const fd = (4 * central(2e-2) - central(4e-2)) / 3;
          const an = analytic.get(name)![k];
          const rel = Math.abs(fd - an) / Math.max(Math.abs(fd), Math.abs(an), 5e-2);
          if (rel > worst) [worst, worstName] = [rel, `${name}[${k}]: fd ${fd}, analytic ${an}`];
          checked++;
        }
      }
      console.log(
        `largest loss gradient-check relative error (${checked} entries): ${
          worst.toExponential(2)
        } at ${worstName}`,
      );
      assertLess(worst, 1e-2);
      tf.dispose([x, eps]);
      disposeParams(p);
    },
  );
}

Deno.test("c0, h_enc0 and h_dec0 are learned: trainable variables that receive nonzero gradients", () => {
  const cfg = tiny();
  const streams = splitSeed(7);
  const p = createParams(cfg, streams.init);
  const x = binaryImages(cfg, 3, streams.binarize);
  const eps = drawEpsilon(cfg, 3, streams.epsilon);
  const g = lossGrads(cfg, p, x, eps);
  for (const name of ["init/canvas", "init/hEnc", "init/hDec"]) {
    assert(p[name].trainable, `${name} is not trainable`);
    const norm = Math.hypot(...g.get(name)!);
    assertGreater(norm, 1e-4, `${name} gradient norm ${norm}`);
  }
  tf.dispose([x, eps]);
  disposeParams(p);
});

Deno.test("drawLoss() uses a fresh epsilon for every step: each step's slice of eps moves the loss", () => {
  const cfg = tiny({ T: 4 });
  const streams = splitSeed(8);
  const p = createParams(cfg, streams.init);
  jitter(p, streams.init, 0.3);
  const x = binaryImages(cfg, 2, streams.binarize);
  const eps = drawEpsilon(cfg, 2, streams.epsilon);
  const perStep = tf.tidy(() => {
    const g = tf.grad((e: tf.Tensor) => {
      const l = drawLoss(cfg, p, x, e as tf.Tensor3D);
      return tf.sum(tf.add(l.lossX, l.lossZ));
    })(eps);
    return tf.sqrt(tf.sum(tf.square(g), [1, 2])).arraySync() as number[]; // gradient norm per step
  });
  assertEquals(perStep.length, cfg.T);
  for (const [t, n] of perStep.entries()) assertGreater(n, 1e-5, `step ${t + 1} ignores its epsilon`);
  // drawEpsilon gives each step its own draws (no step reuses another's).
  const slices = tf.tidy(() => tf.unstack(eps).map((s) => Array.from(s.dataSync())));
  for (let t = 1; t < cfg.T; t++) assertNotEquals(slices[t], slices[0]);
  tf.dispose([x, eps]);
  disposeParams(p);
});

Deno.test("the KL constant is -nZ/2 per step: a posterior equal to the prior gives L^z exactly 0 for any T", () => {
  for (const T of [1, 3, 7]) {
    const cfg = tiny({ T, nZ: 3 });
    const streams = splitSeed(9);
    const p = createParams(cfg, streams.init);
    p["post/W"].assign(tf.zerosLike(p["post/W"]));
    p["post/b"].assign(tf.zerosLike(p["post/b"])); // mu = 0, log sigma = 0 at every step
    const x = binaryImages(cfg, 2, streams.binarize);
    const eps = drawEpsilon(cfg, 2, streams.epsilon);
    const [lossZ, kl] = tf.tidy(() => {
      const l = drawLoss(cfg, p, x, eps);
      return [Array.from(l.lossZ.dataSync()), l.klPerStep.arraySync()];
    });
    assertEquals(lossZ, [0, 0]);
    assertEquals(kl, [new Array(T).fill(0), new Array(T).fill(0)]);
    tf.dispose([x, eps]);
    disposeParams(p);
  }
});

Deno.test("the posterior emits log sigma (eq 2): post bias (mu, log sigma) = (0, ln 2) gives KL 0.5 nZ (3 - 2 ln 2) per step", () => {
  const cfg = tiny({ T: 2, nZ: 3 });
  const streams = splitSeed(10);
  const p = createParams(cfg, streams.init);
  p["post/W"].assign(tf.zerosLike(p["post/W"]));
  p["post/b"].assign(tf.tensor1d([0, 0, 0, Math.LN2, Math.LN2, Math.LN2]));
  const x = binaryImages(cfg, 1, streams.binarize);
  const eps = drawEpsilon(cfg, 1, streams.epsilon);
  const { kl, lossZ } = tf.tidy(() => {
    const l = drawLoss(cfg, p, x, eps);
    return { kl: l.klPerStep.arraySync()[0], lossZ: l.lossZ.dataSync()[0] };
  });
  const want = 0.5 * cfg.nZ * (4 - 2 * Math.LN2 - 1); // sigma^2 = 4; as log sigma^2 it would be 2
  for (const k of kl) assertAlmostEquals(k, want, 1e-5);
  assertAlmostEquals(lossZ, cfg.T * want, 1e-5); // eq 10: L^z sums the steps
  tf.dispose([x, eps]);
  disposeParams(p);
});

Deno.test("read and write are separate heads with their own parameters and gamma, and their own N", () => {
  const cfg = tiny({ readN: 2, writeN: 3 });
  const shapes = Object.fromEntries(paramShapes(cfg));
  assertEquals(shapes["read/attW"], [cfg.decSize, 5]);
  assertEquals(shapes["write/attW"], [cfg.decSize, 5]);
  assertEquals(shapes["read/attB"], [5]);
  assertEquals(shapes["write/attB"], [5]);
  // Read N = 2: r_t = two 2x2 glimpses; write N = 3: a 3x3 patch.
  assertEquals(shapes["enc/W"], [2 * 2 * 2 + cfg.decSize + cfg.encSize, 4 * cfg.encSize]);
  assertEquals(shapes["write/W"], [cfg.decSize, 3 * 3]);
  const noAttention = paramShapes(tiny({ attention: false })).map(([n]) => n);
  assert(!noAttention.some((n) => n.includes("att")), `unexpected heads: ${noAttention}`);
});

Deno.test("changing the write head's log gamma changes generate() while the read head's log gamma does not, but moves the loss", async () => {
  const cfg = tiny();
  const run = async (name?: string) => {
    const streams = splitSeed(11);
    const p = createParams(cfg, streams.init);
    jitter(p, streams.init, 0.2);
    if (name) nudge(p[name], 0.5, [4]); // index 4 of the head's raw output is log gamma
    const x = binaryImages(cfg, 2, streams.binarize);
    const eps = drawEpsilon(cfg, 2, streams.epsilon);
    const loss = totalLoss(cfg, p, x, eps);
    const gen = flat(await generate(cfg, p, 2, new RandomStream("gen", 1)));
    tf.dispose([x, eps]);
    disposeParams(p);
    return { loss, gen };
  };
  const base = await run();
  const readGamma = await run("read/attB");
  const writeGamma = await run("write/attB");
  assertEquals(readGamma.gen, base.gen);
  assertNotEquals(readGamma.loss, base.loss);
  assertNotEquals(writeGamma.gen, base.gen);
});

Deno.test("generate() runs the decoder only (eqs 13-16): encoder, posterior and read variables leave it bit-identical", async () => {
  const cfg = tiny();
  const generateWith = async (name?: string) => {
    const streams = splitSeed(12);
    const p = createParams(cfg, streams.init);
    jitter(p, streams.init, 0.2);
    if (name) nudge(p[name], 0.5);
    const seq = await generate(cfg, p, 3, new RandomStream("gen", 2));
    disposeParams(p);
    return flat(seq);
  };
  const base = await generateWith();
  for (const name of ["enc/W", "enc/b", "post/W", "post/b", "read/attW", "read/attB", "init/hEnc"]) {
    assertEquals(await generateWith(name), base, `generate() depends on ${name}`);
  }
  for (
    const name of [
      "dec/W",
      "dec/b",
      "write/W",
      "write/b",
      "write/attW",
      "write/attB",
      "init/canvas",
      "init/hDec",
    ]
  ) {
    assertNotEquals(await generateWith(name), base, `generate() ignores ${name}`);
  }
});

Deno.test("generate() samples z from the prior: a different stream gives different images, the same stream the same", async () => {
  const cfg = tiny();
  const streams = splitSeed(13);
  const p = createParams(cfg, streams.init);
  jitter(p, streams.init, 0.2);
  const a = flat(await generate(cfg, p, 2, new RandomStream("gen", 3)));
  const b = flat(await generate(cfg, p, 2, new RandomStream("gen", 3)));
  const c = flat(await generate(cfg, p, 2, new RandomStream("gen", 4)));
  assertEquals(a, b);
  assertNotEquals(a, c);
  disposeParams(p);
});

for (const attention of [true, false]) {
  Deno.test(`generate() returns T canvases of n x A*B in [0, 1]${attention ? " and a write box per step and image" : ""} (attention ${attention ? "on" : "off"})`, async () => {
    const cfg = tiny({ attention, A: 7, B: 5, T: 4, readN: 2, writeN: 3 });
    const streams = splitSeed(14);
    const p = createParams(cfg, streams.init);
    jitter(p, streams.init, 0.5);
    const n = 3;
    const seq = await generate(cfg, p, n, streams.eval);
    assertEquals(seq.canvases.length, cfg.T);
    for (const step of seq.canvases) {
      assertEquals(step.length, n);
      for (const row of step) {
        assertEquals(row.length, cfg.A * cfg.B);
        assert(row.every((v) => v >= 0 && v <= 1), "a canvas value outside [0, 1]");
      }
    }
    if (attention) {
      assertEquals(seq.write!.length, cfg.T);
      for (const boxes of seq.write!) {
        assertEquals(boxes.length, n);
        for (const b of boxes) {
          assertEquals(b.N, cfg.writeN);
          assert([b.gX, b.gY, b.delta, b.sigma2].every(Number.isFinite), `bad box ${JSON.stringify(b)}`);
          assertGreater(b.sigma2, 0);
        }
      }
    } else {
      assertEquals(seq.write, undefined);
    }
    disposeParams(p);
  });
}

Deno.test("reconstruct() runs the same recurrence as drawLoss(): its last canvas gives drawLoss()'s L^x", async () => {
  const cfg = tiny();
  const streams = splitSeed(15);
  const p = createParams(cfg, streams.init);
  jitter(p, streams.init, 0.3);
  const x = binaryImages(cfg, 2, streams.binarize);
  const xs = x.arraySync();
  const epsStream = new RandomStream("eps", 5);
  const eps = drawEpsilon(cfg, 2, new RandomStream("eps", 5));
  const lossX = tf.tidy(() => Array.from(drawLoss(cfg, p, x, eps).lossX.dataSync()));
  const seq = await reconstruct(cfg, p, x, epsStream);
  assertEquals(seq.canvases.length, cfg.T);
  assertEquals(seq.read!.length, cfg.T);
  assertEquals(seq.read![0][0].N, cfg.readN);
  assertEquals(seq.write![0][0].N, cfg.writeN);
  const last = seq.canvases[cfg.T - 1];
  xs.forEach((row, b) => {
    const nll = row.reduce((acc, v, k) => acc - Math.log(v ? last[b][k] : 1 - last[b][k]), 0);
    assertAlmostEquals(nll, lossX[b], 1e-3 * Math.max(1, lossX[b]));
  });
  tf.dispose([x, eps]);
  disposeParams(p);
});

/** The step-1 read filterbank of a 28x28 model with read 2x2, as reconstruct() reports it. */
async function firstReadFilters(readInit: "cover" | "zero") {
  const cfg = validateDrawConfig({
    A: 28,
    B: 28,
    T: 1,
    nZ: 4,
    encSize: 8,
    decSize: 8,
    attention: true,
    readN: 2,
    writeN: 5,
    readInit,
    writeInit: "cover",
  });
  const streams = splitSeed(16);
  const p = createParams(cfg, streams.init);
  const x = binaryImages(cfg, 1, streams.binarize);
  const seq = await reconstruct(cfg, p, x, streams.epsilon);
  const box = seq.read![0][0];
  const Fx = tf.tidy(() => {
    const t = (v: number) => tf.tensor2d([[v]]);
    return filterbank(t(box.gX), t(box.gY), t(box.sigma2), t(box.delta), 2, 28, 28).Fx.arraySync()[0];
  });
  x.dispose();
  disposeParams(p);
  return { box, Fx, mu: Array.from(gridOffsets(2), (o) => box.gX + o * box.delta) };
}

Deno.test("with read 2x2 and the cover init, the first read patch covers the whole 28x28 image", async () => {
  const { box, Fx, mu } = await firstReadFilters("cover");
  // Each filter puts substantial weight on the central pixels (a = 11..18) and the grid spans the image.
  for (const row of Fx) assertGreater(row.slice(10, 18).reduce((a, b) => a + b, 0), 0.15);
  assert(mu[0] <= 8 && mu[1] >= 21, `grid centres ${mu}`);
  assertGreater(Math.sqrt(box.sigma2), 3);
});

Deno.test("with read 2x2 and the zero init, the first read sees sigma = 1 at the corners (the trap this avoids)", async () => {
  const { box, Fx, mu } = await firstReadFilters("zero");
  assertAlmostEquals(box.sigma2, 1, 1e-6);
  assertAlmostEquals(mu[0], 1, 1e-4);
  assertAlmostEquals(mu[1], 28, 1e-4);
  for (const row of Fx) assertLess(row.slice(10, 18).reduce((a, b) => a + b, 0), 1e-12);
});

Deno.test("tf.memory().numTensors is unchanged after a loss and gradient inside tidy, generate() and reconstruct()", async () => {
  const cfg = tiny();
  const streams = splitSeed(17);
  const p = createParams(cfg, streams.init);
  const x = binaryImages(cfg, 2, streams.binarize);
  const eps = drawEpsilon(cfg, 2, streams.epsilon);
  const before = tf.memory().numTensors;
  tf.tidy(() => {
    tf.variableGrads(() => {
      const l = drawLoss(cfg, p, x, eps, { logWeights: true });
      return tf.mean(tf.add(l.lossX, l.lossZ)) as tf.Scalar;
    }, Object.values(p));
  });
  assertEquals(tf.memory().numTensors, before, "drawLoss + variableGrads leaked");
  for (const attention of [true, false]) {
    const c = { ...cfg, attention };
    const q = attention ? p : createParams(c, streams.init);
    const inner = tf.memory().numTensors;
    await generate(c, q, 2, streams.eval);
    assertEquals(tf.memory().numTensors, inner, `generate() leaked (attention ${attention})`);
    await reconstruct(c, q, x, streams.eval);
    assertEquals(tf.memory().numTensors, inner, `reconstruct() leaked (attention ${attention})`);
    if (!attention) disposeParams(q);
  }
  tf.dispose([x, eps]);
  disposeParams(p);
});

Deno.test("drawLoss() log weights equal log p(z) - log q(z|x) computed from mu, sigma and epsilon", () => {
  // With post/W = 0 the posterior is the bias: mu = m, log sigma = s at every step, so z = m + e^s eps and
  // log p(z) - log q(z|x) = sum_t sum_d (-z^2/2 + eps^2/2 + s).
  const cfg = tiny({ nZ: 2 });
  const streams = splitSeed(18);
  const p = createParams(cfg, streams.init);
  const m = [0.3, -0.7], s = [-0.2, 0.4];
  p["post/W"].assign(tf.zerosLike(p["post/W"]));
  p["post/b"].assign(tf.tensor1d([...m, ...s]));
  const x = binaryImages(cfg, 2, streams.binarize);
  const eps = drawEpsilon(cfg, 2, streams.epsilon);
  const e = eps.arraySync();
  const got = tf.tidy(() =>
    Array.from(drawLoss(cfg, p, x, eps, { logWeights: true }).logPriorMinusPosterior!.dataSync())
  );
  for (let b = 0; b < 2; b++) {
    let want = 0;
    for (let t = 0; t < cfg.T; t++) {
      for (let d = 0; d < cfg.nZ; d++) {
        const z = m[d] + Math.exp(s[d]) * e[t][b][d];
        want += -0.5 * z * z + 0.5 * e[t][b][d] ** 2 + s[d];
      }
    }
    assertAlmostEquals(got[b], want, 1e-5);
  }
  tf.dispose([x, eps]);
  disposeParams(p);
});
