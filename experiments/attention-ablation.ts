/**
 * Table 2's attention ablation: DRAW with and without attention on binarized MNIST
 * (paper: <= 80.97 nats with attention, <= 87.40 without).
 *
 * Profiles:
 * - smoke: seconds (see SMOKE_PROFILE).
 * - quick: 2 cells x 3 seeds x 2,000 steps of batch 64 (128,000 images, 2.6 epochs; equal for both arms),
 *   validation on the full 10,000-image split every 500 steps, then the test bound and IWAE (k=10) on all
 *   10,000 test images with the best-validation weights. Deviations from the paper: T=10 instead of 64 and
 *   n_z=10 instead of 100 (a step of the Table 3 model takes ~0.3 s here); LSTM 256, read 2x2 and write 5x5
 *   as in Table 3. Expect bounds far above the paper's. Measured cost: see the profile's description.
 * - paper: Table 3 exactly (T=64, LSTM 256, z 100, read 2, write 5), 3 seeds, trained to convergence (see
 *   `paperProfile`: full validation every epoch, early stop after 20 epochs without improvement, at most
 *   500 epochs), test bound and IWAE (k=50) on all 10,000 test images. Meant for a GPU.
 * @module
 */
import { defineExperiment, paperProfile, quickProfile, SMOKE_PROFILE } from "../lib/exp/define.ts";

export default defineExperiment({
  name: "attention-ablation",
  description: "DRAW with vs without attention on binarized MNIST (Table 2: 80.97 vs 87.40 nats). " +
    "quick: T=10, n_z=10, 2,000 steps per run, 3 seeds, IWAE k=10; paper: Table 3 config, GPU.",
  base: { preset: "paper" },
  factors: { attention: [true, false] },
  seeds: [1, 2, 3],
  profiles: {
    smoke: SMOKE_PROFILE,
    quick: {
      ...quickProfile(
        2000,
        "About 38 min on 2 CPU cores (wasm, --threads 2): T=10 (paper 64), n_z=10 (paper 100), LSTM 256, " +
          "read 2, write 5, 2,000 steps of batch 64 per run (both arms), 3 seeds, full validation and " +
          "test sets, IWAE k=10.",
        { T: 10, nZ: 10 },
        { iwaeK: 10 },
      ),
      seeds: [1, 2, 3],
    },
    paper: paperProfile(
      "Table 3 (T=64, LSTM 256, z 100, read 2, write 5), 3 seeds, to convergence, IWAE k=50. GPU.",
    ),
  },
  paperTargets: { "attention=true": "DRAW", "attention=false": "DRAW without attention" },
});
