/**
 * Table 2's attention ablation: DRAW with and without attention on binarized MNIST
 * (paper: <= 80.97 nats with attention, <= 87.40 without).
 *
 * Profiles:
 * - smoke: seconds (see SMOKE_PROFILE).
 * - quick: about 20 minutes on a 2-core CPU with tfjs-wasm and `--threads 2` (measured 19.5 min): 2 cells x
 *   1 seed x a 9-minute training budget (measured 11,233 steps of batch 64 with attention, 5,529 without),
 *   then the test bound on all 10,000 test images and IWAE with k=10 (0.5-1 min). Deviations from the paper:
 *   T=10 instead of 64 and n_z=10 instead of 100 (a step of T=64/n_z=100 takes 2-3 s here, so 9 minutes
 *   would be ~200 steps); LSTM 256, read 2x2 and write 5x5 as in Table 3; a wall-clock budget, so step
 *   counts depend on the machine's load. Expect bounds far above the paper's.
 * - paper: Table 3 exactly (T=64, LSTM 256, z 100, read 2, write 5), 3 seeds, up to 100 epochs or 48 hours
 *   per run (the paper gives no training length), full validation every epoch, test bound and IWAE
 *   (k=50) on all 10,000 test images. Meant for a GPU.
 * @module
 */
import { defineExperiment, paperProfile, quickProfile, SMOKE_PROFILE } from "../lib/exp/define.ts";

export default defineExperiment({
  name: "attention-ablation",
  description: "DRAW with vs without attention on binarized MNIST (Table 2: 80.97 vs 87.40 nats). " +
    "quick: T=10, n_z=10, 9 min per cell on CPU, IWAE k=10; paper: Table 3 config, GPU.",
  base: { preset: "paper" },
  factors: { attention: [true, false] },
  seeds: [1, 2, 3],
  profiles: {
    smoke: SMOKE_PROFILE,
    quick: quickProfile(
      9,
      "About 22 min on 2 CPU cores (wasm): T=10, n_z=10 (paper 64, 100), LSTM 256, read 2, " +
        "write 5, 9-minute budget per cell, 1 seed, full test set, IWAE k=10.",
      { T: 10, nZ: 10 },
      { iwaeK: 10 },
    ),
    paper: paperProfile(
      "Table 3 (T=64, LSTM 256, z 100, read 2, write 5), 3 seeds, 100 epochs or 48 h, IWAE k=50. GPU.",
    ),
  },
  paperTargets: { "attention=true": "DRAW", "attention=false": "DRAW without attention" },
});
