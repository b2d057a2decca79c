/**
 * Backend selection: `auto | tensorflow | webgpu | wasm | cpu`, verified after `setBackend`.
 *
 * tfjs falls back silently when a backend fails to initialise, so {@linkcode initBackend} asserts
 * `tf.getBackend()` and reports what was really obtained; every run records it.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendRequest } from "./train/api.ts";

export type { BackendRequest };

/** What a run actually got. */
export interface BackendInfo {
  requested: BackendRequest;
  /** `tf.getBackend()` after initialisation. */
  name: string;
  /** Human description: WebGPU adapter, wasm features, or the native device. */
  device: string;
  tfjsVersion: string;
}

/** Every value accepted by `--backend`. */
export const BACKEND_REQUESTS: readonly BackendRequest[] = ["auto", "tensorflow", "webgpu", "wasm", "cpu"];

/** The command that installs the native binding on a machine with internet access and CUDA. */
export const TFJS_NODE_INSTALL =
  "deno install --allow-scripts=npm:@tensorflow/tfjs-node-gpu (needs internet access to download libtensorflow, " +
  "CUDA 11.2 and cuDNN 8.1 for tfjs-node-gpu 4.22; or npm:@tensorflow/tfjs-node for the CPU build)";

/** Parses a `--backend` value, naming the flag in the error. */
export function parseBackend(value: string, flag = "--backend"): BackendRequest {
  if (!(BACKEND_REQUESTS as readonly string[]).includes(value)) {
    throw new Error(`${flag} must be one of ${BACKEND_REQUESTS.join(", ")}, got ${JSON.stringify(value)}`);
  }
  return value as BackendRequest;
}

let bmmGradRegistered = false;
let current: BackendInfo | null = null;

/** The backend obtained by the last successful {@linkcode initBackend}, or null before any. */
export function currentBackend(): BackendInfo | null {
  return current;
}

function swapLast2(x: tf.Tensor): tf.Tensor {
  const perm = x.shape.map((_, i) => i);
  const r = perm.length;
  [perm[r - 2], perm[r - 1]] = [perm[r - 1], perm[r - 2]];
  return tf.transpose(x, perm);
}

/**
 * Replaces tfjs's BatchMatMul gradient with one that uses explicit transposes instead of matMul's
 * transpose flags: on tfjs-wasm a flagged matMul is 12-40x slower (measured here), which made a DRAW
 * training step 6.4x slower. Same maths as tfjs-core/src/gradients/BatchMatMul_grad.ts.
 */
export function registerFastMatMulGradient(): void {
  if (bmmGradRegistered) return;
  bmmGradRegistered = true;
  tf.registerGradient({
    kernelName: "BatchMatMul",
    inputsToSave: ["a", "b"],
    gradFunc: (dy, saved, attrs) => {
      const [a, b] = saved;
      const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
      const g = dy as tf.Tensor;
      if (!transposeA && !transposeB) {
        return { a: () => tf.matMul(g, swapLast2(b)), b: () => tf.matMul(swapLast2(a), g) };
      } else if (!transposeA && transposeB) {
        return { a: () => tf.matMul(g, b), b: () => tf.matMul(swapLast2(g), a) };
      } else if (transposeA && !transposeB) {
        return { a: () => tf.matMul(b, swapLast2(g)), b: () => tf.matMul(a, g) };
      }
      // C = a^T b^T: dA = b^T dy^T = (dy b)^T, dB = dy^T a^T = (a dy)^T.
      return { a: () => swapLast2(tf.matMul(g, b)), b: () => swapLast2(tf.matMul(a, g)) };
    },
  });
}

async function tryWasm(): Promise<string | null> {
  const wasm = await import("@tensorflow/tfjs-backend-wasm");
  // The wasm binaries ship in the npm package; `nodeModulesDir: auto` puts it beside the project.
  wasm.setWasmPaths(new URL("../node_modules/@tensorflow/tfjs-backend-wasm/dist/", import.meta.url).href);
  if (!(await tf.setBackend("wasm"))) return null;
  await tf.ready();
  const simd = tf.env().getBool("WASM_HAS_SIMD_SUPPORT");
  const threads = tf.env().getBool("WASM_HAS_MULTITHREAD_SUPPORT");
  return `tfjs-wasm (${simd ? "SIMD" : "no SIMD"}, ${threads ? "multithreaded" : "1 thread"})`;
}

