/**
 * The JS reference of DRAW's fused kernels (lib/kernels/dispatch.ts pairs each with its C twin in
 * lib/kernels/wasm/ and registers both with tfjs), in plain JavaScript
 * over flat row-major float32 buffers, with no tfjs import.
 *
 * Each kernel is `setup` (per call) plus `row` (per batch row or work item): V8 optimises a function that
 * is called often as a whole, whereas a long loop in a function called once per kernel call is compiled on
 * the stack (OSR) and deoptimised at its first unexplored statement, on every call (measured 2x slower).
 * Arithmetic is float64, rounded once to float32 on store; loop orders are fixed (deterministic).
 * @module
 */

type F32 = Float32Array;
// deno-lint-ignore no-explicit-any
export type Attrs = Record<string, any>;

/** A kernel over float32 buffers (`null` marks an absent optional input). */
export interface JsKernel<C = unknown> {
  outShapes(inShapes: number[][], attrs: Attrs): number[][];
  /** Per-call state and the number of work items (`row` is called for 0..rows-1, in order). */
  setup(ins: Array<F32 | null>, outs: F32[], inShapes: number[][], attrs: Attrs): { rows: number; ctx: C };
  row(ctx: C, n: number): void;
  /** Runs after the last row (reductions over rows). */
  finish?(ctx: C): void;
}

/** Runs a kernel on buffers. */
export function runKernel(
  k: JsKernel,
  ins: Array<F32 | null>,
  outs: F32[],
  inShapes: number[][],
  attrs: Attrs,
): void {
  const { rows, ctx } = k.setup(ins, outs, inShapes, attrs);
  for (let n = 0; n < rows; n++) k.row(ctx, n);
  k.finish?.(ctx);
}

/** The kernels by tfjs kernel name. */
export const KERNEL_DEFS: Record<string, JsKernel> = {};

function define<C>(name: string, k: JsKernel<C>): void {
  KERNEL_DEFS[name] = k as JsKernel;
}

let zeroRow = new Float32Array(0);

/** A float32 zero row of length >= n (stands in for an absent input, keeping loops monomorphic). */
function zeros(n: number): F32 {
  if (zeroRow.length < n) zeroRow = new Float32Array(n);
  return zeroRow;
}

// ---------------------------------------------------------------------------------------------------------
// Block copies: assembling weight matrices and splitting gradients (one kernel instead of slices/concats).

/**
 * One block copy: `out[o][dr0 + r, dc0 + c] (= or +=) scale * in[i][r0 + r*rStep, c0 + c]`; `i = -1` fills
 * with `scale`. A 1-D input or output is one row.
 */
export interface BlockOp {
  out: number;
  in: number;
  r0?: number;
  c0?: number;
  rows: number;
  cols: number;
  dr0?: number;
  dc0?: number;
  scale?: number;
  add?: boolean;
  /** Source row step; 0 repeats one source row (tiling). */
  rStep?: number;
}

interface BlocksCtx {
  ins: Array<F32 | null>;
  outs: F32[];
  inWidths: number[];
  outWidths: number[];
  ops: BlockOp[];
}

const lastDim = (s: number[]) => s[s.length - 1];

define<BlocksCtx>("RedrawBlocks", {
  outShapes: (_s, a) => a.outShapes,
  setup(ins, outs, inShapes, a) {
    for (const o of outs) o.fill(0);
    const ops = a.ops as BlockOp[];
    return {
      rows: ops.length,
      ctx: {
        ins,
        outs,
        inWidths: inShapes.map(lastDim),
        outWidths: (a.outShapes as number[][]).map(lastDim),
        ops,
      },
    };
  },
  row(c, k) {
    const op = c.ops[k];
    const dst = c.outs[op.out], dw = c.outWidths[op.out];
    const scale = op.scale ?? 1, add = op.add ?? false;
    const dr0 = op.dr0 ?? 0, dc0 = op.dc0 ?? 0, cols = op.cols;
    if (op.in < 0) {
      for (let r = 0; r < op.rows; r++) {
        const d = (dr0 + r) * dw + dc0;
        for (let j = 0; j < cols; j++) dst[d + j] = add ? dst[d + j] + scale : scale;
      }
      return;
    }
    const src = c.ins[op.in]!, sw = c.inWidths[op.in];
    const r0 = op.r0 ?? 0, c0 = op.c0 ?? 0, rStep = op.rStep ?? 1;
    for (let r = 0; r < op.rows; r++) {
      const d = (dr0 + r) * dw + dc0, s = (r0 + r * rStep) * sw + c0;
      if (scale === 1 && !add) dst.set(src.subarray(s, s + cols), d);
      else if (add) { for (let j = 0; j < cols; j++) dst[d + j] += scale * src[s + j]; }
      else for (let j = 0; j < cols; j++) dst[d + j] = scale * src[s + j];
    }
  },
});

interface SumColsCtx {
  ins: Array<F32 | null>;
  out: F32;
  widths: number[];
  offs: number[];
  width: number;
  acc: Float64Array | null;
}

/**
 * Sums column blocks of several `[rows, *]` inputs: `out[n, j] = sum_k in_k[n, off_k + j]` for j < width, or
 * their column sums over the rows (`colSum`, shape `[1, width]`; e.g. the gradient of a tiled row).
 */
