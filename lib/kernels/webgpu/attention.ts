/**
 * WGSL versions of the Gaussian attention kernels of lib/kernels/reference.ts (eqs 19-29): read, write and
 * their backward passes. One thread per image: each builds its filterbanks (the same three-exponential
 * recurrence per filter row as the JS kernel), then the small products of eqs 27 and 29 in private memory,
 * in the JS kernel's loop order. An aux row holds (gX, gY, sigma2, delta, gamma), Fx `[N, A]`, Fy `[N, B]`
 * (read: then img Fx^T `[B, N]` for x and for x-hat).
 * @module
 */
import { head, readAuxLength } from "../reference.ts";
import { entry, f32, type GpuKernel, grid, header, launch, newOutput } from "./dispatch.ts";

/** Constants and private scratch of one head. */
function prelude(N: number, A: number, B: number): string {
  const h = head(N, A, B);
  return `const N = ${N}u;
const A = ${A}u;
const B = ${B}u;
const NA = ${N * A}u;
const D = ${A * B}u;
const HAUX = ${h.aux}u;
var<private> F: array<f32, ${N * (A + B)}>;
fn offs(i: u32) -> f32 { return f32(i) + ${f32(1 - N / 2 - 0.5)}; }
`;
}

/**
 * Opens the loop over the filters of both axes (x: A pixels, then y: B), each at `row` of F: its axis length
 * `sz`, and its centre `mu` from the grid centre g (gX or gY), stride `delta` and offset `offs(i)` (eqs 19-20).
 */
const FILTER_LOOP = `  var row = 0u;
  for (var axis = 0u; axis < 2u; axis++) {
    let sz = select(B, A, axis == 0u);
    let g = select(gY, gX, axis == 0u);
    for (var i = 0u; i < N; i++) {
      let mu = g + offs(i) * delta;
`;

/** Eqs 21-26 from the raw head at q[ro..ro+5]: fills F, writes the parameters and F to aux[ao..]. */
function filterbankCode(N: number, A: number, B: number): string {
  const stride = head(N, A, B).stride;
  return `fn filterbank(ro: u32, ao: u32) -> f32 {
  let gX = ${f32((A + 1) / 2)} * (q[ro] + 1.0);
  let gY = ${f32((B + 1) / 2)} * (q[ro + 1u] + 1.0);
  let sigma2 = exp(q[ro + 2u]);
  let delta = exp(q[ro + 3u]) * ${f32(stride)};
  let gamma = exp(q[ro + 4u]);
  aux[ao] = gX;
  aux[ao + 1u] = gY;
  aux[ao + 2u] = sigma2;
  aux[ao + 3u] = delta;
  aux[ao + 4u] = gamma;
  let inv = 1.0 / (2.0 * sigma2);
  let qq = exp(-2.0 * inv);
${FILTER_LOOP}      let top = u32(clamp(floor(mu - 1.0 + 0.5), 0.0, f32(sz - 1u)));
      let d0 = f32(top) + 1.0 - mu;
      F[row + top] = 1.0;
      var sum = 1.0;
      var v = 1.0;
      var r = exp(-inv * (2.0 * d0 + 1.0));
      for (var a = top + 1u; a < sz; a++) {
        v *= r;
        r *= qq;
        F[row + a] = v;
        sum += v;
      }
      v = 1.0;
      r = exp(-inv * (1.0 - 2.0 * d0));
      for (var a = i32(top) - 1; a >= 0; a--) {
        v *= r;
        r *= qq;
        F[row + u32(a)] = v;
        sum += v;
      }
      let norm = 1.0 / sum;
      for (var a = 0u; a < sz; a++) { F[row + a] *= norm; }
      row += sz;
    }
  }
  for (var k = 0u; k < row; k++) { aux[ao + 5u + k] = F[k]; }
  return gamma;
}
`;
}

const LOAD = `fn loadFilterbank(ao: u32) -> f32 {
  for (var k = 0u; k < N * (A + B); k++) { F[k] = aux[ao + 5u + k]; }
  return aux[ao + 4u];
}
`;

