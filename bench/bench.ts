/**
 * `deno task bench`: training and evaluation speed of DRAW configs a, b, c on each tfjs backend.
 *
 * For every (config, backend): training images/s (median of per-step times after warm-up, with min/max and
 * quartiles), evaluation images/s of the test bound (forward only, large batch), tfjs kernels per training
 * step, wasm heap size and process RSS. Writes `bench/results/<YYYY-MM-DD>-<host>.json` (merged with an
 * existing file of the same day and host: runs with the same config, backend, batch, threads and impl are
 * replaced) and prints a Markdown table, or the JSON with `--json`.
 *
 * Usage: deno task bench [--configs a,b,c] [--backends wasm,cpu,webgpu] [--batch 64] [--steps 20]
 *        [--warmup 3] [--threads 1] [--impl auto|fused|tape] [--eval-images N] [--eval-batch 500]
 *        [--reference FILE] [--json] [--out DIR] [--no-write]
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { parseArgs } from "@std/cli";
import { initBackend, setWasmThreads, stopWasmThreads, webgpuAdapter } from "../lib/backend.ts";
import type { BackendRequest } from "../lib/config/run.ts";
import {
  type DrawConfig,
  MODEL_PRESETS,
  PAPER_MNIST,
  PAPER_MNIST_NO_ATTENTION,
} from "../lib/config/model.ts";
import { createParams, disposeParams } from "../lib/draw/params.ts";
import { drawEpsilon } from "../lib/draw/model.ts";
import { evaluate } from "../lib/eval/bound.ts";
import { RandomStream, splitSeed } from "../lib/random.ts";
import { Adam } from "../lib/train/adam.ts";
import { trainStep, trainStepAsync } from "../lib/train/step.ts";
import { dispatchCount } from "../lib/kernels/webgpu/mod.ts";
import { gpuBytesHeld } from "../lib/webgpu.ts";
import {
  type BenchFailure,
  type BenchRun,
  kernelTable,
  kernelTimes,
  type MachineInfo,
  markdownTable,
  mergeResults,
  parseReference,
  quantiles,
  type ReferenceRun,
  type Results,
} from "./report.ts";

/** The benchmark configs a, b and c (batch is a separate option). */
export const BENCH_CONFIGS: Readonly<Record<string, Readonly<DrawConfig>>> = Object.freeze({
  a: MODEL_PRESETS.small, // T=10, nZ=10, read 2, write 5, LSTM 256
  b: PAPER_MNIST, //          T=64, nZ=100, read 2, write 5, LSTM 256
  c: PAPER_MNIST_NO_ATTENTION,
});

const HELP = `deno task bench [options]
  --configs a,b,c        configs to run (a: T=10 nZ=10; b: T=64 nZ=100; c: b without attention)
  --backends LIST        wasm, cpu, webgpu (default: wasm, plus webgpu when a hardware adapter exists)
  --batch N              training batch size (default 64)
  --steps N              timed training steps, at least 20 recommended (default 20)
  --warmup N             untimed steps first (default 3)
  --threads N            tfjs-wasm threads (default 1; >1 uses the multithreaded wasm build)
  --impl auto|fused|tape gradient implementation (default auto: fused kernels on wasm and cpu)
  --eval-images N        images in the evaluation timing (default 10000 for a, 1000 for b and c)
  --eval-batch N         evaluation batch (default 500)
  --reference FILE       JSON lines from torch_draw.py runs (see bench/README.md) to store as "reference"
  --label TEXT           tag stored with each run (runs with different labels are kept side by side)
  --profile              also print each run's time per tfjs kernel (always stored as kernelMs)
  --json                 print the results JSON instead of the table
  --out DIR              results folder (default bench/results)
  --no-write             do not write the results file`;

function fail(message: string): never {
  console.error(message);
  Deno.exit(2);
}

function positiveInt(v: unknown, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) fail(`${flag} must be a positive integer, got ${JSON.stringify(v)}`);
  return n;
}

async function readText(path: string): Promise<string | null> {
  try {
    return await Deno.readTextFile(path);
  } catch {
    return null;
  }
}

