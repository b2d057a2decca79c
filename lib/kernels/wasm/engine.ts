/**
 * Runs redraw's WebAssembly kernels (lib/kernels/wasm/src/*.c) inside tfjs-wasm's memory, on the main thread and
 * on helper workers that share it.
 *
 * Why: tfjs-wasm's XNNPACK threads spin-wait between kernels, so on a 2-core machine nothing else can use the
 * second core, and its per-kernel work is too small to amortise waking them. Here every heavy kernel (matrix
 * products, the per-glimpse DRAW arithmetic) is split into disjoint ranges of work items (rows or column
 * panels) run at once by the main thread and `threads - 1` workers; each range is computed the same way
 * whatever the split, so results do not depend on the thread count.
 *
 * With one thread the module runs on tfjs-wasm's single-threaded build; with more it needs the threaded
 * build (a shared memory): `setWasmThreads(n)` in lib/backend.ts selects it and starts this engine's workers.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { EXPORTS, WASM_BASE64 } from "./module.ts";
import { decodeBase64 } from "./source.ts";
import { ARGS_BYTE, claim, claimWord, CTRL_BYTES, JOB_WASM, jsJob, SLOT } from "./claim.ts";

/** Bytes of stack per module instance (the kernels keep a few small arrays there). */
const STACK_BYTES = 256 * 1024;
/** Chunks per thread: enough that a thread that is descheduled or slow to wake leaves its share to others. */
const CHUNKS_PER_THREAD = 4;
/** The claim word holds chunk counts below 1024. */
const MAX_CHUNKS = 1023;
/** Poll iterations a worker spins before sleeping on the futex (~130 us on this machine). */
export const SPIN_ITERATIONS = 20000;

// deno-lint-ignore no-explicit-any
type AnyBackend = any;
type Kernel = (...args: number[]) => void;

interface Engine {
  memory: WebAssembly.Memory;
  exports: Record<string, Kernel>;
  threads: number;
  workers: Worker[];
  ctrl: number;
  ctrlI32: Int32Array;
  ctrlF64: Float64Array;
  seq: number;
  fnIndex: Map<string, number>;
  backendWasm: AnyBackend;
}

/** Deno's own Worker, captured before lib/backend.ts replaces the global one for tfjs's Emscripten glue. */
const NativeWorker = globalThis.Worker;

let engine: Engine | null = null;
let requestedThreads = 1;

/** The module's bytes; with a shared memory the memory import is marked shared (limits flag 1 -> 3). */
export function moduleBytes(shared: boolean): Uint8Array {
  const bytes = decodeBase64(WASM_BASE64);
  if (!shared) return bytes;
  const name = new TextEncoder().encode("memory");
  for (let i = 0; i + name.length + 2 < bytes.length; i++) {
    if (bytes[i] !== name.length) continue;
    if (!name.every((c, j) => bytes[i + 1 + j] === c)) continue;
    const kind = i + 1 + name.length;
    if (bytes[kind] === 0x02 && bytes[kind + 1] === 0x01) {
      bytes[kind + 1] = 0x03;
      return bytes;
    }
  }
  throw new Error(
    "The kernel module's memory import was not found (lib/kernels/wasm/module.ts is malformed)",
  );
}

/** Sets how many threads the engine uses (before the wasm backend starts; lib/backend.ts calls it). */
export function setEngineThreads(n: number): void {
  requestedThreads = n;
}

function wasmModuleOf(backend: AnyBackend): AnyBackend {
  return backend.wasm;
}

function memoryOf(wasm: AnyBackend): WebAssembly.Memory {
  const m = wasm.wasmMemory ?? wasm.asm?.memory ?? wasm.wasmExports?.memory;
  if (!(m instanceof WebAssembly.Memory)) {
    throw new Error("tfjs-wasm's WebAssembly.Memory is not reachable (unexpected tfjs-backend-wasm build)");
  }
  return m;
}

