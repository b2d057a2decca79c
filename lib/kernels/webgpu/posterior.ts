/**
 * WGSL versions of the posterior (eqs 1-2, 6, 11) and Bernoulli likelihood (eq 9) kernels of
 * lib/kernels/reference.ts. The epsilon offset of a glimpse and the gradient scale are run-time parameters, so
 * that all glimpses share one pipeline.
 * @module
 */
import {
  entry,
  type GpuKernel,
  grid,
  header,
  launch,
  newOutput,
  paramF,
  paramU,
  uniformWords,
} from "./dispatch.ts";

/**
 * RedrawPosterior (lib/kernels/reference.ts) in WGSL: `[z, h^dec_{t-1}]`, KL and (with logWeights)
 * log p(z) - log q(z|x); one thread per example.
 */
export const posterior: GpuKernel = (backend, [pp, eps, hDec], a) => {
  const b = pp!.shape[0], P = pp!.shape[1], nZ = a.nZ as number, Hd = a.Hd as number, w = nZ + Hd;
  const lw = !!a.logWeights;
  const outs = [newOutput(backend, [b, w]), newOutput(backend, [b])];
  if (lw) outs.push(newOutput(backend, [b]));
  const g = grid(b);
  const code = header(lw ? ["xdec", "kl", "lr"] : ["xdec", "kl"], ["pp", "eps", "hDec"], 1) +
    entry(g.strideX) +
    `  if (i >= ${b}u) { return; }
  let n = i;
  let eo = ${paramU(0)} + n * ${nZ}u;
  var k = 0.0;
  var l = 0.0;
  for (var j = 0u; j < ${nZ}u; j++) {
    let mu = pp[n * ${P}u + j];
    let ls = pp[n * ${P}u + ${nZ}u + j];
    let sigma = exp(ls);
    let e = eps[eo + j];
    let z = mu + sigma * e;
    xdec[n * ${w}u + j] = z;
    k += mu * mu + sigma * sigma - 2.0 * ls - 1.0;
    l += (e * e - z * z) * 0.5 + ls;
  }
  kl[n] = 0.5 * k;
  ${lw ? "lr[n] = l;" : ""}
  for (var j = 0u; j < ${Hd}u; j++) { xdec[n * ${w}u + ${nZ}u + j] = hDec[n * ${Hd}u + j]; }
}
`;
  const params = uniformWords([{ u: a.epsOffset ?? 0 }]);
  launch(backend, { code, outs, ins: [pp!, eps!, hDec!], params, groups: g.groups });
  return outs;
};

/**
 * RedrawPosteriorBackward (lib/kernels/reference.ts) in WGSL: the gradient of `[mu, log sigma, padding]`; one
 * thread per element.
 */
export const posteriorBackward: GpuKernel = (backend, [dXdec, pp, eps], a) => {
  const b = pp!.shape[0], P = pp!.shape[1], nZ = a.nZ as number, wd = dXdec!.shape[1];
  const out = newOutput(backend, [b, P]);
  const g = grid(b * P);
  const code = header(["dpp"], ["dXdec", "pp", "eps"], 2) + entry(g.strideX) +
    `  if (i >= ${b * P}u) { return; }
  let n = i / ${P}u;
  let j = i % ${P}u;
  let scale = ${paramF(1)};
  if (j < ${nZ}u) {
    dpp[i] = pp[i] * scale + dXdec[n * ${wd}u + j];
  } else if (j < ${2 * nZ}u) {
    let sigma = exp(pp[i]);
    let e = eps[${paramU(0)} + n * ${nZ}u + j - ${nZ}u];
    dpp[i] = (sigma * sigma - 1.0) * scale + dXdec[n * ${wd}u + j - ${nZ}u] * sigma * e;
  } else {
    dpp[i] = 0.0;
  }
}
`;
  const params = uniformWords([{ u: a.epsOffset ?? 0 }, { f: a.scale }]);
  launch(backend, { code, outs: [out], ins: [dXdec!, pp!, eps!], params, groups: g.groups });
  return [out];
};

/**
 * RedrawBernoulli (lib/kernels/reference.ts) in WGSL: L^x per example and scale * dL^x/dc; one thread per
 * example. log1p is computed as log(u) corrected.
 */
export const bernoulli: GpuKernel = (backend, [x, c], a) => {
  const b = x!.shape[0], D = x!.shape[1];
  const outs = [newOutput(backend, [b]), newOutput(backend, [b, D])];
  const g = grid(b);
  const code = header(["loss", "dc"], ["x", "c"], 1) + entry(g.strideX) + `  if (i >= ${b}u) { return; }
  let scale = ${paramF(0)};
  var l = 0.0;
  for (var p = i * ${D}u; p < (i + 1u) * ${D}u; p++) {
    let v = c[p];
    let xv = x[p];
    let e = exp(-abs(v));
    let u = 1.0 + e;
    var lp = e;
    if (u != 1.0) { lp = log(u) * e / (u - 1.0); }
    l += max(v, 0.0) - xv * v + lp;
    dc[p] = (select(e, 1.0, v >= 0.0) / u - xv) * scale;
  }
  loss[i] = l;
}
`;
  launch(backend, { code, outs, ins: [x!, c!], params: uniformWords([{ f: a.scale }]), groups: g.groups });
  return outs;
};
