import { assert, assertEquals } from "@std/assert";
import { initBackend, stopWasmThreads } from "../../backend.ts";
import { compareKernel } from "./testing.ts";
import type { Attrs, BlockOp } from "../reference.ts";
import { bell, firstBitDifference, type KernelCase, rng } from "./test_values.ts";

type Case = KernelCase;

/** Random inputs of the block copy, sum, Bernoulli and sum of squares kernels at realistic and odd sizes. */
export function miscCases(seed = 1): Case[] {
  const r = rng(seed);
  const normal = (n: number, s = 1) => bell(r, n, s);
  const cases: Case[] = [];
  const add = (
    name: string,
    label: string,
    ins: Array<number[] | [number[], Float32Array] | null>,
    attrs: Attrs = {},
    exact = true,
  ) => {
    const full = ins.map((x) =>
      x === null
        ? null
        : typeof x[0] === "number"
        ? [x as number[], normal((x as number[]).reduce((a, b) => a * b, 1))] as const
        : x as [number[], Float32Array]
    );
    cases.push({
      name,
      label,
      inputs: full.map((x) => x?.[1] ?? null),
      inShapes: full.map((x) => x?.[0] ?? []),
      attrs,
      exact,
    });
  };
  // Block copies: the no-attention assembly and gradient split of lib/draw/fused.ts, tiling, fills, 1-D.
  for (const [D, Hd, He] of [[784, 256, 256], [37, 13, 9]]) {
    add("RedrawBlocks", `assemble D=${D}`, [[2 * D + Hd + He, 4 * He]], {
      outShapes: [[D + Hd + He, 4 * He], [D, 4 * He]],
      ops: [
        { out: 0, in: 0, r0: D, rows: D, cols: 4 * He, scale: -1 },
        { out: 0, in: 0, r0: 2 * D, rows: Hd + He, cols: 4 * He, dr0: D },
        { out: 1, in: 0, rows: D, cols: 4 * He },
        { out: 1, in: 0, r0: D, rows: D, cols: 4 * He, add: true },
      ] as BlockOp[],
    });
    add("RedrawBlocks", `gradient split D=${D}`, [[D, 4 * He], [D + Hd + He, 4 * He]], {
      outShapes: [[2 * D + Hd + He, 4 * He]],
      ops: [
        { out: 0, in: 0, rows: D, cols: 4 * He },
        { out: 0, in: 0, rows: D, cols: 4 * He, dr0: D },
        { out: 0, in: 1, rows: D, cols: 4 * He, dr0: D, scale: -1, add: true },
        { out: 0, in: 1, r0: D, rows: Hd + He, cols: 4 * He, dr0: 2 * D },
      ] as BlockOp[],
    });
  }
  for (const b of [64, 7]) {
    add("RedrawBlocks", `tiled initial states b=${b}`, [[784], [1, 256], [13]], {
      outShapes: [[b, 784], [b, 256], [b, 13]],
      ops: [
        { out: 0, in: 0, rows: b, cols: 784, rStep: 0 },
        { out: 1, in: 1, rows: b, cols: 256, rStep: 0 },
        { out: 2, in: 2, rows: b, cols: 13, rStep: 0 },
      ] as BlockOp[],
    });
  }
  add("RedrawBlocks", "attention weights, 1-D outputs, scaled adds, fills, strided rows", [
    [256, 25],
    [25],
    [256, 5],
    [5],
    [31, 11],
  ], {
    outShapes: [[256, 35], [35], [9, 7], [3]],
    ops: [
      { out: 0, in: 0, rows: 256, cols: 25 },
      { out: 1, in: 1, rows: 1, cols: 25 },
      { out: 0, in: 2, rows: 256, cols: 5, dc0: 25 },
      { out: 1, in: 3, rows: 1, cols: 5, dc0: 25 },
      { out: 0, in: 2, rows: 200, cols: 5, dc0: 30, dr0: 50, scale: 0.3 },
      { out: 0, in: 0, rows: 100, cols: 7, dc0: 28, dr0: 3, c0: 11, scale: -2.5, add: true },
      { out: 2, in: -1, rows: 9, cols: 7, scale: 0.1 },
      { out: 2, in: 4, r0: 1, c0: 3, rows: 5, cols: 6, dr0: 2, dc0: 1, rStep: 3, scale: 1.7, add: true },
      { out: 2, in: -1, rows: 4, cols: 3, dr0: 5, dc0: 4, scale: 0.7, add: true },
      { out: 2, in: 4, r0: 30, c0: 4, rows: 3, cols: 7, dr0: 6, rStep: -2 },
      { out: 3, in: -1, rows: 1, cols: 2, dc0: 1, scale: 1e-3 },
    ] as BlockOp[],
  });
  // Column sums: per row (float32) and over the rows (float64), absent inputs, column offsets.
  for (const b of [64, 7]) {
    add("RedrawSumCols", `column sums over ${b} rows, three sources`, [[b, 788], null, [b, 1300], [b, 256]], {
      width: 256,
      offsets: [3, 0, 1044, 0],
      colSum: true,
    });
    add("RedrawSumCols", `column sums over ${b} rows, one source, odd width`, [[b, 37]], {
      width: 37,
      offsets: [0],
      colSum: true,
    });
    add("RedrawSumCols", `per-row sums of ${b} rows`, [null, [b, 300], [b, 256], null, [b, 259]], {
      width: 255,
      offsets: [0, 45, 1, 0, 4],
      colSum: false,
    });
  }
  add("RedrawSumCols", "a batch sum over 4096 rows", [[4096, 784]], {
    width: 784,
    offsets: [0],
    colSum: true,
  });
  // Step sums.
  add("RedrawSumSteps", "64 steps of [64, 1024]", [[64 * 64, 1024]], { T: 64 });
  add("RedrawSumSteps", "5 steps of [7, 13]", [[5 * 7, 13]], { T: 5 });
  // Bernoulli: binary and grey targets, logits from small to saturating, and NaN.
  for (const [b, D] of [[64, 784], [7, 13]]) {
    const x = Float32Array.from({ length: b * D }, () => (r() < 0.5 ? 1 : 0));
    const grey = Float32Array.from({ length: b * D }, () => r());
    const c = normal(b * D, 6);
    add(
      "RedrawBernoulli",
      `[${b}, ${D}] binary targets`,
      [[[b, D], x], [[b, D], c]],
      { scale: 0.125 },
      false,
    );
    add("RedrawBernoulli", `[${b}, ${D}] grey targets`, [[[b, D], grey], [[b, D], normal(b * D, 1)]], {
      scale: 1,
    }, false);
  }
  {
    const c = Float32Array.from([0, -0, 1e-30, -1e-30, 30, -30, 100, -100, 800, -800, 1e30, -1e30, NaN, 3]);
    const x = Float32Array.from(c, (_, i) => i % 3 === 0 ? 0 : i % 3 === 1 ? 1 : 0.25);
    add("RedrawBernoulli", "extreme logits and NaN", [[[2, 7], x], [[2, 7], c]], { scale: 0.5 }, false);
    add("RedrawBernoulli", "a zero scale", [[[1, 14], x], [[1, 14], c]], { scale: 0 }, false);
  }
  // Sums of squares: the DRAW parameter shapes (chunk ends inside tensors), tiny and absent tensors.
  add("RedrawSumSquares", "config c's gradients", [
    [2080, 1024],
    [1024],
    [1296, 1024],
    [1024],
    [256, 200],
    [200],
    [256, 784],
    [784],
    [784],
    [256],
    [256],
  ]);
  add("RedrawSumSquares", "tiny, odd and absent tensors", [[3], null, [7, 13], [8193], [1], [5, 8191]]);
  add("RedrawSumSquares", "one tensor", [[[4], Float32Array.from([1e20, -3, 2, 1e-20])]]);
  return cases;
}