function malloc(wasm: AnyBackend, bytes: number): number {
  const p = wasm._malloc(bytes + 16) as number;
  if (!p) throw new Error(`tfjs-wasm could not allocate ${bytes} bytes for the kernel engine`);
  return (p + 15) & ~15;
}

/**
 * The engine for the active tfjs backend, started on first use; null unless the backend is wasm.
 */
export function wasmEngine(): Engine | null {
  if (tf.getBackend() !== "wasm") return null;
  const backendWasm = wasmModuleOf(tf.backend());
  if (engine && engine.backendWasm === backendWasm) return engine;
  if (engine) stopWasmEngine();
  const memory = memoryOf(backendWasm);
  const shared = typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
  const threads = shared ? requestedThreads : 1;
  const bytes = moduleBytes(shared);
  const module = new WebAssembly.Module(bytes as BufferSource);
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  const exports = instance.exports as unknown as Record<string, Kernel>;
  const sp = instance.exports.__stack_pointer as WebAssembly.Global;
  sp.value = malloc(backendWasm, STACK_BYTES) + STACK_BYTES;
  const ctrl = malloc(backendWasm, CTRL_BYTES);
  new Uint8Array(memory.buffer, ctrl, CTRL_BYTES).fill(0);
  const workers: Worker[] = [];
  for (let w = 0; w < threads - 1; w++) {
    const worker = new NativeWorker(new URL("./worker.ts", import.meta.url).href, { type: "module" });
    worker.postMessage({
      memory,
      module,
      ctrl,
      stackTop: malloc(backendWasm, STACK_BYTES) + STACK_BYTES,
      names: EXPORTS,
      spin: SPIN_ITERATIONS,
    });
    workers.push(worker);
  }
  engine = {
    memory,
    exports,
    threads,
    workers,
    ctrl,
    ctrlI32: new Int32Array(memory.buffer, ctrl, CTRL_BYTES / 4),
    ctrlF64: new Float64Array(memory.buffer, ctrl + ARGS_BYTE, (CTRL_BYTES - ARGS_BYTE) / 8),
    seq: 0,
    fnIndex: new Map(EXPORTS.map((n, i) => [n, i])),
    backendWasm,
  };
  return engine;
}

/** Stops the engine's workers (they keep a Deno process alive otherwise). */
export function stopWasmEngine(): void {
  if (!engine) return;
  if (engine.workers.length > 0) {
    const I = refresh(engine);
    Atomics.store(I, SLOT.QUIT, 1);
    Atomics.add(I, SLOT.SEQ, 1);
    Atomics.notify(I, SLOT.SEQ);
  }
  for (const w of engine.workers) w.terminate();
  engine = null;
}

/** Threads the engine runs kernels on (1 when it is not started or the memory is not shared). */
export function engineThreads(): number {
  return engine?.threads ?? 1;
}

/**
 * Runs kernel `name(...args, lo, hi)` over the work items [0, items). The items are cut into chunks of at
 * least `minItems` (a chunk must be worth a wake-up); the main thread and the workers claim chunks from a
 * shared counter until none is left, so a worker that is slow to wake, or descheduled by other processes,
 * costs at most the chunk it holds. Which thread computes a chunk does not change its result.
 */
export function runKernel(name: string, args: number[], items: number, minItems = 1): void {
  const e = engine ?? wasmEngine();
  if (!e) throw new Error(`The wasm kernel engine needs the wasm backend (active: ${tf.getBackend()})`);
  const fn = e.exports[name];
  if (!fn) throw new Error(`Unknown wasm kernel ${JSON.stringify(name)}`);
  run(e, JOB_WASM, e.fnIndex.get(name)!, args, items, minItems, (lo, hi) => fn(...args, lo, hi));
}

/**
 * Runs JS job `kind` (claim.ts's JOB_NORMAL, ...: `jsJob(kind, heap, args, lo, hi)`) over the work items
 * [0, items) on all the engine's threads, in chunks of at least `minItems`, like {@linkcode runKernel}.
 */