/** Backward of the filterbank: from F, dF and d gamma to the raw head gradient at out[ro..ro+5]. */
function filterbankBackwardCode(N: number, A: number, B: number, out: string): string {
  return `var<private> dF: array<f32, ${N * (A + B)}>;
fn filterbankBackward(ao: u32, dGamma: f32, ro: u32) {
  let gX = aux[ao];
  let gY = aux[ao + 1u];
  let sigma2 = aux[ao + 2u];
  let delta = aux[ao + 3u];
  let gamma = aux[ao + 4u];
  var dgX = 0.0;
  var dgY = 0.0;
  var dSigma2 = 0.0;
  var dDelta = 0.0;
${FILTER_LOOP}      var dot = 0.0;
      for (var a = 0u; a < sz; a++) { dot += F[row + a] * dF[row + a]; }
      var dMu = 0.0;
      var dS = 0.0;
      for (var a = 0u; a < sz; a++) {
        let de = F[row + a] * (dF[row + a] - dot);
        let d = f32(a) + 1.0 - mu;
        dMu += de * d;
        dS += de * d * d;
      }
      dMu = dMu / sigma2;
      dSigma2 += dS / (2.0 * sigma2 * sigma2);
      if (axis == 0u) { dgX += dMu; } else { dgY += dMu; }
      dDelta += offs(i) * dMu;
      row += sz;
    }
  }
  ${out}[ro] = dgX * ${f32((A + 1) / 2)};
  ${out}[ro + 1u] = dgY * ${f32((B + 1) / 2)};
  ${out}[ro + 2u] = dSigma2 * sigma2;
  ${out}[ro + 3u] = dDelta * delta;
  ${out}[ro + 4u] = dGamma * gamma;
}
`;
}

/**
 * WGSL of one small product in private memory, in the JS kernel's loop order: for each (i, j) of `loops`
 * ("i < I, j < J, k < K"), `acc` = the sum over k (ascending, from 0) of `term`, then the statements `store`;
 * each line indented by `indent` spaces.
 */
function product(loops: string, term: string, store: string, indent = 2): string {
  const [[i, I], [j, J], [k, K]] = loops.split(", ").map((l) => l.split(" < "));
  return [
    `for (var ${i} = 0u; ${i} < ${I}; ${i}++) {`,
    `  for (var ${j} = 0u; ${j} < ${J}; ${j}++) {`,
    `    var acc = 0.0;`,
    `    for (var ${k} = 0u; ${k} < ${K}; ${k}++) { acc += ${term}; }`,
    ...store.split("\n").map((line) => `    ${line}`),
    `  }`,
    `}`,
  ].map((line) => " ".repeat(indent) + line + "\n").join("");
}

/** x-hat = x - s at pixel `pix` for k = 1, x for k = 0. */
const IMG = `fn img(k: u32, pix: u32) -> f32 {
  if (k == 1u) { return x[pix] - s[pix]; }
  return x[pix];
}
`;

/** RedrawRead (lib/kernels/reference.ts) in WGSL. */
export const read: GpuKernel = (backend, [x, s, q, hDec, hEnc], a) => {
  const { N, A, B } = a as { N: number; A: number; B: number };
  const b = x!.shape[0], wq = q!.shape[1], hd = hDec!.shape[1], he = hEnc!.shape[1];
  const w = 2 * N * N + hd + he, raux = readAuxLength(N, A, B);
  const outs = [newOutput(backend, [b, w]), newOutput(backend, [b, raux])];
  const g = grid(b);
  const code = header(["xenc", "aux"], ["x", "s", "q", "hDec", "hEnc"]) + prelude(N, A, B) +
    filterbankCode(N, A, B) + IMG + `var<private> Tt: array<f32, ${B * N}>;
` + entry(g.strideX) + `  if (i >= ${b}u) { return; }
  let n = i;
  let ao = n * ${raux}u;
  let gamma = filterbank(n * ${wq}u + ${a.rawOffset}u, ao);
  for (var k = 0u; k < 2u; k++) {
` +
    product(
      "y < B, r < N, c < A",
      "img(k, n * D + y * A + c) * F[r * A + c]",
      "Tt[y * N + r] = acc;\naux[ao + HAUX + k * B * N + y * N + r] = acc;",
      4,
    ) +
    product(
      "r < N, j < N, y < B",
      "F[NA + r * B + y] * Tt[y * N + j]",
      `xenc[n * ${w}u + k * N * N + r * N + j] = gamma * acc;`,
      4,
    ) + `  }
  for (var j = 0u; j < ${hd}u; j++) { xenc[n * ${w}u + ${2 * N * N}u + j] = hDec[n * ${hd}u + j]; }
  for (var j = 0u; j < ${he}u; j++) { xenc[n * ${w}u + ${2 * N * N + hd}u + j] = hEnc[n * ${he}u + j]; }
}
`;
  launch(backend, { code, outs, ins: [x!, s!, q!, hDec!, hEnc!], groups: g.groups });
  return outs;
};