define<SumColsCtx>("RedrawSumCols", {
  outShapes: (s, a) => [a.colSum ? [1, a.width] : [s.find((x) => x.length)![0], a.width]],
  setup(ins, [out], inShapes, a) {
    const width = a.width as number;
    return {
      rows: inShapes.find((x) => x.length)![0],
      ctx: {
        ins,
        out,
        widths: inShapes.map((s) => (s.length ? s[1] : 0)),
        offs: a.offsets as number[],
        width,
        acc: a.colSum ? new Float64Array(width) : null,
      },
    };
  },
  row(c, n) {
    const { width, acc, out } = c;
    const d = n * width;
    if (!acc) { for (let j = 0; j < width; j++) out[d + j] = 0; }
    for (let k = 0; k < c.ins.length; k++) {
      const src = c.ins[k];
      if (!src) continue;
      const o = n * c.widths[k] + c.offs[k];
      if (acc) { for (let j = 0; j < width; j++) acc[j] += src[o + j]; }
      else for (let j = 0; j < width; j++) out[d + j] += src[o + j];
    }
  },
  finish(c) {
    if (c.acc) c.out.set(c.acc);
  },
});

interface SumStepsCtx {
  x: F32;
  out: F32;
  size: number;
  acc: Float64Array;
}

/** `[T*batch, n]` stacked per-step rows summed over the T steps: `[batch, n]`. */
define<SumStepsCtx>("RedrawSumSteps", {
  outShapes: (s, a) => [[s[0][0] / a.T, s[0][1]]],
  setup([x], [out], _s, a) {
    return { rows: a.T as number, ctx: { x: x!, out, size: out.length, acc: new Float64Array(out.length) } };
  },
  row(c, t) {
    const o = t * c.size, acc = c.acc, x = c.x;
    for (let i = 0; i < c.size; i++) acc[i] += x[o + i];
  },
  finish(c) {
    c.out.set(c.acc);
  },
});

interface StackCtx {
  ins: Array<F32 | null>;
  out: F32;
  rowsOf: number[];
  starts: number[];
  n: number;
  total: number;
  transposed: boolean;
}

/**
 * Stacks T `[b, n]` tensors into `[T*b, n]`, or with `transposed` into `[n, T*b]` (one pass instead of a
 * concat and a transpose; tfjs-wasm's concat along axis 1 copies every input first).
 */
define<StackCtx>("RedrawStack", {
  outShapes: (s, a) => {
    const rows = s.reduce((acc, x) => acc + x[0], 0), n = s[0][1];
    return [a.transposed ? [n, rows] : [rows, n]];
  },
  setup(ins, [out], s, a) {
    const rowsOf = s.map((x) => x[0]);
    const starts: number[] = [];
    let r = 0;
    for (const b of rowsOf) {
      starts.push(r);
      r += b;
    }
    return {
      rows: ins.length,
      ctx: { ins, out, rowsOf, starts, n: s[0][1], total: r, transposed: !!a.transposed },
    };
  },
  row(c, t) {
    const src = c.ins[t]!, b = c.rowsOf[t], r0 = c.starts[t], n = c.n, out = c.out;
    if (!c.transposed) {
      out.set(src, r0 * n);
      return;
    }
    // 32x32 tiles: contiguous writes, and the tile's strided reads stay in L1.
    const rows = c.total;
    for (let ra = 0; ra < b; ra += 32) {
      const rb = Math.min(ra + 32, b);
      for (let k0 = 0; k0 < n; k0 += 32) {
        const k1 = Math.min(k0 + 32, n);
        for (let k = k0; k < k1; k++) {
          const o = k * rows + r0;
          for (let r = ra; r < rb; r++) out[o + r] = src[r * n + k];
        }
      }
    }
  },
});

// ---------------------------------------------------------------------------------------------------------
// LSTM cell (eqs 5 and 7), forward in two halves around the gate sigmoids (the engine's SIMD sigmoid on wasm,
// tfjs's on cpu), backward in one pass.
// tanh comes from the sigmoid without a transcendental: with s = sigmoid(v), tanh(v) = 2 sigmoid(2v) - 1 and
// sigmoid(2v) = s^2 / (s^2 + (1 - s)^2), so tanh(v) = (2s - 1) / (s^2 + (1 - s)^2).

/** tanh(v) from s = sigmoid(v) (see above). */
export function tanhFromSigmoid(s: number): number {
  const r = 1 - s;
  return (s - r) / (s * s + r * r);
}

interface CellCtx {
  sg: F32;
  other: F32;
  /** Offset multiplier of `other` (0 when it is the zero row standing for an absent input). */
  os: number;
  out: F32;
  H: number;
}

/** c = f c_prev + i tanh(g) from the gate sigmoids `[batch, 4H]` (order i, f, o, g) and c_prev (absent: 0). */
define<CellCtx>("RedrawLstmCell", {
  outShapes: (s) => [[s[0][0], s[0][1] / 4]],
  setup([sg, cp], [c], s) {
    const H = s[0][1] / 4;
    return { rows: s[0][0], ctx: { sg: sg!, other: cp ?? zeros(H), os: cp ? 1 : 0, out: c, H } };
  },
  row(c, n) {
    const { sg, other, out, H } = c;
    const g = n * 4 * H, o = n * H, oc = o * c.os;
    for (let j = 0; j < H; j++) {
      out[o + j] = sg[g + H + j] * other[oc + j] + sg[g + j] * tanhFromSigmoid(sg[g + 3 * H + j]);
    }
  },
});

