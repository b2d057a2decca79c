import { assert, assertEquals } from "@std/assert";
import { initBackend } from "../../backend.ts";
import { compareKernel, stopThreadsAfterTests } from "./testing.ts";
import type { Attrs } from "../reference.ts";
import { bell, type KernelCase, rng } from "./test_values.ts";

type Case = KernelCase;

/** Random inputs of the LSTM, posterior, no-attention and stacking kernels at realistic and odd sizes. */
export function lstmCases(seed = 1): Case[] {
  const r = rng(seed);
  const normal = (n: number, s = 1) => bell(r, n, s);
  const sig = (n: number) => normal(n, 3).map((v) => 1 / (1 + Math.exp(-v)));
  const cases: Case[] = [];
  const add = (name: string, label: string, ins: Array<[number[], Float32Array] | null>, attrs: Attrs = {}) =>
    cases.push({
      name,
      label,
      inputs: ins.map((x) => x?.[1] ?? null),
      inShapes: ins.map((x) => x?.[0] ?? []),
      attrs,
    });
  const t = (shape: number[], f: (n: number) => Float32Array = normal): [number[], Float32Array] => [
    shape,
    f(shape.reduce((a, b) => a * b, 1)),
  ];
  for (const [b, H] of [[64, 256], [7, 13]]) {
    for (const withPrev of [true, false]) {
      const label = `(batch ${b}, H ${H}${withPrev ? "" : ", no previous state"})`;
      add("RedrawLstmCell", label, [t([b, 4 * H], sig), withPrev ? t([b, H]) : null]);
      add("RedrawLstmBackward", label, [
        t([b, 4 * H], sig),
        t([b, H], sig),
        withPrev ? t([b, H]) : null,
        withPrev ? t([b, H]) : null,
        t([b, H + 5]),
        withPrev ? t([b, 2 * H + 3]) : null,
        t([b, H]),
      ], { offsets: [5, H + 1, 0] });
    }
    add("RedrawLstmHidden", `(batch ${b}, H ${H})`, [t([b, 4 * H], sig), t([b, H], sig)]);
  }
  for (const [b, nZ, Hd, T] of [[64, 100, 256, 64], [7, 5, 13, 3]]) {
    const P = 2 * nZ + 3;
    for (const logWeights of [true, false]) {
      const label = `(batch ${b}, nZ ${nZ}${logWeights ? ", log weights" : ""})`;
      const pp = t([b, P]);
      for (let n = 0; n < b; n++) {
        for (let j = nZ; j < 2 * nZ; j++) pp[1][n * P + j] = pp[1][n * P + j] * 1.5 - 0.5;
      }
      const attrs = { nZ, Hd, logWeights, epsOffset: 2 * b * nZ, scale: 0.75 };
      add("RedrawPosterior", label, [pp, t([T, b, nZ]), t([b, Hd])], attrs);
      if (logWeights) add("RedrawPosteriorBackward", label, [t([b, nZ + Hd]), pp, t([T, b, nZ])], attrs);
    }
  }
  for (const [b, D, hd, he] of [[64, 784, 256, 256], [7, 108, 13, 21]]) {
    const label = `(batch ${b}, ${D} pixels)`;
    add("RedrawNoAttentionInput", label, [t([b, D], sig), t([b, hd]), t([b, he])]);
    add("RedrawNoAttentionBackward", label, [t([b, D + hd + he]), t([b, D]), t([b, D], sig)]);
  }
  for (const transposed of [false, true]) {
    const how = transposed ? "transposed" : "plain";
    add("RedrawStack", `(${how}, 64 steps of [64, 356])`, Array.from({ length: 64 }, () => t([64, 356])), {
      transposed,
    });
    add("RedrawStack", `(${how}, 5 steps of [7, 13])`, Array.from({ length: 5 }, () => t([7, 13])), {
      transposed,
    });
    add("RedrawStack", `(${how}, 9 steps of [1, 64])`, Array.from({ length: 9 }, () => t([1, 64])), {
      transposed,
    });
    add("RedrawStack", `(${how}, steps of 3, 5 and 1 rows)`, [t([3, 21]), t([5, 21]), t([1, 21])], {
      transposed,
    });
  }
  return cases;
}

const LSTM_CASES = lstmCases();

await initBackend("wasm");

for (const k of LSTM_CASES) {
  Deno.test(`The C ${k.name} matches the JS kernel ${k.label}`, () => {
    const { maxError, c, js } = compareKernel(k.name, k.inputs, k.inShapes, k.attrs);
    assertEquals(c.map((o) => o.length), js.map((o) => o.length));
    assert(maxError <= 1e-5, `maxError ${maxError}`);
  });
}

Deno.test("The C LSTM kernels keep NaN where the JS kernels give NaN", () => {
  const k = LSTM_CASES.find((x) => x.name === "RedrawLstmBackward")!;
  const inputs = k.inputs.map((x) => x?.slice() ?? null);
  inputs[0]![5] = NaN;
  inputs[1]![3] = NaN;
  const { c, js, maxError } = compareKernel(k.name, inputs, k.inShapes, k.attrs);
  assert(maxError <= 1e-5, `maxError ${maxError}`);
  assert(Number.isNaN(js[0][5]) && Number.isNaN(c[0][5]) && Number.isNaN(c[2][5]));
});

stopThreadsAfterTests();
