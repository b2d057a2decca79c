/**
 * C implementations (lib/kernels/wasm/src/lstm.c) of the LSTM, posterior, no-attention and stacking kernels of
 * lib/kernels/reference.ts, registered for the wasm backend. Work items are batch rows (stacking: blocks of 16
 * rows or, transposed, groups of 64 stacked rows; the LSTM gradient's batch sum: blocks of 16 columns).
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { ptr, registerWasmKernel, runKernel, wasmEngine, type WasmKernelArgs } from "./engine.ts";
import type { WasmImpl } from "./impl.ts";

/** Largest LSTM size of redraw_lstm_backward's row buffers (LSTM_MAX_H in lstm.c). */
const LSTM_MAX_H = 8192;

/** Rows per chunk (engine work share) worth a wake-up for a kernel touching `width` values per row (~4k values). */
function minRows(width: number): number {
  return Math.max(1, Math.ceil(4096 / Math.max(1, width)));
}

/** The C twin of RedrawLstmCell (lib/kernels/reference.ts). */
export const wasmLstmCell: WasmImpl = ({ ins, outs, inShapes }) => {
  const [rows, G] = inShapes[0], H = G / 4;
  runKernel("redraw_lstm_cell", [ins[0]!, ins[1] ?? 0, outs[0], H], rows, minRows(H));
};

/** The C twin of RedrawLstmHidden (lib/kernels/reference.ts). */
export const wasmLstmHidden: WasmImpl = ({ ins, outs, inShapes }) => {
  const [rows, G] = inShapes[0], H = G / 4;
  runKernel("redraw_lstm_hidden", [ins[0]!, ins[1]!, outs[0], H], rows, minRows(H));
};

/** The C twin of RedrawLstmBackward (lib/kernels/reference.ts). */
export const wasmLstmBackward: WasmImpl = ({ ins, outs, inShapes, attrs }) => {
  const [rows, G] = inShapes[0], H = G / 4;
  if (H > LSTM_MAX_H) throw new Error(`RedrawLstmBackward: H = ${H} is above the C kernel's ${LSTM_MAX_H}`);
  const offs = attrs.offsets as number[];
  const src: number[] = [];
  for (let k = 0; k < 3; k++) {
    const p = ins[4 + k] ?? null;
    src.push(p ?? 0, p === null ? 0 : inShapes[4 + k][1], p === null ? 0 : offs[k]);
  }
  const [dG, dcp, dGsum] = outs;
  runKernel(
    "redraw_lstm_backward",
    [ins[0]!, ins[1]!, ins[2] ?? 0, ins[3] ?? 0, ...src, dG, dcp, H],
    rows,
    Math.max(1, Math.ceil(1024 / H)),
  );
  // The batch sum: column blocks of 16, each summing every row in order.
  runKernel("redraw_lstm_sum_rows", [dG, rows, G, dGsum], Math.ceil(G / 16), Math.ceil(8192 / (16 * rows)));
};

/** The C twin of RedrawPosterior (lib/kernels/reference.ts). */
export const wasmPosterior: WasmImpl = ({ ins, outs, inShapes, attrs }) => {
  const [rows, P] = inShapes[0];
  const nZ = attrs.nZ as number, Hd = attrs.Hd as number;
  const eps = ins[1]! + 4 * (attrs.epsOffset ?? 0);
  runKernel(
    "redraw_posterior",
    [ins[0]!, eps, ins[2]!, outs[0], outs[1], outs[2] ?? 0, nZ, Hd, P],
    rows,
    Math.ceil(512 / nZ),
  );
};

/** The C twin of RedrawPosteriorBackward (lib/kernels/reference.ts). */
export const wasmPosteriorBackward: WasmImpl = ({ ins, outs, inShapes, attrs }) => {
  const [rows, wd] = inShapes[0], P = inShapes[1][1];
  const nZ = attrs.nZ as number;
  const eps = ins[2]! + 4 * (attrs.epsOffset ?? 0);
  runKernel(
    "redraw_posterior_backward",
    [ins[0]!, wd, ins[1]!, eps, outs[0], nZ, P, attrs.scale as number],
    rows,
    Math.ceil(512 / nZ),
  );
};

/** The C twin of RedrawNoAttentionInput (lib/kernels/reference.ts). */
export const wasmNoAttentionInput: WasmImpl = ({ ins, outs, inShapes }) => {
  const rows = inShapes[0][0], D = inShapes[0][1], hd = inShapes[1][1], he = inShapes[2][1];
  runKernel(
    "redraw_noatt_input",
    [ins[0]!, ins[1]!, ins[2]!, outs[0], D, hd, he],
    rows,
    minRows(D + hd + he),
  );
};

