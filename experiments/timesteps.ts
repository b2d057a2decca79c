/**
 * How the number of glimpses T changes the bound: T in 1, 4, 16, 64, everything else as in Table 3.
 *
 * Profiles:
 * - smoke: seconds (see SMOKE_PROFILE; T comes from the factor).
 * - quick: 4 cells x 1 seed x 1,000 steps of batch 64 (equal steps for every T), validation on the full
 *   10,000-image split every 500 steps, the test bound on all 10,000 test images with the best-validation
 *   weights; no IWAE. Deviations from the paper: n_z=10 instead of 100 and LSTM 128 instead of 256, so that
 *   T=64 stays affordable on a CPU. Measured cost: see the profile's description.
 * - paper: Table 3 except T, 3 seeds, trained to convergence (see `paperProfile`: full validation every epoch, early
 *   stop after 20 epochs without improvement, at most 500 epochs), IWAE k=50. Meant for a GPU.
 * @module
 */
import { defineExperiment, paperProfile, quickProfile, SMOKE_PROFILE } from "../lib/exp/define.ts";

export default defineExperiment({
  name: "timesteps",
  description: "Number of glimpses T in 1, 4, 16, 64 (Table 3 otherwise). " +
    "quick: n_z=10, LSTM 128, 1,000 steps per cell, no IWAE; paper: GPU.",
  base: { preset: "paper" },
  factors: { T: [1, 4, 16, 64] },
  seeds: [1, 2, 3],
  profiles: {
    smoke: SMOKE_PROFILE,
    quick: quickProfile(
      1000,
      "About 6 min on 2 CPU cores (wasm, --threads 2): n_z=10 (paper 100), LSTM 128 (paper 256), read 2, write 5, 1,000 steps of batch 64 per cell, 1 seed, full validation and test sets, no IWAE.",
      { nZ: 10, encSize: 128, decSize: 128 },
    ),
    paper: paperProfile("Table 3 except T, 3 seeds, to convergence, IWAE k=50. GPU."),
  },
  // Only T=64 is the paper's configuration (in the paper profile).
  paperTargets: (cell) => (cell.T === 64 ? "DRAW" : null),
});