/** h = o tanh(c) from the gate sigmoids and sigmoid(c). */
define<CellCtx>("RedrawLstmHidden", {
  outShapes: (s) => [[s[0][0], s[0][1] / 4]],
  setup([sg, sc], [h], s) {
    return { rows: s[0][0], ctx: { sg: sg!, other: sc!, os: 1, out: h, H: s[0][1] / 4 } };
  },
  row(c, n) {
    const { sg, other, out, H } = c;
    const g = n * 4 * H, o = n * H;
    for (let j = 0; j < H; j++) out[o + j] = sg[g + 2 * H + j] * tanhFromSigmoid(other[o + j]);
  },
});

interface LstmBackCtx {
  sg: F32;
  sc: F32;
  cp: F32;
  cpo: number;
  dcn: F32;
  dco: number;
  srcs: Array<F32 | null>;
  widths: number[];
  offs: number[];
  dG: F32;
  dcp: F32;
  dGsum: F32;
  H: number;
  dh: Float64Array;
  acc: Float64Array;
}

/**
 * LSTM backward: gradients of the gate pre-activations `[batch, 4H]`, of the previous cell state, and their
 * sum over the batch `[1, 4H]` (this step's share of the bias gradient). `dh` is the sum of column blocks of
 * up to three gradient sources (inputs 4-6 at attrs.offsets).
 */
define<LstmBackCtx>("RedrawLstmBackward", {
  outShapes: (s) => [[s[0][0], s[0][1]], [s[0][0], s[0][1] / 4], [1, s[0][1]]],
  setup(ins, [dG, dcp, dGsum], s, a) {
    const H = s[0][1] / 4;
    return {
      rows: s[0][0],
      ctx: {
        sg: ins[0]!,
        sc: ins[1]!,
        cp: ins[2] ?? zeros(H),
        cpo: ins[2] ? 1 : 0,
        dcn: ins[3] ?? zeros(H),
        dco: ins[3] ? 1 : 0,
        srcs: [ins[4], ins[5], ins[6]],
        widths: [s[4], s[5], s[6]].map((x) => (x.length ? x[1] : 0)),
        offs: a.offsets as number[],
        dG,
        dcp,
        dGsum,
        H,
        dh: new Float64Array(H),
        acc: new Float64Array(4 * H),
      },
    };
  },
  row(c, n) {
    const { sg, sc, cp, dcn, dG, dcp, dh, H } = c;
    const g = n * 4 * H, o = n * H, cpo = o * c.cpo, dco = o * c.dco;
    dh.fill(0);
    for (let k = 0; k < 3; k++) {
      const src = c.srcs[k];
      if (!src) continue;
      const so = n * c.widths[k] + c.offs[k];
      for (let j = 0; j < H; j++) dh[j] += src[so + j];
    }
    for (let j = 0; j < H; j++) {
      const i = sg[g + j], f = sg[g + H + j], og = sg[g + 2 * H + j];
      const tg = tanhFromSigmoid(sg[g + 3 * H + j]);
      const tc = tanhFromSigmoid(sc[o + j]);
      const dhj = dh[j];
      const dc = dcn[dco + j] + dhj * og * (1 - tc * tc);
      const gi = dc * tg * i * (1 - i), gf = dc * cp[cpo + j] * f * (1 - f);
      const go = dhj * tc * og * (1 - og), gg = dc * i * (1 - tg * tg);
      dG[g + j] = gi;
      dG[g + H + j] = gf;
      dG[g + 2 * H + j] = go;
      dG[g + 3 * H + j] = gg;
      dcp[o + j] = dc * f;
    }
  },
  finish(c) {
    // The sum over rows of the float32 gradients, as a product with a ones vector would compute it.
    const { dG, acc, H } = c;
    const H4 = 4 * H, rows = dG.length / H4;
    for (let n = 0; n < rows; n++) for (let k = 0; k < H4; k++) acc[k] += dG[n * H4 + k];
    c.dGsum.set(acc);
  },
});

// ---------------------------------------------------------------------------------------------------------
// Posterior sample and KL (eqs 1-2, 6, 11).

interface PostCtx {
  pp: F32;
  eps: F32;
  hDec: F32;
  xdec: F32;
  kl: F32;
  lr: F32 | null;
  nZ: number;
  Hd: number;
  P: number;
  eo: number;
}

/**
 * From `[mu, log sigma, padding]` (`[batch, >= 2 nZ]`): `[z, h^dec_{t-1}]`, the per-example KL of the step and
 * (with `logWeights`) log p(z) - log q(z|x). `eps` is read from element `epsOffset` on.
 */
define<PostCtx>("RedrawPosterior", {
  outShapes: (s, a) => {
    const b = s[0][0];
    const out = [[b, a.nZ + a.Hd], [b]];
    if (a.logWeights) out.push([b]);
    return out;
  },
  setup(ins, [xdec, kl, lr], s, a) {
    const [pp, eps, hDec] = ins as F32[];
    return {
      rows: s[0][0],
      ctx: { pp, eps, hDec, xdec, kl, lr: lr ?? null, nZ: a.nZ, Hd: a.Hd, P: s[0][1], eo: a.epsOffset },
    };
  },
  row(c, n) {
    const { pp, eps, xdec, nZ, Hd, P, lr } = c;
    const w = nZ + Hd;
    let k = 0, l = 0;
    for (let j = 0; j < nZ; j++) {
      const mu = pp[n * P + j], ls = pp[n * P + nZ + j];
      const sigma = Math.exp(ls);
      const e = eps[c.eo + n * nZ + j];
      const z = Math.fround(mu + sigma * e); //                             eq 6, reparameterised
      xdec[n * w + j] = z;
      k += mu * mu + sigma * sigma - 2 * ls - 1; //                          eq 11 summand
      if (lr) l += (e * e - z * z) * 0.5 + ls; //                           log N(z; 0, 1) - log N(z; mu, sigma)
    }
    c.kl[n] = 0.5 * k;
    if (lr) lr[n] = l;
    xdec.set(c.hDec.subarray(n * Hd, (n + 1) * Hd), n * w + nZ); //           [z, h^dec_{t-1}]
  },
});

