/**
 * The paper's MNIST model, Table 3 exactly: T=64, LSTM 256 (encoder and decoder), z 100, read 2x2,
 * write 5x5, Adam; compared with Table 2's DRAW row (<= 80.97 nats). One cell, no factors.
 *
 * Profiles:
 * - smoke: seconds (see SMOKE_PROFILE; the smoke model is tiny, not Table 3).
 * - quick: about 27 minutes on a 2-core CPU with tfjs-wasm: the Table 3 model unchanged, 1 seed, a
 *   25-minute training budget (a step takes 2-3 s here, so only ~600 steps: the bound stays far above
 *   the paper's), then the full test set (about 1 min at T=64, estimated from 8 s measured at T=10);
 *   no IWAE.
 * - paper: Table 3, 3 seeds, up to 100 epochs or 48 hours per run (the paper gives no training length),
 *   IWAE k=50. Meant for a GPU.
 * @module
 */
import { defineExperiment, paperProfile, quickProfile, SMOKE_PROFILE } from "../lib/exp/define.ts";

export default defineExperiment({
  name: "paper-mnist",
  description:
    "Table 3's MNIST model exactly (T=64, LSTM 256, z 100, read 2, write 5) vs Table 2's 80.97 nats. " +
    "quick: same model, 25 min on CPU, no IWAE; paper: GPU.",
  base: { preset: "paper" },
  factors: {},
  seeds: [1, 2, 3],
  profiles: {
    smoke: SMOKE_PROFILE,
    quick: quickProfile(
      25,
      "About 27 min on 2 CPU cores (wasm): Table 3 model unchanged, 25-minute budget, 1 seed, " +
        "full test set, no IWAE.",
      {},
      { evalEvery: 250, checkpointEvery: 100 },
    ),
    paper: paperProfile("Table 3, 3 seeds, 100 epochs or 48 h, IWAE k=50. GPU."),
  },
  paperTargets: { base: "DRAW" },
});
