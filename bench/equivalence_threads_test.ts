import { assertEquals, assertGreater } from "@std/assert";
import { initBackend, setWasmThreads } from "../lib/backend.ts";
import { PAPER_MNIST, PAPER_MNIST_NO_ATTENTION } from "../lib/config/model.ts";
import { type EquivalenceCase, runCase } from "./equivalence_cases.ts";
import { engineThreads } from "../lib/kernels/wasm/engine.ts";
import { onEngineThreads, stopThreadsAfterTests } from "../lib/kernels/wasm/testing.ts";

setWasmThreads(2);
await initBackend("wasm");

// Paper-sized layers (LSTM 256, batch 64), so that every product and kernel is split over both threads.
const CASES: EquivalenceCase[] = [
  { name: "attention", model: { ...PAPER_MNIST, T: 4, nZ: 10 }, batch: 64, steps: 3, learningRate: 1e-3 },
  {
    name: "no attention",
    model: { ...PAPER_MNIST_NO_ATTENTION, T: 3 },
    batch: 64,
    steps: 3,
    learningRate: 1e-3,
  },
];

Deno.test("three Adam steps of paper-sized models give the same bits on 2 engine threads as on 1", () => {
  assertEquals(engineThreads(), 2);
  const two = CASES.map((c) => runCase(c, "fused"));
  const one = onEngineThreads(1, () => CASES.map((c) => runCase(c, "fused")));
  CASES.forEach((c, i) => {
    assertEquals(two[i], one[i], c.name);
    assertGreater(two[i][0].loss, two[i][2].loss, `${c.name}: the loss decreases`);
  });
});

stopThreadsAfterTests();