interface PostBackCtx {
  dXdec: F32;
  pp: F32;
  eps: F32;
  dpp: F32;
  nZ: number;
  g: number;
  wd: number;
  P: number;
  eo: number;
}

/** Gradient of `[mu, log sigma]`: from dz (first nZ columns of `dXdec`) and `scale` times the KL. */
define<PostBackCtx>("RedrawPosteriorBackward", {
  outShapes: (s) => [[s[1][0], s[1][1]]],
  setup(ins, [dpp], s, a) {
    const [dXdec, pp, eps] = ins as F32[];
    return {
      rows: s[0][0],
      ctx: { dXdec, pp, eps, dpp, nZ: a.nZ, g: a.scale, wd: s[0][1], P: s[1][1], eo: a.epsOffset },
    };
  },
  row(c, n) {
    const { pp, dpp, nZ, g, P } = c;
    for (let j = 0; j < nZ; j++) {
      const mu = pp[n * P + j], ls = pp[n * P + nZ + j];
      const sigma = Math.exp(ls);
      const dz = c.dXdec[n * c.wd + j];
      dpp[n * P + j] = mu * g + dz; //                                        d/dmu of KL is mu
      dpp[n * P + nZ + j] = (sigma * sigma - 1) * g + dz * sigma * c.eps[c.eo + n * nZ + j]; // and sigma^2 - 1
    }
    for (let j = 2 * nZ; j < P; j++) dpp[n * P + j] = 0; //                  padding columns
  },
});

// ---------------------------------------------------------------------------------------------------------
// Bernoulli likelihood (eq 9) and its gradient.

interface BernCtx {
  x: F32;
  c: F32;
  loss: F32;
  dc: F32;
  D: number;
  g: number;
}

/** L^x per example (eq 9) from the canvas logits: max(c, 0) - x c + log(1 + exp(-|c|)); and g dL^x/dc. */
define<BernCtx>("RedrawBernoulli", {
  outShapes: (s) => [[s[0][0]], s[0]],
  setup([x, c], [loss, dc], s, a) {
    return { rows: s[0][0], ctx: { x: x!, c: c!, loss, dc, D: s[0][1], g: a.scale } };
  },
  row(k, n) {
    const { x, c, dc, D, g } = k;
    let l = 0;
    for (let p = n * D; p < (n + 1) * D; p++) {
      const v = c[p], xv = x[p];
      const e = Math.exp(-Math.abs(v));
      l += Math.max(v, 0) - xv * v + Math.log1p(e);
      dc[p] = ((v >= 0 ? 1 : e) / (1 + e) - xv) * g; //                       (sigmoid(c) - x) g
    }
    k.loss[n] = l;
  },
});

// ---------------------------------------------------------------------------------------------------------
// Gaussian attention (eqs 19-29). An aux row holds (gX, gY, sigma2, delta, gamma), Fx [N, A], Fy [N, B].

/** Constants of one head: grid offsets (i - N/2 - 0.5), stride scale, aux row length. */
export interface Head {
  N: number;
  A: number;
  B: number;
  offsets: Float64Array;
  stride: number;
  aux: number;
}

/** The head constants (lib/draw/attention.ts's gridOffsets and strideScale, eqs 19-20 and 24). */
export function head(N: number, A: number, B: number): Head {
  const offsets = new Float64Array(N);
  for (let k = 0; k < N; k++) offsets[k] = k + 1 - N / 2 - 0.5;
  return { N, A, B, offsets, stride: (Math.max(A, B) - 1) / Math.max(N - 1, 1), aux: 5 + N * (A + B) };
}

/** A read aux row: the head's aux, then img Fx^T `[B, N]` for x and for x-hat (reused by the backward). */
export function readAuxLength(N: number, A: number, B: number): number {
  return head(N, A, B).aux + 2 * B * N;
}

/**
 * Eqs 21-26 for one image: parameters from the raw head output `raw[ro..ro+5]`, then the filterbanks
 * `F = [Fx (N x A), Fy (N x B)]` (float64 scratch), also stored with the parameters at `aux[ao..]`. Each filter
 * row is the softmax over pixels of -(a - mu)^2 / (2 sigma^2), i.e. the normalised Gaussian without 0/0 (as
 * lib/draw/attention.ts computes it). @returns gamma
 */
