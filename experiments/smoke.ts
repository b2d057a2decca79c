/**
 * A tiny experiment that finishes in seconds, for tests, CI and `deno task exp smoke` on a fresh clone:
 * attention on and off, T=3, n_z=4, LSTM 16, 12 (smoke) or 30 (quick, paper) steps of batch 16, on the
 * committed fixtures unless `--data-dir` is given. Step budgets (never minutes), so a killed and resumed
 * run ends bit-identical to an uninterrupted one. Its numbers mean nothing; every profile is tiny.
 * @module
 */
import { defineExperiment, SMOKE_PROFILE } from "../lib/exp/define.ts";

const tiny = { ...SMOKE_PROFILE, train: { ...SMOKE_PROFILE.train, budget: { steps: 30 } } };

export default defineExperiment({
  name: "smoke",
  description: "Tiny DRAW (T=3, n_z=4, LSTM 16) with and without attention, a few steps on the fixtures: " +
    "checks the whole pipeline in seconds. Not a result.",
  base: { preset: "paper" },
  factors: { attention: [true, false] },
  seeds: [1],
  profiles: {
    smoke: SMOKE_PROFILE,
    quick: { ...tiny, description: "The default profile of the smoke experiment: still tiny, 30 steps." },
    paper: { ...tiny, description: "Same as quick: the smoke experiment has no paper-sized version." },
  },
  paperTargets: (cell) => (cell.attention ? "DRAW" : "DRAW without attention"),
});
