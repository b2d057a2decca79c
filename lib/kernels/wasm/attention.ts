/**
 * C implementations (lib/kernels/wasm/src/attention.c) of the Gaussian-attention kernels RedrawRead,
 * RedrawReadBackward, RedrawWrite and RedrawWriteBackward of lib/kernels/reference.ts, split over the engine's
 * threads by batch rows. They keep the JS kernels' aux layouts, so JS and C kernels can be mixed.
 *
 * Each C instance keeps one image's filterbanks and products on its stack; a head too large for that
 * (far beyond the paper's 28x28 images) runs the JS kernel instead.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { KERNEL_DEFS, runKernel as runJsKernel } from "../reference.ts";
import { runKernel, wasmEngine } from "./engine.ts";
import type { ImplCall, WasmImpl } from "./impl.ts";

/** Stack bytes the C kernels may use for one head's scratch (an instance has 256 KB of stack). */
const STACK_LIMIT = 160 * 1024;

/** Upper bound of the stack scratch of the attention kernels (see the local arrays in attention.c). */
export function attentionScratchBytes(N: number, A: number, B: number): number {
  const Ap = Math.ceil(A / 4) * 4;
  const f64 = 2 * N * (A + B) + 2 * B * N + 2 * N * N;
  const f32 = N * (Ap + B) + 3 * N * Ap + Ap;
  return 8 * f64 + 4 * f32 + 1024;
}

/** Rows per thread worth a wake-up (~20k multiply-adds) for a row of `macs` multiply-adds. */
function minRows(macs: number): number {
  return Math.max(1, Math.ceil(20_000 / Math.max(1, macs)));
}

/** Runs the JS kernel on views of the heap (heads too large for the C kernels' stack scratch). */
function runJs(name: string, c: ImplCall): void {
  const k = KERNEL_DEFS[name];
  const buf = wasmEngine()!.memory.buffer;
  const attrs = { ...c.attrs, nIn: c.ins.length };
  const outShapes = k.outShapes(c.inShapes, attrs);
  const size = (s: number[]) => tf.util.sizeFromShape(s);
  const ins = c.ins.map((p, i) => (p === null ? null : new Float32Array(buf, p, size(c.inShapes[i]))));
  const outs = c.outs.map((p, i) => new Float32Array(buf, p, size(outShapes[i])));
  runJsKernel(k, ins, outs, c.inShapes, attrs);
}

function fits(c: ImplCall): boolean {
  const { N, A, B } = c.attrs;
  return attentionScratchBytes(N, A, B) <= STACK_LIMIT;
}

/** The C twin of RedrawRead (lib/kernels/reference.ts). */
export const wasmRead: WasmImpl = (c) => {
  if (!fits(c)) return runJs("RedrawRead", c);
  const { N, A, B, rawOffset } = c.attrs;
  const [x, s, q, hDec, hEnc] = c.ins as number[];
  const [xenc, aux] = c.outs;
  const sh = c.inShapes;
  runKernel(
    "redraw_read",
    [x, s, q, hDec, hEnc, xenc, aux, N, A, B, sh[2][1], sh[3][1], sh[4][1], rawOffset],
    sh[0][0],
    minRows(2 * N * A * B),
  );
};

/** The C twin of RedrawReadBackward (lib/kernels/reference.ts). */
export const wasmReadBackward: WasmImpl = (c) => {
  if (!fits(c)) return runJs("RedrawReadBackward", c);
  const { N, A, B } = c.attrs;
  const [dXenc, aux, x, s, dcvs, xenc] = c.ins as number[];
  const [dcvsPrev, draw] = c.outs;
  const sh = c.inShapes;
  runKernel(
    "redraw_read_backward",
    [dXenc, aux, x, s, dcvs, xenc, dcvsPrev, draw, N, A, B, sh[0][1], sh[5][1]],
    sh[4][0],
    minRows(3 * N * A * B),
  );
};

/** The C twin of RedrawWrite (lib/kernels/reference.ts). */
export const wasmWrite: WasmImpl = (c) => {
  if (!fits(c)) return runJs("RedrawWrite", c);
  const { N, A, B } = c.attrs;
  const [cvs, q] = c.ins as number[];
  const [out, aux] = c.outs;
  const sh = c.inShapes;
  runKernel("redraw_write", [cvs, q, out, aux, N, A, B, sh[1][1]], sh[0][0], minRows(N * A * B));
};

/** The C twin of RedrawWriteBackward (lib/kernels/reference.ts). */
export const wasmWriteBackward: WasmImpl = (c) => {
  if (!fits(c)) return runJs("RedrawWriteBackward", c);
  const { N, A, B } = c.attrs;
  const [dcvs, aux, q, drawNext] = c.ins;
  const [dq] = c.outs;
  const sh = c.inShapes;
  const full = dcvs !== null && aux !== null;
  runKernel(
    "redraw_write_backward",
    [dcvs ?? 0, aux ?? 0, q!, drawNext ?? 0, dq, N, A, B, sh[2][1]],
    sh[2][0],
    full ? minRows(2 * N * A * B) : 1 << 30,
  );
};