function filterbankRow(h: Head, raw: F32, ro: number, aux: F32, ao: number, F: Float64Array): number {
  const { N, A, B, offsets } = h;
  const gX = ((A + 1) / 2) * (raw[ro] + 1); //                                     eq 22
  const gY = ((B + 1) / 2) * (raw[ro + 1] + 1); //                                 eq 23
  const sigma2 = Math.exp(raw[ro + 2]);
  const delta = Math.exp(raw[ro + 3]) * h.stride; //                               eq 24
  const gamma = Math.exp(raw[ro + 4]);
  aux[ao] = gX;
  aux[ao + 1] = gY;
  aux[ao + 2] = sigma2;
  aux[ao + 3] = delta;
  aux[ao + 4] = gamma;
  const inv = 1 / (2 * sigma2);
  const q = Math.exp(-2 * inv);
  let row = 0;
  for (let axis = 0; axis < 2; axis++) {
    const size = axis === 0 ? A : B;
    const g = axis === 0 ? gX : gY;
    for (let i = 0; i < N; i++, row += size) {
      const mu = g + offsets[i] * delta; //                                        eqs 19-20
      // exp(e_a - max e), e_a = -(a + 1 - mu)^2 inv, the max at the pixel nearest mu. Consecutive ratios are
      // exp(-inv (2 d_a + 1)) rightwards and exp(-inv (1 - 2 d_a)) leftwards (d_a = a + 1 - mu), each the
      // previous one times exp(-2 inv): three exps per row instead of one per pixel.
      const top = Math.min(Math.max(Math.round(mu - 1), 0), size - 1);
      const d0 = top + 1 - mu;
      F[row + top] = 1;
      let sum = 1;
      let v = 1, r = Math.exp(-inv * (2 * d0 + 1));
      for (let a = top + 1; a < size; a++) {
        v *= r;
        r *= q;
        F[row + a] = v;
        sum += v;
      }
      v = 1;
      r = Math.exp(-inv * (1 - 2 * d0));
      for (let a = top - 1; a >= 0; a--) {
        v *= r;
        r *= q;
        F[row + a] = v;
        sum += v;
      }
      const norm = 1 / sum;
      for (let a = 0; a < size; a++) F[row + a] *= norm; //                       eqs 25-26 (the 1/Z)
    }
  }
  for (let k = 0; k < row; k++) aux[ao + 5 + k] = F[k];
  return gamma;
}

/** Loads one image's filterbanks from its aux row into float64 scratch. @returns gamma */
function loadFilterbank(h: Head, aux: F32, ao: number, F: Float64Array): number {
  const n = h.N * (h.A + h.B);
  for (let k = 0; k < n; k++) F[k] = aux[ao + 5 + k];
  return aux[ao + 4];
}

/**
 * Backward of {@linkcode filterbankRow}: from dF = [dFx, dFy] (float64) and d gamma to the raw head output
 * gradient, written at `draw[ro..ro+5]`.
 */
function filterbankBackward(
  h: Head,
  aux: F32,
  ao: number,
  F: Float64Array,
  dF: Float64Array,
  dGamma: number,
  draw: F32,
  ro: number,
): void {
  const { N, A, B, offsets } = h;
  const gX = aux[ao], gY = aux[ao + 1], sigma2 = aux[ao + 2], delta = aux[ao + 3], gamma = aux[ao + 4];
  let dgX = 0, dgY = 0, dSigma2 = 0, dDelta = 0;
  let row = 0;
  for (let axis = 0; axis < 2; axis++) {
    const size = axis === 0 ? A : B;
    const g = axis === 0 ? gX : gY;
    for (let i = 0; i < N; i++, row += size) {
      const mu = g + offsets[i] * delta;
      let dot = 0;
      for (let a = 0; a < size; a++) dot += F[row + a] * dF[row + a];
      let dMu = 0, dS = 0;
      for (let a = 0; a < size; a++) {
        const de = F[row + a] * (dF[row + a] - dot); //                           softmax backward
        const d = a + 1 - mu;
        dMu += de * d;
        dS += de * d * d;
      }
      dMu /= sigma2; //                                                            de/dmu = (a - mu) / sigma2
      dSigma2 += dS / (2 * sigma2 * sigma2); //                                    de/dsigma2 = (a - mu)^2 / (2 sigma2^2)
      if (axis === 0) dgX += dMu;
      else dgY += dMu;
      dDelta += offsets[i] * dMu;
    }
  }
  draw[ro] = dgX * ((A + 1) / 2);
  draw[ro + 1] = dgY * ((B + 1) / 2);
  draw[ro + 2] = dSigma2 * sigma2; //                                              d log sigma2
  draw[ro + 3] = dDelta * delta; //                                                d log delta~
  draw[ro + 4] = dGamma * gamma; //                                                d log gamma
}

/** Which operands of {@linkcode mm} are read transposed. */
interface Transposed {
  transL?: boolean;
  transR?: boolean;
}

/**
 * out[i, j] = sum_p L'[i, p] R'[p, j] into out `[n, m]` (float64, row-major), each sum from +0 in ascending p.
 * L' is L `[n, inner]` at lo, or with transL the transpose of L `[inner, n]`; R' is R `[inner, m]` at ro, or
 * with transR the transpose of R `[m, inner]`. A zero L' value skips its terms (so a non-finite R value beside
 * a zero filter weight is ignored, as in the C twin), except with transR: L R^T is a plain dot product.
 */
function mm(
  L: Float64Array,
  lo: number,
  R: Float64Array,
  ro: number,
  n: number,
  inner: number,
  m: number,
  out: Float64Array,
  { transL = false, transR = false }: Transposed = {},
): void {
  const li = transL ? 1 : inner, lp = transL ? n : 1; //                         strides of L' over i and p
  const rp = transR ? 1 : m, rj = transR ? inner : 1; //                         strides of R' over p and j
  const skipZeros = !transR;
  for (let i = 0; i < n; i++) {
    const oi = i * m, l0 = lo + i * li;
    for (let j = 0; j < m; j++) out[oi + j] = 0;
    for (let p = 0; p < inner; p++) {
      const f = L[l0 + p * lp];
      if (f === 0 && skipZeros) continue;
      const rr = ro + p * rp;
      for (let j = 0; j < m; j++) out[oi + j] += f * R[rr + j * rj];
    }
  }
}

