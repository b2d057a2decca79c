/**
 * DRAW's trainable variables, named by role so that reports can group them (init/, enc/, post/, dec/,
 * read/, write/), and their seeded initialisation.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import type { DrawConfig } from "../config/model.ts";
import { coverBias } from "./attention.ts";
import type { RandomStream } from "../random.ts";

/** The model's variables, by name. */
export type DrawParams = Record<string, tf.Variable>;

/** Shapes of every variable for a config, in a fixed order (the checkpoint order). */
export function paramShapes(cfg: DrawConfig): Array<[string, number[]]> {
  const pixels = cfg.A * cfg.B;
  const readSize = cfg.attention ? 2 * cfg.readN * cfg.readN : 2 * pixels; // eq 27 vs eq 17
  const writeSize = cfg.attention ? cfg.writeN * cfg.writeN : pixels; //    eq 28 vs eq 18
  const shapes: Array<[string, number[]]> = [
    ["init/canvas", [1, pixels]], // c_0, learned
    ["init/hEnc", [1, cfg.encSize]], // h^enc_0, learned
    ["init/hDec", [1, cfg.decSize]], // h^dec_0, learned
    ["enc/W", [readSize + cfg.decSize + cfg.encSize, 4 * cfg.encSize]], // eq 5: input [r_t, h^dec_{t-1}]
    ["enc/b", [4 * cfg.encSize]],
    ["post/W", [cfg.encSize, 2 * cfg.nZ]], // eqs 1-2: (mu, log sigma)
    ["post/b", [2 * cfg.nZ]],
    ["dec/W", [cfg.nZ + cfg.decSize, 4 * cfg.decSize]], // eq 7
    ["dec/b", [4 * cfg.decSize]],
    ["write/W", [cfg.decSize, writeSize]], // eq 28 (or 18)
    ["write/b", [writeSize]],
  ];
  if (cfg.attention) {
    shapes.push(["read/attW", [cfg.decSize, 5]], ["read/attB", [5]]); // eq 21, read head
    shapes.push(["write/attW", [cfg.decSize, 5]], ["write/attB", [5]]); // eq 21, write head (own gamma)
  }
  return shapes;
}

function glorotUniform(shape: number[], stream: RandomStream): Float32Array {
  const [fanIn, fanOut] = shape;
  const limit = Math.sqrt(6 / (fanIn + fanOut));
  const u = stream.uniform(fanIn * fanOut);
  for (let i = 0; i < u.length; i++) u[i] = (2 * u[i] - 1) * limit;
  return u;
}

/**
 * Initial values: Glorot-uniform weights (paper: not given; the Keras/TF default), zero biases except the
 * LSTM forget gate (+1, Jozefowicz et al. 2015) and the attention heads (see `cfg.readInit`, `cfg.writeInit`), zero
 * learned initial states.
 */
export function initialValues(cfg: DrawConfig, stream: RandomStream): Map<string, Float32Array> {
  const values = new Map<string, Float32Array>();
  for (const [name, shape] of paramShapes(cfg)) {
    const size = shape.reduce((a, b) => a * b, 1);
    let v: Float32Array;
    if (name.endsWith("/W") || name.endsWith("/attW")) v = glorotUniform(shape, stream);
    else v = new Float32Array(size);
    if (name === "enc/b" || name === "dec/b") {
      const H = size / 4;
      v.fill(1, H, 2 * H); // forget gate (order i, f, o, g)
    }
    if (cfg.readInit === "cover" && name === "read/attB") v.set(coverBias(cfg.readN, cfg.A, cfg.B));
    if (cfg.writeInit === "cover" && name === "write/attB") v.set(coverBias(cfg.writeN, cfg.A, cfg.B));
    values.set(name, v);
  }
  return values;
}

/**
 * Creates the model's variables from the `init` stream.
 * @example
 * ```ts
 * import { MODEL_PRESETS } from "../config/model.ts";
 * import { splitSeed } from "../random.ts";
 * const params = createParams(MODEL_PRESETS.small, splitSeed(1).init);
 * ```
 */
export function createParams(cfg: DrawConfig, stream: RandomStream): DrawParams {
  const values = initialValues(cfg, stream);
  const params: DrawParams = {};
  for (const [name, shape] of paramShapes(cfg)) {
    // tfjs variable names are global; the map key is the name, the tfjs name stays auto-generated.
    const init = tf.tensor(values.get(name)!, shape);
    params[name] = tf.variable(init, true);
    init.dispose();
  }
  return params;
}

/** Disposes every variable. */
export function disposeParams(params: DrawParams): void {
  for (const v of Object.values(params)) v.dispose();
}