/** RedrawReadBackward (lib/kernels/reference.ts) in WGSL. */
export const readBackward: GpuKernel = (backend, [dXenc, aux, x, s, dcvs, xenc], a) => {
  const { N, A, B } = a as { N: number; A: number; B: number };
  const b = dcvs!.shape[0], wd = dXenc!.shape[1], wx = xenc!.shape[1], raux = readAuxLength(N, A, B);
  const outs = [newOutput(backend, dcvs!.shape), newOutput(backend, [b, 5])];
  const g = grid(b);
  const code = header(["dcvsPrev", "draw"], ["dXenc", "aux", "x", "s", "dcvs", "xenc"]) + prelude(N, A, B) +
    LOAD +
    filterbankBackwardCode(N, A, B, "draw") + IMG + `var<private> U: array<f32, ${N * A}>;
var<private> M: array<f32, ${N * A}>;
var<private> dr: array<f32, ${N * N}>;
` + entry(g.strideX) + `  if (i >= ${b}u) { return; }
  let n = i;
  let ao = n * ${raux}u;
  let gamma = loadFilterbank(ao);
  for (var k = 0u; k < N * (A + B); k++) { dF[k] = 0.0; }
  var dGamma = 0.0;
  for (var k = 0u; k < 2u; k++) {
    for (var q2 = 0u; q2 < N * N; q2++) {
      let gv = dXenc[n * ${wd}u + k * N * N + q2];
      dr[q2] = gamma * gv;
      dGamma += gv * xenc[n * ${wx}u + k * N * N + q2];
    }
` +
    product(
      "r < N, c < A, y < B",
      "F[NA + r * B + y] * img(k, n * D + y * A + c)",
      "U[r * A + c] = acc;",
      4,
    ) + product("j < N, c < A, r < N", "dr[r * N + j] * U[r * A + c]", "dF[j * A + c] += acc;", 4) +
    `    let to = ao + HAUX + k * B * N;
    for (var r = 0u; r < N; r++) {
      for (var y = 0u; y < B; y++) {
        var s2 = 0.0;
        for (var j = 0u; j < N; j++) { s2 += dr[r * N + j] * aux[to + y * N + j]; }
        dF[NA + r * B + y] += s2;
      }
    }
  }
` + product("r < N, c < A, y < N", "dr[r * N + y] * F[y * A + c]", "M[r * A + c] = acc;") +
    `  filterbankBackward(ao, dGamma / gamma, n * 5u);
  for (var p = 0u; p < D; p++) {
    let y = p / A;
    let c = p % A;
    var acc = 0.0;
    for (var r = 0u; r < N; r++) { acc += F[NA + r * B + y] * M[r * A + c]; }
    let sp = s[n * D + p];
    dcvsPrev[n * D + p] = dcvs[n * D + p] - acc * sp * (1.0 - sp);
  }
}
`;
  launch(backend, { code, outs, ins: [dXenc!, aux!, x!, s!, dcvs!, xenc!], groups: g.groups });
  return outs;
};

