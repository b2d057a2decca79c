/**
 * How the number of glimpses T changes the bound: T in 1, 4, 16, 64, everything else as in Table 3.
 *
 * Profiles:
 * - smoke: seconds (see SMOKE_PROFILE; T comes from the factor).
 * - quick: about 22 minutes on a 2-core CPU with tfjs-wasm: 4 cells x 1 seed x a 5-minute training budget,
 *   then the full test set (under a minute even at T=64; 8 s measured at T=10 with LSTM 256). Deviations
 *   from the paper: n_z=10 instead of 100 and LSTM 128 instead of 256, so that T=64 still gets several
 *   hundred steps; no IWAE. The budget is wall-clock, so larger T gets fewer steps: this compares T at
 *   equal CPU time, not at equal steps.
 * - paper: Table 3 except T, 3 seeds, up to 100 epochs or 48 hours per run, IWAE k=50. Meant for a GPU.
 * @module
 */
import { defineExperiment, paperProfile, quickProfile, SMOKE_PROFILE } from "../lib/exp/define.ts";

export default defineExperiment({
  name: "timesteps",
  description: "Number of glimpses T in 1, 4, 16, 64 (Table 3 otherwise). " +
    "quick: n_z=10, LSTM 128, 5 min per cell on CPU (equal time, not equal steps), no IWAE; paper: GPU.",
  base: { preset: "paper" },
  factors: { T: [1, 4, 16, 64] },
  seeds: [1, 2, 3],
  profiles: {
    smoke: SMOKE_PROFILE,
    quick: quickProfile(
      5,
      "About 22 min on 2 CPU cores (wasm): n_z=10 (paper 100), LSTM 128 (paper 256), read 2, " +
        "write 5, 5-minute budget per cell, 1 seed, full test set, no IWAE.",
      { nZ: 10, encSize: 128, decSize: 128 },
    ),
    paper: paperProfile("Table 3 except T, 3 seeds, 100 epochs or 48 h, IWAE k=50. GPU."),
  },
  // Only T=64 is the paper's configuration (in the paper profile).
  paperTargets: (cell) => (cell.T === 64 ? "DRAW" : null),
});
