// SIGINT and SIGTERM: the current run is checkpointed and marked interrupted, exp exits 130 / 143 (the codes
// in lib/exp/cli.ts's EXIT and docs/reliability.md), and the next exp resumes to identical records.
import { assert, assertEquals, assertGreaterOrEqual, assertStringIncludes } from "@std/assert";
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
  spawnUntilTraining,
  withProject,
} from "./harness.ts";
import type { Project } from "./harness.ts";

/** Checks the interrupted first cell, resumes, and compares with the baseline; returns the interrupted step. */
async function checkInterruptedThenResume(p: Project, signal: string, cell = 0): Promise<number> {
  const ids = await smokeRunIds(p);
  const [first, second] = cell === 0 ? ids : [ids[1], null];
  const run = await readRunStrict(`${p.runs}/smoke/${first}`);
  assertEquals(run.manifest.status, "interrupted");
  assertEquals(run.manifest.reason, "stopped by a signal");
  assertEquals(run.result, null, "an interrupted run has no result.json");
  const stoppedAt = run.checkpointSteps.at(-1)!;
  const lastLogged = JSON.parse(run.lines["metrics.jsonl"].at(-1)!).step;
  assertGreaterOrEqual(stoppedAt, lastLogged, "the checkpoint covers every recorded step");
  if (second) {
    await Deno.stat(`${p.runs}/smoke/${second}/manifest.json`).then(
      () => assert(false, "the second cell started after the signal"),
      () => {},
    );
  }
  const again = await smoke(p);
  assertExit(again, 0, `the run after ${signal}`);
  const records = await readExperiment(p.runs);
  assertEquals(records.get(first)!.manifest.notes, [
    `resumed from ckpt-${String(stoppedAt).padStart(9, "0")}`,
  ]);
  const c = assertSameRecords(records, await smokeBaseline(), ids);
  note(`${signal}: interrupted at step ${stoppedAt} with a checkpoint; resumed; ${c.lines} lines identical`);
  return stoppedAt;
}

for (const [signal, code] of [["SIGINT", EXIT.sigint], ["SIGTERM", EXIT.sigterm]] as const) {
  Deno.test(`${signal} during step 6 checkpoints the run, marks it interrupted and exits ${code}`, () =>
    withProject(async (p) => {
      const r = await smoke(p, [], { REDRAW_FAULT_KILL_AT: "step:6", REDRAW_FAULT_SIGNAL: signal });
      assertExit(r, code, `exp after ${signal}`);
      assertStringIncludes(r.stderr, `exp: ${signal}: interrupting the current run (it writes a checkpoint)`);
      assertStringIncludes(r.stdout, "interrupted: run the same command again to resume");
      assertGreaterOrEqual(await checkInterruptedThenResume(p, signal), 6);
    }));
}

Deno.test("SIGTERM sent from outside while training exits 143 and the run resumes to identical records", () =>
  withProject(async (p) => {
    const started = await spawnUntilTraining(p);
    const { child, reader } = started;
    let seen = started.seen;
    child.kill("SIGTERM");
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += value;
    }
    const stderr = await new Response(child.stderr).text();
    const status = await child.status;
    assertEquals(status.code, EXIT.sigterm, `exp after SIGTERM\n${seen}\n${stderr}`);
    assertStringIncludes(stderr, "exp: SIGTERM: interrupting the current run");
    // The signal lands wherever exp is when it arrives: a smoke cell takes well under a second, so it may
    // interrupt the first cell, the second, or fall between them (then no run is interrupted).
    const ids = await smokeRunIds(p);
    const statuses = await Promise.all(
      ids.map((id) => readRunStrict(`${p.runs}/smoke/${id}`).then((r) => r.manifest.status, () => "absent")),
    );
    const cell = statuses.indexOf("interrupted");
    if (cell >= 0) {
      await checkInterruptedThenResume(p, "external SIGTERM", cell);
    } else {
      assertEquals(statuses, ["completed", "absent"], "between cells: the second cell never started");
      assertExit(await smoke(p), 0, "the run after external SIGTERM");
      const c = assertSameRecords(await readExperiment(p.runs), await smokeBaseline(), ids);
      note(`external SIGTERM: arrived between cells; the rerun ran the second; ${c.lines} lines identical`);
    }
  }));