async function git(args: string[]): Promise<string | null> {
  try {
    const out = await new Deno.Command("git", { args, stdout: "piped", stderr: "null" }).output();
    return out.success ? new TextDecoder().decode(out.stdout).trim() : null;
  } catch {
    return null;
  }
}

/** Peak resident set size in bytes (VmHWM; Deno gates /proc behind --allow-all), or null. */
async function peakRss(): Promise<number | null> {
  const status = await readText("/proc/self/status");
  const m = status && /VmHWM:\s+(\d+) kB/.exec(status);
  return m ? Number(m[1]) * 1024 : null;
}

/** The CPU model from node:os (needs `--allow-sys=cpus`) or /proc/cpuinfo (needs --allow-all), else null. */
async function cpuModel(): Promise<string | null> {
  try {
    const os = (await import("node:os")).default;
    const m = os.cpus()[0]?.model;
    if (m) return m;
  } catch { /* no permission */ }
  const cpuinfo = await readText("/proc/cpuinfo");
  const m = cpuinfo && /model name\s*:\s*(.+)/.exec(cpuinfo);
  return m ? m[1].trim() : null;
}

function loadavg(): number[] {
  try {
    return Deno.loadavg().map((v) => Math.round(v * 100) / 100);
  } catch {
    return [];
  }
}

async function machineInfo(): Promise<MachineInfo> {
  const model = await cpuModel();
  let memory: number | null = null;
  try {
    memory = Deno.systemMemoryInfo().total;
  } catch { /* no permission */ }
  let host = "unknown";
  try {
    host = Deno.hostname();
  } catch { /* no permission */ }
  let os = Deno.build.os as string;
  try {
    os = `${Deno.build.os} ${Deno.osRelease()}`;
  } catch { /* no permission */ }
  const commit = await git(["rev-parse", "HEAD"]);
  const dirty = await git(["status", "--porcelain", "--untracked-files=no"]);
  return {
    host,
    cpuModel: model ?? "unknown",
    cores: navigator.hardwareConcurrency,
    memoryBytes: memory,
    os,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    tfjs: tf.version.tfjs,
    git: commit ? { commit, dirty: dirty !== null && dirty.length > 0 } : null,
  };
}

/** `n` synthetic binary images, each pixel 1 with probability 1/2 (as torch_draw.py --synthetic). */
function syntheticImages(n: number, D: number, seed: number): Float32Array {
  const u = new RandomStream("bench-images", seed).uniform(n * D);
  for (let i = 0; i < u.length; i++) u[i] = u[i] < 0.5 ? 1 : 0;
  return u;
}

function wasmHeapBytes(): number | null {
  // deno-lint-ignore no-explicit-any
  const b = tf.backend() as any;
  const mem = b?.wasm?.wasmMemory?.buffer ?? b?.wasm?.HEAPU8?.buffer;
  return mem ? mem.byteLength : null;
}

interface RunOptions {
  batch: number;
  steps: number;
  warmup: number;
  evalImages: number;
  evalBatch: number;
  impl: "auto" | "fused" | "tape";
  threads: number;
  label?: string;
}

/** True when the webgpu device can time dispatches (tfjs's profile then holds GPU times). */
function timestampQueries(): boolean {
  const device = (tf.backend() as unknown as { device?: GPUDevice }).device;
  return device?.features.has("timestamp-query") ?? false;
}

function sumMs(kernels: Array<{ kernelTimeMs: unknown }>): number {
  return kernels.reduce((s, k) => s + (typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : 0), 0);
}

