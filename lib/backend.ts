/**
 * Backend selection: `auto | tensorflow | webgpu | wasm | cpu`, verified after `setBackend`.
 *
 * tfjs falls back silently when a backend fails to initialise, so {@linkcode initBackend} asserts
 * `tf.getBackend()` and reports what was really obtained; every run records it.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { BackendRequest } from "./config/run.ts";
import { engineThreads, setEngineThreads, stopWasmEngine, wasmEngine } from "./kernels/wasm/engine.ts";
import { installWebgpuGuards } from "./webgpu.ts";
import { threadsProblem } from "./kernels/wasm/threads.ts";
import { registerWebgpuBackend } from "./kernels/webgpu/device.ts";

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
let wasmThreads = 1;
let wasmThreadWorkers: Array<{ terminate(): void }> = [];

/** True once the wasm backend has been instantiated (`tf.findBackend` would instantiate it). */
function wasmInstantiated(): boolean {
  return "wasm" in (tf.engine() as unknown as { registry: Record<string, unknown> }).registry;
}

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

/**
 * Emscripten's pthread worker script (tfjs's `*.worker.js`), run as a Deno module worker in its web-worker
 * mode: `process` is hidden so it does not take its Node path, and the `load` message's main script (a blob
 * URL) is fetched before the synchronous `importScripts` that the script calls. Messages are queued until then.
 */
const PTHREAD_WORKER_SHIM = `
delete globalThis.process;
const workerUrl = decodeURIComponent(location.hash.slice(1));
let mainSource = null;
globalThis.importScripts = () => (0, eval)(mainSource);
const pending = [];
let handler = null, busy = false;
async function pump() {
  if (busy || !handler) return;
  busy = true;
  while (pending.length) {
    const e = pending.shift();
    if (e.data && e.data.cmd === "load" && typeof e.data.urlOrBlob === "string") {
      mainSource = await (await fetch(e.data.urlOrBlob)).text();
    }
    handler(e);
  }
  busy = false;
}
self.onmessage = (e) => { pending.push(e); pump(); };
const src = await (await fetch(workerUrl)).text();
const queue = self.onmessage;
(0, eval)(src);
handler = self.onmessage;
self.onmessage = queue;
pump();
`;

/**
 * Lets tfjs-wasm's multithreaded build run under Deno. tfjs disables threads whenever it detects Node (Deno
 * looks like Node to npm packages), and its Emscripten glue then expects Node's `worker_threads`, which Deno
 * cannot start from a blob URL. So: report thread support, make the glue's `Worker` (assigned to
 * `globalThis.Worker` in Node mode) a wrapper that runs the pthread script in a Deno web worker (see
 * `PTHREAD_WORKER_SHIM`) and speaks Node's worker API to the glue, and report twice as many CPUs to
 * `os.cpus()` (tfjs caps the pool at half the logical cores, assuming hyper-threads).
 */
async function patchWasmThreads(threads: number): Promise<void> {
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", true);
  const DenoWorker = globalThis.Worker;
  const shim = URL.createObjectURL(new Blob([PTHREAD_WORKER_SHIM], { type: "text/javascript" }));
  class NodeStyleWorker {
    worker: Worker;
    onmessage: ((e: unknown) => void) | null = null;
    onerror: ((e: unknown) => void) | null = null;
    constructor(url: string) {
      this.worker = new DenoWorker(`${shim}#${encodeURIComponent(String(url))}`, { type: "module" });
      wasmThreadWorkers.push(this.worker);
    }
    on(event: string, fn: (x: unknown) => void): void {
      if (event === "message") this.worker.addEventListener("message", (e) => fn((e as MessageEvent).data));
      else if (event === "error") this.worker.addEventListener("error", (e) => fn(e));
    }
    postMessage(m: Record<string, unknown>, transfer?: Transferable[]): void {
      // A Blob cannot be cloned into a Deno worker; a blob URL (shared by all workers) can.
      if (m && m.cmd === "load" && m.urlOrBlob instanceof Blob) {
        m = { ...m, urlOrBlob: URL.createObjectURL(m.urlOrBlob) };
      }
      this.worker.postMessage(m, transfer ?? []);
    }
    terminate(): void {
      this.worker.terminate();
    }
    ref(): void {}
    unref(): void {}
  }
  Object.defineProperty(globalThis, "Worker", {
    configurable: true,
    get: () => NodeStyleWorker,
    set: () => {},
  });
  // Only the length is read; the real os.cpus() would need the "cpus" sys permission.
  const os = (await import("node:os")).default as unknown as { cpus: () => unknown[] };
  os.cpus = () => Array.from({ length: 2 * threads }, () => ({ model: "", speed: 0, times: {} }));
}

/**
 * Asks for tfjs-wasm's multithreaded build with `n` threads (1 = the single-threaded SIMD build, the
 * default). Must be called before the wasm backend is first initialised; the threads then live until
 * {@linkcode stopWasmThreads} or process exit. redraw's kernel engine (lib/kernels/wasm/engine.ts) runs the
 * products, sigmoids and fused kernels on them; tfjs's own XNNPACK kernels keep one thread.
 */
export function setWasmThreads(n: number): void {
  const problem = threadsProblem(String(n));
  if (problem) throw new RangeError(`The wasm thread count ${JSON.stringify(n)} ${problem}`);
  if (wasmInstantiated()) {
    throw new Error(`setWasmThreads(${n}) must be called before the wasm backend is initialised`);
  }
  wasmThreads = n;
}

/** Terminates the wasm pthread workers (they keep a Deno process alive otherwise). */
export function stopWasmThreads(): void {
  stopWasmEngine();
  for (const w of wasmThreadWorkers) w.terminate();
  wasmThreadWorkers = [];
}

async function tryWasm(): Promise<string | null> {
  const wasm = await import("@tensorflow/tfjs-backend-wasm");
  // The wasm binaries ship in the npm package; `nodeModulesDir: auto` puts it beside the project.
  wasm.setWasmPaths(new URL("../node_modules/@tensorflow/tfjs-backend-wasm/dist/", import.meta.url).href);
  if (wasmThreads > 1 && !wasmInstantiated()) {
    await patchWasmThreads(wasmThreads);
    // The threaded build is wanted for its shared memory: redraw's kernel engine (lib/kernels/wasm/engine.ts)
    // splits the heavy kernels over its own threads. XNNPACK keeps one thread, because its pool threads spin-wait
    // between kernels and would take the core that the engine's worker needs.
    wasm.setThreadsCount(1);
  }
  setEngineThreads(wasmThreads);
  if (!(await tf.setBackend("wasm"))) return null;
  await tf.ready();
  const simd = tf.env().getBool("WASM_HAS_SIMD_SUPPORT");
  wasmEngine();
  const threads = engineThreads();
  return `tfjs-wasm (${simd ? "SIMD" : "no SIMD"}, ${threads > 1 ? `${threads} threads` : "1 thread"})`;
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
  await registerWebgpuBackend(); // the fused kernels bind more storage buffers than the default limit
  if (!(await tf.setBackend("webgpu"))) return null;
  await tf.ready();
  installWebgpuGuards(); // surfaces WebGPU validation errors and splits large AddNs (lib/webgpu.ts)
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
