/**
 * `deno task verify <run-dir> [--steps K]`: re-executes the first K steps of a recorded run from its
 * manifest (config, seeds, data folder) in a scratch folder and compares every recorded metric bit for bit.
 * @module
 */
import { WALL_CLOCK_FIELDS } from "../record/digest.ts";
import { parseArgs } from "@std/cli";
import { currentBackend, initBackend, parseBackend } from "../backend.ts";
import { readJsonl } from "../record/io.ts";
import { lockfileSha256, readManifest } from "../record/manifest.ts";
import type { EvalLine, GradientLine, Manifest, MetricLine } from "../record/types.ts";
import { FlagError, numberFlag } from "./cli.ts";

/** The usage text (`--help`). */
export const VERIFY_USAGE = `Usage: deno task verify <run-dir> [--steps K] [--data-dir DIR] [--backend B]

Re-executes the first K steps of the run in <run-dir> from its manifest (config, seeds, data folder) in a
scratch folder under runs/, and compares every recorded metric, gradient statistic and validation bound bit
for bit (timings excepted).

Options:
  --steps K        steps to re-execute (default: the recorded ones, at most 50)
  --data-dir DIR   dataset folder (default: the one recorded in the run's manifest; runs on the committed
                   fixtures use them again)
  --backend B      auto | tensorflow | webgpu | wasm | cpu (default: the recorded backend)
  -h, --help       this text

Exit status: 0 identical, 1 a difference (the first one is printed) or a run that cannot be read,
2 bad command line.`;

/** Where a re-execution first differs from the record. */
export interface Difference {
  file: string;
  step: number;
  field: string;
  recorded: unknown;
  recomputed: unknown;
}

/** Outcome of {@linkcode verifyRun}. */
export interface VerifyReport {
  identical: boolean;
  steps: number;
  /** Lines compared per file. */
  compared: Record<string, number>;
  firstDifference: Difference | null;
  /** Backend, version or lock-hash differences between the record and this execution. */
  warnings: string[];
}

