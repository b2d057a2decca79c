import { assert, assertEquals } from "@std/assert";
import * as tf from "@tensorflow/tfjs";
import { initBackend, setWasmThreads } from "../../backend.ts";
import { head, KERNEL_DEFS, readAuxLength, runKernel } from "../reference.ts";
import { registerFusedKernels } from "../dispatch.ts";
import { engineThreads, ptr, wasmEngine } from "./engine.ts";
import { bell, type KernelCase, rng } from "./test_values.ts";
import { stopThreadsAfterTests } from "./testing.ts";

setWasmThreads(2);
await initBackend("wasm");
registerFusedKernels();

/** The C export of each kernel and its argument list (as lib/kernels/wasm/attention.ts passes them). */
const EXPORT: Record<string, string> = {
  RedrawRead: "redraw_read",
  RedrawReadBackward: "redraw_read_backward",
  RedrawWrite: "redraw_write",
  RedrawWriteBackward: "redraw_write_backward",
};

function args(name: string, ins: Array<tf.Tensor | null>, outs: tf.Tensor[], attrs: Record<string, number>) {
  const p = (t: tf.Tensor | null) => (t ? ptr(t) : 0);
  const { N, A, B } = attrs;
  const sh = ins.map((t) => t?.shape ?? []);
  switch (name) {
    case "RedrawRead":
      return [...ins.map(p), ...outs.map(p), N, A, B, sh[2][1], sh[3][1], sh[4][1], attrs.rawOffset];
    case "RedrawReadBackward":
      return [...ins.map(p), ...outs.map(p), N, A, B, sh[0][1], sh[5][1]];
    case "RedrawWrite":
      return [...ins.map(p), ...outs.map(p), N, A, B, sh[1][1]];
    default:
      return [...ins.map(p), ...outs.map(p), N, A, B, sh[2][1]];
  }
}

type Case = KernelCase;

/** Random inputs of the four kernels, batch 64 (the backward ones with aux rows from the JS forward). */
function cases(A: number, B: number, rN: number, wN: number): Case[] {
  const r = rng(12345);
  const normal = (n: number) => bell(r, n);
  const unit = (n: number) => Float32Array.from({ length: n }, r);
  const js = (name: string, inputs: Float32Array[], inShapes: number[][], attrs: Record<string, number>) => {
    const k = KERNEL_DEFS[name], a = { ...attrs, nIn: inputs.length };
    const outs = k.outShapes(inShapes, a).map((s) => new Float32Array(s.reduce((x, y) => x * y, 1)));
    runKernel(k, inputs, outs, inShapes, a);
    return outs;
  };
  const b = 64, D = A * B, wq = wN * wN + 10, wx = 2 * rN * rN + 16;
  const label = `(batch ${b}, ${A}x${B}, read ${rN}, write ${wN})`;
  const x = unit(b * D), s = unit(b * D), q = normal(b * wq), cvs = normal(b * D), dcvs = normal(b * D);
  const read = { N: rN, A, B, rawOffset: wN * wN + 5 }, write = { N: wN, A, B };
  const readIn = [x, s, q, normal(b * 9), normal(b * 7)];
  const readShapes = [[b, D], [b, D], [b, wq], [b, 9], [b, 7]];
  const [xenc, readAux] = js("RedrawRead", readIn, readShapes, read);
  const [, writeAux] = js("RedrawWrite", [cvs, q], [[b, D], [b, wq]], write);
  return [
    { name: "RedrawRead", label, inputs: readIn, inShapes: readShapes, attrs: read },
    {
      name: "RedrawReadBackward",
      label,
      inputs: [normal(b * wx), readAux, x, s, dcvs, xenc],
      inShapes: [[b, wx], [b, readAuxLength(rN, A, B)], [b, D], [b, D], [b, D], [b, wx]],
      attrs: read,
    },
    { name: "RedrawWrite", label, inputs: [cvs, q], inShapes: [[b, D], [b, wq]], attrs: write },
    {
      name: "RedrawWriteBackward",
      label,
      inputs: [dcvs, writeAux, q, normal(b * 5)],
      inShapes: [[b, D], [b, head(wN, A, B).aux], [b, wq], [b, 5]],
      attrs: write,
    },
  ];
}

const CASES = [...cases(28, 28, 2, 5), ...cases(9, 12, 3, 4)];

for (const k of CASES) {
  Deno.test(`The C ${k.name} gives the same bits on 1 and 2 threads ${k.label}`, () => {
    assertEquals(engineThreads(), 2);
    const ins = k.inputs.map((x, i) => (x ? tf.tensor(x, k.inShapes[i]) : null));
    const named: Record<string, tf.Tensor> = {};
    ins.forEach((t, i) => {
      if (t) named[`i${i}`] = t;
    });
    const attrs = { ...k.attrs, nIn: ins.length };
    // Two threads: through tfjs (lib/kernels/wasm/attention.ts splits the batch rows).
    const out = tf.engine().runKernel(k.name, named, attrs) as tf.Tensor | tf.Tensor[];
    const two = Array.isArray(out) ? out : [out];
    // One thread: the whole batch in one call of the export.
    const shapes = KERNEL_DEFS[k.name].outShapes(k.inShapes, attrs);
    const one = shapes.map((s) => tf.fill(s, 7));
    const rows = k.name === "RedrawReadBackward"
      ? k.inShapes[4][0]
      : k.inShapes[k.name === "RedrawWriteBackward" ? 2 : 0][0];
    wasmEngine()!.exports[EXPORT[k.name]](...args(k.name, ins, one, k.attrs), 0, rows);
    two.forEach((t, i) => {
      const a = new Uint32Array((t.dataSync() as Float32Array).buffer.slice(0));
      const b = new Uint32Array((one[i].dataSync() as Float32Array).buffer.slice(0));
      assertEquals(a.length, b.length);
      assert(a.every((v, j) => v === b[j]), `output ${i} differs`);
    });
    tf.dispose([...ins.filter((t) => t !== null) as tf.Tensor[], ...two, ...one]);
  });
}

stopThreadsAfterTests();
