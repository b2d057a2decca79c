/**
 * Fixed-seed training cases shared by `bench/equivalence_test.ts` and its recorder: tiny DRAW models that
 * exercise every path (attention with a non-square image, attention on 28x28, no attention) and differ in
 * every size, so that a transposed or misplaced block changes the numbers.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { type DrawConfig, PAPER_MNIST } from "../lib/config/model.ts";
import { drawEpsilon } from "../lib/draw/model.ts";
import { createParams } from "../lib/draw/params.ts";
import { RandomStream, splitSeed } from "../lib/random.ts";
import { Adam } from "../lib/train/adam.ts";
import { trainStep } from "../lib/train/step.ts";

/** One recorded case. */
export interface EquivalenceCase {
  name: string;
  model: DrawConfig;
  batch: number;
  steps: number;
  learningRate: number;
}

/** The cases, small enough for the cpu backend. */
export const CASES: EquivalenceCase[] = [
  {
    name: "attention, 12x9 image, read 3, write 4",
    model: { ...PAPER_MNIST, A: 12, B: 9, T: 4, nZ: 5, encSize: 24, decSize: 20, readN: 3, writeN: 4 },
    batch: 6,
    steps: 5,
    learningRate: 1e-2,
  },
  {
    name: "attention, 28x28, read 2, write 5",
    model: { ...PAPER_MNIST, T: 5, nZ: 7, encSize: 32, decSize: 40 },
    batch: 8,
    steps: 5,
    learningRate: 1e-2,
  },
  {
    name: "no attention, 28x28",
    model: { ...PAPER_MNIST, attention: false, T: 3, nZ: 6, encSize: 20, decSize: 16 },
    batch: 5,
    steps: 5,
    learningRate: 1e-2,
  },
];

/** What one case records per step. */
export interface StepRecord {
  loss: number;
  lossX: number;
  lossZ: number;
  globalNorm: number;
  klPerStep: number[];
}

/** Runs a case from seed 7 on the current backend and returns each step's numbers. */
export function runCase(c: EquivalenceCase, impl: "auto" | "fused" | "tape" = "auto"): StepRecord[] {
  const streams = splitSeed(7);
  const params = createParams(c.model, streams.init);
  const adam = new Adam(params, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
  const D = c.model.A * c.model.B;
  const u = new RandomStream("equivalence-x", 11).uniform(c.batch * D);
  const x = tf.tensor2d(Float32Array.from(u, (v) => (v < 0.35 ? 1 : 0)), [c.batch, D]);
  const out: StepRecord[] = [];
  try {
    for (let s = 0; s < c.steps; s++) {
      const eps = drawEpsilon(c.model, c.batch, streams.epsilon);
      const r = trainStep(c.model, params, adam, x, eps, {
        learningRate: c.learningRate,
        clipNorm: 10,
        stats: true,
        impl,
      });
      eps.dispose();
      out.push({
        loss: r.loss,
        lossX: r.lossX,
        lossZ: r.lossZ,
        globalNorm: r.globalNormBefore,
        klPerStep: r.klPerStep!,
      });
    }
  } finally {
    x.dispose();
    adam.dispose();
    for (const v of Object.values(params)) v.dispose();
  }
  return out;
}
