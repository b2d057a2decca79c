import { assertAlmostEquals, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import {
  type BenchRun,
  bestReference,
  kernelTable,
  kernelTimes,
  markdownTable,
  mergeResults,
  parseReference,
  quantiles,
  ratioSummary,
  type Results,
} from "./report.ts";

const MACHINE = {
  host: "h",
  cpuModel: "AMD EPYC",
  cores: 2,
  memoryBytes: null,
  os: "linux",
  deno: "2.9.6",
  v8: "15",
  typescript: "5",
  tfjs: "4.22.0",
  git: { commit: "0123456789abcdef", dirty: true },
};

function run(over: Partial<BenchRun>): BenchRun {
  return {
    config: "a",
    backend: "wasm",
    batch: 64,
    threads: 1,
    impl: "auto",
    imagesPerSec: 500,
    msPerStep: 128,
    msPerStepMin: 120,
    msPerStepMax: 140,
    msPerStepP25: 125,
    msPerStepP75: 130,
    timedSteps: 20,
    warmupSteps: 3,
    kernelsPerStep: 400,
    evalImages: 1000,
    evalBatch: 500,
    evalSeconds: 1,
    evalImagesPerSec: 1000,
    wasmHeapBytes: 2 ** 27,
    rssBytes: 2 ** 28,
    maxSampledRssBytes: 2 ** 28,
    peakRssBytes: null,
    loadavgBefore: [1],
    loadavgAfter: [1],
    finalLoss: 500,
    model: {},
    at: "2026-01-01T00:00:00Z",
    ...over,
  };
}

Deno.test("quantiles() interpolates quartiles linearly and refuses an empty sample", () => {
  const q = quantiles([4, 1, 3, 2]);
  assertEquals([q.min, q.max], [1, 4]);
  assertAlmostEquals(q.median, 2.5, 1e-12);
  assertAlmostEquals(q.p25, 1.75, 1e-12);
  assertAlmostEquals(q.p75, 3.25, 1e-12);
  assertThrows(() => quantiles([]), RangeError, "empty");
});

Deno.test("mergeResults() replaces a run with the same config, backend, batch, threads, impl and label only", () => {
  const old: Results = {
    machine: MACHINE,
    runs: [
      run({ imagesPerSec: 1 }),
      run({ config: "b", imagesPerSec: 2 }),
      run({ label: "rep1", imagesPerSec: 3 }),
    ],
    reference: [{
      config: "a",
      implementation: "torch",
      threads: 1,
      batch: 64,
      imagesPerSec: 900,
      msPerStep: 71,
    }],
  };
  const merged = mergeResults(old, { machine: MACHINE, runs: [run({ imagesPerSec: 10 })], reference: [] });
  const byKey = merged.runs.map((r) => `${r.config}/${r.label ?? ""}=${r.imagesPerSec}`).sort();
  assertEquals(byKey, ["a/=10", "a/rep1=3", "b/=2"]);
  assertEquals(merged.reference.length, 1);
});

Deno.test("parseReference() reads torch_draw.py's result lines and names configs a, b, c", () => {
  const line = (T: number, nz: number, attention: boolean, threads: number, ips: number) =>
    JSON.stringify({
      config: { T, n_z: nz, attention, threads, batch: 64, torch: "1.13" },
      images_per_s: ips,
      ms_per_step: 64000 / ips,
      timed_steps: 25,
    });
  const text = [
    "# config {}",
    "step 100 ...",
    line(10, 10, true, 1, 760),
    line(64, 100, true, 2, 133),
    line(64, 100, false, 2, 102),
    line(20, 10, true, 1, 300),
  ].join("\n");
  const refs = parseReference(text);
  assertEquals(refs.map((r) => r.config), ["a", "b", "c", "other"]);
  assertEquals(refs[1].threads, 2);
  assertAlmostEquals(refs[0].msPerStep, 64000 / 760, 1e-9);
});

Deno.test("markdownTable() shows every run with its ratio to the best PyTorch thread count", () => {
  const r: Results = {
    machine: MACHINE,
    runs: [run({ imagesPerSec: 500 })],
    reference: [
      { config: "a", implementation: "torch", threads: 1, batch: 64, imagesPerSec: 800, msPerStep: 80 },
      { config: "a", implementation: "torch", threads: 2, batch: 64, imagesPerSec: 1000, msPerStep: 64 },
    ],
  };
  assertEquals(bestReference(r.reference).get("a")!.threads, 2);
  const table = markdownTable(r);
  assertStringIncludes(
    table,
    "| a | wasm | 1 | 64 |  | 500.0 | 128.0 [120.0-140.0] | 400 | 1000.0 | 128 | 256 |",
  );
  assertStringIncludes(table, "0.50x (1000.0, 2T)");
  assertStringIncludes(table, "0123456789 (dirty)");
});

Deno.test("mergeResults() keeps one copy of a repeated reference run and drops a failure once it is measured", () => {
  const ref = {
    config: "b",
    implementation: "torch",
    threads: 2,
    batch: 64,
    imagesPerSec: 133,
    msPerStep: 481,
    at: "t1",
  };
  const fail = { config: "a", backend: "webgpu", error: "no adapter", at: "t0" };
  const first = mergeResults(null, { machine: MACHINE, runs: [], reference: [ref], failures: [fail] });
  const again = mergeResults(first, {
    machine: MACHINE,
    runs: [run({ backend: "webgpu" })],
    reference: [ref],
  });
  assertEquals(again.reference.length, 1);
  assertEquals(again.failures, undefined);
  assertStringIncludes(markdownTable(first), "Not measured: config a on webgpu: no adapter");
});

Deno.test("kernelTimes() sums tf.profile kernels by name, largest first, treating missing times as 0", () => {
  const t = kernelTimes([
    { name: "RedrawGemm", kernelTimeMs: 2.004 },
    { name: "Reshape", kernelTimeMs: undefined },
    { name: "RedrawSigmoid", kernelTimeMs: 0.5 },
    { name: "RedrawGemm", kernelTimeMs: 1 },
  ]);
  assertEquals(Object.entries(t), [["RedrawGemm", 3], ["RedrawSigmoid", 0.5], ["Reshape", 0]]);
});

Deno.test("kernelTable() lists the largest kernels of a run with the step's median", () => {
  const t = kernelTable(run({ kernelMs: { RedrawGemm: 30, RedrawSigmoid: 2.5 } }), 1);
  assertStringIncludes(t, "| RedrawGemm | 30.00 |");
  assertEquals(t.includes("RedrawSigmoid"), false);
  assertStringIncludes(t, "32.5 ms in kernels");
});

Deno.test("ratioSummary() compares redraw's best wasm run and its thread count's median with PyTorch's", () => {
  const ref = (config: string, threads: number, imagesPerSec: number) => ({
    config,
    implementation: "torch",
    threads,
    batch: 64,
    imagesPerSec,
    msPerStep: 64000 / imagesPerSec,
  });
  const r: Results = {
    machine: MACHINE,
    runs: [
      run({ threads: 2, imagesPerSec: 1300, label: "rep1" }),
      run({ threads: 2, imagesPerSec: 1200, label: "rep2" }),
      run({ threads: 2, imagesPerSec: 1000, label: "rep3" }),
      run({ threads: 1, imagesPerSec: 800 }),
      run({ threads: 2, imagesPerSec: 5000, impl: "tape" }), // not the default implementation: ignored
      run({ backend: "cpu", imagesPerSec: 9000 }), // not wasm: ignored
      run({ config: "c", imagesPerSec: 50 }), // no PyTorch run: left out
    ],
    reference: [ref("a", 1, 1100), ref("a", 2, 1400), ref("a", 2, 1000), ref("a", 2, 1200), ref("b", 2, 100)],
  };
  const rows = ratioSummary(r);
  assertEquals(rows.map((x) => x.config), ["a"]);
  const a = rows[0];
  assertEquals([a.threads, a.runs, a.best, a.median], [2, 3, 1300, 1200]);
  assertEquals([a.torchThreads, a.torchRuns, a.torchBest, a.torchMedian], [2, 3, 1400, 1200]);
  assertAlmostEquals(a.bestRatio, 1300 / 1400, 1e-12);
  assertAlmostEquals(a.medianRatio, 1, 1e-12);
  assertStringIncludes(
    markdownTable(r),
    "| a | 2T, 3 | 1300.0 / 1200.0 | 2T, 3 | 1400.0 / 1200.0 | 0.929 | 1.000 |",
  );
});
