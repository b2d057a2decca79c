/**
 * Test helpers for training runs (not used by the trainer).
 * @module
 */
import { type RunConfig, runConfigFromPreset } from "../config/run.ts";

/**
 * A run of `steps` steps of a tiny model (T = 3, n_z = 4, LSTMs of 16) on the committed fixtures, logging
 * every step, with histograms, checkpoints, validation and a test bound inside those few steps.
 */
export function tinyRunConfig(steps: number, extra: Partial<RunConfig["train"]> = {}): RunConfig {
  return runConfigFromPreset("small", {
    model: { T: 3, nZ: 4, encSize: 16, decSize: 16 },
    train: {
      budget: { steps },
      batchSize: 16,
      logEvery: 1,
      histEvery: 3,
      checkpointEvery: 4,
      evalEvery: 5,
      evalValidLimit: 32,
      testLimit: 32,
      iwaeK: 3,
      ...extra,
    },
  });
}
