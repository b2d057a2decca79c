/**
 * Samples for reports: a grid of images generated from the prior (eqs 13-16) and drawing sequences
 * (every step's canvas with its attention boxes), as compact JSON (`samples.json`).
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { DrawConfig } from "../config/model.ts";
import { generate, reconstruct, type Sequence } from "../draw/model.ts";
import type { DrawParams } from "../draw/params.ts";
import type { DrawingSequence, Samples } from "../record/types.ts";
import type { RandomStream } from "../random.ts";

/** Rounds to 3 decimals: samples are for display, and this keeps samples.json small. */
function compact(a: Float32Array): number[] {
  return Array.from(a, (v) => Math.round(v * 1000) / 1000);
}

function toRecord(
  cfg: DrawConfig,
  seq: Sequence,
  i: number,
  kind: "prior" | "reconstruction",
): DrawingSequence {
  const out: DrawingSequence = {
    A: cfg.A,
    B: cfg.B,
    kind,
    canvases: seq.canvases.map((step) => compact(step[i])),
  };
  if (seq.write) out.write = seq.write.map((step) => ({ ...step[i] }));
  if (seq.read) out.read = seq.read.map((step) => ({ ...step[i] }));
  return out;
}

/**
 * Generates `gridSize` prior samples (the first `sequences` of them also as drawing sequences) and
 * reconstruction sequences of the first `reconstructions` rows of `inputs`.
 */
export async function makeSamples(
  cfg: DrawConfig,
  params: DrawParams,
  stream: RandomStream,
  step: number,
  inputs: Float32Array,
  opts: { gridSize?: number; sequences?: number; reconstructions?: number } = {},
): Promise<Samples> {
  const gridSize = opts.gridSize ?? 36;
  const nSeq = Math.min(opts.sequences ?? 2, gridSize);
  const nRec = opts.reconstructions ?? 2;
  const prior = await generate(cfg, params, gridSize, stream);
  const last = prior.canvases[prior.canvases.length - 1];
  const samples: Samples = { step, grid: last.map(compact), sequences: [] };
  for (let i = 0; i < nSeq; i++) samples.sequences.push(toRecord(cfg, prior, i, "prior"));
  const D = cfg.A * cfg.B;
  const n = Math.min(nRec, Math.floor(inputs.length / D));
  if (n > 0) {
    const x = tf.tensor2d(inputs.subarray(0, n * D), [n, D]);
    const rec = await reconstruct(cfg, params, x, stream);
    x.dispose();
    for (let i = 0; i < n; i++) {
      samples.sequences.push({
        ...toRecord(cfg, rec, i, "reconstruction"),
        input: compact(inputs.subarray(i * D, (i + 1) * D)),
      });
    }
  }
  return samples;
}
