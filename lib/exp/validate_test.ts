import { assertEquals, assertRejects, assertStringIncludes, assertThrows } from "@std/assert";
import { paperTargetFor } from "../config/paper.ts";
import { defineExperiment, type ExperimentSpec, SMOKE_PROFILE } from "./define.ts";
import { ExperimentError } from "./errors.ts";
import { listExperiments, loadExperiment, PROJECT_ROOT, validateExperiment } from "./validate.ts";

const FILE = "experiments/t.ts";

/** A valid spec; each malformed case changes one thing. */
function good(): Record<string, unknown> {
  return {
    name: "t",
    description: "a test experiment",
    base: { preset: "paper" },
    factors: { attention: [true, false] },
    seeds: [1],
    profiles: { smoke: { ...SMOKE_PROFILE }, quick: { ...SMOKE_PROFILE }, paper: {} },
  };
}

function check(spec: unknown): void {
  validateExperiment({ default: spec }, FILE, "t");
}

/** [what is wrong, how to break a good spec, the exact expected message]. */
const MALFORMED: Array<[string, (s: Record<string, unknown>) => unknown, string]> = [
  ["a default export that is not an object", () => 42, "the default export must be an object like"],
  [
    "an unknown top-level key",
    (s) => ({ ...s, factor: {} }),
    `factor is not an experiment key (known: name,`,
  ],
  ["a missing key", (s) => ({ ...s, seeds: undefined }), `seeds is missing`],
  [
    "a name with a path separator",
    (s) => ({ ...s, name: "a/b" }),
    `name "a/b" must be lower-case letters, digits and "-" (at most 64, no "/" or "..")`,
  ],
  ["a name that is ..", (s) => ({ ...s, name: ".." }), `name ".." must be lower-case letters`],
  [
    "a name with capitals",
    (s) => ({ ...s, name: "Attention" }),
    `name "Attention" must be lower-case letters`,
  ],
  ["a name unlike the file's", (s) => ({ ...s, name: "other" }), `name "other" must equal the file name "t"`],
  [
    "an empty description",
    (s) => ({ ...s, description: " " }),
    `description must be a non-empty string, got " "`,
  ],
  [
    "an unknown preset",
    (s) => ({ ...s, base: { preset: "papr" } }),
    `base.preset "papr" is not a model preset (known: paper, paper-no-attention, small)`,
  ],
  [
    "a preset named like an Object method",
    (s) => ({ ...s, base: { preset: "toString" } }),
    `base.preset "toString" is not a model preset`,
  ],
  [
    "an unknown model key",
    (s) => ({ ...s, base: { preset: "paper", model: { foo: 1 } } }),
    `base.model.foo is not a model setting`,
  ],
  [
    "a factor that is not a list",
    (s) => ({ ...s, factors: { T: 4 } }),
    `factors.T must be a list of values like [1, 2], got 4`,
  ],
  ["an empty factor", (s) => ({ ...s, factors: { T: [] } }), `factors.T is empty: give at least one value`],
  [
    "a negative T",
    (s) => ({ ...s, factors: { T: [1, 4, -1] } }),
    `factors.T[2] must be an integer from 1 to 10000, got -1`,
  ],
  [
    "a NaN latent size",
    (s) => ({ ...s, factors: { nZ: [NaN] } }),
    `factors.nZ[0] must be a finite number, got NaN`,
  ],
  [
    "an infinite LSTM",
    (s) => ({ ...s, factors: { encSize: [Infinity] } }),
    `factors.encSize[0] must be a finite number, got Infinity`,
  ],
  [
    "a huge T",
    (s) => ({ ...s, factors: { T: [1e9] } }),
    `factors.T[0] must be an integer from 1 to 10000, got 1000000000`,
  ],
  [
    "a string where a boolean belongs",
    (s) => ({ ...s, factors: { attention: ["yes"] } }),
    `factors.attention[0] must be true or false, got "yes"`,
  ],
  [
    "a duplicate value (duplicate cells)",
    (s) => ({ ...s, factors: { T: [1, 4, 1] } }),
    `factors.T[2] repeats factors.T[0] (1): every cell must be different`,
  ],
  [
    "a combined factor value that is not an object",
    (s) => ({ ...s, factors: { grid: [{ readN: 2, writeN: 2 }, 2] } }),
    `factors.grid[1] must be an object like { readN: 2, writeN: 2 }`,
  ],
  [
    "a typo inside a combined factor",
    (s) => ({ ...s, factors: { grid: [{ readN: 2 }, { readn: 3 }] } }),
    `factors.grid[1].readn is not a model or training setting`,
  ],
  [
    "a read grid larger than the image",
    (s) => ({ ...s, factors: { readN: [40] } }),
    `factors.readN[0] 40 is larger than the image (28x28)`,
  ],
  [
    "a negative learning rate",
    (s) => ({ ...s, factors: { learningRate: [-0.1] } }),
    `factors.learningRate[0] must be a number in (0, 10], got -0.1`,
  ],
  [
    "a negative budget",
    (s) => ({ ...s, factors: { budget: [{ minutes: -5 }] } }),
    `factors.budget[0].minutes must be a positive number, got -5`,
  ],
  [
    "a factor with a path in its name",
    (s) => ({ ...s, factors: { "../x": [1] } }),
    `factors["../x"] is not a valid factor name`,
  ],
  [
    "a misspelt setting as a factor",
    (s) => ({ ...s, factors: { atention: [true, false] } }),
    `factors.atention is not a setting (model settings: A, B, T, nZ,`,
  ],
  [
    "seeds as a factor",
    (s) => ({ ...s, factors: { seed: [1, 2] } }),
    `factors.seed is not a factor: list seeds in "seeds"`,
  ],
  [
    "two factors setting the same setting",
    (s) => ({ ...s, factors: { T: [1, 2], shape: [{ T: 4, nZ: 5 }] } }),
    `factors.shape sets T, which factors.T also sets: a setting may come from one factor only`,
  ],
  ["seed 0", (s) => ({ ...s, seeds: [0] }), `seeds[0] must be an integer from 1 to 2147483647, got 0`],
  [
    "a fractional seed",
    (s) => ({ ...s, seeds: [1.5] }),
    `seeds[0] must be an integer from 1 to 2147483647, got 1.5`,
  ],
  ["no seeds", (s) => ({ ...s, seeds: [] }), `seeds is empty: give at least one seed`],
  ["a repeated seed", (s) => ({ ...s, seeds: [1, 1] }), `seeds[1] repeats seeds[0] (1)`],
  [
    "a missing profile",
    (s) => ({ ...s, profiles: { smoke: {}, quick: {} } }),
    `profiles.paper is missing (every experiment has smoke, quick and paper)`,
  ],
  [
    "a budget put directly in a profile",
    (s) => ({ ...s, profiles: { smoke: {}, quick: { budget: { minutes: 5 } }, paper: {} } }),
    `profiles.quick.budget is not a profile setting (known: description, train, model, seeds, useFixtures, factors)`,
  ],
  [
    "an empty budget",
    (s) => ({ ...s, profiles: { smoke: {}, quick: { train: { budget: {} } }, paper: {} } }),
    `profiles.quick.train.budget needs epochs or steps (minutes is only a cap: it is not reproducible), got {}`,
  ],
  [
    "a budget of minutes alone",
    (s) => ({ ...s, profiles: { smoke: {}, quick: { train: { budget: { minutes: 5 } } }, paper: {} } }),
    `profiles.quick.train.budget needs epochs or steps (minutes is only a cap: it is not reproducible), got {"minutes":5}`,
  ],
  [
    "a huge batch",
    (s) => ({ ...s, profiles: { smoke: {}, quick: { train: { batchSize: 1e9 } }, paper: {} } }),
    `profiles.quick.train.batchSize must be an integer from 1 to 65536, got 1000000000`,
  ],
  [
    "a profile replacing a factor the experiment lacks",
    (s) => ({ ...s, profiles: { smoke: {}, quick: { factors: { nZ: [5] } }, paper: {} } }),
    `profiles.quick.factors.nZ is not a factor of this experiment (factors: attention)`,
  ],
  [
    "useFixtures as a string",
    (s) => ({ ...s, profiles: { smoke: { useFixtures: "yes" }, quick: {}, paper: {} } }),
    `profiles.smoke.useFixtures must be true or false, got "yes"`,
  ],
  [
    "a profile name with a path",
    (s) => ({ ...s, profiles: { ...(s.profiles as object), "../x": {} } }),
    `profiles["../x"] is not a valid profile name`,
  ],
  [
    "where that is not a function",
    (s) => ({ ...s, where: "attention" }),
    `where must be a function (cell) => boolean, got "attention"`,
  ],
  [
    "where that throws",
    (s) => ({
      ...s,
      where: () => {
        throw new Error("boom");
      },
    }),
    `profiles.smoke: where() threw for cell attention=true: boom`,
  ],
  [
    "where that returns nothing",
    (s) => ({ ...s, where: () => undefined }),
    `profiles.smoke: where() must return true or false, got undefined for cell attention=true`,
  ],
  [
    "where that keeps nothing",
    (s) => ({ ...s, where: () => false }),
    `profiles.smoke: where/exclude leave no cells to run`,
  ],
  [
    "exclude naming no factor",
    (s) => ({ ...s, exclude: [{ attenton: false }] }),
    `exclude[0].attenton is not a factor (factors: attention)`,
  ],
  [
    "exclude with a value no cell has",
    (s) => ({ ...s, exclude: [{ attention: "no" }] }),
    `exclude[0].attention "no" is not one of the values of factors.attention, so it excludes nothing`,
  ],
  [
    "an unknown Table 2 row",
    (s) => ({ ...s, paperTargets: { "attention=true": "DRAW2" } }),
    `paperTargets["attention=true"] "DRAW2" is not a Table 2 row`,
  ],
  [
    "a paper target for a cell that does not exist",
    (s) => ({ ...s, paperTargets: { "attention=ture": "DRAW" } }),
    `paperTargets["attention=ture"] matches no cell (cells: attention=true; attention=false)`,
  ],
  [
    "a paper target function naming no row",
    (s) => ({ ...s, paperTargets: () => "Draw!" }),
    `paperTargets(attention=true) "Draw!" is not a Table 2 row`,
  ],
  [
    "a cell impossible only in combination",
    (s) => ({
      ...s,
      base: { preset: "paper", model: { A: 8, B: 8, readN: 2, writeN: 2 } },
      factors: { writeN: [2, 12] },
    }),
    `profiles.smoke: cell writeN=12: run.model.writeN 12 is larger than the image (8x8)`,
  ],
  [
    "two cells with the same resolved config (duplicate cells)",
    (s) => ({ ...s, factors: { opt: [{ learningRate: 0.001, beta1: 0.9 }, { learningRate: 0.001 }] } }),
    `profiles.smoke: cells opt=0.001x0.9 and opt=0.001 resolve to the same run config`,
  ],
  [
    "an absurd grid of 10^6 runs",
    (s) => {
      const ten = Array.from({ length: 10 }, (_, i) => i + 1);
      return {
        ...s,
        factors: { T: ten, nZ: ten, encSize: ten, decSize: ten, batchSize: ten, evalSamples: ten },
      };
    },
    `profiles.smoke: the grid has 1,000,000 runs (cells x seeds); at most 10000 are allowed`,
  ],
];

