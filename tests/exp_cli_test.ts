// The `exp` CLI in-process with the fake trainer: exit statuses, dry runs, summaries, shards, bad flags.
import { assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { EXIT, main, type Render } from "../lib/exp/cli.ts";
import { fakeTrainer, type FakeTrainerOptions } from "../lib/exp/testing/fake_trainer.ts";

const SIX = "tests/fixtures/experiments/six-cells.ts";

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
  trained: string[];
  rendered: string[];
}

async function withDirs(fn: (runs: string, reports: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "exp-cli-" });
  try {
    await fn(`${dir}/runs`, `${dir}/reports`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function cli(argv: string[], trainer: FakeTrainerOptions = {}, signal?: AbortSignal): Promise<Ran> {
  let stdout = "";
  let stderr = "";
  const rendered: string[] = [];
  const render: Render = (name) => {
    rendered.push(name);
    return Promise.resolve({ path: `reports/${name}.html`, warnings: [] });
  };
  const t = fakeTrainer(trainer);
  const code = await main(argv, {
    trainer: t,
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
    isTty: false,
    env: {},
    signal: signal ?? new AbortController().signal,
    render,
  });
  return { code, stdout, stderr, trained: t.calls.map((c) => c.runId), rendered };
}

Deno.test("exp --help prints the usage with every option and exit status", async () => {
  const r = await cli(["--help"]);
  assertEquals(r.code, EXIT.ok);
  for (
    const flag of [
      "--profile",
      "--backend",
      "--seeds",
      "--only",
      "--data-dir",
      "--runs-dir",
      "--reports-dir",
      "--shard",
      "--dry-run",
      "--force",
      "--retry-failed",
      "--json",
      "130",
      "143",
    ]
  ) {
    assertStringIncludes(r.stdout, flag);
  }
});

Deno.test("exp refuses bad flags and bad experiment names with one line, status 2, writing nothing", () =>
  withDirs(async (runs, reports) => {
    const cases: Array<[string[], string]> = [
      [[SIX, "--profle", "smoke"], `exp: Unknown flag "--profle" (see --help)`],
      [
        [SIX, "--profile", "fast"],
        `exp: --profile fast: six-cells has no such profile (profiles: smoke, quick, paper)`,
      ],
      [[SIX, "--only", "T=9"], `exp: --only T=9: no cell has T=9 (values: 1, 2, 3)`],
      [["../evil"], `exp: Experiment name "../evil" is not valid`],
      [["no-such-experiment"], `exp: experiments/no-such-experiment.ts: no such experiment file`],
      [
        ["tests/fixtures/experiments/negative-t.ts"],
        `exp: tests/fixtures/experiments/negative-t.ts: factors.T[2] must be an integer`,
      ],
    ];
    for (const [argv, msg] of cases) {
      const r = await cli([...argv, "--runs-dir", runs, "--reports-dir", reports]);
      assertEquals(r.code, EXIT.usage, argv.join(" "));
      assertStringIncludes(r.stderr, msg);
      assertEquals(r.stderr.trim().split("\n").length, 1, r.stderr);
    }
    assertEquals(await Deno.stat(runs).then(() => true, () => false), false);
    assertEquals(await Deno.stat(reports).then(() => true, () => false), false);
  }));

Deno.test("exp --dry-run lists cells, seeds, budgets, run ids and status without running anything", () =>
  withDirs(async (runs, reports) => {
    const r = await cli([
      SIX,
      "--profile",
      "smoke",
      "--dry-run",
      "--runs-dir",
      runs,
      "--reports-dir",
      reports,
      "--seeds",
      "1,2",
    ]);
    assertEquals(r.code, EXIT.ok);
    assertEquals(r.trained, []);
    assertStringIncludes(r.stdout, "six-cells (profile smoke): 12 run(s)");
    assertMatch(
      r.stdout,
      /\n11 +T=3,attention=false +2 +12 steps +fx-T=3-attention=false-s2-[0-9a-f]{12} +pending\n/,
    );
    const j = await cli([
      SIX,
      "--profile",
      "smoke",
      "--dry-run",
      "--json",
      "--shard",
      "1/4",
      "--runs-dir",
      runs,
    ]);
    const plan = JSON.parse(j.stdout);
    assertEquals(plan.runs.length, 6);
    assertEquals(
      plan.runs.filter((x: { inShard: boolean }) => x.inShard).map((x: { index: number }) => x.index),
      [1, 5],
    );
    assertEquals(await Deno.stat(runs).then(() => true, () => false), false);
  }));

Deno.test("exp runs every cell, writes the summary, renders the report; a second run does nothing and says so", () =>
  withDirs(async (runs, reports) => {
    const args = [SIX, "--profile", "smoke", "--runs-dir", runs, "--reports-dir", reports];
    const r1 = await cli(args);
    assertEquals(r1.code, EXIT.ok, r1.stdout + r1.stderr);
    assertEquals(r1.trained.length, 6);
    assertEquals(r1.rendered, ["six-cells"]);
    assertStringIncludes(r1.stdout, "six-cells (profile smoke): 6 completed");
    assertStringIncludes(
      r1.stdout,
      `summary: ${reports}/six-cells.summary.md, ${reports}/six-cells.summary.json`,
    );
    const summary = JSON.parse(await Deno.readTextFile(`${reports}/six-cells.summary.json`));
    assertEquals(summary.rows.length, 6);
    assertEquals(summary.rows[0].paper, { row: "DRAW", nats: 80.97 });
    const manifest = JSON.parse(await Deno.readTextFile(`${summary.rows[1].runDir}/manifest.json`));
    assertEquals(manifest.status, "completed");

    const r2 = await cli(args);
    assertEquals(r2.code, EXIT.ok);
    assertEquals(r2.trained, []);
    assertStringIncludes(r2.stdout, "nothing to do: all 6 run(s) were already complete");
  }));

Deno.test("exp exits 1 when a run fails, and --json reports it", () =>
  withDirs(async (runs, reports) => {
    const r = await cli([
      SIX,
      "--profile",
      "smoke",
      "--only",
      "T=2",
      "--json",
      "--runs-dir",
      runs,
      "--reports-dir",
      reports,
    ], {
      outcome: (o) => (o.config.model.attention ? "failed" : "completed"),
    });
    assertEquals(r.code, EXIT.incomplete);
    const out = JSON.parse(r.stdout);
    assertEquals(out.exitStatus, 1);
    assertEquals(out.counts, { failed: 1, completed: 1 });
    assertEquals(out.outcomes.map((o: { status: string }) => o.status), ["failed", "completed"]);
    assertStringIncludes(r.stderr, "1 run(s) not completed:");
  }));

Deno.test("exp shards split the cells between workers; the last summary sees them all", () =>
  withDirs(async (runs, reports) => {
    const base = [SIX, "--profile", "smoke", "--runs-dir", runs, "--reports-dir", reports];
    const a = await cli([...base, "--shard", "0/2"]);
    const b = await cli([...base, "--shard", "1/2"]);
    assertEquals([a.code, b.code], [EXIT.ok, EXIT.ok]);
    assertEquals([a.trained.length, b.trained.length], [3, 3]);
    assertEquals(new Set([...a.trained, ...b.trained]).size, 6);
    assertStringIncludes(a.stdout, "3 completed, 3 pending");
    assertStringIncludes(b.stdout, "6 completed");
  }));

Deno.test("exp --no-report shards write no report; --report-only then makes it once from every shard", () =>
  withDirs(async (runs, reports) => {
    const base = [SIX, "--profile", "smoke", "--runs-dir", runs, "--reports-dir", reports];
    const early = await cli([...base, "--report-only"]);
    assertEquals([early.code, early.trained, early.rendered], [EXIT.incomplete, [], ["six-cells"]]);
    assertStringIncludes(early.stdout, "6 run(s) not completed:");

    await Deno.remove(reports, { recursive: true });
    const a = await cli([...base, "--shard", "0/2", "--no-report"]);
    const b = await cli([...base, "--shard", "1/2", "--no-report"]);
    assertEquals([a.code, b.code, a.rendered, b.rendered], [EXIT.ok, EXIT.ok, [], []]);
    assertEquals(await Deno.stat(reports).then(() => true, () => false), false, "no summary was written");

    const r = await cli([...base, "--report-only"]);
    assertEquals([r.code, r.trained, r.rendered], [EXIT.ok, [], ["six-cells"]]);
    assertStringIncludes(r.stdout, "6 completed");
    const summary = JSON.parse(await Deno.readTextFile(`${reports}/six-cells.summary.json`));
    assertEquals(summary.counts, { completed: 6 });

    for (const flag of ["--force", "--dry-run", "--no-report"]) {
      const bad = await cli([...base, "--report-only", flag]);
      assertEquals(bad.code, EXIT.usage, flag);
    }
    assertStringIncludes((await cli([...base, "--report-only", "--shard", "0/2"])).stderr, "drop --shard");
  }));

Deno.test("exp interrupted by a signal exits 130 and the next run resumes the interrupted cell", () =>
  withDirs(async (runs, reports) => {
    const args = [SIX, "--profile", "smoke", "--only", "T=1", "--runs-dir", runs, "--reports-dir", reports];
    const controller = new AbortController();
    // The signal comes once the first cell has checkpointed a step: a timer, even one started with the
    // cell's training, can fire before its first step on a busy machine, and then there is nothing to resume.
    const outcome = (o: { runDir: string }) => {
      const poll = setInterval(() => {
        if (controller.signal.aborted) return clearInterval(poll);
        Deno.stat(`${o.runDir}/fake-ckpt.json`).then(() => controller.abort(), () => {});
      }, 5);
      return "completed" as const;
    };
    const r1 = await cli(args, { steps: 200, stepMs: 1, outcome }, controller.signal);
    assertEquals(r1.code, EXIT.sigint);
    assertStringIncludes(r1.stdout, "interrupted: run the same command again to resume");
    assertEquals(r1.rendered, []);
    const r2 = await cli(args, { steps: 200 });
    assertEquals(r2.code, EXIT.ok);
    assertEquals(r2.trained.length, 2);
    const dir = JSON.parse(await Deno.readTextFile(`${reports}/six-cells.summary.json`)).rows[0].runDir;
    const log = (await Deno.readTextFile(`${dir}/calls.log`)).trim().split("\n");
    assertEquals(log.length, 2);
    assertMatch(log[1], /^resume from \d+ pid \d+$/);
  }));
