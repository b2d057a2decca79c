/**
 * `deno task train [options]`: trains one run from a model preset plus flags and writes its records.
 * The experiment runner uses the same trainer (lib/train/run.ts).
 * @module
 */
import { parseArgs } from "@std/cli";
import { initBackend, parseBackend, setWasmThreads } from "../backend.ts";
import type { DrawConfig } from "../config/model.ts";
import { runIdFor } from "../config/runid.ts";
import { threadsProblem } from "../kernels/wasm/threads.ts";
import { type RunConfig, runConfigFromPreset, type TrainConfig } from "../config/run.ts";

/** Usage text. */
export const TRAIN_USAGE = `Usage: deno task train [options]

Model:    --preset NAME (paper | paper-no-attention | small; default small)  --T N  --nz N
          --hidden N (both LSTMs)  --enc-size N  --dec-size N  --attention | --no-attention
          --read-n N  --write-n N  --read-init cover|zero  --write-init cover|zero
Training: --batch N  --lr X  --clip X (0 = none)  --epochs X  --steps N  --minutes X  --seed N (>= 1)
          --eval-every N  --valid-limit N  --test-limit N  --train-limit N  --eval-samples S  --iwae-k K
          --log-every N  --checkpoint-every N  --lr-decay-rate X --lr-decay-steps N
Data:     --dataset binarized-mnist|mnist  --binarize dynamic|threshold  --fixtures
          --data-dir DIR (searched first; default REDRAW_DATA_DIR, else the cache; binarized MNIST files
          not found there come from the copy shipped in data/)
          --download (fetch missing files from the canonical URLs, hash-checked)
Run:      --backend auto|tensorflow|webgpu|wasm|cpu (default wasm)  --threads N (wasm threads, default 1, at
          most the machine's cores; the numbers do not depend on it)  --run-dir DIR (default runs/train/<run-id>)
          --dry-run (print the resolved config and run id)  --help
Exit status: 0 completed, 1 failed (non-finite loss, bad data), 2 bad flags, 130 interrupted by SIGINT,
143 interrupted by SIGTERM (as \`deno task exp\`).`;

const INT_FLAGS: Record<string, [keyof DrawConfig | keyof TrainConfig, "model" | "train"]> = {
  T: ["T", "model"],
  nz: ["nZ", "model"],
  "enc-size": ["encSize", "model"],
  "dec-size": ["decSize", "model"],
  "read-n": ["readN", "model"],
  "write-n": ["writeN", "model"],
  batch: ["batchSize", "train"],
  "eval-every": ["evalEvery", "train"],
  "valid-limit": ["evalValidLimit", "train"],
  "test-limit": ["testLimit", "train"],
  "train-limit": ["trainLimit", "train"],
  "eval-samples": ["evalSamples", "train"],
  "iwae-k": ["iwaeK", "train"],
  "log-every": ["logEvery", "train"],
  "checkpoint-every": ["checkpointEvery", "train"],
  "lr-decay-steps": ["lrDecaySteps", "train"],
};
const REAL_FLAGS: Record<string, keyof TrainConfig> = {
  lr: "learningRate",
  clip: "clipNorm",
  "lr-decay-rate": "lrDecayRate",
};
const STRING_FLAGS = [
  ...Object.keys(INT_FLAGS),
  ...Object.keys(REAL_FLAGS),
  "preset",
  "hidden",
  "read-init",
  "write-init",
  "epochs",
  "steps",
  "minutes",
  "seed",
  "dataset",
  "binarize",
  "data-dir",
  "backend",
  "run-dir",
  "threads",
];
const BOOL_FLAGS = ["attention", "fixtures", "download", "dry-run", "help"];

/** A command-line error, naming the flag. */
export class FlagError extends Error {
  /** @param message names the flag and the expected value */
  constructor(message: string) {
    super(message);
    this.name = "FlagError";
  }
}

/** Parses a number flag, naming it in the error. */
export function numberFlag(flag: string, text: string, integer: boolean): number {
  const v = Number(text);
  if (text.trim() === "" || !Number.isFinite(v) || (integer && !Number.isInteger(v))) {
    throw new FlagError(
      `--${flag} must be ${integer ? "an integer" : "a number"}, got ${JSON.stringify(text)}`,
    );
  }
  return v;
}

/** `--threads N`: an integer from 1 to this machine's cores. */
function threadsFlag(text: string): number {
  const problem = threadsProblem(text);
  if (problem) throw new FlagError(`--threads ${JSON.stringify(text)}: ${problem}`);
  return Number(text);
}

/** Parsed `train` arguments. */
export interface TrainArgs {
  config: RunConfig;
  backend: ReturnType<typeof parseBackend>;
  threads: number;
  dataDir?: string;
  fixtures: boolean;
  download: boolean;
  runDir?: string;
  dryRun: boolean;
  help: boolean;
}

