/**
 * C implementations (lib/kernels/wasm/src/misc.c) of the block copies, step and column sums, Bernoulli likelihood and
 * sum of squares of lib/kernels/reference.ts, registered for the wasm backend. Work items: blocks of output rows
 * (block copies), blocks of columns (sums over rows: about 4 per thread), batch rows (per-row sums, Bernoulli), the JS's chunks
 * of 8192 values (sum of squares, then one item adding the chunk sums in order).
 * @module
 */
import type { BlockOp } from "../reference.ts";
import { engineThreads, runKernel, wasmEngine } from "./engine.ts";
import type { WasmImpl } from "./impl.ts";

/** The sum of squares' chunk length (CHUNK in reference.ts: the C kernel sums the same chunks). */
const CHUNK = 8192;

/** Most columns per work item of the sums over rows (MAX_SUM_COLS in misc.c). */
const MAX_SUM_COLS = 2048;

/**
 * Columns per work item of a sum over rows of `width` columns: about 4 blocks per thread (long contiguous
 * reads per row), a multiple of 4, from 64 to MAX_SUM_COLS. Any width gives the same bits.
 */
function sumBlock(width: number): number {
  const per = Math.ceil(width / (4 * engineThreads()) / 4) * 4;
  return Math.min(MAX_SUM_COLS, Math.max(64, per));
}

/** A scratch buffer in the tfjs-wasm heap for the kernels' tables, kept per tfjs-wasm module and grown. */
let scratch: { wasm: unknown; at: number; bytes: number } | null = null;

/** The scratch buffer, at least `bytes` long (8-byte aligned), as its byte offset. */
function buffer(bytes: number): number {
  const e = wasmEngine()!;
  if (!scratch || scratch.wasm !== e.backendWasm || scratch.bytes < bytes) {
    if (scratch && scratch.wasm === e.backendWasm) e.backendWasm._free(scratch.at);
    const size = Math.max(16384, 2 * bytes);
    const at = e.backendWasm._malloc(size) as number;
    if (!at) throw new Error("tfjs-wasm could not allocate the misc kernels' table");
    scratch = { wasm: e.backendWasm, at, bytes: size };
  }
  return scratch.at;
}

const lastDim = (s: number[]) => s[s.length - 1];

/** The C twin of RedrawBlocks (lib/kernels/reference.ts). */
export const wasmBlocks: WasmImpl = ({ ins, outs, inShapes, attrs }) => {
  const ops = attrs.ops as BlockOp[], outShapes = attrs.outShapes as number[][];
  const nOut = outs.length, nOps = ops.length;
  const ints = 5 * nOut + 11 * nOps, scalesAt = 8 * Math.ceil((4 * ints) / 8);
  const at = buffer(scalesAt + 8 * nOps);
  const mem = wasmEngine()!.memory.buffer;
  const t = new Int32Array(mem, at, ints), scales = new Float64Array(mem, at + scalesAt, nOps);
  let items = 0;
  outShapes.forEach((s, o) => {
    const width = lastDim(s) ?? 1, size = s.reduce((a, b) => a * b, 1);
    const rows = width > 0 ? size / width : 0;
    const rpi = Math.max(1, Math.ceil(4096 / Math.max(1, width)));
    t.set([outs[o], width, rows, rpi, items], 5 * o);
    items += Math.ceil(rows / rpi);
  });
  ops.forEach((op, k) => {
    const fill = op.in < 0;
    t.set([
      op.out,
      fill ? 0 : ins[op.in]!,
      fill ? 0 : lastDim(inShapes[op.in]),
      op.r0 ?? 0,
      op.c0 ?? 0,
      op.rows,
      op.cols,
      op.dr0 ?? 0,
      op.dc0 ?? 0,
      op.rStep ?? 1,
      op.add ? 1 : 0,
    ], 5 * nOut + 11 * k);
    scales[k] = op.scale ?? 1;
  });
  runKernel("redraw_blocks", [at, at + scalesAt, nOut, nOps], items, 1);
};

/** (byte offset, width, column offset) of the present inputs. */
function sourceTable(ins: Array<number | null>, inShapes: number[][], offsets: number[]): [number, number] {
  const present = ins.map((p, i) => [p, i] as const).filter(([p]) => p !== null);
  const at = buffer(12 * present.length);
  const t = new Int32Array(wasmEngine()!.memory.buffer, at, 3 * present.length);
  present.forEach(([p, i], k) => t.set([p!, inShapes[i][1], offsets[i]], 3 * k));
  return [at, present.length];
}

/** The C twin of RedrawSumCols (lib/kernels/reference.ts). */
export const wasmSumCols: WasmImpl = ({ ins, outs, inShapes, attrs }) => {
  const width = attrs.width as number, rows = inShapes.find((x) => x.length)![0];
  const [at, n] = sourceTable(ins, inShapes, attrs.offsets as number[]);
  if (attrs.colSum) {
    const bw = sumBlock(width);
    runKernel(
      "redraw_sum_cols_total",
      [at, n, rows, width, bw, outs[0]],
      Math.ceil(width / bw),
      1,
    );
  } else {
    runKernel(
      "redraw_sum_cols_rows",
      [at, n, width, outs[0]],
      rows,
      Math.ceil(4096 / Math.max(1, n * width)),
    );
  }
};

/** The C twin of RedrawSumSteps (lib/kernels/reference.ts). */
export const wasmSumSteps: WasmImpl = ({ ins, outs, inShapes, attrs }) => {
  const T = attrs.T as number, size = (inShapes[0][0] / T) * inShapes[0][1], bw = sumBlock(size);
  runKernel("redraw_sum_steps", [ins[0]!, T, size, bw, outs[0]], Math.ceil(size / bw), 1);
};

/** The C twin of RedrawBernoulli (lib/kernels/reference.ts). */
export const wasmBernoulli: WasmImpl = ({ ins, outs, inShapes, attrs }) => {
  const [rows, D] = inShapes[0];
  runKernel(
    "redraw_bernoulli",
    [ins[0]!, ins[1]!, outs[0], outs[1], D, attrs.scale],
    rows,
    Math.ceil(512 / D),
  );
};

/** The C twin of RedrawSumSquares (lib/kernels/reference.ts). */
export const wasmSumSquares: WasmImpl = ({ ins, outs, inShapes }) => {
  const chunks: number[] = [];
  ins.forEach((p, k) => {
    if (p === null) return;
    const n = inShapes[k].reduce((a, b) => a * b, 1);
    for (let i = 0; i < n; i += CHUNK) chunks.push(p + 4 * i, Math.min(CHUNK, n - i));
  });
  const count = chunks.length / 2, partialAt = 8 * Math.ceil((4 * chunks.length) / 8);
  const at = buffer(partialAt + 8 * count);
  new Int32Array(wasmEngine()!.memory.buffer, at, chunks.length).set(chunks);
  runKernel("redraw_sum_squares_chunks", [at, at + partialAt], count, 4);
  runKernel("redraw_sum_squares_total", [at + partialAt, count, outs[0]], 1);
};
