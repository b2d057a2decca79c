/// <reference lib="deno.worker" />
/**
 * A helper thread of the wasm kernel engine (lib/kernels/wasm/engine.ts): instantiates the kernel module on the
 * shared tfjs-wasm memory, then, for each job posted in the control block, claims and runs chunks of its
 * work items until none is left; spins briefly between jobs before sleeping on the futex. Jobs are kernels of
 * the module or JS functions over the shared heap (claim.ts's `jsJob`: this module imports no tfjs).
 * @module
 */
import { ARGS_BYTE, claim, JOB_WASM, jsJob, SLOT } from "./claim.ts";

interface Start {
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  ctrl: number;
  stackTop: number;
  names: string[];
  spin: number;
}

self.onmessage = (e: MessageEvent<Start>) => {
  const { memory, module, ctrl, stackTop, names, spin } = e.data;
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  (instance.exports.__stack_pointer as WebAssembly.Global).value = stackTop;
  const fns = names.map((n) => instance.exports[n] as (...a: number[]) => void);
  const I = new Int32Array(memory.buffer, ctrl, 128);
  const F = new Float64Array(memory.buffer, ctrl + ARGS_BYTE, 64);
  let last = Atomics.load(I, SLOT.SEQ);
  for (;;) {
    let seq = Atomics.load(I, SLOT.SEQ);
    for (let i = 0; seq === last && i < spin; i++) seq = Atomics.load(I, SLOT.SEQ);
    while (seq === last) {
      Atomics.wait(I, SLOT.SEQ, last);
      seq = Atomics.load(I, SLOT.SEQ);
    }
    last = seq;
    if (Atomics.load(I, SLOT.QUIT)) break;
    // The description may be torn if the main thread has moved on; claim() then refuses every chunk.
    const items = I[SLOT.ITEMS], chunk = I[SLOT.CHUNK], kind = I[SLOT.KIND], fn = fns[I[SLOT.FN]];
    const args: number[] = [];
    for (let a = 0, n = I[SLOT.NARGS]; a < n; a++) args.push(F[a]);
    let ran = false;
    if (kind === JOB_WASM) {
      args.push(0, 0);
      const lo = args.length - 2;
      for (let c = claim(I, seq); c >= 0; c = claim(I, seq)) {
        args[lo] = c * chunk;
        args[lo + 1] = Math.min(items, (c + 1) * chunk);
        fn(...args);
        Atomics.add(I, SLOT.FINISHED, 1);
        ran = true;
      }
    } else {
      // A torn description may name an unknown kind: claim first, so that only a current job runs.
      for (let c = claim(I, seq); c >= 0; c = claim(I, seq)) {
        jsJob(kind, memory.buffer, args, c * chunk, Math.min(items, (c + 1) * chunk));
        Atomics.add(I, SLOT.FINISHED, 1);
        ran = true;
      }
    }
    if (ran) Atomics.notify(I, SLOT.FINISHED);
  }
  self.close();
};
