/**
 * WGSL versions of the copy and sum kernels of lib/kernels/reference.ts: block copies (assembling weight
 * matrices, splitting gradients), column sums, sums over glimpses, stacking per-glimpse rows, and the
 * attention-free encoder input and its gradient. One thread per output element; every sum runs in the JS
 * kernel's order, in float32.
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import type { BlockOp } from "../reference.ts";
import {
  entry,
  f32,
  type GpuKernel,
  grid,
  header,
  lastDim,
  launch,
  maxBindings,
  newOutput,
  size,
  type WebgpuBackend,
} from "./dispatch.ts";

/** Output `k`'s element from the ops writing it, in op order (JS: later ops overwrite or add). */
function blockOpsCode(ops: BlockOp[], k: number, inWidths: number[], inIndex: number[]): string {
  const lines: string[] = [];
  for (const op of ops) {
    if (op.out !== k) continue;
    const dr0 = op.dr0 ?? 0, dc0 = op.dc0 ?? 0, scale = op.scale ?? 1;
    const cond = `r >= ${dr0}u && r < ${dr0 + op.rows}u && c >= ${dc0}u && c < ${dc0 + op.cols}u`;
    let src: string;
    if (op.in < 0) src = f32(scale);
    else {
      const r0 = op.r0 ?? 0, c0 = op.c0 ?? 0, rStep = op.rStep ?? 1, sw = inWidths[op.in];
      const e = `in${inIndex[op.in]}[(${r0}u + (r - ${dr0}u) * ${rStep}u) * ${sw}u + ${c0}u + c - ${dc0}u]`;
      src = scale === 1 ? e : `${f32(scale)} * ${e}`;
    }
    lines.push(`    if (${cond}) { v = ${op.add ? `v + ${src}` : src}; }`);
  }
  return lines.join("\n");
}

/** RedrawBlocks (lib/kernels/reference.ts) in WGSL. */
export const blocks: GpuKernel = (backend, ins, a) => {
  const outShapes = a.outShapes as number[][], ops = a.ops as BlockOp[];
  const present = ins.map((t, i) => (t ? i : -1)).filter((i) => i >= 0);
  const inIndex: number[] = [];
  present.forEach((i, k) => inIndex[i] = k);
  const inWidths = ins.map((t) => (t ? lastDim(t.shape) : 0));
  const outs = outShapes.map((s) => newOutput(backend, s));
  const total = outShapes.reduce((acc, s) => acc + size(s), 0);
  const g = grid(total);
  let code = header(outs.map((_, k) => `out${k}`), present.map((_, k) => `in${k}`)) + entry(g.strideX);
  let start = 0;
  outShapes.forEach((s, k) => {
    const n = size(s), w = lastDim(s);
    code += `  if (i >= ${start}u && i < ${start + n}u) {
    let e = i - ${start}u;
    let r = e / ${w}u;
    let c = e % ${w}u;
    var v = 0.0;
${blockOpsCode(ops, k, inWidths, inIndex)}
    out${k}[e] = v;
  }
`;
    start += n;
  });
  code += "}\n";
  launch(backend, { code, outs, ins: present.map((i) => ins[i]!), groups: g.groups });
  return outs;
};

/** RedrawSumCols (lib/kernels/reference.ts) in WGSL. */
export const sumCols: GpuKernel = (backend, ins, a) => {
  const width = a.width as number, offs = a.offsets as number[], colSum = !!a.colSum;
  const present = ins.map((t, i) => (t ? i : -1)).filter((i) => i >= 0);
  const rows = ins[present[0]]!.shape[0];
  const out = newOutput(backend, colSum ? [1, width] : [rows, width]);
  const g = grid(colSum ? width : rows * width);
  const add = (n: string, pad: string) =>
    present.map((i, k) => `${pad}acc += in${k}[${n} * ${ins[i]!.shape[1]}u + ${offs[i]}u + j];`).join("\n");
  const body = colSum
    ? `  let j = i;
  var acc = 0.0;
  for (var n = 0u; n < ${rows}u; n++) {
${add("n", "    ")}
  }
  out[j] = acc;`
    : `  let n = i / ${width}u;
  let j = i % ${width}u;
  var acc = 0.0;
${add("n", "  ")}
  out[i] = acc;`;
  const code = header(["out"], present.map((_, k) => `in${k}`)) + entry(g.strideX) +
    `  if (i >= ${colSum ? width : rows * width}u) { return; }\n${body}\n}\n`;
  launch(backend, { code, outs: [out], ins: present.map((i) => ins[i]!), groups: g.groups });
  return [out];
};

