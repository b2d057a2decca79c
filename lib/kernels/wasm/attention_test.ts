import { assert, assertEquals } from "@std/assert";
import { initBackend } from "../../backend.ts";
import { compareKernel, stopThreadsAfterTests } from "./testing.ts";
import { type Attrs, head, KERNEL_DEFS, readAuxLength, runKernel } from "../reference.ts";
import { attentionScratchBytes } from "./attention.ts";
import { bell, type KernelCase, rng } from "./test_values.ts";

export type Case = KernelCase;

/** Runs a JS kernel on plain arrays (to make consistent aux rows for the backward cases). */
function js(
  name: string,
  inputs: Array<Float32Array | null>,
  inShapes: number[][],
  attrs: Attrs,
): Float32Array[] {
  const k = KERNEL_DEFS[name];
  const a = { ...attrs, nIn: inputs.length };
  const outs = k.outShapes(inShapes, a).map((s) => new Float32Array(s.reduce((x, y) => x * y, 1)));
  runKernel(k, inputs, outs, inShapes, a);
  return outs;
}

/**
 * Random inputs of the four attention kernels: batch b, image A x B, read and write sizes; `rawScale` scales
 * the raw head outputs (1: typical; 3: very sharp or very wide filters, large and small gammas).
 */
export function attentionCases(seed = 1): Case[] {
  const r = rng(seed);
  const normal = (n: number, s = 1) => bell(r, n, s);
  const sig = (n: number) => normal(n, 3).map((v) => 1 / (1 + Math.exp(-v)));
  const binary = (n: number) => Float32Array.from({ length: n }, () => (r() < 0.2 ? 1 : 0));
  const cases: Case[] = [];
  const sizes: Array<[number, number, number, number, number, number]> = [
    // [batch, A, B, read N, write N, raw scale]
    [64, 28, 28, 2, 5, 1],
    [7, 28, 28, 2, 5, 3],
    [7, 12, 9, 3, 4, 1],
    [7, 9, 12, 4, 3, 2],
    [5, 13, 6, 1, 1, 1],
  ];
  for (const [b, A, B, rN, wN, rawScale] of sizes) {
    const D = A * B, hd = 13, he = 21;
    const label = `(batch ${b}, ${A}x${B}, read ${rN}, write ${wN}, raw scale ${rawScale})`;
    // Q_t = [w (wN^2), raw write head (5), raw read head (5), 3 more]: the read head at column wN^2 + 5.
    const wq = wN * wN + 13, rawOffset = wN * wN + 5;
    const q = normal(b * wq, rawScale);
    const x = r() < 0.5 ? binary(b * D) : sig(b * D);
    const s = sig(b * D);
    const readIn = [x, s, q, normal(b * hd), normal(b * he)];
    const readShapes = [[b, D], [b, D], [b, wq], [b, hd], [b, he]];
    const readAttrs = { N: rN, A, B, rawOffset };
    cases.push({ name: "RedrawRead", label, inputs: readIn, inShapes: readShapes, attrs: readAttrs });
    const [xenc, readAux] = js("RedrawRead", readIn, readShapes, readAttrs);
    const wx = 2 * rN * rN + hd + he;
    cases.push({
      name: "RedrawReadBackward",
      label,
      inputs: [normal(b * wx, 0.5), readAux, x, s, normal(b * D, 0.3), xenc],
      inShapes: [[b, wx], [b, readAuxLength(rN, A, B)], [b, D], [b, D], [b, D], [b, wx]],
      attrs: { N: rN, A, B },
    });
    const cvs = normal(b * D, 2);
    const writeAttrs = { N: wN, A, B };
    cases.push({
      name: "RedrawWrite",
      label,
      inputs: [cvs, q],
      inShapes: [[b, D], [b, wq]],
      attrs: writeAttrs,
    });
    const [, writeAux] = js("RedrawWrite", [cvs, q], [[b, D], [b, wq]], writeAttrs);
    const auxShape = [b, head(wN, A, B).aux];
    const dcvs = normal(b * D, 0.3), drawNext = normal(b * 5);
    for (
      const [how, full, next] of [["", true, true], [", no next read head", true, false], [
        ", read-head block only",
        false,
        true,
      ]] as Array<[string, boolean, boolean]>
    ) {
      cases.push({
        name: "RedrawWriteBackward",
        label: label.slice(0, -1) + how + ")",
        inputs: [full ? dcvs : null, full ? writeAux : null, q, next ? drawNext : null],
        inShapes: [full ? [b, D] : [], full ? auxShape : [], [b, wq], next ? [b, 5] : []],
        attrs: writeAttrs,
      });
    }
  }
  return cases;
}

const CASES = attentionCases();

await initBackend("wasm");

for (const k of CASES) {
  Deno.test(`The C ${k.name} matches the JS kernel ${k.label}`, () => {
    const { maxError, c, js } = compareKernel(k.name, k.inputs, k.inShapes, k.attrs);
    assertEquals(c.map((o) => o.length), js.map((o) => o.length));
    assert(maxError <= 1e-5, `maxError ${maxError}`);
  });
}

Deno.test("The C attention kernels give NaN where the JS kernels do", () => {
  const read = CASES.find((x) => x.name === "RedrawRead")!;
  const inputs = read.inputs.map((x) => x?.slice() ?? null);
  inputs[0]![3 * 28 + 5] = NaN; // image 0, row 3
  const { c, js, maxError } = compareKernel(read.name, inputs, read.inShapes, read.attrs);
  assert(maxError <= 1e-5, `maxError ${maxError}`);
  assert(Number.isNaN(js[0][0]) && Number.isNaN(c[0][0]));
  const write = CASES.find((x) => x.name === "RedrawWrite")!;
  const wIn = write.inputs.map((x) => x?.slice() ?? null);
  wIn[1]![25 + 2] = NaN; // image 0's sigma
  const w = compareKernel(write.name, wIn, write.inShapes, write.attrs);
  assert(w.c[0].slice(0, 784).every(Number.isNaN), "a NaN filter width gives a NaN canvas");
  assert(w.c[1].slice(5, 5 + 5 * 56).every(Number.isNaN), "and NaN filterbanks");
  assert(!w.c[0].slice(784).some(Number.isNaN), "the other images are untouched");
});

Deno.test("Heads too large for the C kernels' stack scratch run the JS kernels", () => {
  assert(attentionScratchBytes(5, 28, 28) < 20_000);
  const b = 2, A = 80, B = 80, N = 64, wq = N * N + 10;
  assert(attentionScratchBytes(N, A, B) > 160 * 1024);
  const r = rng(9);
  const q = Float32Array.from({ length: b * wq }, () => r() - 0.5);
  const cvs = Float32Array.from({ length: b * A * B }, () => r() - 0.5);
  const { maxError } = compareKernel("RedrawWrite", [cvs, q], [[b, A * B], [b, wq]], { N, A, B });
  assertEquals(maxError, 0);
});

stopThreadsAfterTests();
