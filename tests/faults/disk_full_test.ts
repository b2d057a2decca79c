// No space left: a runs folder on a 3 MB tmpfs (when this machine lets the test mount one), and an injected
// "No space left on device" (lib/faults.ts) everywhere. The run fails cleanly with a clear message, the
// records written before stay intact, and once there is space again the next exp resumes to records
// identical to an uninterrupted run.
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import {
  assertAllParse,
  assertExit,
  assertSameRecords,
  hasStackTrace,
  note,
  readExperiment,
  readRunStrict,
  smoke,
  smokeBaseline,
  smokeRunIds,
  withProject,
} from "./harness.ts";

async function sh(cmd: string, ...args: string[]): Promise<boolean> {
  const out = await new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).output().catch(() =>
    null
  );
  return out?.success ?? false;
}

/** Whether this process may mount a tmpfs (root in a machine or container that allows it). */
async function canMountTmpfs(): Promise<boolean> {
  const dir = await Deno.makeTempDir({ prefix: "redraw-tmpfs-probe-" });
  try {
    if (!(await sh("mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", dir))) return false;
    await sh("umount", dir);
    return true;
  } finally {
    await Deno.remove(dir);
  }
}

const TMPFS = await canMountTmpfs();

Deno.test({
  name: "a runs folder on a full 3 MB tmpfs fails the run cleanly, keeps earlier records, and resumes later",
  ignore: !TMPFS,
  fn: () =>
    withProject(async (p) => {
      await Deno.mkdir(p.runs);
      assert(await sh("mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", p.runs), "mount failed");
      try {
        const [first, second] = await smokeRunIds(p);
        const full = await smoke(p);
        assertExit(full, 1, "exp on a full disk");
        const out = full.stdout + full.stderr;
        assertStringIncludes(
          out,
          `attention=false seed 1: the trainer crashed: Could not write ${"runs/smoke/"}`,
        );
        assertStringIncludes(out, "No space left on device (os error 28)");
        assert(!hasStackTrace(out), out);
        const base = await smokeBaseline();
        // The cell that finished before the disk filled is intact and complete.
        assertSameRecords(new Map([[first, await readRunStrict(`${p.runs}/smoke/${first}`)]]), base, [first]);
        // The one that hit the full disk is unfinished, and everything it did write is readable.
        const partial = await readRunStrict(`${p.runs}/smoke/${second}`);
        assertEquals(partial.result, null);
        const files = await assertAllParse(p.runs);

        assert(await sh("mount", "-o", "remount,size=64m", p.runs), "remount failed");
        assertExit(await smoke(p), 0, "exp once there is space again");
        const records = await readExperiment(p.runs);
        const c = assertSameRecords(records, base, [first, second]);
        note(
          `tmpfs 3 MB full: exit 1 "No space left on device"; ${files} files parse; after remount: ` +
            `${records.get(second)!.manifest.notes.join("; ")}; ${c.lines} lines identical`,
        );
      } finally {
        await sh("umount", p.runs);
      }
    }),
});

Deno.test("an injected 'no space left' from the second cell's checkpoint on fails it cleanly; earlier records survive", () =>
  withProject(async (p) => {
    const [first, second] = await smokeRunIds(p);
    const full = await smoke(p, [], { REDRAW_FAULT_NO_SPACE_AT: "write:ckpt-000000008.bin#2" });
    assertExit(full, 1, "exp with the disk full");
    const out = full.stdout + full.stderr;
    assertStringIncludes(
      out,
      `attention=false seed 1: the trainer crashed: Could not write runs/smoke/${second}/checkpoints/` +
        `ckpt-000000008.bin: No space left on device (os error 28)`,
    );
    assertStringIncludes(out, "exp: could not write the summary to reports: ");
    assertStringIncludes(out, "report: rendering failed: ");
    assert(!hasStackTrace(out), out);
    const base = await smokeBaseline();
    assertSameRecords(new Map([[first, await readRunStrict(`${p.runs}/smoke/${first}`)]]), base, [first]);
    const partial = await readRunStrict(`${p.runs}/smoke/${second}`);
    assertEquals(partial.result, null);
    assertEquals(partial.checkpointSteps, [4]);
    assertExit(await smoke(p), 0, "exp once there is space again");
    const records = await readExperiment(p.runs);
    assertEquals(records.get(second)!.manifest.notes, ["resumed from ckpt-000000004"]);
    const c = assertSameRecords(records, base, [first, second]);
    note(
      `injected ENOSPC at the 2nd cell's ckpt 8: exit 1, first cell intact; resumed from ckpt 4; ${c.lines} lines identical`,
    );
  }));
