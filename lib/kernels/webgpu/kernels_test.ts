/**
 * Oracle tests of the WGSL kernels: each runs on the webgpu backend (llvmpipe in CI) and is compared with
 * the JS kernel of the same name (lib/kernels/reference.ts, float64 arithmetic) on the same random inputs.
 */
import { assert } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend, webgpuAdapter } from "../../backend.ts";
import { head, KERNEL_DEFS, readAuxLength, runKernel } from "../reference.ts";
import { RandomStream } from "../../random.ts";
import { registerWebgpuKernels } from "./mod.ts";
import { throwOnWebgpuError } from "../../webgpu.ts";

const ignore = (await webgpuAdapter()) === null;

type In = { data: Float32Array; shape: number[] } | null;
const rng = new RandomStream("webgpu-kernels", 1);

function randn(shape: number[], scale = 1): In {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = rng.normal(n).map((v) => v * scale);
  return { data, shape };
}

function uniform(shape: number[], lo: number, hi: number): In {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = rng.uniform(n).map((v) => lo + (hi - lo) * v);
  return { data, shape };
}

/** The JS kernel's outputs. */
function oracle(name: string, ins: In[], attrs: Record<string, unknown>): Float32Array[] {
  const k = KERNEL_DEFS[name];
  const inShapes = ins.map((t) => (t ? t.shape : []));
  const outs = k.outShapes(inShapes, attrs).map((s) => new Float32Array(s.reduce((a, b) => a * b, 1)));
  runKernel(k, ins.map((t) => (t ? t.data : null)), outs, inShapes, attrs);
  return outs;
}

/** The WGSL kernel's outputs. */
async function gpu(name: string, ins: In[], attrs: Record<string, unknown>): Promise<Float32Array[]> {
  const ts = ins.map((t) => (t ? tf.tensor(t.data, t.shape) : null));
  const inputs: Record<string, tf.Tensor> = {};
  ts.forEach((t, i) => {
    if (t) inputs[`i${i}`] = t;
  });
  const out = tf.engine().runKernel(name, inputs, { ...attrs, nIn: ins.length } as never) as
    | tf.Tensor
    | tf.Tensor[];
  const outs = Array.isArray(out) ? out : [out];
  const values = await Promise.all(outs.map((t) => t.data() as Promise<Float32Array>));
  tf.dispose([...outs, ...ts.filter((t) => t) as tf.Tensor[]]);
  throwOnWebgpuError();
  return values;
}

/** Every element within 1e-4 relative (of the element, or of the output's largest magnitude near zero). */
function assertClose(got: Float32Array[], want: Float32Array[], what: string, rtol = 1e-4): void {
  assert(got.length === want.length, `${what}: ${got.length} outputs, expected ${want.length}`);
  want.forEach((w, k) => {
    const g = got[k];
    assert(g.length === w.length, `${what} output ${k}: length ${g.length}, expected ${w.length}`);
    let maxAbs = 0;
    for (const v of w) maxAbs = Math.max(maxAbs, Math.abs(v));
    for (let i = 0; i < w.length; i++) {
      const tol = rtol * Math.max(Math.abs(w[i]), 1e-2 * maxAbs) + 1e-30;
      assert(
        Math.abs(g[i] - w[i]) <= tol,
        `${what} output ${k}[${i}]: ${g[i]}, expected ${w[i]} (max |value| ${maxAbs})`,
      );
    }
  });
}

async function check(name: string, ins: In[], attrs: Record<string, unknown>, what = name, rtol = 1e-4) {
  assertClose(await gpu(name, ins, attrs), oracle(name, ins, attrs), what, rtol);
}

async function setup(): Promise<void> {
  await initBackend("webgpu");
  registerWebgpuKernels();
}