for (const [what, breakIt, message] of MALFORMED) {
  Deno.test(`validateExperiment() refuses ${what}`, () => {
    const e = assertThrows(() => check(breakIt(good())), ExperimentError);
    assertStringIncludes(e.message, `${FILE}: ${message}`);
  });
}

Deno.test("validateExperiment() accepts a good spec and every shipped experiment loads", async () => {
  check(good());
  const names = await listExperiments();
  assertEquals(names, [
    "attention-ablation",
    "grid",
    "latent",
    "paper-mnist",
    "recipe",
    "smoke",
    "timesteps",
  ]);
  for (const n of names) assertEquals((await loadExperiment(n)).name, n);
});

Deno.test("a refused 10^6 grid is refused before any cell is expanded", () => {
  let calls = 0;
  const s = {
    ...good(),
    factors: {
      T: Array.from({ length: 1000 }, (_, i) => i + 1),
      nZ: Array.from({ length: 1000 }, (_, i) => i + 1),
    },
  };
  const e = assertThrows(() => check({ ...s, where: () => (calls++, true) }), ExperimentError);
  assertStringIncludes(e.message, "1,000,000 runs");
  assertEquals(calls, 0);
});

Deno.test("paperTargetFor() maps cells to Table 2 rows from a record or a function", () => {
  const viaRecord = validateExperiment(
    { default: { ...good(), paperTargets: { "attention=false": "DRAW without attention" } } },
    FILE,
    "t",
  );
  assertEquals(paperTargetFor(viaRecord.paperTargets, { attention: false }), {
    row: "DRAW without attention",
    nats: 87.40,
  });
  assertEquals(paperTargetFor(viaRecord.paperTargets, { attention: true }), null);
  const viaFn = validateExperiment(
    { default: { ...good(), paperTargets: (c: { attention?: unknown }) => (c.attention ? "DRAW" : null) } },
    FILE,
    "t",
  );
  assertEquals(paperTargetFor(viaFn.paperTargets, { attention: true }), { row: "DRAW", nats: 80.97 });
});