/** The C twin of RedrawNoAttentionBackward (lib/kernels/reference.ts). */
export const wasmNoAttentionBackward: WasmImpl = ({ ins, outs, inShapes }) => {
  const wd = inShapes[0][1], [rows, D] = inShapes[1];
  runKernel("redraw_noatt_backward", [ins[0]!, wd, ins[1]!, ins[2]!, outs[0], D], rows, minRows(D));
};

/** A table of (byte offset, rows) int32 pairs in the heap for the stack kernels, kept per tfjs-wasm module. */
let table: { wasm: unknown; at: number; pairs: number } | null = null;

function stackTable(ins: Array<number | null>, inShapes: number[][]): number {
  const e = wasmEngine()!;
  if (!table || table.wasm !== e.backendWasm || table.pairs < ins.length) {
    if (table && table.wasm === e.backendWasm) e.backendWasm._free(table.at);
    const pairs = Math.max(256, ins.length);
    const at = e.backendWasm._malloc(pairs * 8) as number;
    if (!at) throw new Error("tfjs-wasm could not allocate the stack kernel's table");
    table = { wasm: e.backendWasm, at, pairs };
  }
  const t = new Int32Array(e.memory.buffer, table.at, 2 * ins.length);
  ins.forEach((p, i) => {
    t[2 * i] = p!;
    t[2 * i + 1] = inShapes[i][0];
  });
  return table.at;
}

/** The C twin of RedrawStack (lib/kernels/reference.ts). */
export const wasmStack: WasmImpl = ({ ins, outs, inShapes, attrs }) => {
  const n = inShapes[0][1], total = inShapes.reduce((a, s) => a + s[0], 0);
  const at = stackTable(ins, inShapes);
  if (attrs.transposed) {
    runKernel(
      "redraw_stack_transposed",
      [at, ins.length, n, total, outs[0]],
      Math.ceil(total / 64),
      Math.ceil(16384 / (64 * n)),
    );
  } else {
    runKernel(
      "redraw_stack",
      [at, ins.length, n, outs[0]],
      Math.ceil(total / 16),
      Math.ceil(16384 / (16 * n)),
    );
  }
};

// ---------------------------------------------------------------------------------------------------------
// The LSTM forward in one kernel (wasm only): sigmoid, cell, sigmoid, hidden in one pass per row.

/** The tfjs kernel RedrawLstmForward: `[sg, c, sc, h]` from inputs gates (i0) and c_prev (i1, absent: 0). */
function lstmForwardKernel({ inputs, backend }: WasmKernelArgs): tf.TensorInfo[] {
  const gates = inputs.i0!, cPrev = inputs.i1 ?? null;
  const [rows, G] = gates.shape, H = G / 4;
  if (cPrev && (cPrev.shape[0] !== rows || cPrev.shape[1] !== H)) {
    throw new Error(`RedrawLstmForward: c_prev is [${cPrev.shape}], expected [${rows}, ${H}]`);
  }
  // Allocate every output before taking any offset (an allocation may grow the heap).
  const outs = [[rows, G], [rows, H], [rows, H], [rows, H]].map((s) => backend.makeOutput(s, "float32"));
  runKernel(
    "redraw_lstm_forward",
    [ptr(gates), cPrev ? ptr(cPrev) : 0, ...outs.map((o) => ptr(o)), H],
    rows,
    // ~4 sigmoids per gate value: a row is worth ~8 H values of the elementwise kernels.
    Math.max(1, Math.ceil(1024 / H)),
  );
  return outs;
}

/**
 * The LSTM forward (eqs 5, 7) from the gate pre-activations `[batch, 4H]` (i, f, o, g) and c_prev `[batch, H]`
 * (null: 0), on the wasm kernel engine: `[sg, c, sc, h]` with sg = sigmoid(gates), c = f c_prev + i tanh(g),
 * sc = sigmoid(c), h = o tanh(c). The same bits as sigmoid, lstmCell, sigmoid, lstmHidden on wasm.
 */
export function lstmForward(gates: tf.Tensor2D, cPrev: tf.Tensor2D | null): tf.Tensor2D[] {
  registerWasmKernel("RedrawLstmForward", lstmForwardKernel);
  if (!wasmEngine()) throw new Error(`lstmForward needs the wasm backend (active: ${tf.getBackend()})`);
  const inputs: Record<string, tf.Tensor> = { i0: gates };
  if (cPrev) inputs.i1 = cPrev;
  return tf.engine().runKernel("RedrawLstmForward", inputs, {}) as tf.Tensor2D[];
}
