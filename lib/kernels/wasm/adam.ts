/**
 * The C implementation (lib/kernels/wasm/src/adam.c) of the fused Adam kernel, registered for the wasm backend.
 * @module
 */
import { runKernel } from "./engine.ts";
import type { WasmImpl } from "./impl.ts";

/** The C twin of RedrawAdam (lib/kernels/reference.ts). */
export const wasmAdam: WasmImpl = ({ ins, outs, inShapes, attrs: a }) => {
  const n = inShapes[0].reduce((x, y) => x * y, 1);
  runKernel(
    "redraw_adam",
    [
      ins[0]!,
      ins[1]!,
      ins[2]!,
      ins[3]!,
      outs[0],
      outs[1],
      outs[2],
      n,
      a.beta1,
      a.beta2,
      a.epsilon,
      a.lr / a.c1,
      1 / a.c2,
      a.scale,
    ],
    Math.ceil(n / 1024),
    8,
  );
};