interface GpuAdapterLike {
  info?: {
    vendor?: string;
    architecture?: string;
    device?: string;
    description?: string;
    isFallbackAdapter?: boolean;
  };
  isFallbackAdapter?: boolean;
}

/** Describes the WebGPU adapter, or returns null when there is none. */
export async function webgpuAdapter(): Promise<{ description: string; software: boolean } | null> {
  const gpu = (navigator as unknown as { gpu?: { requestAdapter(): Promise<GpuAdapterLike | null> } }).gpu;
  if (!gpu) return null;
  const adapter = await gpu.requestAdapter().catch(() => null);
  if (!adapter) return null;
  const i = adapter.info ?? {};
  const description = [i.vendor, i.architecture, i.device, i.description].filter((s) => s).join(" ") ||
    "unknown";
  const software = adapter.isFallbackAdapter === true || i.isFallbackAdapter === true ||
    /llvmpipe|lavapipe|swiftshader|software/i.test(description);
  return { description, software };
}

async function tryWebgpu(allowSoftware: boolean): Promise<string | null> {
  const adapter = await webgpuAdapter();
  if (!adapter || (adapter.software && !allowSoftware)) return null;
  await import("@tensorflow/tfjs-backend-webgpu");
  if (!(await tf.setBackend("webgpu"))) return null;
  await tf.ready();
  return `WebGPU: ${adapter.description}${adapter.software ? " (software)" : ""}`;
}

/** Loads the native TensorFlow binding lazily; throws a message with the install command when missing. */
async function tryTensorflow(): Promise<string> {
  const errors: string[] = [];
  for (const spec of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    try {
      await import(spec);
    } catch (e) {
      errors.push(`${spec}: ${String((e as Error).message ?? e).split("\n")[0]}`);
      // A failed import may have registered kernels already; importing the other package would repeat them.
      if (tf.getKernelsForBackend("tensorflow").length > 0) break;
      continue;
    }
    // The package registered its kernels; a second package would register them again, so stop here.
    if (await tf.setBackend("tensorflow").catch(() => false)) {
      await tf.ready();
      return `TensorFlow C library via ${spec}`;
    }
    errors.push(`${spec}: setBackend("tensorflow") failed`);
    break;
  }
  throw new Error(
    `The "tensorflow" backend is not available: the native binding of @tensorflow/tfjs-node-gpu is missing ` +
      `(its install script downloads libtensorflow and did not run). Install it with: ${TFJS_NODE_INSTALL}. ` +
      `Details: ${errors.join("; ")}`,
  );
}

/**
 * Initialises the requested backend and verifies it. `auto` tries tensorflow, then a hardware WebGPU adapter
 * (never a software one such as llvmpipe), then wasm.
 * @example
 * ```ts
 * const info = await initBackend("wasm"); // { name: "wasm", device: "tfjs-wasm (SIMD, 1 thread)", ... }
 * ```
 */
export async function initBackend(request: BackendRequest): Promise<BackendInfo> {
  registerFastMatMulGradient();
  let device: string | null = null;
  if (request === "auto") {
    device = await tryTensorflow().catch(() => null) ?? await tryWebgpu(false) ?? await tryWasm();
  } else if (request === "tensorflow") {
    device = await tryTensorflow();
  } else if (request === "webgpu") {
    device = await tryWebgpu(true);
  } else if (request === "wasm") {
    device = await tryWasm();
  } else {
    // tfjs-cpu prints an advertisement for tfjs-node on first use under Node/Deno; its `warn` is silent
    // when IS_TEST is set, which changes nothing else in the cpu kernels.
    tf.env().set("IS_TEST", true);
    if (await tf.setBackend("cpu")) device = "tfjs-cpu (plain JavaScript)";
  }
  const name = tf.getBackend();
  const expected = request === "auto" ? name : request;
  if (!device || name !== expected) {
    throw new Error(
      `Backend ${JSON.stringify(request)} could not be initialised (tfjs is using ${JSON.stringify(name)})`,
    );
  }
  current = { requested: request, name, device, tfjsVersion: tf.version.tfjs };
  return current;
}
