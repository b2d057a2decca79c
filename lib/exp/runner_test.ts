import { assertEquals, assertStringIncludes } from "@std/assert";
import { SMOKE_PROFILE } from "./define.ts";
import { type PlannedRun, planRuns } from "./grid.ts";
import type { ProgressSink } from "./progress.ts";
import { type AcquireLock, runDirOf, runExperiment, type RunnerOptions } from "./runner.ts";
import { fakeTrainer, type FakeTrainerOptions } from "./testing/fake_trainer.ts";
import { validateExperiment } from "./validate.ts";

const EXP = validateExperiment(
  {
    default: {
      name: "r",
      description: "runner test",
      base: { preset: "small" },
      factors: { T: [1, 2, 3] },
      seeds: [1],
      profiles: { smoke: SMOKE_PROFILE, quick: SMOKE_PROFILE, paper: SMOKE_PROFILE },
    },
  },
  "r.ts",
);
const PLAN = planRuns(EXP, { profile: "smoke" });

const quiet: ProgressSink = { cellStart() {}, update() {}, cellEnd() {}, log() {} };

/** An in-memory lock; `others` are held by "another process". */
function memoryLock(others = new Set<string>()): AcquireLock & { held: Set<string>; others: Set<string> } {
  const held = new Set<string>();
  const fn: AcquireLock = (dir) => {
    if (held.has(dir) || others.has(dir)) return Promise.resolve(null);
    held.add(dir);
    return Promise.resolve({ release: () => void held.delete(dir) });
  };
  return Object.assign(fn, { held, others });
}

