import { assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import {
  evalLineProblem,
  gradientLineProblem,
  metricLineProblem,
  validateResult,
  validateSamples,
} from "./validate.ts";
import { RecordError } from "./io.ts";

const metric = {
  step: 10,
  epoch: 0.1,
  imagesSeen: 640,
  loss: 190.5,
  lossX: 150,
  lossZ: 40.5,
  klPerStep: [20, 20.5],
  learningRate: 0.001,
  wallTime: 1.5,
  imagesPerSec: 426,
};

Deno.test("metricLineProblem() accepts a metric line, including null for a loss that was NaN", () => {
  assertEquals(metricLineProblem(metric), null);
  assertEquals(metricLineProblem({ ...metric, loss: null, klPerStep: [null, 3] }), null);
});

Deno.test("metricLineProblem() names the first wrong or missing field", () => {
  assertEquals(
    metricLineProblem({ ...metric, step: -1 }),
    "a bad record (step must be an integer >= 0, got -1)",
  );
  const { lossZ: _, ...noLossZ } = metric;
  assertEquals(
    metricLineProblem(noLossZ),
    "a bad record (lossZ must be a number or null, got nothing (the field is missing))",
  );
  assertEquals(metricLineProblem([1, 2]), "not a record (it must be an object, got [1,2])");
});

Deno.test("evalLineProblem() and gradientLineProblem() check their own record kinds", () => {
  const ev = {
    step: 1,
    imagesSeen: 64,
    split: "valid",
    images: 100,
    bound: { mean: 100, stderr: 1 },
    lossX: 80,
    lossZ: 20,
    wallTime: 1,
  };
  assertEquals(evalLineProblem(ev), null);
  assertStringIncludes(
    evalLineProblem({ ...ev, split: "train" }) ?? "",
    'split must be one of "valid", "test"',
  );
  assertStringIncludes(evalLineProblem({ ...ev, iwae: { mean: 1, stderr: 0 } }) ?? "", "iwae.k must be");
  assertStringIncludes(evalLineProblem(metric) ?? "", "split must be");
  const g = { step: 1, globalNormBefore: 3, globalNormAfter: 3, clipped: false, vars: {} };
  assertEquals(gradientLineProblem(g), null);
  assertStringIncludes(gradientLineProblem({ ...g, vars: { w: { norm: 1 } } }) ?? "", "vars.w.mean must be");
});

Deno.test("validateResult() and validateSamples() name the file and the field", () => {
  assertThrows(
    () => validateResult({ runId: "x" }, "runs/e/x/result.json"),
    RecordError,
    "runs/e/x/result.json: status",
  );
  assertThrows(
    () => validateSamples({ step: 1, grid: [], sequences: [{ A: 2, B: 2, canvases: [], kind: "dream" }] }),
    RecordError,
    'samples.json: sequences[0].kind must be one of "prior", "reconstruction", got "dream"',
  );
});
