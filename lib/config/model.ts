/**
 * DRAW model configuration: the paper's Table 3 MNIST values as the `paper` preset, and validation.
 *
 * Configuration layer: no tfjs. Experiment files and validators use it.
 * @module
 */
import { PAPER_TABLE3_MNIST as TABLE3 } from "./paper.ts";

/**
 * How an attention head's output bias is initialised: "cover" (the first patch spans the whole image) or
 * "zero" (a zero bias: centred, sigma = 1 pixel, the eq 24 stride, gamma = 1).
 */
export type AttentionInit = "cover" | "zero";

/** A DRAW model's shape. Names follow the paper. */
export interface DrawConfig {
  /** Image width A (pixels). */
  A: number;
  /** Image height B (pixels). */
  B: number;
  /** Number of glimpses T. */
  T: number;
  /** Latent size per step (n_z in the paper's text). */
  nZ: number;
  /** Encoder LSTM size. */
  encSize: number;
  /** Decoder LSTM size. */
  decSize: number;
  /** Gaussian attention (eqs 19-29) when true, eqs 17-18 otherwise. */
  attention: boolean;
  /** Read grid N (N x N patch per image, two patches per read: x and x-hat). */
  readN: number;
  /** Write grid N (N x N patch written per step). */
  writeN: number;
  /**
   * The read head's bias. "cover": the first read patch covers the whole image (section 3.2: "the grid of
   * filters covers the whole image"); with a 2x2 read, "zero" sees four nearly blank corner pixels and the
   * posterior collapses (KL -> 0, ~208 nats), which is why "cover" is the default.
   */
  readInit: AttentionInit;
  /**
   * The write head's bias. The read head's reason does not apply to writing; "cover" spreads each write
   * thinly over the canvas (peak ~0.02 per patch entry against ~0.12 with "zero"). The default is chosen
   * by the `recipe` experiment (see README, "Interpretations").
   */
  writeInit: AttentionInit;
}

/**
 * Table 3, MNIST model of Gregor et al. 2015 (`PAPER_TABLE3_MNIST`): T=64, LSTM 256, z 100, read 2x2,
 * write 5x5, 28x28 images, with attention.
 */
export const PAPER_MNIST: Readonly<DrawConfig> = Object.freeze({
  A: TABLE3.A,
  B: TABLE3.B,
  T: TABLE3.T,
  nZ: TABLE3.nZ,
  encSize: TABLE3.encSize,
  decSize: TABLE3.decSize,
  attention: true,
  readN: TABLE3.readN,
  writeN: TABLE3.writeN,
  readInit: "cover", // paper: not specified; section 3.2 describes a first read covering the image
  writeInit: "cover", // paper: not specified; see the `recipe` experiment
});

/** Table 2's "DRAW without attention": same sizes, eqs 17-18 instead of 19-29. */
export const PAPER_MNIST_NO_ATTENTION: Readonly<DrawConfig> = Object.freeze({
  ...PAPER_MNIST,
  attention: false,
});

/** Named model presets. */
export const MODEL_PRESETS: Readonly<Record<string, Readonly<DrawConfig>>> = Object.freeze({
  paper: PAPER_MNIST,
  "paper-no-attention": PAPER_MNIST_NO_ATTENTION,
  // Small config used by tests and the "config a" benchmark (T=10, n_z=10).
  small: Object.freeze({ ...PAPER_MNIST, T: 10, nZ: 10 }),
});

/** The error raised for an impossible configuration. */
export class ConfigError extends Error {
  /** @param message says which field is wrong and why */
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

function posInt(cfg: Record<string, unknown>, key: string, max: number, where: string): void {
  const v = cfg[key];
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > max) {
    throw new ConfigError(`${where}.${key} must be an integer from 1 to ${max}, got ${JSON.stringify(v)}`);
  }
}

/**
 * `cfg` as an object holding exactly the `known` settings; throws {@linkcode ConfigError} naming an unknown
 * or missing one (`what` names the kind: "model setting", "training setting").
 */
export function settingsObject(
  cfg: unknown,
  where: string,
  known: readonly string[],
  what: string,
): Record<string, unknown> {
  if (typeof cfg !== "object" || cfg === null || Array.isArray(cfg)) {
    throw new ConfigError(`${where} must be an object, got ${JSON.stringify(cfg)}`);
  }
  const c = cfg as Record<string, unknown>;
  for (const k of Object.keys(c)) {
    if (!known.includes(k)) {
      throw new ConfigError(`${where}.${k} is not a ${what} (known: ${known.join(", ")})`);
    }
  }
  for (const k of known) if (!(k in c)) throw new ConfigError(`${where}.${k} is missing`);
  return c;
}

/**
 * Checks a model config and returns it typed. Throws {@linkcode ConfigError} naming the field.
 * @example
 * ```ts
 * try {
 *   validateDrawConfig({ ...PAPER_MNIST, writeN: 40 });
 * } catch (e) {
 *   (e as Error).message; // "model.writeN ... larger than the image ..."
 * }
 * ```
 */
export function validateDrawConfig(cfg: unknown, where = "model"): DrawConfig {
  const c = settingsObject(cfg, where, Object.keys(PAPER_MNIST), "model setting");
  posInt(c, "A", 4096, where);
  posInt(c, "B", 4096, where);
  posInt(c, "T", 10_000, where);
  posInt(c, "nZ", 100_000, where);
  posInt(c, "encSize", 100_000, where);
  posInt(c, "decSize", 100_000, where);
  posInt(c, "readN", 4096, where);
  posInt(c, "writeN", 4096, where);
  if (typeof c.attention !== "boolean") {
    throw new ConfigError(`${where}.attention must be true or false, got ${JSON.stringify(c.attention)}`);
  }
  for (const k of ["readInit", "writeInit"]) {
    if (c[k] !== "cover" && c[k] !== "zero") {
      throw new ConfigError(`${where}.${k} must be "cover" or "zero", got ${JSON.stringify(c[k])}`);
    }
  }
  const side = Math.min(c.A as number, c.B as number);
  if ((c.readN as number) > side) {
    throw new ConfigError(`${where}.readN ${c.readN} is larger than the image (${c.A}x${c.B})`);
  }
  if ((c.writeN as number) > side) {
    throw new ConfigError(`${where}.writeN ${c.writeN} is larger than the image (${c.A}x${c.B})`);
  }
  return c as unknown as DrawConfig;
}