/** RedrawSumSteps (lib/kernels/reference.ts) in WGSL. */
export const sumSteps: GpuKernel = (backend, [x], a) => {
  const T = a.T as number, rows = x!.shape[0] / T, n = x!.shape[1], sz = rows * n;
  const out = newOutput(backend, [rows, n]);
  const g = grid(sz);
  const code = header(["out"], ["x"]) + entry(g.strideX) + `  if (i >= ${sz}u) { return; }
  var acc = 0.0;
  for (var t = 0u; t < ${T}u; t++) { acc += x[t * ${sz}u + i]; }
  out[i] = acc;
}
`;
  launch(backend, { code, outs: [out], ins: [x!], groups: g.groups });
  return [out];
};

/**
 * RedrawStack (lib/kernels/reference.ts) in WGSL: stacks in groups of as many inputs as one dispatch may
 * bind, each group writing its rows in place.
 */
export const stack: GpuKernel = (backend, ins, a) => {
  const ts = ins as tf.TensorInfo[];
  const n = ts[0].shape[1], transposed = !!a.transposed;
  const total = ts.reduce((acc, t) => acc + t.shape[0], 0);
  const out = newOutput(backend, transposed ? [n, total] : [total, n]);
  const per = maxBindings(backend) - 1;
  let r0 = 0;
  for (let s = 0; s < ts.length; s += per) {
    const group = ts.slice(s, s + per);
    const elems = group.reduce((acc, t) => acc + size(t.shape), 0);
    const g = grid(elems);
    let code = header(["out"], group.map((_, k) => `in${k}`)) + entry(g.strideX);
    let start = 0;
    group.forEach((t, k) => {
      const m = size(t.shape);
      const dst = transposed ? `c * ${total}u + ${r0}u + r` : `(${r0}u + r) * ${n}u + c`;
      code += `  if (i >= ${start}u && i < ${start + m}u) {
    let e = i - ${start}u;
    let r = e / ${n}u;
    let c = e % ${n}u;
    out[${dst}] = in${k}[e];
  }
`;
      start += m;
      r0 += t.shape[0];
    });
    code += "}\n";
    launch(backend, { code, outs: [out], ins: group, groups: g.groups });
  }
  return [out];
};

/** RedrawNoAttentionInput (lib/kernels/reference.ts) in WGSL. */
export const noAttentionInput: GpuKernel = (backend, [s, hDec, hEnc]) => {
  const b = s!.shape[0], D = s!.shape[1], hd = hDec!.shape[1], he = hEnc!.shape[1], w = D + hd + he;
  const out = newOutput(backend, [b, w]);
  const g = grid(b * w);
  const code = header(["out"], ["s", "hDec", "hEnc"]) + entry(g.strideX) + `  if (i >= ${b * w}u) { return; }
  let n = i / ${w}u;
  let j = i % ${w}u;
  if (j < ${D}u) { out[i] = s[n * ${D}u + j]; }
  else if (j < ${D + hd}u) { out[i] = hDec[n * ${hd}u + j - ${D}u]; }
  else { out[i] = hEnc[n * ${he}u + j - ${D + hd}u]; }
}
`;
  launch(backend, { code, outs: [out], ins: [s!, hDec!, hEnc!], groups: g.groups });
  return [out];
};

/** RedrawNoAttentionBackward (lib/kernels/reference.ts) in WGSL. */
export const noAttentionBackward: GpuKernel = (backend, [dXenc, dcvs, s]) => {
  const b = dcvs!.shape[0], D = dcvs!.shape[1], wd = dXenc!.shape[1];
  const out = newOutput(backend, [b, D]);
  const g = grid(b * D);
  const code = header(["out"], ["dXenc", "dcvs", "s"]) + entry(g.strideX) + `  if (i >= ${b * D}u) { return; }
  let n = i / ${D}u;
  let p = i % ${D}u;
  let sp = s[i];
  out[i] = dcvs[i] + dXenc[n * ${wd}u + p] * sp * (1.0 - sp);
}
`;
  launch(backend, { code, outs: [out], ins: [dXenc!, dcvs!, s!], groups: g.groups });
  return [out];
};

export type { WebgpuBackend };
