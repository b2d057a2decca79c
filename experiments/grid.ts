/**
 * Attention grid size: read N = write N = 2, 3, 5, 12 (N x N patches), with attention (grid size means
 * nothing without it). Table 3 otherwise; its own read 2 / write 5 pair is in `paper-mnist`.
 *
 * `grid` is a combined factor: each value sets readN and writeN together, and cells are labelled `grid=5x5`
 * (`--only grid=5x5`).
 *
 * Profiles:
 * - smoke: seconds (see SMOKE_PROFILE).
 * - quick: 4 cells x 1 seed x 1,000 steps of batch 64, validation on the full 10,000-image split every 500
 *   steps, the test bound on all 10,000 test images with the best-validation weights; no IWAE. Deviations
 *   from the paper: T=10 instead of 64, n_z=10 instead of 100; LSTM 256 as in Table 3. Measured cost: see
 *   the profile's description.
 * - paper: Table 3 except the grid, 3 seeds, trained to convergence (see `paperProfile`: full validation every epoch, early
 *   stop after 20 epochs without improvement, at most 500 epochs), IWAE k=50. Meant for a GPU.
 * @module
 */
import { defineExperiment, paperProfile, quickProfile, SMOKE_PROFILE } from "../lib/exp/define.ts";

export default defineExperiment({
  name: "grid",
  description: "Attention grid: read N = write N in 2, 3, 5, 12, with attention (Table 3 otherwise). " +
    "quick: T=10, n_z=10, 1,000 steps per cell, no IWAE; paper: GPU.",
  base: { preset: "paper", model: { attention: true } },
  factors: {
    grid: [
      { readN: 2, writeN: 2 },
      { readN: 3, writeN: 3 },
      { readN: 5, writeN: 5 },
      { readN: 12, writeN: 12 },
    ],
  },
  seeds: [1, 2, 3],
  profiles: {
    smoke: SMOKE_PROFILE,
    quick: quickProfile(
      1000,
      "About 7 min on 2 CPU cores (wasm, --threads 2): T=10 (paper 64), n_z=10 (paper 100), LSTM 256, 1,000 steps of batch 64 per cell, 1 seed, full validation and test sets, no IWAE.",
      { T: 10, nZ: 10 },
    ),
    paper: paperProfile("Table 3 except the grid, 3 seeds, to convergence, IWAE k=50. GPU."),
  },
});
