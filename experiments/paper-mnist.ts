/**
 * The paper's MNIST model, Table 3 exactly: T=64, LSTM 256 (encoder and decoder), z 100, read 2x2,
 * write 5x5, Adam; compared with Table 2's DRAW row (<= 80.97 nats). One cell, no factors.
 *
 * Profiles:
 * - smoke: seconds (see SMOKE_PROFILE; the smoke model is tiny, not Table 3).
 * - quick: the Table 3 model unchanged, 1 seed, 1,000 steps of batch 64 (64,000 images, 1.3 epochs; the
 *   bound stays far above the paper's), validation on the full 10,000-image split every 500 steps, the test
 *   bound on all 10,000 test images with the best-validation weights; no IWAE. Measured cost: see the
 *   profile's description.
 * - paper: Table 3, 3 seeds, trained to convergence (see `paperProfile`: full validation every epoch, early
 *   stop after 20 epochs without improvement, at most 500 epochs), IWAE k=50. Meant for a GPU.
 * @module
 */
import { defineExperiment, paperProfile, quickProfile, SMOKE_PROFILE } from "../lib/exp/define.ts";

export default defineExperiment({
  name: "paper-mnist",
  description:
    "Table 3's MNIST model exactly (T=64, LSTM 256, z 100, read 2, write 5) vs Table 2's 80.97 nats. " +
    "quick: same model, 1,000 steps, no IWAE; paper: GPU.",
  base: { preset: "paper" },
  factors: {},
  seeds: [1, 2, 3],
  profiles: {
    smoke: SMOKE_PROFILE,
    quick: quickProfile(
      1000,
      "About 11 min on 2 CPU cores (wasm, --threads 2): Table 3 model unchanged, 1,000 steps of batch 64 (1.3 epochs), 1 seed, full validation and test sets, no IWAE.",
      {},
      { evalEvery: 500, checkpointEvery: 100 },
    ),
    paper: paperProfile("Table 3, 3 seeds, to convergence, IWAE k=50. GPU."),
  },
  paperTargets: { base: "DRAW" },
});