/** Float64 scratch of one image's attention products. */
interface Scratch {
  F: Float64Array;
  dF: Float64Array;
  img: Float64Array;
  img2: Float64Array;
  U: Float64Array;
  M: Float64Array;
  T: Float64Array;
  W: Float64Array;
  dw: Float64Array;
  dr: Float64Array;
  acc: Float64Array;
}

function scratch(h: Head): Scratch {
  const { N, A, B } = h;
  return {
    F: new Float64Array(N * (A + B)),
    dF: new Float64Array(N * (A + B)),
    img: new Float64Array(A * B),
    img2: new Float64Array(A * B),
    U: new Float64Array(N * A),
    M: new Float64Array(N * A),
    T: new Float64Array(B * N),
    W: new Float64Array(N * N),
    dw: new Float64Array(N * N),
    dr: new Float64Array(N * N),
    acc: new Float64Array(A * B),
  };
}

/** Image n of x `[batch, A B]` into S.img and x-hat = x - s into S.img2 (float64). */
function loadImages(x: F32, s: F32, n: number, S: Scratch): void {
  const { img, img2 } = S, D = img.length;
  for (let p = 0; p < D; p++) {
    const v = x[n * D + p];
    img[p] = v;
    img2[p] = v - s[n * D + p];
  }
}

interface ReadCtx {
  h: Head;
  S: Scratch;
  x: F32;
  s: F32;
  q: F32;
  hDec: F32;
  hEnc: F32;
  xenc: F32;
  aux: F32;
  wq: number;
  hd: number;
  he: number;
  rawOffset: number;
}

/**
 * Read (eq 27) for a batch: `[gamma Fy x Fx^T, gamma Fy x-hat Fx^T]` with x-hat = x - s, followed by copies of
 * h^dec_{t-1} and h^enc_{t-1}: the encoder input row `[r, h^dec_{t-1}, h^enc_{t-1}]`. The raw read head is
 * read from columns `rawOffset..+5` of Q_{t-1}.
 */
define<ReadCtx>("RedrawRead", {
  outShapes: (
    s,
    a,
  ) => [[s[0][0], 2 * a.N * a.N + s[3][1] + s[4][1]], [s[0][0], readAuxLength(a.N, a.A, a.B)]],
  setup(ins, [xenc, aux], sh, a) {
    const [x, s, q, hDec, hEnc] = ins as F32[];
    const h = head(a.N, a.A, a.B), wq = sh[2][1], hd = sh[3][1], he = sh[4][1];
    return {
      rows: sh[0][0],
      ctx: { h, S: scratch(h), x, s, q, hDec, hEnc, xenc, aux, wq, hd, he, rawOffset: a.rawOffset },
    };
  },
  row(c, n) {
    const { h, S, x, s, xenc, aux, hd, he } = c;
    const { N, A, B } = h;
    const w = 2 * N * N + hd + he, ao = n * (h.aux + 2 * B * N);
    const { F, img, img2, T, W } = S;
    const gamma = filterbankRow(h, c.q, n * c.wq + c.rawOffset, aux, ao, F);
    loadImages(x, s, n, S);
    for (let k = 0; k < 2; k++) {
      mm(k === 0 ? img : img2, 0, F, 0, B, A, N, T, { transR: true }); //         T = img Fx^T   [B, N]
      mm(F, N * A, T, 0, N, B, N, W); //                                           W = Fy T       [N, N]
      const out = n * w + k * N * N;
      for (let q2 = 0; q2 < N * N; q2++) xenc[out + q2] = gamma * W[q2];
      const to = ao + h.aux + k * B * N; //                                        keep T for dFy
      for (let q2 = 0; q2 < B * N; q2++) aux[to + q2] = T[q2];
    }
    xenc.set(c.hDec.subarray(n * hd, (n + 1) * hd), n * w + 2 * N * N);
    xenc.set(c.hEnc.subarray(n * he, (n + 1) * he), n * w + 2 * N * N + hd);
  },
});

interface ReadBackCtx {
  h: Head;
  S: Scratch;
  dXenc: F32;
  aux: F32;
  x: F32;
  s: F32;
  dcvs: F32;
  xenc: F32;
  dcvsPrev: F32;
  draw: F32;
  wd: number;
  wx: number;
}

/**
 * Read backward: from dr (first 2N^2 columns of `dXenc`) to d canvas_{t-1} = d canvas_t - d x-hat s (1 - s)
 * (x-hat = x - sigmoid(canvas)) and the raw read-head gradient `[batch, 5]`.
 */
