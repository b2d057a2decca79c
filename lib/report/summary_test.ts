import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import {
  attentionAblation,
  mnistDynamic,
  type SynthOptions,
  synthRecord,
  timesteps,
} from "../../tests/fixtures/report/synthetic.ts";
import { modelDeviations, summarizeArms } from "./summary.ts";

/** A run with Table 3's model trained for about 150 epochs, ending at `bound`. */
function paperScale(bound: number, seed = 1): SynthOptions {
  return {
    experiment: "paper-mnist",
    cell: {},
    seed,
    model: { T: 64 },
    train: { logEvery: 2000 },
    finalBound: bound,
    samples: false,
  };
}

Deno.test("summarizeArms() groups runs by cell, averages seeds and lists the failed seed with its reason", () => {
  const arms = summarizeArms(attentionAblation().map(synthRecord));
  assertEquals(arms.map((a) => a.label), ["attention=true", "attention=false"]);
  const [on, off] = arms;
  assertEquals(on.bound?.n, 2);
  assertEquals(on.bound?.mean.toFixed(2), "95.59");
  assertEquals(off.completed.length, 2);
  assertEquals(off.problems, [{
    runId: "attention-ablation-attentionfalse-s3",
    seed: 3,
    status: "failed",
    reason: "NaN in the loss at step 400 (lossX)",
  }]);
  assertEquals(on.paper?.nll, 80.97);
  assertEquals(off.paper?.nll, 87.40);
  assertEquals(on.iwae?.k, 50);
});

Deno.test("a short run with a smaller model is 'not at this budget', and its deviations name T", () => {
  const [on] = summarizeArms(attentionAblation().map(synthRecord));
  assertEquals(on.verdict.kind, "not-at-budget");
  assertEquals(on.deviations, ["glimpses T: 16 (paper 64)"]);
  assertStringIncludes(on.verdict.why, "the model differs from Table 3");
});

Deno.test("Table 3's model at a long budget is within tolerance near 80.97, worse far above and suspicious below", () => {
  const verdict = (b: number) => summarizeArms([synthRecord(paperScale(b))])[0].verdict.kind;
  assertEquals(verdict(81.4), "within");
  assertEquals(verdict(86.0), "worse");
  assertEquals(verdict(70.0), "better");
});

Deno.test("MNIST with dynamic binarization is 'not comparable' with the paper's fixed binarization", () => {
  const [a] = summarizeArms(mnistDynamic().map(synthRecord));
  assertEquals(a.verdict.kind, "not-comparable");
  assertStringIncludes(a.verdict.why, "dynamic binarization");
  assert(a.deviations.some((d) => d.startsWith("data: MNIST with dynamic binarization")));
});

Deno.test("a cell whose only run failed gets the verdict 'failed' with the reason", () => {
  const arms = summarizeArms(timesteps().map(synthRecord));
  const t64 = arms.find((a) => a.label === "T=64")!;
  assertEquals(t64.verdict.kind, "failed");
  assertEquals(t64.verdict.why, "seed 1: out of memory at step 200");
  assertEquals(t64.bound, null);
  assertEquals(arms.map((a) => a.label), ["T=1", "T=4", "T=16", "T=64"]);
});

Deno.test("a still-running cell has no result yet rather than a verdict", () => {
  const [a] = summarizeArms([
    synthRecord({ ...paperScale(90), status: "running", heartbeatAt: new Date().toISOString() }),
  ]);
  assertEquals(a.verdict.kind, "pending");
  assertStringIncludes(a.verdict.why, "running");
});

Deno.test("paperTargets with `where` pick the row per cell and set the tolerance", () => {
  const runs = attentionAblation().map(synthRecord);
  const arms = summarizeArms(runs, [{ row: "DBN 2hl", where: { attention: true }, tolerance: 20 }]);
  assertEquals(arms[0].paper?.model, "DBN 2hl");
  assertEquals(arms[0].verdict.kind, "within");
  assertEquals(arms[1].paper, null);
  assertEquals(arms[1].verdict.kind, "not-comparable");
});

Deno.test("test bounds on a subset of the test set are listed as a deviation", () => {
  const [a] = summarizeArms([synthRecord({ ...paperScale(81), testImages: 1000 })]);
  assert(a.deviations.includes("test bound on 1,000 of 10,000 test images"), a.deviations.join("; "));
});

Deno.test("modelDeviations() ignores the grid sizes of a model without attention and flags a zero attention init", () => {
  const base = synthRecord(paperScale(81)).manifest.config;
  assertEquals(modelDeviations({ ...base, model: { ...base.model, attention: false, readN: 7 } }, null), []);
  assertEquals(modelDeviations({ ...base, model: { ...base.model, readN: 3 } }, null), [
    "read grid N: 3 (paper 2)",
  ]);
  assertEquals(modelDeviations({ ...base, model: { ...base.model, readInit: "zero" } }, null).length, 1);
});

Deno.test("paperTargets keyed by lib/exp's cell labels, or given as a function, leave unnamed cells not comparable", () => {
  const runs = timesteps().map(synthRecord);
  const byFn = summarizeArms(runs, (cell) => (cell.T === 16 ? "DRAW" : null));
  assertEquals(byFn.map((a) => a.paper?.nll ?? null), [null, null, 80.97, null]);
  assertEquals(byFn[0].verdict.kind, "not-comparable");
  const byLabel = summarizeArms(attentionAblation().map(synthRecord), {
    "attention=true": "DRAW",
    "attention=false": { row: "DRAW without attention", tolerance: 20 },
  });
  assertEquals(byLabel.map((a) => a.verdict.kind), ["not-at-budget", "within"]);
  assertEquals(
    summarizeArms(mnistDynamic().map(synthRecord), { base: "DBN 2hl" })[0].paper?.model,
    "DBN 2hl",
  );
});