const FIX = "tests/fixtures/experiments";

/** Real malformed files: [file, expected message]. */
const FILES: Array<[string, string]> = [
  [
    `${FIX}/imports-tfjs.ts`,
    `${FIX}/imports-tfjs.ts: imports "@tensorflow/tfjs"; an experiment file may import only lib/exp/define.ts`,
  ],
  [
    `${FIX}/no-default.ts`,
    `${FIX}/no-default.ts: has no default export: write "export default defineExperiment({ ... })"`,
  ],
  [`${FIX}/negative-t.ts`, `${FIX}/negative-t.ts: factors.T[2] must be an integer from 1 to 10000, got -1`],
  [`${FIX}/wrong-name.ts`, `${FIX}/wrong-name.ts: name "another-name" must equal the file name "wrong-name"`],
  [
    `${FIX}/escaping-name.ts`,
    `${FIX}/escaping-name.ts: name "../../etc" must be lower-case letters, digits and "-"`,
  ],
  [`${FIX}/million-cells.ts`, `${FIX}/million-cells.ts: profiles.smoke: the grid has 1,000,000 runs`],
  [`${FIX}/absent.ts`, `${FIX}/absent.ts: no such experiment file (experiments: attention-ablation, grid,`],
];

for (const [file, message] of FILES) {
  Deno.test(`loadExperiment() refuses ${file} with a message naming it`, async () => {
    const e = await assertRejects(() => loadExperiment(file), ExperimentError);
    assertStringIncludes(e.message, message);
  });
}

