import { assertEquals, assertThrows } from "@std/assert";
import type { ExperimentSpec } from "./define.ts";
import { UsageError } from "./errors.ts";
import { expandCells, factorLists, filterCells, parseOnly, planRuns, resolveConfig } from "./grid.ts";

function spec(over: Partial<ExperimentSpec> = {}): ExperimentSpec {
  return {
    name: "g",
    description: "grid test",
    base: { preset: "paper", model: { T: 8 }, train: { learningRate: 3e-4 } },
    factors: { attention: [true, false], T: [1, 4] },
    seeds: [1, 2],
    profiles: {
      smoke: { model: { T: 3, nZ: 4 }, train: { budget: { steps: 5 } }, seeds: [1], useFixtures: true },
      quick: { train: { budget: { steps: 200, minutes: 2 } }, factors: { T: [16] } },
      paper: {},
    },
    ...over,
  };
}

Deno.test("expandCells() is the cartesian product with the last factor varying fastest", () => {
  assertEquals(expandCells([["a", [1, 2]], ["b", [true, false]]]), [
    { a: 1, b: true },
    { a: 1, b: false },
    { a: 2, b: true },
    { a: 2, b: false },
  ]);
  assertEquals(expandCells([]), [{}]);
});

Deno.test("filterCells() applies exclude (all listed keys equal) and where", () => {
  const cells = expandCells([["attention", [true, false]], ["readN", [2, 5]], ["writeN", [2, 5]]]);
  const kept = filterCells(cells, {
    exclude: [{ attention: true, readN: 5, writeN: 2 }],
    // Read N means nothing without attention: keep one no-attention cell.
    where: (c) => c.attention === true || (c.readN === 2 && c.writeN === 2),
  });
  assertEquals(kept, [
    { attention: true, readN: 2, writeN: 2 },
    { attention: true, readN: 2, writeN: 5 },
    { attention: true, readN: 5, writeN: 5 },
    { attention: false, readN: 2, writeN: 2 },
  ]);
  const bundles = expandCells([["grid", [{ readN: 2, writeN: 2 }, { readN: 5, writeN: 5 }]]]);
  assertEquals(filterCells(bundles, { exclude: [{ grid: { writeN: 5, readN: 5 } }] }), [{
    grid: { readN: 2, writeN: 2 },
  }]);
});

Deno.test("resolveConfig() layers preset, base, profile, then the cell, replacing the budget whole", () => {
  const s = spec();
  const c = resolveConfig(s, s.profiles.smoke, { attention: false, T: 4 }, 2);
  assertEquals([c.model.T, c.model.nZ, c.model.attention, c.model.encSize], [4, 4, false, 256]);
  assertEquals(c.train.learningRate, 3e-4);
  assertEquals(c.train.budget, { steps: 5 });
  assertEquals(c.seed, 2);
  const bundle = resolveConfig(
    s,
    undefined,
    { grid: { readN: 3, writeN: 4 }, lr: { learningRate: 0.01 } },
    1,
  );
  assertEquals([bundle.model.readN, bundle.model.writeN, bundle.train.learningRate], [3, 4, 0.01]);
});

Deno.test("planRuns() is seed-major, uses the profile's seeds and factor lists, and fixtures only without a data dir", () => {
  const s = spec();
  const paper = planRuns(s, { profile: "paper" });
  assertEquals(paper.map((r) => `${r.label}/${r.seed}`), [
    "attention=true,T=1/1",
    "attention=true,T=4/1",
    "attention=false,T=1/1",
    "attention=false,T=4/1",
    "attention=true,T=1/2",
    "attention=true,T=4/2",
    "attention=false,T=1/2",
    "attention=false,T=4/2",
  ]);
  assertEquals(paper.map((r) => r.index), [0, 1, 2, 3, 4, 5, 6, 7]);
  assertEquals(new Set(paper.map((r) => r.runId)).size, 8);
  const quick = planRuns(s, { profile: "quick", seeds: [3] });
  assertEquals(quick.map((r) => r.label), ["attention=true,T=16", "attention=false,T=16"]);
  assertEquals(quick.every((r) => r.seed === 3 && r.config.train.budget.minutes === 2), true);
  const smoke = planRuns(s, { profile: "smoke" });
  assertEquals(smoke.every((r) => r.useFixtures && r.runId.startsWith("fx-")), true);
  const real = planRuns(s, { profile: "smoke", dataDirGiven: true });
  assertEquals(real.some((r) => r.useFixtures), false);
  assertThrows(
    () => planRuns(s, { profile: "huge" }),
    UsageError,
    "--profile huge: g has no such profile (profiles: smoke, quick, paper)",
  );
});

Deno.test("parseOnly() parses values by the factor's type and filters cells", () => {
  const s = spec({
    factors: {
      attention: [true, false],
      learningRate: [1e-3, 3e-4],
      grid: [{ readN: 2, writeN: 2 }, { readN: 5, writeN: 5 }],
    },
  });
  const lists = factorLists(s, s.profiles.paper);
  assertEquals(parseOnly(["attention=false", "learningRate=0.001", "grid=5x5"], lists), [
    { key: "attention", values: [false] },
    { key: "learningRate", values: [1e-3] },
    { key: "grid", values: [{ readN: 5, writeN: 5 }] },
  ]);
  assertEquals(parseOnly(["learningRate=3e-4", "learningRate=1e-3"], lists), [{
    key: "learningRate",
    values: [3e-4, 1e-3],
  }]);
  const only = parseOnly(["attention=true", "grid=2x2", "grid=5x5", "learningRate=1e-3"], lists);
  assertEquals(planRuns(s, { profile: "paper", seeds: [1], only }).map((r) => r.label), [
    "attention=true,learningRate=0.001,grid=2x2",
    "attention=true,learningRate=0.001,grid=5x5",
  ]);
});

Deno.test("parseOnly() names the flag and the factor's values when it cannot match", () => {
  const lists = factorLists(spec(), undefined);
  assertThrows(
    () => parseOnly(["attention"], lists),
    UsageError,
    `--only "attention" must look like key=value`,
  );
  assertThrows(
    () => parseOnly(["atention=true"], lists),
    UsageError,
    `--only atention=true: "atention" is not a factor of this experiment (factors: attention, T)`,
  );
  assertThrows(
    () => parseOnly(["attention=yes"], lists),
    UsageError,
    `--only attention=yes: no cell has attention=yes (values: true, false)`,
  );
  assertThrows(() => parseOnly(["T="], lists), UsageError, `--only T=: no cell has T= (values: 1, 4)`);
  assertThrows(() => parseOnly(["T=7"], lists), UsageError, `--only T=7: no cell has T=7 (values: 1, 4)`);
});
