import { assertEquals, assertStringIncludes } from "@std/assert";
import { SMOKE_PROFILE } from "./define.ts";
import { planRuns } from "./grid.ts";
import { runDirOf } from "./runner.ts";
import { collectSummary, summaryMarkdown, summaryText, writeSummary } from "./summary.ts";
import { createManifest, updateManifest } from "../record/manifest.ts";
import { sampleManifestInit } from "../record/testutil.ts";
import { readResults } from "../report/results.ts";
import { validateExperiment } from "./validate.ts";

const EXP = validateExperiment(
  {
    default: {
      name: "s",
      description: "summary <b>test</b> | with a pipe",
      base: { preset: "small" },
      factors: { attention: [true, false] },
      seeds: [1, 2],
      profiles: { smoke: SMOKE_PROFILE, quick: SMOKE_PROFILE, paper: { ...SMOKE_PROFILE, seeds: undefined } },
      paperTargets: { "attention=true": "DRAW", "attention=false": "DRAW without attention" },
    },
  },
  "s.ts",
);

function result(runId: string, mean: number) {
  return {
    runId,
    status: "completed",
    steps: 12,
    epochs: 1,
    imagesSeen: 192,
    wallTime: 75,
    test: {
      step: 12,
      imagesSeen: 192,
      split: "test",
      images: 256,
      bound: { mean, stderr: 0.4 },
      lossX: 1,
      lossZ: 1,
      iwae: { mean: mean - 1, stderr: 0.4, k: 4 },
      wallTime: 1,
    },
    bestValid: null,
    bestStep: 12,
  };
}

Deno.test("collectSummary() shows every planned run, including other shards', with the report's means per cell", async () => {
  const runsDir = await Deno.makeTempDir({ prefix: "exp-summary-" });
  try {
    const plan = planRuns(EXP, { profile: "paper" });
    assertEquals(plan.length, 4);
    const bounds = [90, 95, 92, 0];
    for (const [i, run] of plan.entries()) {
      if (i === 3) continue; // still pending
      const dir = runDirOf(runsDir, "s", run.runId);
      const init = { ...sampleManifestInit(run.runId), experiment: "s", cell: run.cell, config: run.config };
      await createManifest(dir, init);
      await updateManifest(dir, { status: "completed" });
      await Deno.writeTextFile(`${dir}/result.json`, JSON.stringify(result(run.runId, bounds[i])));
    }
    const results = await readResults(runsDir, "s", EXP.paperTargets);
    const s = collectSummary(EXP, "paper", plan, runsDir, results, new Date(0));
    assertEquals(
      s.rows.map((r) => [r.label, r.seed, r.status, r.testBound?.mean ?? null, r.paper?.nats ?? null]),
      [
        ["attention=true", 1, "completed", 90, 80.97],
        ["attention=false", 1, "completed", 95, 87.40],
        ["attention=true", 2, "completed", 92, 80.97],
        ["attention=false", 2, "pending", null, 87.40],
      ],
    );
    assertEquals(s.counts, { completed: 3, pending: 1 });
    assertEquals(s.groups.map((g) => [g.label, g.completed, g.runs, g.testBound?.mean, g.testBound?.n]), [
      ["attention=true", 2, 2, 91, 2],
      ["attention=false", 1, 2, 95, 1],
    ]);
    assertEquals(s.groups[0].testBound?.sd, Math.SQRT2);
    assertEquals(
      s.groups.map((g) => g.testBound?.mean),
      results.arms.map((a) => a.bound?.mean),
      "the summary's means are the report's",
    );
    const text = summaryText(s);
    assertStringIncludes(text, "s (profile paper): 3 completed, 1 pending");
    assertStringIncludes(
      text,
      "attention=true   1     completed  90.00 ± 0.40       89.00 ± 0.40 (k=4)  80.97 (DRAW)",
    );
    const md = summaryMarkdown(s);
    assertStringIncludes(md, "summary &lt;b&gt;test&lt;/b&gt; \\| with a pipe");
    assertStringIncludes(
      md,
      "| attention=false | 2 | pending | - | - | 87.40 (DRAW without attention) | ? |",
    );
    const reportsDir = `${runsDir}/reports`;
    const files = await writeSummary(s, reportsDir);
    assertEquals(files, { json: `${reportsDir}/s.summary.json`, md: `${reportsDir}/s.summary.md` });
    assertEquals(JSON.parse(await Deno.readTextFile(files.json)).rows.length, 4);
    assertEquals([...Deno.readDirSync(reportsDir)].map((e) => e.name).sort(), [
      "s.summary.json",
      "s.summary.md",
    ]);
  } finally {
    await Deno.remove(runsDir, { recursive: true });
  }
});

Deno.test("collectSummary() calls a folder without a manifest incomplete and a damaged manifest unreadable", async () => {
  const runsDir = await Deno.makeTempDir({ prefix: "exp-summary-" });
  try {
    const plan = planRuns(EXP, { profile: "paper" });
    await Deno.mkdir(runDirOf(runsDir, "s", plan[0].runId), { recursive: true });
    const damaged = runDirOf(runsDir, "s", plan[1].runId);
    await Deno.mkdir(damaged, { recursive: true });
    await Deno.writeTextFile(`${damaged}/manifest.json`, "{ not json");
    const results = await readResults(runsDir, "s", EXP.paperTargets);
    const s = collectSummary(EXP, "paper", plan, runsDir, results, new Date(0));
    assertEquals(s.rows.map((r) => r.status), ["incomplete", "unreadable", "pending", "pending"]);
    assertEquals(s.groups.map((g) => g.testBound), [null, null]);
  } finally {
    await Deno.remove(runsDir, { recursive: true });
  }
});
