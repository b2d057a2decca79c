/**
 * A fake trainer for the runner's tests: no tfjs, milliseconds per run, but the same contract as
 * lib/train/run.ts. It writes a complete `manifest.json` and `result.json` atomically, keeps a checkpoint
 * (`fake-ckpt.json`, the step reached) so that an interrupted or killed run resumes, honours the abort
 * signal, and appends one line per call to `calls.log` (`start` or `resume from <step>`, with the pid), so
 * tests can count how often each cell ran and in which process.
 * @module
 */
import { RECORD_FORMAT_VERSION, type Result, type RunStatus } from "../../record/types.ts";
import { sampleManifestInit } from "../../record/testutil.ts";
import type { TrainRunner, TrainRunOptions } from "../../train/api.ts";

/** How the fake behaves. */
export interface FakeTrainerOptions {
  /** Steps per run (default 5). */
  steps?: number;
  /** Milliseconds per step (default 0). */
  stepMs?: number;
  /** Return this status for the runs it selects (default: completed). */
  outcome?: (o: TrainRunOptions) => "completed" | "failed" | "throw";
}

/** A fake trainer plus the calls it received. */
export interface FakeTrainer extends TrainRunner {
  calls: TrainRunOptions[];
}

async function writeJson(path: string, v: unknown): Promise<void> {
  const tmp = `${path}.tmp-${Deno.pid}`;
  await Deno.writeTextFile(tmp, JSON.stringify(v));
  await Deno.rename(tmp, path);
}

async function readStep(dir: string): Promise<number> {
  try {
    return (JSON.parse(await Deno.readTextFile(`${dir}/fake-ckpt.json`)) as { step: number }).step;
  } catch {
    return 0;
  }
}

/** A deterministic fake test bound from the config (attention helps, more seeds wiggle a little). */
export function fakeBound(o: TrainRunOptions): number {
  return (o.config.model.attention ? 85 : 90) + o.config.seed / 10 + o.config.model.T / 100;
}

/**
 * Makes a fake trainer.
 */
export function fakeTrainer(opts: FakeTrainerOptions = {}): FakeTrainer {
  const calls: TrainRunOptions[] = [];
  const steps = opts.steps ?? 5;
  const fn = async (o: TrainRunOptions): Promise<Result> => {
    calls.push(o);
    const dir = o.runDir;
    const from = await readStep(dir);
    await Deno.writeTextFile(
      `${dir}/calls.log`,
      `${from ? `resume from ${from}` : "start"} pid ${Deno.pid}\n`,
      {
        append: true,
      },
    );
    const outcome = opts.outcome?.(o) ?? "completed";
    if (outcome === "throw") throw new Error(`fake trainer bug in ${o.runId}`);
    const startedAt = new Date().toISOString();
    // A complete manifest, so that the summary and the report read the fake's runs like real ones.
    const manifest = (status: RunStatus, reason?: string) =>
      writeJson(`${dir}/manifest.json`, {
        formatVersion: RECORD_FORMAT_VERSION,
        ...sampleManifestInit(o.runId),
        experiment: o.experiment,
        cell: o.cell,
        config: o.config,
        status,
        ...(reason ? { reason } : {}),
        startedAt,
        endedAt: status === "running" ? null : new Date().toISOString(),
        heartbeatAt: new Date().toISOString(),
        notes: [],
      });
    await manifest("running");
    const result = (status: RunStatus, step: number): Result => ({
      runId: o.runId,
      status,
      steps: step,
      epochs: 0,
      imagesSeen: step * o.config.train.batchSize,
      wallTime: step * (opts.stepMs ?? 0) / 1000,
      test: status === "completed"
        ? {
          step,
          imagesSeen: step * o.config.train.batchSize,
          split: "test",
          images: 100,
          bound: { mean: fakeBound(o), stderr: 0.5 },
          lossX: 60,
          lossZ: 25,
          iwae: { mean: fakeBound(o) - 1, stderr: 0.5, k: 4 },
          wallTime: 0,
        }
        : null,
      bestValid: null,
      bestStep: status === "completed" ? step : null,
    });
    for (let step = from + 1; step <= steps; step++) {
      if (o.signal?.aborted) {
        await manifest("interrupted", "interrupted by a signal");
        const r = result("interrupted", step - 1);
        await writeJson(`${dir}/result.json`, r);
        return r;
      }
      if (opts.stepMs) await new Promise((r) => setTimeout(r, opts.stepMs));
      await writeJson(`${dir}/fake-ckpt.json`, { step });
      o.onProgress?.({
        runId: o.runId,
        phase: "train",
        step,
        totalSteps: steps,
        epoch: 0,
        loss: 100 - step,
        imagesPerSec: 1000,
        etaSeconds: (steps - step) * (opts.stepMs ?? 0) / 1000,
      });
      if (outcome === "failed" && step === Math.ceil(steps / 2)) {
        await manifest("failed", `loss is NaN at step ${step}`);
        const r = result("failed", step);
        await writeJson(`${dir}/result.json`, r);
        return r;
      }
    }
    await manifest("completed");
    const r = result("completed", steps);
    await writeJson(`${dir}/result.json`, r);
    return r;
  };
  return Object.assign(fn, { calls });
}
