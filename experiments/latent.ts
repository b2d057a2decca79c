/**
 * How the latent size per glimpse n_z changes the bound: n_z in 10, 50, 100, 200, otherwise Table 3.
 *
 * Profiles:
 * - smoke: seconds (see SMOKE_PROFILE; n_z comes from the factor).
 * - quick: 4 cells x 1 seed x 1,000 steps of batch 64, validation on the full 10,000-image split every 500
 *   steps, the test bound on all 10,000 test images with the best-validation weights; no IWAE. Deviation
 *   from the paper: T=10 instead of 64; LSTM 256, read 2, write 5 as in Table 3. Measured cost: see the
 *   profile's description.
 * - paper: Table 3 except n_z, 3 seeds, trained to convergence (see `paperProfile`: full validation every epoch, early
 *   stop after 20 epochs without improvement, at most 500 epochs), IWAE k=50. Meant for a GPU.
 * @module
 */
import { defineExperiment, paperProfile, quickProfile, SMOKE_PROFILE } from "../lib/exp/define.ts";

export default defineExperiment({
  name: "latent",
  description: "Latent size per glimpse n_z in 10, 50, 100, 200 (Table 3 otherwise). " +
    "quick: T=10, 1,000 steps per cell, no IWAE; paper: GPU.",
  base: { preset: "paper" },
  factors: { nZ: [10, 50, 100, 200] },
  seeds: [1, 2, 3],
  profiles: {
    smoke: SMOKE_PROFILE,
    quick: quickProfile(
      1000,
      "About 7 min on 2 CPU cores (wasm, --threads 2): T=10 (paper 64), LSTM 256, read 2, write 5, 1,000 steps of batch 64 per cell, 1 seed, full validation and test sets, no IWAE.",
      { T: 10 },
    ),
    paper: paperProfile("Table 3 except n_z, 3 seeds, to convergence, IWAE k=50. GPU."),
  },
  // Only n_z=100 is the paper's configuration (in the paper profile).
  paperTargets: (cell) => (cell.nZ === 100 ? "DRAW" : null),
});
