/**
 * tfjs kernels (wasm backend) backed by lib/kernels/wasm/src: packing a matrix for products, and the product.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { ptr, registerWasmKernel, runKernel, wasmEngine, type WasmKernelArgs } from "./engine.ts";

// deno-lint-ignore no-explicit-any
type AnyBackend = any;
type Attrs = Record<string, number>;

/** Column panels of a packed matrix (8 columns each). */
export function panels(n: number): number {
  return Math.ceil(n / 8);
}

/**
 * The product's C kernel: `redraw_gemm_fma` (relaxed SIMD multiply-add, ~10-20% faster) unless the environment
 * sets REDRAW_WASM_FMA=0, then `redraw_gemm` (a rounded product, then an add). Either is deterministic on one
 * machine and independent of the thread count, but relaxed_madd is fused (one rounding) or not as the CPU
 * decides, so results equal bit for bit across machines only with REDRAW_WASM_FMA=0.
 */
export function gemmKernelName(): "redraw_gemm" | "redraw_gemm_fma" {
  try {
    return Deno.env.get("REDRAW_WASM_FMA") === "0" ? "redraw_gemm" : "redraw_gemm_fma";
  } catch {
    return "redraw_gemm_fma"; // no env permission: the default
  }
}

const KERNELS: Record<string, (ins: tf.TensorInfo[], attrs: Attrs, backend: AnyBackend) => tf.TensorInfo> = {
  /** i0: B `[K, N]`, or with transpose = 1 the matrix `[N, K]` whose transpose is B. */
  RedrawPackB([b], { transpose }, backend) {
    const [K, N] = transpose ? [b.shape[1], b.shape[0]] : [b.shape[0], b.shape[1]];
    const out = backend.makeOutput([panels(N) * K * 8], "float32");
    const [sbk, sbn] = transpose ? [1, K] : [N, 1];
    runKernel("redraw_pack_b", [ptr(b), K, N, sbk, sbn, ptr(out)], panels(N), 4);
    return out;
  },
  /** i0: any float32 tensor; sigmoid of every value. */
  RedrawSigmoid([x], _attrs, backend) {
    const out = backend.makeOutput(x.shape, "float32");
    const n = x.shape.reduce((a, b) => a * b, 1);
    runKernel("redraw_sigmoid", [ptr(x), ptr(out), n], Math.ceil(n / 64), 64);
    return out;
  },
  /**
   * i0: A `[M, Ka]`, i1: packed B (`pk` rows, N columns), i2: bias `[N]` or absent, i3: addend `[M, n]` or
   * absent. Computes the columns of panels [q0, q1) (n = min(N, 8 q1) - 8 q0 of them) of the product over the
   * packed rows [k0, k0 + kc), with A's columns [aCol, aCol + kc).
   */
  RedrawGemm([a, p, bias, addend], { N, pk, k0, kc, q0, q1, aCol }, backend) {
    const [M, Ka] = a.shape;
    const n = Math.min(N, 8 * q1) - 8 * q0;
    const out = backend.makeOutput([M, n], "float32");
    if (addend) {
      // C = addend + (A P + bias): copy the addend into the output first.
      const heap = new Float32Array(backend.wasm.HEAPF32.buffer);
      heap.copyWithin(ptr(out) / 4, ptr(addend) / 4, ptr(addend) / 4 + M * n);
    }
    runKernel(
      gemmKernelName(),
      [
        ptr(a) + 4 * aCol,
        Ka,
        ptr(p) + 4 * 8 * (q0 * pk + k0),
        pk,
        bias ? ptr(bias) + 4 * 8 * q0 : 0,
        ptr(out),
        n,
        M,
        n,
        kc,
        addend ? 1 : 0,
      ],
      q1 - q0,
      // A thread's share must be worth waking it: at least ~200k multiply-adds (~5 us).
      Math.ceil(200_000 / (M * Math.max(kc, 1) * 8)),
    );
    return out;
  },
};

let registered = false;

/** Registers the kernels above for the wasm backend (idempotent). */
export function registerWasmOps(): void {
  if (registered) return;
  registered = true;
  for (const [name, f] of Object.entries(KERNELS)) {
    registerWasmKernel(name, ({ inputs, attrs, backend }: WasmKernelArgs<Attrs>) => {
      const ins = [0, 1, 2, 3].map((i) => inputs[`i${i}`] ?? null) as tf.TensorInfo[];
      return f(ins, attrs, backend);
    });
  }
}

