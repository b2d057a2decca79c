/**
 * WGSL versions of the LSTM kernels of lib/kernels/reference.ts (eqs 5 and 7), plus the whole forward of a
 * cell in one dispatch (gate sigmoids, cell, sigmoid(cell), hidden state: four outputs, which tfjs-webgpu's
 * own programs cannot write). tanh comes from the sigmoid as in the JS kernels: with s = sigmoid(v),
 * tanh(v) = (2s - 1) / (s^2 + (1 - s)^2).
 * @module
 */
import { entry, type GpuKernel, grid, header, launch, newOutput } from "./dispatch.ts";

const HELPERS = `fn tanhS(s: f32) -> f32 {
  let r = 1.0 - s;
  return (s - r) / (s * s + r * r);
}
fn sigm(v: f32) -> f32 {
  return 1.0 / (1.0 + exp(-v));
}
`;

/** RedrawLstmForward: gates `[b, 4H]` (order i, f, o, g) and c_prev (absent: 0) to `[sg, c, sc, h]`. */
export const lstmForward: GpuKernel = (backend, [gates, cPrev]) => {
  const b = gates!.shape[0], H = gates!.shape[1] / 4;
  const outs = [[b, 4 * H], [b, H], [b, H], [b, H]].map((s) => newOutput(backend, s));
  const g = grid(b * H);
  const code = header(["sg", "c", "sc", "h"], cPrev ? ["gates", "cp"] : ["gates"]) + HELPERS +
    entry(g.strideX) +
    `  if (i >= ${b * H}u) { return; }
  let n = i / ${H}u;
  let j = i % ${H}u;
  let o = n * ${4 * H}u + j;
  let si = sigm(gates[o]);
  let sf = sigm(gates[o + ${H}u]);
  let so = sigm(gates[o + ${2 * H}u]);
  let sgg = sigm(gates[o + ${3 * H}u]);
  sg[o] = si;
  sg[o + ${H}u] = sf;
  sg[o + ${2 * H}u] = so;
  sg[o + ${3 * H}u] = sgg;
  let cv = ${cPrev ? "sf * cp[i] + " : ""}si * tanhS(sgg);
  c[i] = cv;
  let s = sigm(cv);
  sc[i] = s;
  h[i] = so * tanhS(s);
}
`;
  launch(backend, { code, outs, ins: cPrev ? [gates!, cPrev] : [gates!], groups: g.groups });
  return outs;
};

/** RedrawLstmCell (lib/kernels/reference.ts) in WGSL. */
export const lstmCell: GpuKernel = (backend, [sg, cPrev]) => {
  const b = sg!.shape[0], H = sg!.shape[1] / 4;
  const out = newOutput(backend, [b, H]);
  const g = grid(b * H);
  const code = header(["c"], cPrev ? ["sg", "cp"] : ["sg"]) + HELPERS + entry(g.strideX) +
    `  if (i >= ${b * H}u) { return; }
  let o = (i / ${H}u) * ${4 * H}u + i % ${H}u;
  c[i] = ${cPrev ? `sg[o + ${H}u] * cp[i] + ` : ""}sg[o] * tanhS(sg[o + ${3 * H}u]);
}
`;
  launch(backend, { code, outs: [out], ins: cPrev ? [sg!, cPrev] : [sg!], groups: g.groups });
  return [out];
};

/** RedrawLstmHidden (lib/kernels/reference.ts) in WGSL. */
export const lstmHidden: GpuKernel = (backend, [sg, sc]) => {
  const b = sg!.shape[0], H = sg!.shape[1] / 4;
  const out = newOutput(backend, [b, H]);
  const g = grid(b * H);
  const code = header(["h"], ["sg", "sc"]) + HELPERS + entry(g.strideX) + `  if (i >= ${b * H}u) { return; }
  let o = (i / ${H}u) * ${4 * H}u + i % ${H}u;
  h[i] = sg[o + ${2 * H}u] * tanhS(sc[i]);
}
`;
  launch(backend, { code, outs: [out], ins: [sg!, sc!], groups: g.groups });
  return [out];
};

/**
 * RedrawLstmBackward (lib/kernels/reference.ts) in WGSL: `[dG, dc_prev, dG summed over the batch]`. One
 * thread per hidden unit walks the batch rows in order, so the bias-gradient sum has a fixed order (no
 * atomics) in the same dispatch.
 */
export const lstmBackward: GpuKernel = (backend, ins, a) => {
  const [sg, sc, cp, dcn] = ins;
  const srcs = [ins[4], ins[5], ins[6]];
  const offs = a.offsets as number[];
  const b = sg!.shape[0], H = sg!.shape[1] / 4;
  const outs = [[b, 4 * H], [b, H], [1, 4 * H]].map((s) => newOutput(backend, s));
  const names = ["sg", "sc"], bound = [sg!, sc!];
  if (cp) (names.push("cp"), bound.push(cp));
  if (dcn) (names.push("dcn"), bound.push(dcn));
  const dh: string[] = [];
  srcs.forEach((t, k) => {
    if (!t) return;
    names.push(`src${k}`);
    bound.push(t);
    dh.push(`    dh += src${k}[n * ${t.shape[1]}u + ${offs[k]}u + j];`);
  });
  const g = grid(H);
  const code = header(["dG", "dcp", "dGsum"], names) + HELPERS + entry(g.strideX) +
    `  if (i >= ${H}u) { return; }
  let j = i;
  var a0 = 0.0;
  var a1 = 0.0;
  var a2 = 0.0;
  var a3 = 0.0;
  for (var n = 0u; n < ${b}u; n++) {
    var dh = 0.0;
${dh.join("\n")}
    let g = n * ${4 * H}u + j;
    let o = n * ${H}u + j;
    let ig = sg[g];
    let fg = sg[g + ${H}u];
    let og = sg[g + ${2 * H}u];
    let tg = tanhS(sg[g + ${3 * H}u]);
    let tc = tanhS(sc[o]);
    let dc = ${dcn ? "dcn[o]" : "0.0"} + dh * og * (1.0 - tc * tc);
    let gi = dc * tg * ig * (1.0 - ig);
    let gf = dc * ${cp ? "cp[o]" : "0.0"} * fg * (1.0 - fg);
    let go = dh * tc * og * (1.0 - og);
    let gg = dc * ig * (1.0 - tg * tg);
    dG[g] = gi;
    dG[g + ${H}u] = gf;
    dG[g + ${2 * H}u] = go;
    dG[g + ${3 * H}u] = gg;
    dcp[o] = dc * fg;
    a0 += gi;
    a1 += gf;
    a2 += go;
    a3 += gg;
  }
  dGsum[j] = a0;
  dGsum[j + ${H}u] = a1;
  dGsum[j + ${2 * H}u] = a2;
  dGsum[j + ${3 * H}u] = a3;
}
`;
  launch(backend, { code, outs, ins: bound, groups: g.groups });
  return outs;
};