async function withRuns(fn: (runsDir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "exp-runner-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function run(
  runsDir: string,
  over: Partial<RunnerOptions> = {},
  trainerOpts: FakeTrainerOptions = {},
  lock = memoryLock(),
) {
  const trainer = fakeTrainer(trainerOpts);
  const report = runExperiment(
    {
      experiment: EXP,
      runs: PLAN,
      runsDir,
      commandFor: (r) => `exp r --only ${r.label}`,
      pollSeconds: 0.01,
      ...over,
    },
    { trainer, acquireLock: lock, progress: quiet },
  );
  return { trainer, report };
}

const dirOf = (runsDir: string, r: PlannedRun) => runDirOf(runsDir, "r", r.runId);
const calls = async (runsDir: string, r: PlannedRun) =>
  (await Deno.readTextFile(`${dirOf(runsDir, r)}/calls.log`)).trim().split("\n").map((l) =>
    l.replace(/ pid \d+$/, "")
  );

Deno.test("runExperiment() trains every pending run once, then skips them as already complete", () =>
  withRuns(async (runsDir) => {
    const first = run(runsDir);
    const r1 = await first.report;
    assertEquals(r1.outcomes.map((o) => o.action), ["trained", "trained", "trained"]);
    assertEquals(r1.allCompleted, true);
    assertEquals(
      first.trainer.calls.map((c) => [c.runDir, c.useFixtures, c.command]),
      PLAN.map((p) => [dirOf(runsDir, p), true, `exp r --only ${p.label}`]),
    );
    const second = run(runsDir);
    const r2 = await second.report;
    assertEquals(second.trainer.calls.length, 0);
    assertEquals(r2.outcomes.map((o) => o.action), [
      "already-complete",
      "already-complete",
      "already-complete",
    ]);
    assertEquals(r2.allCompleted, true);
  }));

Deno.test("runExperiment() calls the trainer again for an interrupted run, which resumes its checkpoint", () =>
  withRuns(async (runsDir) => {
    const dir = dirOf(runsDir, PLAN[1]);
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(`${dir}/fake-ckpt.json`, JSON.stringify({ step: 3 }));
    await Deno.writeTextFile(
      `${dir}/result.json`,
      JSON.stringify({ runId: PLAN[1].runId, status: "interrupted", steps: 3 }),
    );
    const { trainer, report } = run(runsDir);
    const r = await report;
    assertEquals(r.allCompleted, true);
    assertEquals(trainer.calls.length, 3);
    assertEquals(await calls(runsDir, PLAN[1]), ["resume from 3"]);
    assertEquals(r.outcomes[1].result?.steps, 5);
  }));

Deno.test("runExperiment() reports a failed run and retries it only with retryFailed or force", () =>
  withRuns(async (runsDir) => {
    const failing = run(runsDir, {}, {
      outcome: (o) => (o.runId === PLAN[0].runId ? "failed" : "completed"),
    });
    const r1 = await failing.report;
    assertEquals(r1.outcomes.map((o) => o.status), ["failed", "completed", "completed"]);
    assertStringIncludes(r1.outcomes[0].message, "failed (loss is NaN at step 3) after 3 steps");
    assertEquals(r1.allCompleted, false);

    const again = run(runsDir);
    const r2 = await again.report;
    assertEquals(again.trainer.calls.length, 0);
    assertEquals(r2.outcomes[0].action, "failed-earlier");
    assertStringIncludes(
      r2.outcomes[0].message,
      "failed earlier (loss is NaN at step 3); not retried (use --retry-failed or --force)",
    );
    assertEquals(r2.allCompleted, false);

    const retry = run(runsDir, { retryFailed: true });
    const r3 = await retry.report;
    assertEquals(retry.trainer.calls.map((c) => c.runId), [PLAN[0].runId]);
    assertEquals(r3.allCompleted, true);
    assertEquals(await calls(runsDir, PLAN[0]), ["start", "resume from 3"]);
  }));

Deno.test("runExperiment() with force moves the old record aside and starts the run afresh", () =>
  withRuns(async (runsDir) => {
    await (run(runsDir).report);
    const dir = dirOf(runsDir, PLAN[2]);
    await Deno.writeTextFile(`${dir}/lock.json`, "{}"); // a lock file is never moved
    const { trainer, report } = run(runsDir, { runs: [PLAN[2]], force: true });
    const r = await report;
    assertEquals(trainer.calls.length, 1);
    assertEquals(r.allCompleted, true);
    assertEquals(await calls(runsDir, PLAN[2]), ["start"]);
    const replaced = [...Deno.readDirSync(`${runsDir}/.replaced/r`)].map((e) => e.name);
    assertEquals(replaced.length, 1);
    assertEquals(replaced[0].startsWith(`${PLAN[2].runId}-`), true);
    const kept = [...Deno.readDirSync(`${runsDir}/.replaced/r/${replaced[0]}`)].map((e) => e.name).sort();
    assertEquals(kept, ["calls.log", "fake-ckpt.json", "manifest.json", "result.json"]);
  }));

Deno.test("runExperiment() leaves a run with a corrupt result.json alone unless forced", () =>
  withRuns(async (runsDir) => {
    const dir = dirOf(runsDir, PLAN[0]);
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(`${dir}/result.json`, `{"status": "compl`);
    const { trainer, report } = run(runsDir, { runs: [PLAN[0]] });
    const r = await report;
    assertEquals(trainer.calls.length, 0);
    assertEquals(r.outcomes[0].action, "unreadable");
    assertStringIncludes(r.outcomes[0].message, "result.json is not valid JSON");
    assertEquals(await Deno.readTextFile(`${dir}/result.json`), `{"status": "compl`);
  }));

Deno.test("runExperiment() reports a crashing trainer and goes on with the other runs", () =>
  withRuns(async (runsDir) => {
    const { report } = run(runsDir, {}, {
      outcome: (o) => (o.runId === PLAN[1].runId ? "throw" : "completed"),
    });
    const r = await report;
    assertEquals(r.outcomes.map((o) => o.action), ["trained", "error", "trained"]);
    assertStringIncludes(r.outcomes[1].message, `the trainer crashed: fake trainer bug in ${PLAN[1].runId}`);
    assertEquals(r.allCompleted, false);
  }));

Deno.test("runExperiment() stops at an abort: the current run is interrupted, later ones not run", () =>
  withRuns(async (runsDir) => {
    const controller = new AbortController();
    const lock = memoryLock();
    const trainer = fakeTrainer({ steps: 50, stepMs: 1 });
    const progress: ProgressSink = { ...quiet, update: (p) => void (p.step === 3 && controller.abort()) };
    const r = await runExperiment(
      { experiment: EXP, runs: PLAN, runsDir, commandFor: () => "exp r" },
      { trainer, acquireLock: lock, progress, signal: controller.signal },
    );
    assertEquals(r.interrupted, true);
    assertEquals(r.outcomes.map((o) => o.action), ["trained", "not-run", "not-run"]);
    assertEquals(r.outcomes[0].status, "interrupted");
    assertEquals(r.allCompleted, false);
    assertEquals(lock.held.size, 0);
  }));

Deno.test("runExperiment() waits for a run another process holds and reports it completed by that process", () =>
  withRuns(async (runsDir) => {
    const other = dirOf(runsDir, PLAN[1]);
    const lock = memoryLock(new Set([other]));
    let polls = 0;
    const acquire: AcquireLock = async (dir, o) => {
      if (dir === other && ++polls === 3) {
        // The other process finishes the run and releases its lock.
        await Deno.writeTextFile(
          `${dir}/result.json`,
          JSON.stringify({ runId: PLAN[1].runId, status: "completed", steps: 5 }),
        );
        lock.others.clear();
      }
      return lock(dir, o);
    };
    const trainer = fakeTrainer();
    const r = await runExperiment(
      { experiment: EXP, runs: PLAN, runsDir, commandFor: () => "exp r", pollSeconds: 0.01 },
      { trainer, acquireLock: acquire, progress: quiet },
    );
    assertEquals(r.outcomes.map((o) => o.action), ["trained", "by-other-process", "trained"]);
    assertEquals(r.allCompleted, true);
    assertEquals(trainer.calls.map((c) => c.runId), [PLAN[0].runId, PLAN[2].runId]);
  }));

Deno.test("runExperiment() takes over a held run whose holder went away without finishing it", () =>
  withRuns(async (runsDir) => {
    const other = dirOf(runsDir, PLAN[0]);
    const lock = memoryLock(new Set([other]));
    setTimeout(() => lock.others.clear(), 30);
    const { trainer, report } = run(runsDir, { runs: [PLAN[0]] }, {}, lock);
    const r = await report;
    assertEquals(r.outcomes[0].action, "trained");
    assertEquals(trainer.calls.length, 1);
  }));

Deno.test("runExperiment() without wait leaves runs held elsewhere as locked and not completed", () =>
  withRuns(async (runsDir) => {
    const lock = memoryLock(new Set([dirOf(runsDir, PLAN[2])]));
    const { report } = run(runsDir, { wait: false }, {}, lock);
    const r = await report;
    assertEquals(r.outcomes.map((o) => o.action), ["trained", "trained", "locked"]);
    assertEquals(r.allCompleted, false);
  }));

Deno.test("runExperiment() interrupts a run whose lock is taken over, and goes on", () =>
  withRuns(async (runsDir) => {
    const acquire: AcquireLock = (dir, o) => {
      if (dir === dirOf(runsDir, PLAN[0])) setTimeout(() => o.onLost("taken over by pid 9 on h"), 5);
      return Promise.resolve({ release() {} });
    };
    const trainer = fakeTrainer({ steps: 200, stepMs: 1 });
    const r = await runExperiment(
      { experiment: EXP, runs: PLAN.slice(0, 2), runsDir, commandFor: () => "exp r" },
      { trainer, acquireLock: acquire, progress: quiet },
    );
    assertEquals(r.outcomes.map((o) => o.status), ["interrupted", "completed"]);
    assertStringIncludes(r.outcomes[0].message, "lost the run's lock (taken over by pid 9 on h)");
    assertEquals(r.interrupted, false);
  }));
