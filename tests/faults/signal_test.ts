// SIGINT and SIGTERM: the current run is checkpointed and marked interrupted, exp exits 130 / 143 (the codes
// in lib/exp/cli.ts's EXIT and docs/reliability.md), and the next exp resumes to identical records.
import { assert, assertEquals, assertGreaterOrEqual, assertStringIncludes } from "@std/assert";
import { EXIT } from "../../lib/exp/cli.ts";
import {
  assertExit,
  assertSameRecords,
  cliCommand,
  note,
  readExperiment,
  readRunStrict,
  smoke,
  smokeBaseline,
  smokeRunIds,
  withProject,
} from "./harness.ts";
import type { Project } from "./harness.ts";

/** Checks the interrupted first cell, resumes, and compares with the baseline; returns the interrupted step. */
async function checkInterruptedThenResume(p: Project, signal: string): Promise<number> {
  const [first, second] = await smokeRunIds(p);
  const run = await readRunStrict(`${p.runs}/smoke/${first}`);
  assertEquals(run.manifest.status, "interrupted");
  assertEquals(run.manifest.reason, "stopped by a signal");
  assertEquals(run.result, null, "an interrupted run has no result.json");
  const stoppedAt = run.checkpointSteps.at(-1)!;
  const lastLogged = JSON.parse(run.lines["metrics.jsonl"].at(-1)!).step;
  assertGreaterOrEqual(stoppedAt, lastLogged, "the checkpoint covers every recorded step");
  await Deno.stat(`${p.runs}/smoke/${second}/manifest.json`).then(
    () => assert(false, "the second cell started after the signal"),
    () => {},
  );
  const again = await smoke(p);
  assertExit(again, 0, `the run after ${signal}`);
  const records = await readExperiment(p.runs);
  assertEquals(records.get(first)!.manifest.notes, [
    `resumed from ckpt-${String(stoppedAt).padStart(9, "0")}`,
  ]);
  const c = assertSameRecords(records, await smokeBaseline(), [first, second]);
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
    const child = cliCommand(p.dir, "exp", ["smoke", "--profile", "smoke"]).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let seen = "";
    while (!/train step \d+/.test(seen)) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += value;
    }
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
    await checkInterruptedThenResume(p, "external SIGTERM");
  }));
