/**
 * Times redraw's matrix product (`gemm()` of lib/kernels/wasm/ops.ts, the kernel behind every layer of the fused
 * training step on wasm) on the shapes of DRAW's configs a and c, and prints GFLOP/s per shape. This is how
 * the micro-kernel numbers in bench/README.md and lib/kernels/README.md were measured.
 *
 * ```
 * deno run -P=bench bench/gemm.ts [--threads 2] [--rounds 5]
 * ```
 *
 * Each shape runs enough repetitions for ~3 GFLOP per round; the median round is reported. Machine load moves
 * these numbers by several percent: compare kernels back to back.
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "@std/cli";
import { initBackend, setWasmThreads, stopWasmThreads } from "../lib/backend.ts";
import { gemm, packB } from "../lib/kernels/wasm/ops.ts";

/** `[label, M, K, N]`: products of one training step at batch 64 (T x batch = 640 for a, 4096 for c). */
export const GEMM_SHAPES: Array<[string, number, number, number]> = [
  ["a: encoder forward", 64, 520, 1024],
  ["a: decoder forward", 64, 266, 1024],
  ["a: encoder input gradient", 64, 1024, 520],
  ["a: encoder weight gradient", 520, 640, 1024],
  ["c: encoder forward", 64, 1296, 1024],
  ["c: encoder input gradient", 64, 1024, 1296],
  ["c: encoder weight gradient", 1296, 4096, 1024],
  ["c: write forward", 64, 256, 784],
];

if (import.meta.main) {
  const args = parseArgs(Deno.args, {
    string: ["threads", "rounds"],
    default: { threads: "1", rounds: "5" },
  });
  const threads = Number(args.threads), rounds = Number(args.rounds);
  if (!Number.isInteger(threads) || threads < 1) {
    throw new Error(`--threads must be a positive integer, got "${args.threads}"`);
  }
  if (!Number.isInteger(rounds) || rounds < 1) {
    throw new Error(`--rounds must be a positive integer, got "${args.rounds}"`);
  }
  if (threads > 1) setWasmThreads(threads);
  await initBackend("wasm");
  console.log(`| product | M x K x N | ms | GFLOP/s (${threads} thread${threads > 1 ? "s" : ""}) |`);
  console.log("|---|---|---:|---:|");
  for (const [label, M, K, N] of GEMM_SHAPES) {
    const a = tf.randomUniform([M, K], -1, 1, "float32", 1) as tf.Tensor2D;
    const b = tf.randomUniform([K, N], -1, 1, "float32", 2) as tf.Tensor2D;
    const p = packB(b);
    const reps = Math.max(5, Math.round(3e9 / (2 * M * K * N)));
    for (let i = 0; i < 3; i++) gemm(a, p).dispose();
    const times: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const t0 = performance.now();
      for (let i = 0; i < reps; i++) gemm(a, p).dispose();
      times.push((performance.now() - t0) / reps);
    }
    times.sort((x, y) => x - y);
    const ms = times[Math.floor(rounds / 2)];
    console.log(
      `| ${label} | ${M}x${K}x${N} | ${ms.toFixed(3)} | ${(2 * M * K * N / ms / 1e6).toFixed(1)} |`,
    );
    tf.dispose([a, b, p.data]);
  }
  stopWasmThreads();
}