/** Times training and evaluation of one config on the active backend. */
async function benchOne(name: string, cfg: DrawConfig, backend: string, o: RunOptions): Promise<BenchRun> {
  const D = cfg.A * cfg.B;
  const streams = splitSeed(1);
  const params = createParams(cfg, streams.init);
  const adam = new Adam(params, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
  const pool = 8;
  const images = syntheticImages(pool * o.batch, D, 1);
  const loadBefore = loadavg();
  // webgpu in Deno can only read back asynchronously; the other backends keep the synchronous step (the
  // same bits either way) so that their timings stay comparable with earlier results.
  const driver = backend === "webgpu" ? trainStepAsync : trainStep;
  const step = async (i: number) => {
    const k = i % pool;
    const x = tf.tensor2d(images.subarray(k * o.batch * D, (k + 1) * o.batch * D), [o.batch, D]);
    const eps = drawEpsilon(cfg, o.batch, streams.epsilon);
    try {
      return await driver(cfg, params, adam, x, eps, { learningRate: 1e-3, clipNorm: 10, impl: o.impl });
    } finally {
      tf.dispose([x, eps]);
    }
  };
  try {
    for (let i = 0; i < o.warmup; i++) await step(i);
    const times: number[] = [];
    let lastLoss = NaN;
    let rssMax = Deno.memoryUsage().rss;
    let gpuMax = 0;
    for (let i = 0; i < o.steps; i++) {
      const t0 = performance.now();
      lastLoss = (await step(o.warmup + i)).loss;
      times.push(performance.now() - t0);
      rssMax = Math.max(rssMax, Deno.memoryUsage().rss);
      gpuMax = Math.max(gpuMax, gpuBytesHeld());
    }
    // On webgpu a tfjs kernel may be several dispatches or none (a reshape): count the dispatches themselves.
    const d0 = dispatchCount();
    await step(0);
    const dispatches = dispatchCount() - d0;
    const q = quantiles(times);
    const profile = await tf.profile(async () => {
      await step(0);
    });
    // Evaluation: the test bound's forward pass (one sample per image), as lib/eval/bound.ts runs it.
    const evalImages = syntheticImages(o.evalImages, D, 2);
    const e0 = performance.now();
    await evaluate(cfg, params, evalImages, o.evalImages, new RandomStream("bench-eval", 3), {
      batchSize: o.evalBatch,
      impl: o.impl,
    });
    const evalSeconds = (performance.now() - e0) / 1000;
    const mem = Deno.memoryUsage();
    rssMax = Math.max(rssMax, mem.rss);
    return {
      config: name,
      backend,
      batch: o.batch,
      threads: backend === "wasm" ? o.threads : null,
      impl: o.impl,
      ...(o.label ? { label: o.label } : {}),
      imagesPerSec: o.batch / (q.median / 1000),
      msPerStep: q.median,
      msPerStepMin: q.min,
      msPerStepMax: q.max,
      msPerStepP25: q.p25,
      msPerStepP75: q.p75,
      timedSteps: o.steps,
      warmupSteps: o.warmup,
      kernelsPerStep: backend === "webgpu" ? dispatches : profile.kernels.length,
      peakGpuBytes: backend === "webgpu" ? gpuMax : null,
      gpuMsPerStep: backend === "webgpu" && timestampQueries() ? sumMs(profile.kernels) : null,
      kernelMs: kernelTimes(profile.kernels),
      evalImages: o.evalImages,
      evalBatch: o.evalBatch,
      evalSeconds,
      evalImagesPerSec: o.evalImages / evalSeconds,
      wasmHeapBytes: backend === "wasm" ? wasmHeapBytes() : null,
      rssBytes: mem.rss,
      maxSampledRssBytes: rssMax,
      peakRssBytes: await peakRss(),
      loadavgBefore: loadBefore,
      loadavgAfter: loadavg(),
      finalLoss: lastLoss,
      model: { ...cfg },
      at: new Date().toISOString(),
    };
  } finally {
    adam.dispose();
    disposeParams(params);
  }
}

async function main(): Promise<void> {
  const a = parseArgs(Deno.args, {
    string: [
      "configs",
      "backends",
      "batch",
      "steps",
      "warmup",
      "threads",
      "impl",
      "eval-images",
      "eval-batch",
      "out",
      "reference",
      "label",
    ],
    boolean: ["json", "help", "write", "profile"],
    default: {
      configs: "a,b,c",
      batch: "64",
      steps: "20",
      warmup: "3",
      threads: "1",
      impl: "auto",
      "eval-batch": "500",
      out: new URL("./results", import.meta.url).pathname,
      write: true,
    },
    alias: { h: "help" },
  });
  if (a.help) {
    console.log(HELP);
    return;
  }
  const configs = String(a.configs).split(",").map((s) => s.trim()).filter((s) => s);
  for (const c of configs) {
    if (!(c in BENCH_CONFIGS)) fail(`--configs: unknown config ${JSON.stringify(c)} (known: a, b, c)`);
  }
  const impl = String(a.impl);
  if (!["auto", "fused", "tape"].includes(impl)) {
    fail(`--impl must be auto, fused or tape, got ${JSON.stringify(impl)}`);
  }
  const threads = positiveInt(a.threads, "--threads");
  let backends: string[];
  if (a.backends) {
    backends = String(a.backends).split(",").map((s) => s.trim()).filter((s) => s);
    for (const b of backends) {
      if (!["wasm", "cpu", "webgpu"].includes(b)) {
        fail(`--backends: unknown backend ${JSON.stringify(b)} (known: wasm, cpu, webgpu)`);
      }
    }
  } else {
    const gpu = await webgpuAdapter();
    backends = gpu && !gpu.software ? ["wasm", "webgpu"] : ["wasm"];
  }
  const base: Omit<RunOptions, "evalImages"> = {
    batch: positiveInt(a.batch, "--batch"),
    steps: positiveInt(a.steps, "--steps"),
    warmup: Number(a.warmup) >= 0
      ? Math.floor(Number(a.warmup))
      : fail(`--warmup must be >= 0, got ${a.warmup}`),
    evalBatch: positiveInt(a["eval-batch"], "--eval-batch"),
    impl: impl as RunOptions["impl"],
    threads,
    label: a.label ? String(a.label) : undefined,
  };
  if (threads > 1) setWasmThreads(threads);
  const machine = await machineInfo();
  const runs: BenchRun[] = [];
  const failures: BenchFailure[] = [];
  for (const backend of backends) {
    let device = "";
    try {
      device = (await initBackend(backend as BackendRequest)).device;
    } catch (e) {
      const error = `backend did not initialise: ${(e as Error).message}`;
      console.error(`bench: ${backend} ${error}`);
      for (const config of configs) failures.push({ config, backend, error, at: new Date().toISOString() });
      continue;
    }
    for (const name of configs) {
      const evalImages = a["eval-images"]
        ? positiveInt(a["eval-images"], "--eval-images")
        : name === "a"
        ? 10_000
        : 1_000;
      if (!a.json) console.error(`bench: config ${name} on ${device}...`);
      try {
        const run = await benchOne(name, BENCH_CONFIGS[name] as DrawConfig, backend, { ...base, evalImages });
        run.device = device;
        runs.push(run);
        if (a.profile && !a.json) console.log(kernelTable(run) + "\n");
      } catch (e) {
        const error = (e as Error).message.split("\n")[0];
        console.error(`bench: config ${name} on ${backend} failed: ${error}`);
        failures.push({ config: name, backend, error, at: new Date().toISOString() });
      }
    }
  }
  let reference: ReferenceRun[] = [];
  if (a.reference) {
    const text = await readText(String(a.reference));
    if (text === null) fail(`--reference: cannot read ${a.reference}`);
    reference = parseReference(text);
  }
  const date = new Date().toISOString().slice(0, 10);
  const file = `${a.out}/${date}-${machine.host.replace(/[^A-Za-z0-9._-]/g, "_")}.json`;
  const previous = await readText(file);
  const results = mergeResults(previous ? JSON.parse(previous) as Results : null, {
    machine,
    runs,
    reference,
    failures,
  });
  if (a.write) {
    await Deno.mkdir(String(a.out), { recursive: true });
    await Deno.writeTextFile(file, JSON.stringify(results, null, 2) + "\n");
  }
  if (a.json) console.log(JSON.stringify(results, null, 2));
  else {
    console.log(markdownTable(results));
    if (a.write) console.log(`\nwritten: ${file}`);
  }
}

if (import.meta.main) {
  try {
    await main();
  } finally {
    stopWasmThreads();
  }
  // The multithreaded wasm build's workers keep the process alive: exit explicitly.
  Deno.exit(0);
}
