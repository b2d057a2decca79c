/**
 * Helpers shared by the record tests: a temp folder and a complete, valid manifest.
 * @module
 */
import { runConfigFromPreset } from "../config/run.ts";
import { splitSeed, STREAM_NAMES } from "../random.ts";
import type { ManifestInit } from "./manifest.ts";

/** Runs `fn` with a fresh temp folder that is removed afterwards. */
export async function withTempDir(
  fn: (dir: string) => Promise<void>,
  prefix = "redraw-record-",
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A complete manifest init as the trainer would build it (small model, seed 3). */
export function sampleManifestInit(runId = "abc123"): ManifestInit {
  const config = runConfigFromPreset("small", { seed: 3, train: { budget: { steps: 20 } } });
  const streams = splitSeed(config.seed);
  return {
    runId,
    experiment: "smoke",
    cell: { attention: true },
    config,
    seeds: { root: config.seed, streams: Object.fromEntries(STREAM_NAMES.map((n) => [n, streams[n].seed])) },
    dataset: {
      name: "binarized-mnist",
      splits: { train: 500, valid: 100, test: 100 },
      sha256: { "binarized_mnist_train.amat": "a".repeat(64) },
    },
    environment: {
      deno: "2.9.6",
      v8: "15.0",
      typescript: "6.0",
      tfjs: "4.22.0",
      backendRequested: "auto",
      backend: "wasm",
      device: "wasm simd, 1 thread",
      os: "linux 6.1",
      arch: "x86_64",
      cpuModel: "Test CPU",
      cores: 2,
      memoryBytes: 1 << 30,
      hostname: "testhost",
    },
    git: { commit: "0123456789abcdef0123456789abcdef01234567", dirty: false, diffFile: null },
    lockSha256: "b".repeat(64),
    command: "deno task train --preset small --seed 3",
  };
}