function firstDiff(a: unknown, b: unknown, path: string): [string, unknown, unknown] | null {
  if (typeof a === "number" && typeof b === "number") {
    return Object.is(a, b) ? null : [path, a, b];
  }
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return [`${path}.length`, a.length, b.length];
    for (let i = 0; i < a.length; i++) {
      const d = firstDiff(a[i], b[i], `${path}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (a && b && typeof a === "object" && typeof b === "object") {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of [...keys].sort()) {
      if (WALL_CLOCK_FIELDS.has(k)) continue;
      const d = firstDiff(
        (a as Record<string, unknown>)[k],
        (b as Record<string, unknown>)[k],
        path ? `${path}.${k}` : k,
      );
      if (d) return d;
    }
    return null;
  }
  return Object.is(a, b) ? null : [path, a, b];
}

/**
 * Compares two sets of records line by line (steps <= `steps`), ignoring timing fields.
 * Exported for tests.
 */
export function compareLines(
  file: string,
  recorded: Array<{ step: number }>,
  recomputed: Array<{ step: number }>,
  steps: number,
): { compared: number; diff: Difference | null } {
  const rec = recorded.filter((l) => l.step <= steps);
  const re = recomputed.filter((l) => l.step <= steps);
  const n = Math.max(rec.length, re.length);
  for (let i = 0; i < n; i++) {
    if (!rec[i] || !re[i]) {
      const step = (rec[i] ?? re[i]).step;
      return {
        compared: i,
        diff: { file, step, field: "(line)", recorded: rec[i] ?? null, recomputed: re[i] ?? null },
      };
    }
    const d = firstDiff(rec[i], re[i], "");
    if (d) {
      return {
        compared: i,
        diff: { file, step: rec[i].step, field: d[0], recorded: d[1], recomputed: d[2] },
      };
    }
  }
  return { compared: n, diff: null };
}

/** The lines of a JSONL record; none for a missing file (a run verified before its first evaluation). */
async function lines<T>(path: string): Promise<T[]> {
  return (await readJsonl<T>(path, { missingOk: true })).lines;
}

/**
 * A fresh scratch folder in the project's runs folder (`runs/.verify-XXXX`): `deno task verify` runs with the
 * "train" permission set, which may write only there. Readers of runs/ skip dot-folders.
 */
async function scratchFolder(): Promise<string> {
  const runs = new URL("../../runs/", import.meta.url).pathname;
  await Deno.mkdir(runs, { recursive: true });
  return await Deno.makeTempDir({ dir: runs, prefix: ".verify-" });
}

/**
 * Re-executes the first `steps` steps of the run in `runDir` and compares metrics, gradient statistics and
 * evaluations. The backend defaults to the recorded one, the data folder to the manifest's `dataset.dir`.
 */
export async function verifyRun(
  runDir: string,
  opts: { steps?: number; dataDir?: string; scratchDir?: string } = {},
): Promise<VerifyReport> {
  const manifest: Manifest = await readManifest(runDir);
  const recordedMetrics = await lines<MetricLine>(`${runDir}/metrics.jsonl`);
  const lastRecorded = recordedMetrics.at(-1)?.step ?? 0;
  const steps = opts.steps ?? Math.min(lastRecorded, 50);
  if (steps < 1) throw new FlagError(`Run ${runDir} has no recorded steps to verify`);
  const warnings: string[] = [];
  const backend = currentBackend() ??
    await initBackend(parseBackend(manifest.environment.backend, "the recorded backend"));
  const env = manifest.environment;
  if (backend.name !== env.backend) {
    warnings.push(`backend differs: recorded ${env.backend}, now ${backend.name}`);
  }
  if (backend.tfjsVersion !== env.tfjs) {
    warnings.push(`tfjs differs: recorded ${env.tfjs}, now ${backend.tfjsVersion}`);
  }
  if (Deno.version.deno !== env.deno) {
    warnings.push(`Deno differs: recorded ${env.deno}, now ${Deno.version.deno}`);
  }
  const lock = await lockfileSha256(new URL("../../", import.meta.url).pathname);
  if (lock !== manifest.lockSha256) {
    warnings.push(`deno.lock differs: recorded ${manifest.lockSha256}, now ${lock}`);
  }
  const scratch = opts.scratchDir ?? await scratchFolder();
  try {
    const { trainRun } = await import("./run.ts");
    await trainRun({
      runDir: scratch,
      experiment: manifest.experiment,
      cell: manifest.cell,
      runId: manifest.runId,
      config: manifest.config,
      dataDir: opts.dataDir ?? manifest.dataset.dir,
      useFixtures: manifest.dataset.fixtures ?? false,
      command: `deno task verify ${runDir}`,
      maxSteps: steps,
    });
    const compared: Record<string, number> = {};
    let firstDifference: Difference | null = null;
    const pairs: Array<[string, Array<{ step: number }>, Array<{ step: number }>]> = [
      ["metrics.jsonl", recordedMetrics, await lines<MetricLine>(`${scratch}/metrics.jsonl`)],
      [
        "gradients.jsonl",
        await lines<GradientLine>(`${runDir}/gradients.jsonl`),
        await lines<GradientLine>(`${scratch}/gradients.jsonl`),
      ],
      [
        "eval.jsonl",
        (await lines<EvalLine>(`${runDir}/eval.jsonl`)).filter((l) => l.split === "valid"),
        (await lines<EvalLine>(`${scratch}/eval.jsonl`)).filter((l) => l.split === "valid"),
      ],
    ];
    for (const [file, rec, re] of pairs) {
      const effective = Math.min(steps, lastRecorded);
      const r = compareLines(file, rec, re, effective);
      compared[file] = r.compared;
      if (r.diff && !firstDifference) firstDifference = r.diff;
    }
    return { identical: firstDifference === null, steps, compared, firstDifference, warnings };
  } finally {
    if (!opts.scratchDir) await Deno.remove(scratch, { recursive: true }).catch(() => {});
  }
}

/** CLI entry: exit 0 when identical, 1 when a difference was found, 2 on bad flags. */
export async function main(argv: readonly string[]): Promise<number> {
  const unknown: string[] = [];
  try {
    let a;
    try {
      a = parseArgs(argv, {
        string: ["steps", "data-dir", "backend"],
        boolean: ["help"],
        alias: { h: "help" },
        unknown: (x) => (unknown.push(x), false),
      });
    } catch (e) {
      throw new FlagError((e as Error).message); // e.g. `Flag "--steps" needs a value`
    }
    if (unknown.length) throw new FlagError(`Unknown flag ${JSON.stringify(unknown[0])} (see --help)`);
    if (a.help) {
      console.log(VERIFY_USAGE);
      return 0;
    }
    if (a._.length !== 1) {
      throw new FlagError("Usage: deno task verify <run-dir> [--steps K] [--data-dir DIR] [--backend B]");
    }
    if (typeof a.backend === "string") {
      let backend;
      try {
        backend = parseBackend(a.backend);
      } catch (e) {
        throw new FlagError((e as Error).message);
      }
      await initBackend(backend);
    }
    const steps = typeof a.steps === "string" ? numberFlag("steps", a.steps, true) : undefined;
    if (steps !== undefined && steps < 1) throw new FlagError(`--steps must be at least 1, got ${steps}`);
    const r = await verifyRun(String(a._[0]), { steps, dataDir: a["data-dir"] as string | undefined });
    for (const w of r.warnings) console.error(`warning: ${w}`);
    const counts = Object.entries(r.compared).map(([f, n]) => `${n} ${f} lines`).join(", ");
    if (r.identical) {
      console.log(`verify: identical: the first ${r.steps} steps reproduce bit for bit (${counts})`);
      return 0;
    }
    const d = r.firstDifference!;
    console.log(
      `verify: DIFFERENT: ${d.file} at step ${d.step}, field ${d.field}: recorded ${
        JSON.stringify(d.recorded)
      }, ` +
        `recomputed ${JSON.stringify(d.recomputed)} (compared ${counts})`,
    );
    return 1;
  } catch (e) {
    console.error(`verify: ${(e as Error).message}`);
    return e instanceof FlagError ? 2 : 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