/** Parses `deno task train` flags into a validated run config. Throws {@linkcode FlagError}. */
export function parseTrainArgs(argv: readonly string[]): TrainArgs {
  const unknown: string[] = [];
  const a = parseArgs(argv, {
    string: STRING_FLAGS,
    boolean: BOOL_FLAGS,
    unknown: (arg) => (unknown.push(arg), false),
  });
  if (unknown.length) throw new FlagError(`Unknown flag ${JSON.stringify(unknown[0])} (see --help)`);
  if (a._.length) {
    throw new FlagError(`Unexpected argument ${JSON.stringify(a._[0])} (train takes only flags)`);
  }
  const model: Partial<DrawConfig> = {};
  const train: Partial<TrainConfig> = {};
  for (const [flag, [key, where]] of Object.entries(INT_FLAGS)) {
    if (typeof a[flag] !== "string") continue;
    const v = numberFlag(flag, a[flag] as string, true);
    if (where === "model") (model as Record<string, unknown>)[key] = v;
    else (train as Record<string, unknown>)[key] = v;
  }
  for (const [flag, key] of Object.entries(REAL_FLAGS)) {
    if (typeof a[flag] === "string") {
      (train as Record<string, unknown>)[key] = numberFlag(flag, a[flag] as string, false);
    }
  }
  if (typeof a.hidden === "string") model.encSize = model.decSize = numberFlag("hidden", a.hidden, true);
  if (typeof a.attention === "boolean" && argv.some((s) => /^--(no-)?attention$/.test(s))) {
    model.attention = a.attention;
  }
  if (typeof a["read-init"] === "string") model.readInit = a["read-init"] as DrawConfig["readInit"];
  if (typeof a["write-init"] === "string") model.writeInit = a["write-init"] as DrawConfig["writeInit"];
  const budget: TrainConfig["budget"] = {};
  if (typeof a.epochs === "string") budget.epochs = numberFlag("epochs", a.epochs, false);
  if (typeof a.steps === "string") budget.steps = numberFlag("steps", a.steps, true);
  if (typeof a.minutes === "string") budget.minutes = numberFlag("minutes", a.minutes, false);
  if (Object.keys(budget).length) train.budget = budget;
  if (typeof a.dataset === "string") train.dataset = a.dataset as TrainConfig["dataset"];
  if (typeof a.binarize === "string") train.binarize = a.binarize as TrainConfig["binarize"];
  const seed = typeof a.seed === "string" ? numberFlag("seed", a.seed, true) : 1;
  let config: RunConfig;
  try {
    config = runConfigFromPreset(typeof a.preset === "string" ? a.preset : "small", { model, train, seed });
  } catch (e) {
    throw new FlagError((e as Error).message);
  }
  return {
    config,
    backend: parseBackend(typeof a.backend === "string" ? a.backend : "wasm"),
    threads: typeof a.threads === "string" ? threadsFlag(a.threads) : 1,
    dataDir: typeof a["data-dir"] === "string" ? a["data-dir"] : undefined,
    fixtures: a.fixtures === true,
    download: a.download === true,
    runDir: typeof a["run-dir"] === "string" ? a["run-dir"] : undefined,
    dryRun: a["dry-run"] === true,
    help: a.help === true,
  };
}

/** Entry point; returns the exit status. */
export async function main(argv: readonly string[]): Promise<number> {
  let args: TrainArgs;
  try {
    args = parseTrainArgs(argv);
  } catch (e) {
    console.error(`train: ${(e as Error).message}`);
    return 2;
  }
  if (args.help) {
    console.log(TRAIN_USAGE);
    return 0;
  }
  const runId = runIdFor({}, args.config, args.fixtures ? "fixtures" : "full");
  const runDir = args.runDir ?? `runs/train/${runId}`;
  if (args.dryRun) {
    console.log(JSON.stringify({ runId, runDir, config: args.config }, null, 2));
    return 0;
  }
  if (Deno.permissions.querySync({ name: "write", path: runDir }).state !== "granted") {
    console.error(
      `train: --run-dir ${runDir}: this process may not write there (\`deno task train\` writes only in runs/)`,
    );
    return 2;
  }
  if (args.threads > 1 && (args.backend === "wasm" || args.backend === "auto")) setWasmThreads(args.threads);
  const backend = await initBackend(args.backend);
  console.error(`train: run ${runId} in ${runDir} on ${backend.name} (${backend.device})`);
  const controller = new AbortController();
  const caught: { signal: Deno.Signal } = { signal: "SIGINT" };
  const handlers = (["SIGINT", "SIGTERM"] as const).map((sig) =>
    [sig, () => {
      caught.signal = sig;
      controller.abort();
    }] as const
  );
  for (const [sig, h] of handlers) Deno.addSignalListener(sig, h);
  try {
    const { trainRun } = await import("./run.ts");
    const result = await trainRun({
      runDir,
      experiment: "train",
      cell: {},
      runId,
      config: args.config,
      dataDir: args.dataDir,
      useFixtures: args.fixtures,
      download: args.download,
      command: `deno task train ${argv.join(" ")}`.trim(),
      signal: controller.signal,
      onProgress: (p) => {
        if (p.phase === "train") {
          console.error(
            `step ${p.step}${p.totalSteps ? `/${p.totalSteps}` : ""} epoch ${p.epoch.toFixed(2)} loss ` +
              `${p.loss?.toFixed(2)} ${p.imagesPerSec?.toFixed(0) ?? "-"} img/s`,
          );
        } else if (p.phase === "eval") console.error("evaluating on the test set ...");
      },
    });
    console.log(JSON.stringify(result));
    if (result.status === "interrupted") return caught.signal === "SIGTERM" ? 143 : 130;
    return result.status === "completed" ? 0 : 1;
  } catch (e) {
    console.error(`train: ${(e as Error).message}`);
    return 1;
  } finally {
    for (const [sig, h] of handlers) Deno.removeSignalListener(sig, h);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