// Imported by misc_threads_test.ts for the cases: the tests run only in this file's own test process.
if (Deno.mainModule === import.meta.url) {
  await initBackend("wasm");

  for (const c of miscCases()) {
    Deno.test(`C ${c.name} matches the JS kernel: ${c.label}`, () => {
      const { maxError, c: got, js } = compareKernel(c.name, c.inputs, c.inShapes, c.attrs);
      assert(maxError <= 1e-5, `maxError ${maxError}`);
      got.forEach((o, i) => {
        assertEquals(o.length, js[i].length);
        o.forEach((v, j) =>
          assertEquals(Number.isNaN(v), Number.isNaN(js[i][j]), `NaN at output ${i}[${j}]`)
        );
        if (c.exact) {
          assertEquals(firstBitDifference(o, js[i], true), -1, `output ${i} differs from the JS bits`);
        }
      });
    });
  }

  Deno.test("The C Bernoulli loss stays within 1e-6 of the JS and its gradient within 2 float32 ulps", () => {
    let worst = 0;
    for (const c of miscCases(3).filter((c) => c.name === "RedrawBernoulli")) {
      const { c: got, js } = compareKernel(c.name, c.inputs, c.inShapes, c.attrs);
      got[0].forEach((v, j) => {
        if (!Number.isNaN(v)) {
          worst = Math.max(worst, Math.abs(v - js[0][j]) / Math.max(1, Math.abs(js[0][j])));
        }
      });
      got[1].forEach((v, j) => {
        const w = js[1][j];
        if (!Number.isNaN(v)) assert(Math.abs(v - w) <= 2.4e-7 * Math.abs(w) + 1e-38, `dc ${v} vs ${w}`);
      });
    }
    assert(worst <= 1e-6, `loss error ${worst}`);
  });

  Deno.test({
    name: "The wasm threads are stopped",
    fn: () => stopWasmThreads(),
    sanitizeOps: false,
    sanitizeResources: false,
  });
}
