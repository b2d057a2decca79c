// Run folders holding foreign, truncated or future-format files: exp leaves what it cannot trust untouched
// and says why (exit 1), the report lists them instead of failing, foreign extra files are ignored, a garbage
// lock is taken over, and --force redoes a damaged cell (keeping the old folder under .replaced/).
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import {
  assertExit,
  assertSameRecords,
  hasStackTrace,
  readExperiment,
  readRunStrict,
  type RunDigest,
  show,
  smoke,
  smokeBaseline,
  smokeRunIds,
  withProject,
} from "../faults/harness.ts";

/** Every file under `dir` with its content, to prove a folder was left untouched. */
async function contents(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string, rel: string) => {
    for await (const e of Deno.readDir(d)) {
      if (e.isDirectory) await walk(`${d}/${e.name}`, `${rel}${e.name}/`);
      else out[`${rel}${e.name}`] = await Deno.readTextFile(`${d}/${e.name}`);
    }
  };
  await walk(dir, "");
  return out;
}

Deno.test("exp leaves a foreign result.json and a future-format manifest untouched, says why, and --force redoes them", () =>
  withProject(async (p) => {
    const [first, second] = await smokeRunIds(p);
    const a = `${p.runs}/smoke/${first}`;
    const b = `${p.runs}/smoke/${second}`;
    await Deno.mkdir(a, { recursive: true });
    await Deno.mkdir(b, { recursive: true });
    await Deno.mkdir(`${p.runs}/smoke/not-a-run`, { recursive: true });
    await Deno.writeTextFile(`${a}/result.json`, `{"hello": "world"}\n`);
    await Deno.writeTextFile(
      `${b}/manifest.json`,
      `{"formatVersion": 99, "runId": "${second}", "fromTheFuture": true}\n`,
    );
    await Deno.writeTextFile(`${p.runs}/smoke/not-a-run/readme.txt`, "my notes\n");
    const before = await contents(p.runs);

    const r = await smoke(p);
    assertExit(r, 1, "exp on damaged folders");
    const out = r.stdout + r.stderr;
    assertStringIncludes(
      out,
      `attention=true seed 1: runs/smoke/${first}/result.json has no valid "status"; not touched (use --force`,
    );
    assertStringIncludes(
      out,
      `runs/smoke/${second}/manifest.json has format version 99, newer than this redraw understands (1); ` +
        "update redraw to read this run",
    );
    assert(!hasStackTrace(out), out);
    assertEquals(await contents(p.runs), before, "exp changed a folder it cannot trust");
    const html = await Deno.readTextFile(`${p.reports}/smoke.html`);
    assertStringIncludes(html, "has format version 99, newer than this redraw understands");
    assertStringIncludes(html, "runs/smoke/not-a-run is not a redraw run folder (it has no manifest.json)");

    const forced = await smoke(p, ["--force"]);
    assertExit(forced, 0, "exp --force");
    const records = new Map<string, RunDigest>();
    for (const id of [first, second]) records.set(id, await readRunStrict(`${p.runs}/smoke/${id}`));
    assertSameRecords(records, await smokeBaseline(), [first, second]);
    const replaced = await Array.fromAsync(Deno.readDir(`${p.runs}/.replaced/smoke`));
    assertEquals(replaced.length, 2, "both old folders are kept under .replaced/");
    assertEquals(await Deno.readTextFile(`${p.runs}/smoke/not-a-run/readme.txt`), "my notes\n");
  }));

Deno.test("exp refuses to resume a run whose manifest was cut in half, leaving every file as it was", () =>
  withProject(async (p) => {
    const killed = await smoke(p, [], { REDRAW_FAULT_KILL_AT: "step:10" });
    assertEquals(killed.signal, "SIGKILL", show(killed));
    const [first] = await smokeRunIds(p);
    const dir = `${p.runs}/smoke/${first}`;
    const text = await Deno.readTextFile(`${dir}/manifest.json`);
    await Deno.writeTextFile(`${dir}/manifest.json`, text.slice(0, text.length >> 1));
    await Deno.remove(`${dir}/lock.json`); // the killed process's lock: taken over and released, as it should
    const before = await contents(dir);
    const r = await smoke(p);
    assertExit(r, 1, "exp with a truncated manifest");
    assertStringIncludes(r.stdout + r.stderr, `runs/smoke/${first}/manifest.json is not valid JSON`);
    assertStringIncludes(r.stdout + r.stderr, "it looks truncated");
    assertEquals(await contents(dir), before, "the damaged run folder was changed");
  }));

Deno.test("foreign files in a run folder are ignored and kept, and a garbage lock.json is taken over", () =>
  withProject(async (p) => {
    const killed = await smoke(p, [], { REDRAW_FAULT_KILL_AT: "step:6" });
    assertEquals(killed.signal, "SIGKILL", show(killed));
    const [first, second] = await smokeRunIds(p);
    const dir = `${p.runs}/smoke/${first}`;
    await Deno.writeTextFile(`${dir}/notes.txt`, "mine\n");
    await Deno.writeTextFile(`${dir}/checkpoints/ckpt-notes.json`, "{}\n");
    // Garbage in lock.json, untouched for two minutes: a lock that nobody refreshes for 60 s and on which no
    // process holds a flock is stale (lib/record/lock.ts), whatever it says.
    await Deno.writeTextFile(`${dir}/lock.json`, "garbage{\n");
    const old = new Date(Date.now() - 120_000);
    await Deno.utime(`${dir}/lock.json`, old, old);
    const r = await smoke(p, ["--poll", "0.2"]);
    assertExit(r, 0, "exp with foreign files and a garbage lock");
    assertStringIncludes(r.stdout, "attention=true seed 1: completed after 12 steps");
    assertEquals(await Deno.readTextFile(`${dir}/notes.txt`), "mine\n");
    assertEquals(await Deno.readTextFile(`${dir}/checkpoints/ckpt-notes.json`), "{}\n");
    assertSameRecords(await readExperiment(p.runs), await smokeBaseline(), [first, second]);
  }));
