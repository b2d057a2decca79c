/**
 * Attention grid size: read N = write N = 2, 3, 5, 12 (N x N patches), with attention (grid size means
 * nothing without it). Table 3 otherwise; its own read 2 / write 5 pair is in `paper-mnist`.
 *
 * `grid` is a combined factor: each value sets readN and writeN together, and cells are labelled `grid=5x5`
 * (`--only grid=5x5`).
 *
 * Profiles:
 * - smoke: seconds (see SMOKE_PROFILE).
 * - quick: about 21 minutes on a 2-core CPU with tfjs-wasm: 4 cells x 1 seed x a 5-minute training budget,
 *   then the full test set (measured 8 s at T=10). Deviations from the paper: T=10 instead of 64, n_z=10
 *   instead of 100; LSTM 256 as in Table 3; no IWAE; a wall-clock budget.
 * - paper: Table 3 except the grid, 3 seeds, up to 100 epochs or 48 hours per run, IWAE k=50. Meant for a GPU.
 * @module
 */
import { defineExperiment, paperProfile, quickProfile, SMOKE_PROFILE } from "../lib/exp/define.ts";

export default defineExperiment({
  name: "grid",
  description: "Attention grid: read N = write N in 2, 3, 5, 12, with attention (Table 3 otherwise). " +
    "quick: T=10, n_z=10, 5 min per cell on CPU, no IWAE; paper: GPU.",
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
      5,
      "About 21 min on 2 CPU cores (wasm): T=10 (paper 64), n_z=10 (paper 100), LSTM 256, " +
        "5-minute budget per cell, 1 seed, full test set, no IWAE.",
      { T: 10, nZ: 10 },
    ),
    paper: paperProfile("Table 3 except the grid, 3 seeds, 100 epochs or 48 h, IWAE k=50. GPU."),
  },
});
