/**
 * The experiment of the Slurm self-test (deploy/slurm/selftest.sh): four tiny cells (attention on and off,
 * T = 2 and 3) on the committed fixtures, each long enough (400 steps, a few seconds) for the self-test to
 * stop one in the middle and resume it. Step budgets only, so an interrupted and resumed cell must end
 * bit-identical to an uninterrupted one. Its numbers mean nothing.
 * @module
 */
import { defineExperiment, SMOKE_PROFILE } from "../../lib/exp/define.ts";

const long = {
  ...SMOKE_PROFILE,
  description: "Fixtures, T=2 or 3, n_z=4, LSTM 16, 400 steps of batch 16 per cell (seconds). Not a result.",
  train: {
    ...SMOKE_PROFILE.train,
    budget: { steps: 400 },
    logEvery: 10,
    histEvery: 100,
    checkpointEvery: 100,
  },
};

export default defineExperiment({
  name: "slurm-selftest",
  description: "Four tiny DRAW cells for the Slurm self-test: one is interrupted mid-cell and requeued. " +
    "Not a result.",
  base: { preset: "paper" },
  factors: { attention: [true, false], T: [2, 3] },
  seeds: [1],
  // The self-test runs `smoke`; the other profiles are the same tiny cells (there is nothing bigger to run).
  profiles: { smoke: long, quick: long, paper: long },
});
