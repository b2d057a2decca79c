// SIGKILL at exact points of `deno task exp smoke` (lib/faults.ts hooks) and at an arbitrary moment: the next
// `exp` finishes, every record equals an uninterrupted run's bit for bit, and no file is half-written.
import { assertEquals, assertStringIncludes } from "@std/assert";
import {
  assertAllParse,
  assertExit,
  assertSameRecords,
  note,
  readExperiment,
  show,
  smoke,
  smokeBaseline,
  smokeRunIds,
  spawnUntilTraining,
  withProject,
} from "./harness.ts";

/** Kill points, in the order the smoke experiment reaches them (cell 1 is attention=true). */
const KILLS: Array<{ at: string; what: string }> = [
  { at: "write:manifest.json", what: "halfway through writing the first manifest" },
  { at: "append:metrics.jsonl", what: "halfway through the first metrics line" },
  { at: "append:gradients.jsonl#3", what: "halfway through a gradients line (step 4)" },
  { at: "checkpoint:4", what: "between the first checkpoint's .bin and its .json" },
  { at: "step:6", what: "during step 6 (its metrics line written, its gradients line not)" },
  { at: "append:eval.jsonl", what: "halfway through the first validation line" },
  { at: "write:ckpt-000000008.bin", what: "halfway through writing a checkpoint's .bin" },
  { at: "checkpoint:12", what: "between the last checkpoint's .bin and its .json" },
  { at: "append:eval.jsonl#3", what: "halfway through the test-set line" },
  { at: "write:samples.json", what: "halfway through samples.json" },
  { at: "write:manifest.json#2", what: "halfway through the first cell's final manifest update" },
  { at: "write:result.json", what: "halfway through result.json" },
  { at: "step:10#2", what: "during step 10 of the second cell" },
  { at: "write:smoke.summary.json", what: "halfway through the experiment summary" },
  { at: "write:smoke.html", what: "halfway through the HTML report" },
];

let resumed = 0;
let compared = 0;

for (const { at, what } of KILLS) {
  Deno.test(`exp killed ${what} (${at}) finishes on the next run with records identical to an uninterrupted run`, () =>
    withProject(async (p) => {
      const base = await smokeBaseline();
      const killed = await smoke(p, [], { REDRAW_FAULT_KILL_AT: at });
      assertEquals(killed.signal, "SIGKILL", `the kill hook ${at} did not fire\n${show(killed)}`);
      const again = await smoke(p);
      assertExit(again, 0, "the run after the kill");
      const ids = await smokeRunIds(p);
      const records = await readExperiment(p.runs);
      assertEquals([...records.keys()].sort(), [...ids].sort());
      const c = assertSameRecords(records, base, ids);
      const files = (await assertAllParse(p.runs)) + (await assertAllParse(p.reports));
      const notes = [...records.values()].flatMap((r) => r.manifest.notes);
      resumed += notes.filter((n) => n.startsWith("resumed from")).length;
      compared += c.lines;
      note(
        `${at}: SIGKILL, rerun exit 0, ${
          notes.join("; ") || "no resume note"
        }; ${c.lines} lines in ${c.files} ` +
          `records identical; ${files} files parse (so far: ${resumed} resumes, ${compared} lines compared)`,
      );
    }));
}

Deno.test("exp killed twice in a row (during a checkpoint, then during a step) still ends identical", () =>
  withProject(async (p) => {
    const base = await smokeBaseline();
    for (const at of ["checkpoint:8", "step:6#2"]) {
      const killed = await smoke(p, [], { REDRAW_FAULT_KILL_AT: at });
      assertEquals(killed.signal, "SIGKILL", `the kill hook ${at} did not fire\n${show(killed)}`);
    }
    assertExit(await smoke(p), 0, "the run after two kills");
    const records = await readExperiment(p.runs);
    const c = assertSameRecords(records, base, await smokeRunIds(p));
    const notes = [...records.values()].flatMap((r) => r.manifest.notes);
    assertEquals(notes.filter((n) => n.startsWith("resumed from")).length, 2, notes.join("\n"));
    resumed += 2;
    compared += c.lines;
    note(`two kills: ${notes.join("; ")}; ${c.lines} lines identical`);
  }));

Deno.test("exp SIGKILLed from outside as soon as it reports training progress resumes to identical records", () =>
  withProject(async (p) => {
    const base = await smokeBaseline();
    const { child, reader, seen } = await spawnUntilTraining(p);
    child.kill("SIGKILL");
    await reader.cancel();
    await child.stderr.cancel();
    const status = await child.status;
    assertStringIncludes(seen, "train step", "the run never reported training progress");
    assertEquals(status.signal, "SIGKILL", "exp ended before the kill");
    assertExit(await smoke(p), 0, "the run after the kill");
    const c = assertSameRecords(await readExperiment(p.runs), base, await smokeRunIds(p));
    compared += c.lines;
    note(`external SIGKILL after "${seen.trim().split("\n").at(-1)}": ${c.lines} lines identical`);
  }));