/** A matrix packed for {@linkcode gemm}: `k` rows, `n` columns. */
export interface Packed {
  data: tf.Tensor1D;
  k: number;
  n: number;
}

function call(name: string, ins: Array<tf.Tensor | null>, attrs: Attrs): tf.Tensor {
  registerWasmOps();
  wasmEngine();
  const inputs: Record<string, tf.Tensor> = {};
  ins.forEach((t, i) => {
    if (t) inputs[`i${i}`] = t;
  });
  return tf.engine().runKernel(name, inputs, attrs) as tf.Tensor;
}

/**
 * Packs B (or, with `transpose`, the transpose of the given `[N, K]` matrix) for repeated products.
 */
export function packB(b: tf.Tensor2D, transpose = false): Packed {
  const [k, n] = transpose ? [b.shape[1], b.shape[0]] : b.shape;
  return { data: call("RedrawPackB", [b], { transpose: transpose ? 1 : 0 }) as tf.Tensor1D, k, n };
}

/** Part of a product: rows [k0, k1) of the packed matrix, and its columns [col0, col1) (col0 a multiple of 8). */
export interface GemmRange {
  k0?: number;
  k1?: number;
  col0?: number;
  col1?: number;
}

/**
 * A P (+ bias) (+ addend): `[M, K] x [K, N] -> [M, N]` on the wasm kernel engine. With `range`, only rows
 * [k0, k1) of P take part (A then has either all K columns, of which [k0, k1) are used, or k1 - k0 columns)
 * and only the columns [col0, col1) are computed: `[M, col1 - col0]`, bias and addend matching them.
 */
export function gemm(
  a: tf.Tensor2D,
  p: Packed,
  bias: tf.Tensor1D | null = null,
  addend: tf.Tensor2D | null = null,
  range: GemmRange = {},
): tf.Tensor2D {
  const { k0 = 0, k1 = p.k, col0 = 0, col1 = p.n } = range;
  if (!(0 <= k0 && k0 <= k1 && k1 <= p.k) || !(0 <= col0 && col0 < col1 && col1 <= p.n) || col0 % 8 !== 0) {
    throw new Error(
      `gemm: range ${
        JSON.stringify(range)
      } does not fit a packed [${p.k}, ${p.n}] matrix (col0 a multiple of 8)`,
    );
  }
  const Ka = a.shape[1];
  if (Ka !== p.k && Ka !== k1 - k0) {
    throw new Error(`gemm: A has ${Ka} columns but the packed matrix has ${p.k} rows (range [${k0}, ${k1}))`);
  }
  const attrs = {
    N: p.n,
    pk: p.k,
    k0,
    kc: k1 - k0,
    q0: col0 / 8,
    q1: panels(col1),
    aCol: Ka === p.k ? k0 : 0,
  };
  const computed = Math.min(p.n, 8 * attrs.q1) - col0;
  if (addend && computed !== col1 - col0) {
    throw new Error(`gemm: an addend needs col1 on a panel boundary or at N, got col1 = ${col1} of ${p.n}`);
  }
  const out = call("RedrawGemm", [a, p.data, bias, addend], attrs) as tf.Tensor2D;
  // A last partial panel computes up to 7 columns past col1: trim them.
  return computed === col1 - col0 ? out : trimColumns(out, col1 - col0);
}

function trimColumns(m: tf.Tensor2D, n: number): tf.Tensor2D {
  const out = tf.slice(m, [0, 0], [m.shape[0], n]) as tf.Tensor2D;
  m.dispose();
  return out;
}

/** sigmoid(x) elementwise (float32 SIMD, ~2 ulp). */
export function sigmoid<T extends tf.Tensor>(x: T): T {
  return call("RedrawSigmoid", [x], {}) as T;
}

/** A B for two plain matrices (B packed for this one product). */
export function matMul(a: tf.Tensor2D, b: tf.Tensor2D, transposeB = false): tf.Tensor2D {
  const p = packB(b, transposeB);
  const out = gemm(a, p);
  p.data.dispose();
  return out;
}
