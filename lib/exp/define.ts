/**
 * The shape of an experiment file (`experiments/<name>.ts`) and `defineExperiment`, its typed identity.
 *
 * Experiment files import only this module and the config types: never tfjs, so loading, validating and
 * planning an experiment (including `--dry-run`) is instant and needs no backend.
 *
 * How a cell's run config is resolved, later entries winning (each is a shallow merge per config section;
 * `train.budget` is replaced as a whole, not merged):
 * 1. the model preset `base.preset` and `DEFAULT_TRAIN`;
 * 2. `base.model` / `base.train`;
 * 3. the profile's `model` / `train`;
 * 4. the cell's factor values.
 *
 * A factor key is a model setting (`T`, `nZ`, `attention`, `readN`, ...), a training setting
 * (`learningRate`, `batchSize`, `budget`, ...), or a combined key of your choosing (`grid`, `lstm`) whose
 * values are objects of model/training settings merged into the config together, e.g.
 * `grid: [{ readN: 2, writeN: 2 }, { readN: 5, writeN: 5 }]`.
 * @module
 */
import type { DrawConfig } from "../config/model.ts";
import type { PaperTargets } from "../config/paper.ts";
import type { TrainConfig } from "../config/run.ts";
import type { Cell } from "../config/runid.ts";

export type { Cell, PaperTargets };

/** Per-key value lists for model and training settings, typed from the config interfaces. */
export type SettingFactors =
  & { [K in keyof DrawConfig]?: readonly DrawConfig[K][] }
  & { [K in keyof TrainConfig]?: readonly TrainConfig[K][] };

/** A bundle of settings that one combined factor value sets together. */
export type SettingBundle = Partial<DrawConfig> & Partial<TrainConfig>;

/**
 * The factors of an experiment: a setting key with its values, or a combined key whose values are
 * {@linkcode SettingBundle}s.
 */
export type Factors = SettingFactors & { [combined: string]: readonly unknown[] | undefined };

/** A profile: how big and how long the runs are (`smoke` seconds, `quick` a CPU budget, `paper` a GPU). */
export interface Profile {
  /** What this profile is for, and every deviation from the paper it makes. */
  description?: string;
  /** Training overrides; `budget` in particular. */
  train?: Partial<TrainConfig>;
  /** Model overrides (applied before the cell's factor values, which win). */
  model?: Partial<DrawConfig>;
  /** Seeds for this profile, replacing the experiment's. */
  seeds?: number[];
  /** Train on the committed fixtures unless a data directory is given on the command line. */
  useFixtures?: boolean;
  /** Replacement value lists for some of the experiment's factors (same keys only). */
  factors?: Factors;
}

/** The profiles every experiment has; others may be added. */
export const REQUIRED_PROFILES = ["smoke", "quick", "paper"] as const;

/** Profiles by name: `smoke`, `quick` and `paper` are required. */
export type Profiles = { smoke: Profile; quick: Profile; paper: Profile } & { [name: string]: Profile };

/** The starting point of every cell: a model preset plus overrides. */
export interface ExperimentBase {
  /** A name from `MODEL_PRESETS` (`paper` = Table 3). */
  preset: string;
  model?: Partial<DrawConfig>;
  train?: Partial<TrainConfig>;
}

/** An experiment file's default export. */
export interface ExperimentSpec {
  /** Lower-case letters, digits and "-" (at most 64), equal to the file name without `.ts`. */
  name: string;
  description: string;
  base: ExperimentBase;
  /** The grid: the cartesian product of these value lists, in declaration order (last varies fastest). */
  factors: Factors;
  /** Keep only the cells for which this returns true (e.g. read N is meaningless without attention). */
  where?: (cell: Cell) => boolean;
  /** Drop cells matching any of these partial cells (every listed key equal). */
  exclude?: ReadonlyArray<Cell>;
  /** Root seeds; every cell runs once per seed. */
  seeds: number[];
  profiles: Profiles;
  /** Which Table 2 row each cell is compared with (by cell label, a function of the cell, or a list). */
  paperTargets?: PaperTargets;
}

/**
 * Declares an experiment. A typed identity: it returns its argument, so the file stays plain data.
 */
export function defineExperiment<S extends ExperimentSpec>(spec: S): S {
  return spec;
}

/**
 * The `smoke` profile shared by the experiment files: seconds per run, for tests and CI. Committed fixtures
 * (unless `--data-dir` is given), a tiny model (T=3, n_z=4, LSTM 16, unless a factor sets them), 12 steps
 * of batch 16 with a checkpoint every 4 steps, so that a killed run has something to resume from. A step
 * budget (never minutes) keeps resumed runs bit-identical to uninterrupted ones.
 */
export const SMOKE_PROFILE: Readonly<Profile> = Object.freeze({
  description: "Seconds, for tests and CI: committed fixtures, T=3, n_z=4, LSTM 16 (unless a factor sets " +
    "them), 12 steps of batch 16, evaluation on the fixture splits, IWAE k=4. Numbers mean nothing.",
  model: { T: 3, nZ: 4, encSize: 16, decSize: 16 },
  train: {
    batchSize: 16,
    budget: { steps: 12 },
    logEvery: 2,
    histEvery: 6,
    checkpointEvery: 4,
    evalEvery: 6,
    evalValidLimit: 0,
    testLimit: 0,
    evalSamples: 1,
    iwaeK: 4,
  },
  seeds: [1],
  useFixtures: true,
});

/**
 * The `paper` profile shared by the experiment files: Table 3 (plus the cell's factor), the experiment's
 * seeds, trained to convergence: the validation bound on the full 10,000-image split after every epoch, the
 * best-validation checkpoint kept, early stopping after 20 epochs without improvement, and a cap of 500
 * epochs (the paper gives no training length; a reference implementation needed 300+ epochs for ~82 nats).
 * The test bound and IWAE (k = 50) are taken on all 10,000 test images with the best-validation weights.
 * Meant for a GPU.
 */
export function paperProfile(description: string): Profile {
  return {
    description,
    train: {
      // paper: no training length given. 500 epochs caps a run that keeps improving; patience 20 ends one
      // that has stopped (ours: 20 epochs is ~6% of the 300+ a reference run needed).
      budget: { epochs: 500, patience: 20 },
      evalEvery: 0,
      evalValidLimit: 0,
      testLimit: 0,
      iwaeK: 50,
      checkpointEvery: 1000,
      histEvery: 1000,
    },
  };
}

/**
 * A `quick` profile: a CPU budget of `steps` training steps per run (reproducible: the same records on any
 * machine and after any resume), validation every `evalEvery` (500) steps on the full 10,000-image
 * validation split, the test bound on all 10,000 test images with the best-validation weights, and no IWAE
 * unless `train` sets `iwaeK`. `model` lists the deviations from Table 3 (say them in `description` too,
 * with the measured time).
 */
export function quickProfile(
  steps: number,
  description: string,
  model: Partial<DrawConfig> = {},
  train: Partial<TrainConfig> = {},
): Profile {
  return {
    description,
    model,
    train: { budget: { steps }, evalEvery: 500, evalValidLimit: 0, testLimit: 0, iwaeK: 0, ...train },
    seeds: [1],
  };
}