Deno.test({
  name: "the WGSL block copies, column sums, step sums and stacks equal the JS kernels",
  ignore,
  fn: async () => {
    await setup();
    const a = randn([7, 9]), b = randn([1, 9]), c = randn([9]);
    await check("RedrawBlocks", [a, b, c], {
      outShapes: [[10, 12], [12]],
      ops: [
        { out: 0, in: 0, rows: 7, cols: 9 },
        { out: 0, in: 1, rows: 3, cols: 9, rStep: 0, dr0: 7, dc0: 2 },
        { out: 0, in: 0, r0: 2, c0: 1, rows: 4, cols: 5, dr0: 1, dc0: 3, scale: -1, add: true },
        { out: 0, in: -1, rows: 2, cols: 2, dr0: 8, dc0: 10, scale: 0.5 },
        { out: 1, in: 2, rows: 1, cols: 9, dc0: 3 },
        { out: 1, in: 2, rows: 1, cols: 4, c0: 2, scale: 2 },
      ],
    });
    const s0 = randn([6, 11]), s1 = randn([6, 8]);
    await check(
      "RedrawSumCols",
      [s0, null, s1],
      { width: 5, offsets: [3, 0, 2], colSum: false },
      "SumCols rows",
    );
    await check("RedrawSumCols", [s0, s1], { width: 5, offsets: [6, 1], colSum: true }, "SumCols colSum");
    await check("RedrawSumSteps", [randn([4 * 3, 7])], { T: 4 });
    const many = Array.from({ length: 40 }, () => randn([3, 5]));
    await check("RedrawStack", many, { transposed: false }, "Stack");
    await check("RedrawStack", many, { transposed: true }, "Stack transposed");
    const sv = uniform([4, 6], 0, 1);
    await check("RedrawNoAttentionInput", [sv, randn([4, 3]), randn([4, 2])], {});
    await check("RedrawNoAttentionBackward", [randn([4, 11]), randn([4, 6]), sv], {});
    // More threads than one grid row of workgroups holds (65,535 x 64): the two-dimensional grid.
    const big = randn([4200, 1001]), bigS = uniform([4200, 1001], 0, 1);
    await check("RedrawNoAttentionBackward", [big, big, bigS], {}, "NoAttentionBackward, 4.2M threads");
  },
});

Deno.test({
  name: "the WGSL LSTM forward and backward equal the JS kernels",
  ignore,
  fn: async () => {
    await setup();
    const b = 5, H = 7;
    const gates = randn([b, 4 * H], 2), cp = randn([b, H]);
    for (const prev of [cp, null]) {
      const sig = new Float32Array(gates!.data.length);
      gates!.data.forEach((v, i) => sig[i] = 1 / (1 + Math.exp(-v)));
      const sg = { data: sig, shape: [b, 4 * H] };
      const [c] = oracle("RedrawLstmCell", [sg, prev], {});
      const sc = { data: c.map((v) => 1 / (1 + Math.exp(-v))), shape: [b, H] };
      const [h] = oracle("RedrawLstmHidden", [sg, sc], {});
      assertClose(await gpu("RedrawLstmForward", [gates, prev], {}), [sig, c, sc.data, h], "LstmForward");
      await check("RedrawLstmCell", [sg, prev], {});
      await check("RedrawLstmHidden", [sg, sc], {});
      const dh0 = randn([b, H + 3]), dh2 = randn([b, 2 * H]);
      await check("RedrawLstmBackward", [sg, sc, prev, prev ? randn([b, H]) : null, dh0, null, dh2], {
        offsets: [3, 0, H],
      }, `LstmBackward (c_prev ${prev ? "present" : "absent"})`);
    }
  },
});

Deno.test({
  name: "the WGSL posterior, its backward and the Bernoulli likelihood equal the JS kernels",
  ignore,
  fn: async () => {
    await setup();
    const b = 6, nZ = 4, Hd = 5, T = 3;
    const pp = randn([b, 2 * nZ + 3], 0.5), eps = randn([T, b, nZ]), hDec = randn([b, Hd]);
    for (const logWeights of [false, true]) {
      await check("RedrawPosterior", [pp, eps, hDec], { nZ, Hd, logWeights, epsOffset: b * nZ }, "Posterior");
    }
    await check("RedrawPosteriorBackward", [randn([b, nZ + Hd]), pp, eps], {
      nZ,
      scale: 0.25,
      epsOffset: 2 * b * nZ,
    });
    const x = uniform([b, 30], 0, 1);
    x!.data.forEach((v, i) => x!.data[i] = v > 0.5 ? 1 : 0);
    await check("RedrawBernoulli", [x, randn([b, 30], 8)], { scale: 1 / b });
  },
});

