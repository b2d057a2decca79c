// Two and four `exp` processes started together on one experiment and one runs folder: every cell is trained
// by exactly one of them, all exit 0, and every record is whole and equal to an uninterrupted run's.
import { assertEquals } from "@std/assert";
import {
  assertAllParse,
  assertExit,
  assertSameRecords,
  note,
  readExperiment,
  runCli,
  smokeBaseline,
  withProject,
} from "./harness.ts";

const CELLS = [
  "attention=true seed 1",
  "attention=false seed 1",
  "attention=true seed 2",
  "attention=false seed 2",
];

for (const n of [2, 4]) {
  Deno.test(`${n} concurrent exp processes on one experiment train each of its 4 cells exactly once`, () =>
    withProject(async (p) => {
      const args = ["smoke", "--profile", "smoke", "--seeds", "1,2", "--poll", "0.2"];
      const runs = await Promise.all(Array.from({ length: n }, () => runCli(p.dir, "exp", args)));
      runs.forEach((r, i) => assertExit(r, 0, `process ${i + 1} of ${n}`));
      for (const cell of CELLS) {
        const trainedBy = runs.filter((r) => r.stdout.includes(`${cell}: completed after 12 steps`)).length;
        assertEquals(trainedBy, 1, `${cell} was trained by ${trainedBy} processes`);
      }
      const records = await readExperiment(p.runs);
      assertEquals(records.size, 4);
      for (const [id, r] of records) {
        assertEquals(r.manifest.notes, [], `${id} was started more than once`);
        const starts = r.lines["metrics.jsonl"].filter((l) => JSON.parse(l).step === 1).length;
        assertEquals(starts, 1, `${id}: step 1 recorded ${starts} times`);
      }
      const c = assertSameRecords(records, await smokeBaseline());
      const files = (await assertAllParse(p.runs)) + (await assertAllParse(p.reports));
      const byProcess = runs.map((r) =>
        CELLS.filter((cell) => r.stdout.includes(`${cell}: completed after`)).length
      );
      note(
        `${n} processes: cells trained per process ${byProcess.join("/")}, all exit 0; ${c.lines} lines ` +
          `identical; ${files} files parse`,
      );
    }));
}