export function runJob(kind: number, args: number[], items: number, minItems = 1): void {
  const e = engine ?? wasmEngine();
  if (!e) throw new Error(`The wasm kernel engine needs the wasm backend (active: ${tf.getBackend()})`);
  run(e, kind, 0, args, items, minItems, (lo, hi) => jsJob(kind, e.memory.buffer, args, lo, hi));
}

function run(
  e: Engine,
  kind: number,
  fnIndex: number,
  args: number[],
  items: number,
  minItems: number,
  main: (lo: number, hi: number) => void,
): void {
  const chunk = Math.max(
    Math.ceil(items / (e.threads * CHUNKS_PER_THREAD)),
    Math.max(1, minItems),
    Math.ceil(items / MAX_CHUNKS),
  );
  const chunks = Math.ceil(items / chunk);
  if (e.threads === 1 || chunks < 2) {
    main(0, items);
    return;
  }
  const I = e.ctrlI32.buffer === e.memory.buffer ? e.ctrlI32 : refresh(e);
  const seq = ++e.seq;
  I[SLOT.KIND] = kind;
  I[SLOT.FN] = fnIndex;
  I[SLOT.NARGS] = args.length;
  I[SLOT.ITEMS] = items;
  I[SLOT.CHUNK] = chunk;
  I[SLOT.FINISHED] = 0;
  e.ctrlF64.set(args);
  Atomics.store(I, SLOT.CLAIM, claimWord(seq, chunks, 0));
  Atomics.store(I, SLOT.SEQ, seq);
  Atomics.notify(I, SLOT.SEQ);
  for (let c = claim(I, seq); c >= 0; c = claim(I, seq)) {
    main(c * chunk, Math.min(items, (c + 1) * chunk));
    Atomics.add(I, SLOT.FINISHED, 1);
  }
  // Chunks claimed by a worker and not finished yet: wait for them (spin, then sleep until notified).
  for (let i = 0; Atomics.load(I, SLOT.FINISHED) < chunks; i++) {
    if (i > SPIN_ITERATIONS) {
      const f = Atomics.load(I, SLOT.FINISHED);
      if (f < chunks) Atomics.wait(I, SLOT.FINISHED, f, 1);
    }
  }
}

function refresh(e: Engine): Int32Array {
  // Growing a shared memory gives a new, longer SharedArrayBuffer; views on the old one stay valid, but
  // keep views on the current one.
  e.ctrlI32 = new Int32Array(e.memory.buffer, e.ctrl, CTRL_BYTES / 4);
  e.ctrlF64 = new Float64Array(e.memory.buffer, e.ctrl + ARGS_BYTE, (CTRL_BYTES - ARGS_BYTE) / 8);
  return e.ctrlI32;
}

/** Byte offset of a tensor's data in the tfjs-wasm heap. */
export function ptr(t: tf.TensorInfo): number {
  // deno-lint-ignore no-explicit-any
  return (tf.backend() as any).dataIdMap.get(t.dataId).memoryOffset as number;
}

/** What tfjs passes a kernel of the wasm backend: inputs `i0`, `i1`, ..., attributes and the backend. */
// deno-lint-ignore no-explicit-any
export interface WasmKernelArgs<A = Record<string, any>> {
  inputs: tf.NamedTensorInfoMap;
  attrs: A;
  backend: AnyBackend;
}

const registeredKernels = new Set<string>();

/** Registers `kernelFunc` as tfjs kernel `kernelName` of the wasm backend, once (later calls do nothing). */
export function registerWasmKernel<A>(
  kernelName: string,
  kernelFunc: (args: WasmKernelArgs<A>) => tf.TensorInfo | tf.TensorInfo[],
): void {
  if (registeredKernels.has(kernelName)) return;
  registeredKernels.add(kernelName);
  tf.registerKernel({ kernelName, backendName: "wasm", kernelFunc: kernelFunc as unknown as tf.KernelFunc });
}
