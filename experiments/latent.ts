/**
 * How the latent size per glimpse n_z changes the bound: n_z in 10, 50, 100, 200, otherwise Table 3.
 *
 * Profiles:
 * - smoke: seconds (see SMOKE_PROFILE; n_z comes from the factor).
 * - quick: about 21 minutes on a 2-core CPU with tfjs-wasm: 4 cells x 1 seed x a 5-minute training budget,
 *   then the full test set (measured 8 s at T=10). Deviation from the paper: T=10 instead of 64; LSTM 256,
 *   read 2, write 5 as in Table 3; no IWAE; a wall-clock budget.
 * - paper: Table 3 except n_z, 3 seeds, up to 100 epochs or 48 hours per run, IWAE k=50. Meant for a GPU.
 * @module
 */
import { defineExperiment, paperProfile, quickProfile, SMOKE_PROFILE } from "../lib/exp/define.ts";

export default defineExperiment({
  name: "latent",
  description: "Latent size per glimpse n_z in 10, 50, 100, 200 (Table 3 otherwise). " +
    "quick: T=10, 5 min per cell on CPU, no IWAE; paper: GPU.",
  base: { preset: "paper" },
  factors: { nZ: [10, 50, 100, 200] },
  seeds: [1, 2, 3],
  profiles: {
    smoke: SMOKE_PROFILE,
    quick: quickProfile(
      5,
      "About 21 min on 2 CPU cores (wasm): T=10 (paper 64), LSTM 256, read 2, write 5, " +
        "5-minute budget per cell, 1 seed, full test set, no IWAE.",
      { T: 10 },
    ),
    paper: paperProfile("Table 3 except n_z, 3 seeds, 100 epochs or 48 h, IWAE k=50. GPU."),
  },
  // Only n_z=100 is the paper's configuration (in the paper profile).
  paperTargets: (cell) => (cell.nZ === 100 ? "DRAW" : null),
});