define<ReadBackCtx>("RedrawReadBackward", {
  outShapes: (s) => [s[4], [s[4][0], 5]],
  setup(ins, [dcvsPrev, draw], sh, a) {
    const [dXenc, aux, x, s, dcvs, xenc] = ins as F32[];
    const h = head(a.N, a.A, a.B), wd = sh[0][1], wx = sh[5][1];
    return {
      rows: sh[4][0],
      ctx: { h, S: scratch(h), dXenc, aux, x, s, dcvs, xenc, dcvsPrev, draw, wd, wx },
    };
  },
  row(c, n) {
    const { h, S, dXenc, aux, x, s, xenc } = c;
    const { N, A, B } = h;
    const D = A * B, ao = n * (h.aux + 2 * B * N);
    const { F, dF, img, img2, U, M, dr, acc } = S;
    const gamma = loadFilterbank(h, aux, ao, F);
    loadImages(x, s, n, S);
    dF.fill(0);
    let dGamma = 0;
    for (let k = 0; k < 2; k++) {
      const im = k === 0 ? img : img2;
      for (let q2 = 0; q2 < N * N; q2++) {
        const g = dXenc[n * c.wd + k * N * N + q2];
        dr[q2] = gamma * g;
        dGamma += g * xenc[n * c.wx + k * N * N + q2]; //                         r = gamma glimpse
      }
      mm(F, N * A, im, 0, N, B, A, U); //                                         U = Fy img     [N, A]
      for (let i = 0; i < N; i++) { //                                            dFx += dr^T U
        for (let j = 0; j < N; j++) {
          const f = dr[i * N + j];
          for (let p = 0; p < A; p++) dF[j * A + p] += f * U[i * A + p];
        }
      }
      const to = ao + h.aux + k * B * N; //                                       dFy += dr T^T (T from the forward)
      for (let i = 0; i < N; i++) {
        for (let y = 0; y < B; y++) {
          let s2 = 0;
          for (let j = 0; j < N; j++) s2 += dr[i * N + j] * aux[to + y * N + j];
          dF[N * A + i * B + y] += s2;
        }
      }
    }
    mm(dr, 0, F, 0, N, N, A, M); //                                               M = gamma dr_x-hat Fx
    mm(F, N * A, M, 0, B, N, A, acc, { transL: true }); //                        d x-hat = Fy^T M
    filterbankBackward(h, aux, ao, F, dF, dGamma / gamma, c.draw, n * 5);
    for (let p = 0; p < D; p++) {
      const sp = s[n * D + p];
      c.dcvsPrev[n * D + p] = c.dcvs[n * D + p] - acc[p] * sp * (1 - sp);
    }
  },
});

interface WriteCtx {
  h: Head;
  S: Scratch;
  cvs: F32;
  q: F32;
  out: F32;
  aux: F32;
  wq: number;
}

/** Eq 29 for a batch: canvas + (1/gamma) Fy^T w Fx, with w and the raw write head read from columns of Q. */
define<WriteCtx>("RedrawWrite", {
  outShapes: (s, a) => [s[0], [s[0][0], head(a.N, a.A, a.B).aux]],
  setup([cvs, q], [out, aux], sh, a) {
    const h = head(a.N, a.A, a.B);
    return { rows: sh[0][0], ctx: { h, S: scratch(h), cvs: cvs!, q: q!, out, aux, wq: sh[1][1] } };
  },
  row(c, n) {
    const { h, S, cvs, q, out } = c;
    const { N, A, B } = h;
    const D = A * B;
    const { F, U, W, acc } = S;
    const gamma = filterbankRow(h, q, n * c.wq + N * N, c.aux, n * h.aux, F);
    for (let q2 = 0; q2 < N * N; q2++) W[q2] = q[n * c.wq + q2];
    mm(W, 0, F, 0, N, N, A, U); //                                                 U = w Fx      [N, A]
    mm(F, N * A, U, 0, B, N, A, acc, { transL: true }); //                         V = Fy^T U    [B, A]
    for (let p = 0; p < D; p++) out[n * D + p] = cvs[n * D + p] + acc[p] / gamma;
  },
});

interface WriteBackCtx {
  h: Head;
  S: Scratch;
  dcvs: F32 | null;
  aux: F32 | null;
  q: F32;
  drawNext: F32 | null;
  dq: F32;
  wq: number;
}

/**
 * Write backward: from d canvas_t to dQ_t = [dw, d raw write head, d raw read head of step t+1, 0...]; the
 * read block is copied from `drawNext` (the read head of step t+1 reads h^dec_t through the same Q_t). An
 * absent `dcvs` gives only the read block.
 */
define<WriteBackCtx>("RedrawWriteBackward", {
  outShapes: (s) => [s[2]],
  setup([dcvs, aux, q, drawNext], [dq], sh, a) {
    const h = head(a.N, a.A, a.B);
    return { rows: sh[2][0], ctx: { h, S: scratch(h), dcvs, aux, q: q!, drawNext, dq, wq: sh[2][1] } };
  },
  row(c, n) {
    const { h, S, dcvs, aux, q, dq, wq } = c;
    const { N, A, B } = h;
    const D = A * B, o = n * wq;
    for (let k = 0; k < wq; k++) dq[o + k] = 0;
    if (c.drawNext) { for (let k = 0; k < 5; k++) dq[o + N * N + 5 + k] = c.drawNext[n * 5 + k]; }
    if (!dcvs || !aux) return;
    const { F, dF, U, M, W, dw, acc } = S;
    const ao = n * h.aux;
    const gamma = loadFilterbank(h, aux, ao, F);
    const ig = 1 / gamma;
    for (let p = 0; p < D; p++) acc[p] = dcvs[n * D + p] * ig; //                 dV = d canvas / gamma
    for (let q2 = 0; q2 < N * N; q2++) W[q2] = q[o + q2];
    mm(F, N * A, acc, 0, N, B, A, M); //                                           P = Fy dV     [N, A]
    mm(W, 0, F, 0, N, N, A, U); //                                                 Wx = w Fx     [N, A]
    mm(M, 0, F, 0, N, A, N, dw, { transR: true }); //                              dw = P Fx^T   [N, N]
    let wdw = 0;
    for (let q2 = 0; q2 < N * N; q2++) {
      dq[o + q2] = dw[q2];
      wdw += W[q2] * dw[q2];
    }
    for (let j = 0; j < N; j++) { //                                               dFx = w^T P
      for (let p = 0; p < A; p++) dF[j * A + p] = 0;
      for (let i = 0; i < N; i++) {
        const f = W[i * N + j];
        for (let p = 0; p < A; p++) dF[j * A + p] += f * M[i * A + p];
      }
    }
    mm(U, 0, acc, 0, N, A, B, S.T, { transR: true }); //                         dFy = Wx dV^T [N, B]
    for (let q2 = 0; q2 < N * B; q2++) dF[N * A + q2] = S.T[q2];
    filterbankBackward(h, aux, ao, F, dF, -wdw * ig, dq, o + N * N); //            d gamma = -sum w dw / gamma
  },
});

