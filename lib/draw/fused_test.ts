import { assert, assertEquals, assertThrows } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend } from "../backend.ts";
import { type DrawConfig, PAPER_MNIST } from "../config/model.ts";
import { drawLossAndGrads, drawLossFused } from "./fused.ts";
import { blocks, registerFusedKernels } from "../kernels/dispatch.ts";
import { head } from "../kernels/reference.ts";
import { gridOffsets, strideScale } from "./attention.ts";
import { drawEpsilon, drawLoss } from "./model.ts";
import { createParams, type DrawParams } from "./params.ts";
import { RandomStream, splitSeed } from "../random.ts";

const CASES: Array<[string, DrawConfig, number]> = [
  ["attention on a 12x9 image, read 3, write 4", {
    ...PAPER_MNIST,
    A: 12,
    B: 9,
    T: 4,
    nZ: 5,
    encSize: 24,
    decSize: 20,
    readN: 3,
    writeN: 4,
  }, 6],
  ["attention on 28x28, read 2, write 5", { ...PAPER_MNIST, T: 5, nZ: 7, encSize: 32, decSize: 40 }, 8],
  ["no attention", { ...PAPER_MNIST, attention: false, T: 3, nZ: 6, encSize: 20, decSize: 16 }, 5],
  // What experiments train: one glimpse (the glimpse-1 path alone, with a learned c0 moved off zero), the
  // extreme grids 1 and 12 both ways, read N = write N, and no attention at T = 1.
  ["T=1, n_z=8, read 1, write 12", {
    ...PAPER_MNIST,
    T: 1,
    nZ: 8,
    encSize: 24,
    decSize: 20,
    readN: 1,
    writeN: 12,
  }, 4],
  ["T=2, n_z=9, read 12, write 1", {
    ...PAPER_MNIST,
    T: 2,
    nZ: 9,
    encSize: 20,
    decSize: 24,
    readN: 12,
    writeN: 1,
  }, 4],
  ["read = write = 3, n_z=17", {
    ...PAPER_MNIST,
    T: 3,
    nZ: 17,
    encSize: 24,
    decSize: 24,
    readN: 3,
    writeN: 3,
  }, 4],
  [
    "no attention, T=1, n_z=8",
    { ...PAPER_MNIST, attention: false, T: 1, nZ: 8, encSize: 16, decSize: 16 },
    3,
  ],
];

/** Parameters with every entry moved off its initial value (so zero biases and states are exercised too). */
function perturbedParams(cfg: DrawConfig): DrawParams {
  const params = createParams(cfg, splitSeed(3).init);
  const noise = new RandomStream("perturb", 5);
  tf.tidy(() => {
    for (const v of Object.values(params)) {
      v.assign(tf.add(v, tf.mul(tf.tensor(noise.normal(v.size), v.shape), 0.05)));
    }
  });
  return params;
}

function batch(cfg: DrawConfig, n: number): { x: tf.Tensor2D; eps: tf.Tensor3D } {
  const D = cfg.A * cfg.B;
  const u = new RandomStream("x", 3).uniform(n * D);
  return {
    x: tf.tensor2d(Float32Array.from(u, (v) => (v < 0.35 ? 1 : 0)), [n, D]),
    eps: drawEpsilon(cfg, n, new RandomStream("eps", 4)),
  };
}

function relErr(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => {
    const n = tf.norm(a).dataSync()[0];
    return tf.norm(tf.sub(a, b)).dataSync()[0] / Math.max(n, 1e-12);
  });
}

/** Fused loss and every gradient against tfjs autodiff over model.ts, to 1e-5 relative, leaking no tensor. */
function assertMatchesAutodiff(cfg: DrawConfig, n: number): void {
  const params = perturbedParams(cfg);
  const { x, eps } = batch(cfg, n);
  const before = tf.memory().numTensors;
  const ref = tf.variableGrads(() => {
    const l = drawLoss(cfg, params, x, eps);
    return tf.mean(tf.add(l.lossX, l.lossZ)) as tf.Scalar;
  }, Object.values(params));
  const byTfName = new Map(Object.entries(params).map(([k, v]) => [v.name, k]));
  const { loss, grads } = drawLossAndGrads(cfg, params, x, eps);
  assertEquals(Object.keys(grads).sort(), Object.keys(params).sort());
  for (const [tfName, g] of Object.entries(ref.grads)) {
    const k = byTfName.get(tfName)!;
    assertEquals(grads[k].shape, params[k].shape, `${k} gradient shape`);
    const e = relErr(g, grads[k]);
    assert(e < 1e-5, `${k}: relative difference ${e.toExponential(2)}`);
  }
  const total = tf.tidy(() => tf.mean(tf.add(loss.lossX, loss.lossZ)).dataSync()[0]);
  const want = ref.value.dataSync()[0];
  assert(Math.abs(total - want) <= 1e-5 * Math.abs(want), `loss ${total} vs ${want}`);
  tf.dispose([ref.value, ...Object.values(ref.grads), loss.lossX, loss.lossZ, loss.klPerStep]);
  tf.dispose(Object.values(grads));
  assertEquals(tf.memory().numTensors, before, "no tensor is left behind");
  tf.dispose([x, eps, ...Object.values(params)]);
}