/** RedrawWrite (lib/kernels/reference.ts) in WGSL. */
export const write: GpuKernel = (backend, [cvs, q], a) => {
  const { N, A, B } = a as { N: number; A: number; B: number };
  const b = cvs!.shape[0], wq = q!.shape[1], haux = head(N, A, B).aux;
  const outs = [newOutput(backend, cvs!.shape), newOutput(backend, [b, haux])];
  const g = grid(b);
  const code = header(["out", "aux"], ["cvs", "q"]) + prelude(N, A, B) + filterbankCode(N, A, B) +
    `var<private> U: array<f32, ${N * A}>;
` + entry(g.strideX) + `  if (i >= ${b}u) { return; }
  let n = i;
  let o = n * ${wq}u;
  let gamma = filterbank(o + N * N, n * HAUX);
` + product("r < N, c < A, j < N", "q[o + r * N + j] * F[j * A + c]", "U[r * A + c] = acc;") +
    `  for (var p = 0u; p < D; p++) {
    let y = p / A;
    let c = p % A;
    var acc = 0.0;
    for (var r = 0u; r < N; r++) { acc += F[NA + r * B + y] * U[r * A + c]; }
    out[n * D + p] = cvs[n * D + p] + acc / gamma;
  }
}
`;
  launch(backend, { code, outs, ins: [cvs!, q!], groups: g.groups });
  return outs;
};

/** RedrawWriteBackward (lib/kernels/reference.ts) in WGSL. */
export const writeBackward: GpuKernel = (backend, [dcvs, aux, q, drawNext], a) => {
  const { N, A, B } = a as { N: number; A: number; B: number };
  const b = q!.shape[0], wq = q!.shape[1];
  const full = !!(dcvs && aux);
  const out = newOutput(backend, [b, wq]);
  const names: string[] = [], bound = [];
  // Only the read-head block: q is not read, and an unread binding would not be in the pipeline's layout.
  if (full) (names.push("dcvs", "aux", "q"), bound.push(dcvs!, aux!, q!));
  if (drawNext) (names.push("drawNext"), bound.push(drawNext));
  const g = grid(b);
  const body = full
    ? `  let ao = n * HAUX;
  let gamma = loadFilterbank(ao);
  let ig = 1.0 / gamma;
  for (var r = 0u; r < N; r++) {
    for (var c = 0u; c < A; c++) {
      var m = 0.0;
      for (var y = 0u; y < B; y++) { m += F[NA + r * B + y] * (dcvs[n * D + y * A + c] * ig); }
      M[r * A + c] = m;
      var u = 0.0;
      for (var j = 0u; j < N; j++) { u += q[o + r * N + j] * F[j * A + c]; }
      U[r * A + c] = u;
    }
  }
  var wdw = 0.0;
` + product(
        "r < N, j < N, c < A",
        "M[r * A + c] * F[j * A + c]",
        "dq[o + r * N + j] = acc;\nwdw += q[o + r * N + j] * acc;",
      ) +
      product("j < N, c < A, r < N", "q[o + r * N + j] * M[r * A + c]", "dF[j * A + c] = acc;") +
      product(
        "r < N, y < B, c < A",
        "U[r * A + c] * (dcvs[n * D + y * A + c] * ig)",
        "dF[NA + r * B + y] = acc;",
      ) + `  filterbankBackward(ao, -wdw * ig, o + N * N);
`
    : "";
  const code = header(["dq"], names) + prelude(N, A, B) +
    (full
      ? LOAD + filterbankBackwardCode(N, A, B, "dq") + `var<private> U: array<f32, ${N * A}>;
var<private> M: array<f32, ${N * A}>;
`
      : "") +
    entry(g.strideX) + `  if (i >= ${b}u) { return; }
  let n = i;
  let o = n * ${wq}u;
  for (var k = 0u; k < ${wq}u; k++) { dq[o + k] = 0.0; }
${
    drawNext
      ? `  for (var k = 0u; k < 5u; k++) { dq[o + N * N + 5u + k] = drawNext[n * 5u + k]; }\n`
      : ""
  }${body}}
`;
  launch(backend, { code, outs: [out], ins: bound, groups: g.groups });
  return [out];
};