/** A raw head output per row at column `at` of a `[b, w]` matrix, within the range training visits. */
function heads(b: number, w: number, at: number): In {
  const q = randn([b, w], 0.3)!;
  for (let n = 0; n < b; n++) {
    q.data[n * w + at] = 0.6 * rng.nextUniform() - 0.3;
    q.data[n * w + at + 1] = 0.6 * rng.nextUniform() - 0.3;
  }
  return q;
}

Deno.test({
  name: "the WGSL attention read, write and their backward passes equal the JS kernels",
  ignore,
  fn: async () => {
    await setup();
    for (const [N, A, B] of [[3, 12, 9], [2, 28, 28], [5, 28, 28], [1, 7, 5]]) {
      const b = 4, hd = 6, he = 5, D = A * B, Nw2 = N * N;
      const wq = Nw2 + 10 + 2;
      const what = `N=${N} ${A}x${B}`;
      const x = uniform([b, D], 0, 1), s = uniform([b, D], 0.05, 0.95), q = heads(b, wq, Nw2 + 5);
      const hDec = randn([b, hd]), hEnc = randn([b, he]);
      const readAttrs = { N, A, B, rawOffset: Nw2 + 5 };
      await check("RedrawRead", [x, s, q, hDec, hEnc], readAttrs, `Read ${what}`);
      const [xenc, raux] = oracle("RedrawRead", [x, s, q, hDec, hEnc], readAttrs);
      const xencIn = { data: xenc, shape: [b, 2 * Nw2 + hd + he] };
      const auxIn = { data: raux, shape: [b, readAuxLength(N, A, B)] };
      await check(
        "RedrawReadBackward",
        [randn([b, 2 * Nw2 + hd + he]), auxIn, x, s, randn([b, D]), xencIn],
        { N, A, B },
        `ReadBackward ${what}`,
        3e-4,
      );
      const qw = heads(b, wq, Nw2), cvs = randn([b, D]);
      await check("RedrawWrite", [cvs, qw], { N, A, B }, `Write ${what}`);
      const [, waux] = oracle("RedrawWrite", [cvs, qw], { N, A, B });
      const wauxIn = { data: waux, shape: [b, head(N, A, B).aux] };
      await check(
        "RedrawWriteBackward",
        [randn([b, D]), wauxIn, qw, randn([b, 5])],
        { N, A, B },
        `WriteBackward ${what}`,
        3e-4,
      );
      await check(
        "RedrawWriteBackward",
        [null, null, qw, randn([b, 5])],
        { N, A, B },
        `WriteBackward read block ${what}`,
      );
    }
  },
});

Deno.test({
  name: "the WGSL sum of squares (more inputs than one dispatch binds) and Adam equal the JS kernels",
  ignore,
  fn: async () => {
    await setup();
    const gs = Array.from({ length: 45 }, (_, k) => randn([k + 1, 37]));
    await check("RedrawSumSquares", gs, {}, "SumSquares", 1e-5);
    const p = randn([300]), m = randn([300], 0.1), v = uniform([300], 0, 0.01), g = randn([300]);
    await check(
      "RedrawAdam",
      [p, m, v, g],
      {
        lr: 1e-3,
        beta1: 0.9,
        beta2: 0.999,
        epsilon: 1e-8,
        c1: 1 - 0.9 ** 3,
        c2: 1 - 0.999 ** 3,
        scale: 0.7,
      },
      "Adam",
      1e-5,
    );
  },
});