Deno.test("loadExperiment() reports a syntax error with the file name, line and column", async () => {
  const dir = await Deno.makeTempDir({ prefix: "exp-syntax-" });
  try {
    const path = `${dir}/syntax-error.ts`;
    await Deno.copyFile(`${PROJECT_ROOT}${FIX}/syntax-error.ts.txt`, path);
    const e = await assertRejects(() => loadExperiment(path), ExperimentError);
    assertStringIncludes(e.message, `${path}: has a syntax error: Expected ',', got '}'`);
    assertStringIncludes(e.message, `${path}:6:`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadExperiment() turns an error thrown by the file's own code while it is read into a message", async () => {
  const dir = await Deno.makeTempDir({ prefix: "exp-proxy-" });
  try {
    const path = `${dir}/proxy.ts`;
    await Deno.writeTextFile(path, `export default new Proxy({}, { get() { throw new Error("trap"); } });\n`);
    const e = await assertRejects(() => loadExperiment(path), ExperimentError);
    assertEquals(e.message, `${path}: threw while being read: trap`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadExperiment() refuses names that are paths and names nothing", async () => {
  for (const bad of ["../evil", "a/b", "..", "Smoke", ""]) {
    const e = await assertRejects(() => loadExperiment(bad), ExperimentError);
    assertStringIncludes(e.message, `Experiment name ${JSON.stringify(bad)} is not valid`);
  }
  const e = await assertRejects(() => loadExperiment("nonexistent"), ExperimentError);
  assertStringIncludes(
    e.message,
    "experiments/nonexistent.ts: no such experiment file (experiments: attention-ablation",
  );
});

Deno.test("loadExperiment() loads a valid fixture by path", async () => {
  const exp = await loadExperiment(`${FIX}/six-cells.ts`);
  assertEquals(exp.name, "six-cells");
  assertEquals(exp.file, `${FIX}/six-cells.ts`);
});

Deno.test("defineExperiment() is an identity whose types catch a wrongly typed factor", () => {
  const spec = {
    name: "typed",
    description: "d",
    base: { preset: "paper" },
    // @ts-expect-error T takes numbers, not strings
    factors: { T: ["many"] },
    seeds: [1],
    profiles: { smoke: {}, quick: {}, paper: {} },
  } satisfies Partial<ExperimentSpec>;
  assertEquals(defineExperiment(spec as unknown as ExperimentSpec), spec as unknown as ExperimentSpec);
});
