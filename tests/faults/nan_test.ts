// A NaN injected into one cell's loss mid-run: that cell fails with diagnostics, the other completes, exp exits
// non-zero, the summary and report show the failure, a plain rerun does not retry it, --retry-failed does.
import { assert, assertEquals, assertGreater, assertMatch, assertStringIncludes } from "@std/assert";
import { EXIT } from "../../lib/exp/cli.ts";
import {
  assertExit,
  assertSameRecords,
  note,
  readExperiment,
  readRunStrict,
  smoke,
  smokeBaseline,
  smokeRunIds,
  withProject,
} from "./harness.ts";

Deno.test("a NaN in one cell's loss fails that cell with diagnostics, the other completes, exp exits 1", () =>
  withProject(async (p) => {
    const [first, second] = await smokeRunIds(p);
    const r = await smoke(p, [], { REDRAW_FAULT_NAN_AT_STEP: "6@attention=false" });
    assertExit(r, EXIT.incomplete, "exp with a NaN in one cell");
    assertMatch(
      r.stdout,
      /attention=false seed 1: failed .*Non-finite loss or gradient at step 6.* after 5 steps/,
    );
    assertStringIncludes(r.stdout, "1 run(s) not completed:");

    const failed = await readRunStrict(`${p.runs}/smoke/${second}`);
    const m = failed.manifest;
    assertEquals(m.status, "failed");
    assertMatch(
      m.reason!,
      /^Non-finite loss or gradient at step 6 \(loss (NaN|null), gradient norm .*\) in: /,
    );
    assertEquals(m.failure!.step, 6);
    assertEquals(m.failure!.lastMetrics!.step, 4, "the last finite metrics are step 4's");
    assertGreater(m.failure!.offending.length, 0);
    assertEquals(JSON.parse(failed.result!).status, "failed", "result.json commits the failure");
    assertEquals(
      failed.lines["metrics.jsonl"].map((l) => JSON.parse(l).step),
      [1, 2, 4],
      "nothing after the NaN",
    );
    const base = await smokeBaseline();
    assertSameRecords(new Map([[first, await readRunStrict(`${p.runs}/smoke/${first}`)]]), base, [first]);

    const summary = JSON.parse(await Deno.readTextFile(`${p.reports}/smoke.summary.json`));
    assertStringIncludes(JSON.stringify(summary), "failed");
    const html = await Deno.readTextFile(`${p.reports}/smoke.html`);
    assertStringIncludes(html, "failed");
    assertStringIncludes(html, "Non-finite loss or gradient at step 6");

    // A plain rerun reports the failure and does not retry it.
    const again = await smoke(p);
    assertExit(again, EXIT.incomplete, "the plain rerun");
    assertStringIncludes(
      again.stdout,
      "attention=false seed 1: failed earlier (Non-finite loss or gradient at step 6",
    );
    assertStringIncludes(again.stdout, "not retried (use --retry-failed or --force)");
    assert(!again.stdout.includes("train step"), "nothing may train on a plain rerun");

    // --retry-failed resumes it from its last checkpoint, to the uninterrupted records.
    assertExit(await smoke(p, ["--retry-failed"]), 0, "the rerun with --retry-failed");
    const records = await readExperiment(p.runs);
    assertEquals(records.get(second)!.manifest.notes, ["resumed from ckpt-000000004"]);
    const c = assertSameRecords(records, base, [first, second]);
    note(
      `NaN at step 6 of attention=false: exit 1, failed with step/lastMetrics/offending, report shows it; ` +
        `plain rerun exit 1 not retried; --retry-failed resumed from ckpt 4, ${c.lines} lines identical`,
    );
  }));
