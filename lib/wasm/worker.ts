/**
 * A helper thread of the wasm kernel engine (lib/wasm/engine.ts): instantiates the kernel module on the
 * shared tfjs-wasm memory, then runs its range of each job posted in the control block, spinning briefly
 * before sleeping on the futex.
 * @module
 */
const SEQ = 0, QUIT = 1, FN = 2, NARGS = 3, DONE = 8, RANGES = 32, ARGS_BYTE = 512;

interface Start {
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  ctrl: number;
  id: number;
  stackTop: number;
  names: string[];
  spin: number;
}

self.onmessage = (e: MessageEvent<Start>) => {
  const { memory, module, ctrl, id, stackTop, names, spin } = e.data;
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  (instance.exports.__stack_pointer as WebAssembly.Global).value = stackTop;
  const fns = names.map((n) => instance.exports[n] as (...a: number[]) => void);
  const I = new Int32Array(memory.buffer, ctrl, 256);
  const F = new Float64Array(memory.buffer, ctrl + ARGS_BYTE, 64);
  let last = Atomics.load(I, SEQ);
  for (;;) {
    let seq = Atomics.load(I, SEQ);
    for (let i = 0; seq === last && i < spin; i++) seq = Atomics.load(I, SEQ);
    while (seq === last) {
      Atomics.wait(I, SEQ, last);
      seq = Atomics.load(I, SEQ);
    }
    last = seq;
    if (Atomics.load(I, QUIT)) break;
    const lo = I[RANGES + 2 * id], hi = I[RANGES + 2 * id + 1];
    if (hi > lo) {
      const n = I[NARGS];
      const args: number[] = [];
      for (let a = 0; a < n; a++) args.push(F[a]);
      args.push(lo, hi);
      fns[I[FN]](...args);
    }
    Atomics.store(I, DONE + id, seq);
  }
  self.close();
};
