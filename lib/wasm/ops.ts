/**
 * tfjs kernels (wasm backend) backed by lib/wasm/src: packing a matrix for products, and the product.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { ptr, runKernel, wasmEngine } from "./engine.ts";

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
  /** i0: A `[M, K]`, i1: packed B (N columns), i2: bias `[N]` or absent, i3: addend `[M, N]` or absent. */
  RedrawGemm([a, p, bias, addend], { N }, backend) {
    const [M, K] = a.shape;
    const out = backend.makeOutput([M, N], "float32");
    if (addend) {
      // C = addend + (A P + bias): copy the addend into the output first.
      const heap = new Float32Array(backend.wasm.HEAPF32.buffer);
      heap.copyWithin(ptr(out) / 4, ptr(addend) / 4, ptr(addend) / 4 + M * N);
    }
    runKernel(
      gemmKernelName(),
      [ptr(a), K, ptr(p), bias ? ptr(bias) : 0, ptr(out), N, M, N, K, addend ? 1 : 0],
      panels(N),
      // A thread's share must be worth waking it: at least ~200k multiply-adds (~5 us).
      Math.ceil(200_000 / (M * K * 8)),
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
    tf.registerKernel({
      kernelName: name,
      backendName: "wasm",
      kernelFunc: ((
        { inputs, attrs, backend }: { inputs: tf.NamedTensorInfoMap; attrs: Attrs; backend: AnyBackend },
      ) => {
        const ins = [0, 1, 2, 3].map((i) => inputs[`i${i}`] ?? null) as tf.TensorInfo[];
        return f(ins, attrs, backend);
      }) as unknown as tf.KernelFunc,
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
 * @example
 * ```ts
 * const P = packB(W);            // W: [K, N]
 * const y = gemm(x, P, bias);    // x W + bias: [M, N]
 * ```
 */
export function packB(b: tf.Tensor2D, transpose = false): Packed {
  const [k, n] = transpose ? [b.shape[1], b.shape[0]] : b.shape;
  return { data: call("RedrawPackB", [b], { transpose: transpose ? 1 : 0 }) as tf.Tensor1D, k, n };
}

/** A P (+ bias) (+ addend): `[M, K] x [K, N] -> [M, N]` on the wasm kernel engine. */
export function gemm(
  a: tf.Tensor2D,
  p: Packed,
  bias: tf.Tensor1D | null = null,
  addend: tf.Tensor2D | null = null,
): tf.Tensor2D {
  if (a.shape[1] !== p.k) {
    throw new Error(`gemm: A has ${a.shape[1]} columns but the packed matrix has ${p.k} rows`);
  }
  return call("RedrawGemm", [a, p.data, bias, addend], { N: p.n }) as tf.Tensor2D;
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