for (const backend of ["wasm", "cpu"] as const) {
  for (const [name, cfg, n] of CASES) {
    Deno.test(`drawLossAndGrads() on ${backend}, ${name}: every gradient equals tfjs autodiff's to 1e-5`, async () => {
      await initBackend(backend);
      assertMatchesAutodiff(cfg, n);
    });
  }
}

// One step at Table 3's size on wasm only: autodiff on the cpu backend would take minutes.
for (const attention of [true, false]) {
  Deno.test(
    `drawLossAndGrads() at full size (Table 3: LSTM 256, batch 64, T=64, n_z=100${
      attention ? ", read 2, write 5" : ", no attention"
    }) equals autodiff to 1e-5 on wasm`,
    async () => {
      await initBackend("wasm");
      assertMatchesAutodiff({ ...PAPER_MNIST, attention }, 64);
    },
  );
}

Deno.test("drawLossFused() gives drawLoss()'s per-example terms, KL per glimpse and importance log-weights", async () => {
  await initBackend("wasm");
  for (const [name, cfg, n] of CASES) {
    const params = perturbedParams(cfg);
    const { x, eps } = batch(cfg, n);
    const a = drawLoss(cfg, params, x, eps, { logWeights: true });
    const b = drawLossFused(cfg, params, x, eps, { logWeights: true });
    for (const k of ["lossX", "lossZ", "klPerStep", "logPriorMinusPosterior"] as const) {
      const e = relErr(a[k]!, b[k]!);
      assert(e < 1e-5, `${name}, ${k}: relative difference ${e.toExponential(2)}`);
      assertEquals(a[k]!.shape, b[k]!.shape);
    }
    tf.dispose([x, eps, ...Object.values(params), ...Object.values(a), ...Object.values(b)] as tf.Tensor[]);
  }
});

Deno.test("drawLossAndGrads() with a NaN gradient scale makes every gradient NaN, as a NaN loss would", async () => {
  await initBackend("wasm");
  const [, cfg, n] = CASES[1];
  const params = perturbedParams(cfg);
  const { x, eps } = batch(cfg, n);
  const { loss, grads } = drawLossAndGrads(cfg, params, x, eps, { gradScale: NaN });
  for (const [k, g] of Object.entries(grads)) {
    assert((g.dataSync() as Float32Array).every((v) => Number.isNaN(v)), `${k} is all NaN`);
  }
  tf.dispose([
    x,
    eps,
    loss.lossX,
    loss.lossZ,
    loss.klPerStep,
    ...Object.values(grads),
    ...Object.values(params),
  ]);
});

Deno.test("blocks() copies, scales, accumulates and tiles blocks into zero-filled outputs", async () => {
  await initBackend("wasm");
  registerFusedKernels();
  const a = tf.tensor2d([[1, 2, 3], [4, 5, 6]]);
  const v = tf.tensor1d([7, 8]);
  const [o, r] = blocks([a, v], [[3, 4], [2]], [
    { out: 0, in: 0, r0: 1, c0: 1, rows: 1, cols: 2, dr0: 0, dc0: 2 },
    { out: 0, in: 1, rows: 2, cols: 2, dr0: 1, rStep: 0, scale: -1 },
    { out: 0, in: 0, rows: 1, cols: 1, dr0: 2, dc0: 3, scale: 10, add: true },
    { out: 0, in: -1, rows: 1, cols: 1, dr0: 2, dc0: 3, scale: 0.5, add: true },
    { out: 1, in: 1, rows: 1, cols: 2 },
  ]);
  assertEquals(Array.from(o.dataSync()), [0, 0, 5, 6, -7, -8, 0, 0, -7, -8, 0, 10.5]);
  assertEquals(Array.from(r.dataSync()), [7, 8]);
  tf.dispose([a, v, o, r]);
});

Deno.test("drawLossFused() refuses a backend without the fused kernels, naming the active one", async () => {
  await initBackend("cpu");
  const Cpu = tf.findBackend("cpu")!.constructor as new () => tf.KernelBackend;
  tf.registerBackend("redraw-no-kernels", () => new Cpu());
  try {
    await tf.setBackend("redraw-no-kernels");
    const [, cfg, n] = CASES[2];
    const params = createParams(cfg, splitSeed(3).init);
    const { x, eps } = batch(cfg, n);
    assertThrows(() => drawLossFused(cfg, params, x, eps), Error, "redraw-no-kernels");
    assertThrows(() => drawLossAndGrads(cfg, params, x, eps), Error, "wasm, cpu and webgpu backends only");
    tf.dispose([x, eps, ...Object.values(params)]);
  } finally {
    tf.removeBackend("redraw-no-kernels");
    await initBackend("wasm");
  }
});

Deno.test("the JS kernels' head constants equal attention.ts's grid offsets and stride scale (eqs 19-20, 24)", () => {
  for (const [N, A, B] of [[1, 28, 28], [2, 28, 28], [5, 28, 28], [3, 12, 9], [4, 9, 12]]) {
    const h = head(N, A, B);
    assertEquals(Array.from(h.offsets), Array.from(gridOffsets(N)));
    assertEquals(h.stride, strideScale(N, A, B));
    assertEquals(h.aux, 5 + N * (A + B));
  }
});
