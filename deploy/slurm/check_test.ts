// The Slurm self-test's checker on real records (the `smoke` experiment run by the real CLI in a project
// copy): it passes on an uninterrupted run and fails on a run trained twice, on records that differ, and on
// a run that was not stopped mid-cell.
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { checkExactlyOnce, checkInterrupted, checkSameRecords, main, startsIn } from "./check.ts";
import { assertExit, type Project, smoke, smokeRunIds, withProject } from "../../tests/faults/harness.ts";

/** Runs the smoke experiment once in `p`; returns its run ids and its output (the job log). */
async function smokeRun(p: Project): Promise<{ ids: string[]; log: string }> {
  const r = await smoke(p);
  assertExit(r, 0, "the smoke run");
  return { ids: await smokeRunIds(p), log: r.stdout };
}

async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyDir(`${from}/${e.name}`, `${to}/${e.name}`);
    else await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

/** Rewrites line `n` (1-based) of a JSONL file with `edit`. */
async function editLine(path: string, n: number, edit: (o: Record<string, unknown>) => void): Promise<void> {
  const lines = (await Deno.readTextFile(path)).split("\n");
  const o = JSON.parse(lines[n - 1]);
  edit(o);
  lines[n - 1] = JSON.stringify(o);
  await Deno.writeTextFile(path, lines.join("\n"));
}

Deno.test("the exactly-once check passes on one uninterrupted run and fails on a run trained twice", () =>
  withProject(async (p) => {
    const { ids, log } = await smokeRun(p);
    assertEquals(ids.map((id) => startsIn(log, id)), [1, 1], "the log starts each run once");
    assertEquals(await checkExactlyOnce(p.runs, "smoke", ids, new Map([["task0.out", log]])), []);

    // Two tasks both started the first run: the logs give it away even when the records look fine.
    const twice = await checkExactlyOnce(p.runs, "smoke", ids, new Map([["a.out", log], ["b.out", log]]));
    assertEquals(twice.length, 2);
    assertStringIncludes(twice[0], `${ids[0]}: started 2 times in the job logs (a.out: 1, b.out: 1)`);

    // A second training appended to the same folder: step 2 is recorded twice.
    const metrics = `${p.runs}/smoke/${ids[1]}/metrics.jsonl`;
    const first = (await Deno.readTextFile(metrics)).split("\n")[0];
    await Deno.writeTextFile(metrics, `${first}\n`, { append: true });
    const dup = await checkExactlyOnce(p.runs, "smoke", ids);
    assertEquals(dup.length, 1);
    assertMatch(dup[0], /: step \d+ is recorded twice in metrics\.jsonl \(trained twice\)$/);

    // A run outside the plan, and a run missing from it.
    assertEquals(
      await checkExactlyOnce(p.runs, "smoke", [ids[0]]).then((x) => x.at(0)),
      `${ids[1]}: a run folder outside the plan`,
    );
    const missing = await checkExactlyOnce(p.runs, "smoke", [...ids, "fx-nothing-s1-000000000000"]);
    assert(missing.some((m) => m.startsWith("fx-nothing-s1-000000000000: never ran")), missing.join("\n"));
  }));

Deno.test("the same-records check ignores wall-clock fields and fails on any other difference", () =>
  withProject(async (p) => {
    const { ids } = await smokeRun(p);
    const base = `${p.dir}/runs/baseline`;
    await copyDir(`${p.runs}/smoke`, `${base}/smoke`);
    const same = await checkSameRecords(p.runs, base, "smoke", ids);
    assertEquals(same.problems, []);
    assert(same.lines > 20, `compared ${same.lines} lines`);

    const metrics = `${p.runs}/smoke/${ids[0]}/metrics.jsonl`;
    await editLine(metrics, 2, (o) => {
      o.wallTime = 1e6;
      o.imagesPerSec = 1;
    });
    assertEquals((await checkSameRecords(p.runs, base, "smoke", ids)).problems, []);

    await editLine(metrics, 2, (o) => (o.loss = (o.loss as number) + 1e-9));
    const differ = await checkSameRecords(p.runs, base, "smoke", ids);
    assertEquals(differ.problems.length, 1);
    assertStringIncludes(differ.problems[0], `${ids[0]}/metrics.jsonl line 2 differs`);

    const lines: string[] = [];
    assertEquals(await main(["same", p.runs, base, "smoke", ...ids], (l) => lines.push(l)), 1);
    assertEquals(lines, differ.problems.map((x) => `check same: ${x}`));
  }));

Deno.test("the interrupted check passes after SIGTERM mid-cell and fails on a completed run", () =>
  withProject(async (p) => {
    const r = await smoke(p, [], { REDRAW_FAULT_KILL_AT: "step:6", REDRAW_FAULT_SIGNAL: "SIGTERM" });
    assertExit(r, 143, "exp after SIGTERM");
    const ids = await smokeRunIds(p);
    assertEquals(await checkInterrupted(`${p.runs}/smoke/${ids[0]}`), []);
    assertExit(await smoke(p), 0, "the resumed run");
    const done = await checkInterrupted(`${p.runs}/smoke/${ids[0]}`);
    assertEquals(done, [
      `${p.runs}/smoke/${ids[0]}: status completed, expected interrupted`,
      `${p.runs}/smoke/${ids[0]}: has a result.json, so it was not stopped mid-run`,
    ]);
    // The resumed run says so, which the exactly-once check reports.
    const once = await checkExactlyOnce(p.runs, "smoke", ids);
    assertEquals(once.length, 1);
    assertStringIncludes(once[0], `${ids[0]}: started more than once (resumed from ckpt-`);
  }));
