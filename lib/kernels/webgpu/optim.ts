/**
 * WGSL versions of the optimiser kernels of lib/kernels/reference.ts: the sum of squared gradients (for the
 * global norm) and Adam's update. The sum is a fixed-order reduction: each thread of one workgroup sums a
 * fixed stride of the elements, then a tree in workgroup memory; more inputs than one dispatch may bind are
 * summed in groups whose partial sums a last dispatch adds in order. No atomics, so the same adapter gives the
 * same bits.
 * @module
 */
import type * as tf from "@tensorflow/tfjs";
import {
  entry,
  type GpuKernel,
  grid,
  header,
  launch,
  maxBindings,
  newOutput,
  paramF,
  size,
  uniformWords,
} from "./dispatch.ts";

const REDUCE = 256;

function reduceCode(ins: number[], slot: number, square: boolean): string {
  const loops = ins.map((n, k) =>
    `  for (var e = t; e < ${n}u; e += ${REDUCE}u) { let v = in${k}[e]; acc += ${square ? "v * v" : "v"}; }`
  ).join("\n");
  return header(["out"], ins.map((_, k) => `in${k}`)) + `var<workgroup> part: array<f32, ${REDUCE}>;
@compute @workgroup_size(${REDUCE})
fn main(@builtin(local_invocation_id) lid: vec3<u32>) {
  let t = lid.x;
  var acc = 0.0;
${loops}
  part[t] = acc;
  workgroupBarrier();
  for (var s = ${REDUCE / 2}u; s > 0u; s = s >> 1u) {
    if (t < s) { part[t] = part[t] + part[t + s]; }
    workgroupBarrier();
  }
  if (t == 0u) { out[${slot}] = part[0]; }
}
`;
}

/** RedrawSumSquares (lib/kernels/reference.ts) in WGSL. */
export const sumSquares: GpuKernel = (backend, ins) => {
  const ts = ins.filter((t) => t && size(t.shape) > 0) as tf.TensorInfo[];
  const out = newOutput(backend, [1]);
  const per = maxBindings(backend) - 1;
  if (ts.length <= per) {
    launch(backend, {
      code: reduceCode(ts.map((t) => size(t.shape)), 0, true),
      outs: [out],
      ins: ts,
      groups: [1, 1],
    });
    return [out];
  }
  const groups = Math.ceil(ts.length / per);
  const partial = newOutput(backend, [groups]);
  for (let k = 0; k < groups; k++) {
    const part = ts.slice(k * per, (k + 1) * per);
    launch(backend, {
      code: reduceCode(part.map((t) => size(t.shape)), k, true),
      outs: [partial],
      ins: part,
      groups: [1, 1],
    });
  }
  launch(backend, { code: reduceCode([groups], 0, false), outs: [out], ins: [partial], groups: [1, 1] });
  (backend as unknown as { disposeData(id: object): void }).disposeData(partial.dataId);
  return [out];
};

/**
 * RedrawAdam (lib/kernels/reference.ts) in WGSL: Adam on `scale * g` (PyTorch's form); one thread per
 * element.
 */
export const adam: GpuKernel = (backend, [p, m, v, gr], a) => {
  const n = size(p!.shape);
  const outs = [p!.shape, p!.shape, p!.shape].map((s) => newOutput(backend, s));
  const g = grid(n);
  const code = header(["p2", "m2", "v2"], ["p", "m", "v", "g"], 8) + entry(g.strideX) +
    `  if (i >= ${n}u) { return; }
  let beta1 = ${paramF(0)};
  let beta2 = ${paramF(1)};
  let eps = ${paramF(2)};
  let lr1 = ${paramF(3)};
  let invC2 = ${paramF(4)};
  let gi = g[i] * ${paramF(5)};
  let mi = beta1 * m[i] + ${paramF(6)} * gi;
  let vi = beta2 * v[i] + ${paramF(7)} * gi * gi;
  m2[i] = mi;
  v2[i] = vi;
  p2[i] = p[i] - (lr1 * mi) / (sqrt(vi * invC2) + eps);
}
`;
  const params = uniformWords([
    { f: a.beta1 },
    { f: a.beta2 },
    { f: a.epsilon },
    { f: a.lr / a.c1 },
    { f: 1 / a.c2 },
    { f: a.scale },
    { f: 1 - a.beta1 }, // in float64: 1 - float32(0.999) is 5e-5 away from 0.001
    { f: 1 - a.beta2 },
  ]);
  launch(backend, { code, outs, ins: [p!, m!, v!, gr!], params, groups: g.groups });
  return outs;
};