// ---------------------------------------------------------------------------------------------------------
// Without attention (eqs 17-18): the encoder reads [x, x-hat]; x's product is hoisted out of the recurrence,
// so the per-step input is [s, h^dec, h^enc] with s = sigmoid(canvas).

interface NoAttCtx {
  a: F32;
  b: F32;
  c: F32;
  out: F32;
  D: number;
  hd: number;
  he: number;
  wd: number;
}

/** `[s, h^dec, h^enc]` rows. */
define<NoAttCtx>("RedrawNoAttentionInput", {
  outShapes: (s) => [[s[0][0], s[0][1] + s[1][1] + s[2][1]]],
  setup([sv, hDec, hEnc], [out], sh) {
    return {
      rows: sh[0][0],
      ctx: { a: sv!, b: hDec!, c: hEnc!, out, D: sh[0][1], hd: sh[1][1], he: sh[2][1], wd: 0 },
    };
  },
  row(c, n) {
    const { D, hd, he, out } = c;
    const w = D + hd + he;
    out.set(c.a.subarray(n * D, (n + 1) * D), n * w);
    out.set(c.b.subarray(n * hd, (n + 1) * hd), n * w + D);
    out.set(c.c.subarray(n * he, (n + 1) * he), n * w + D + hd);
  },
});

/** d canvas_{t-1} = d canvas_t + ds s (1 - s), ds = first D columns of `dXenc`. */
define<NoAttCtx>("RedrawNoAttentionBackward", {
  outShapes: (s) => [s[1]],
  setup([dXenc, dcvs, sv], [out], sh) {
    return {
      rows: sh[1][0],
      ctx: { a: dXenc!, b: dcvs!, c: sv!, out, D: sh[1][1], hd: 0, he: 0, wd: sh[0][1] },
    };
  },
  row(c, n) {
    const { D, out } = c;
    for (let p = 0; p < D; p++) {
      const s = c.c[n * D + p];
      out[n * D + p] = c.b[n * D + p] + c.a[n * c.wd + p] * s * (1 - s);
    }
  },
});

// ---------------------------------------------------------------------------------------------------------
// Optimiser: the sum of squared gradients (for the global norm) and Adam's update, in chunks.

const CHUNK = 8192;

interface SumSqCtx {
  ins: Array<F32 | null>;
  /** [input, start] of each chunk. */
  chunks: number[];
  out: F32;
  acc: number;
}

/** Sum of squares of all elements of the inputs, float64-accumulated, `[1]`. */
define<SumSqCtx>("RedrawSumSquares", {
  outShapes: () => [[1]],
  setup(ins, [out]) {
    const chunks: number[] = [];
    ins.forEach((g, k) => {
      if (g) { for (let i = 0; i < g.length; i += CHUNK) chunks.push(k, i); }
    });
    return { rows: chunks.length / 2, ctx: { ins, chunks, out, acc: 0 } };
  },
  row(c, n) {
    const g = c.ins[c.chunks[2 * n]]!, lo = c.chunks[2 * n + 1], hi = Math.min(lo + CHUNK, g.length);
    let acc = 0;
    for (let i = lo; i < hi; i++) acc += g[i] * g[i];
    c.acc += acc;
  },
  finish(c) {
    c.out[0] = c.acc;
  },
});

interface AdamCtx {
  p: F32;
  m: F32;
  v: F32;
  g: F32;
  p2: F32;
  m2: F32;
  v2: F32;
  beta1: number;
  beta2: number;
  eps: number;
  lr1: number;
  invC2: number;
  scale: number;
}

/**
 * Adam (PyTorch's form, lib/train/adam.ts) on `scale * g`: m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
 * p -= lr (m / c1) / (sqrt(v / c2) + eps). Outputs the new `[p, m, v]`.
 */
define<AdamCtx>("RedrawAdam", {
  outShapes: (s) => [s[0], s[0], s[0]],
  setup([p, m, v, g], [p2, m2, v2], _s, a) {
    return {
      rows: Math.ceil(p!.length / CHUNK),
      ctx: {
        p: p!,
        m: m!,
        v: v!,
        g: g!,
        p2,
        m2,
        v2,
        beta1: a.beta1,
        beta2: a.beta2,
        eps: a.epsilon,
        lr1: a.lr / a.c1,
        invC2: 1 / a.c2,
        scale: a.scale,
      },
    };
  },
  row(c, n) {
    const { p, m, v, g, p2, m2, v2, beta1, beta2, eps, lr1, invC2, scale } = c;
    const hi = Math.min((n + 1) * CHUNK, p.length);
    for (let i = n * CHUNK; i < hi; i++) {
      const gi = g[i] * scale;
      const mi = beta1 * m[i] + (1 - beta1) * gi;
      const vi = beta2 * v[i] + (1 - beta2) * gi * gi;
      m2[i] = mi;
      v2[i] = vi;
      p2[i] = p[i] - (lr1 * mi) / (Math.sqrt(vi * invC2) + eps);
    }
  },
});
