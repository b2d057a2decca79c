import { assertEquals } from "@std/assert";
import { initBackend } from "../../backend.ts";
import { compareKernel } from "./testing.ts";
import { values as uniform } from "./test_values.ts";

await initBackend("wasm");

function values(n: number, seed: number, scale = 1): Float32Array {
  return uniform(n, seed, -scale, scale);
}

for (const n of [1, 1023, 1024, 4097, 256 * 1024 + 3]) {
  Deno.test(`the C Adam update gives the JS kernel's bits for ${n} values`, () => {
    const v = values(n, 3).map(Math.abs);
    const h = {
      lr: 1e-3,
      beta1: 0.9,
      beta2: 0.999,
      epsilon: 1e-8,
      c1: 1 - 0.9 ** 7,
      c2: 1 - 0.999 ** 7,
      scale: 0.37,
    };
    const { c, js } = compareKernel("RedrawAdam", [values(n, 1), values(n, 2, 0.1), v, values(n, 4, 5)], [
      [n],
      [n],
      [n],
      [n],
    ], h);
    c.forEach((o, i) => {
      const a = new Uint32Array(o.buffer), b = new Uint32Array(js[i].buffer);
      assertEquals(a.findIndex((x, j) => x !== b[j]), -1, `output ${i}`);
    });
  });
}
