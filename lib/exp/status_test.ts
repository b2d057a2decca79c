import { assertEquals, assertStringIncludes } from "@std/assert";
import { readRunState, stateWord } from "./status.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "exp-status-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("readRunState() tells pending, incomplete and finished runs apart", () =>
  withDir(async (dir) => {
    const run = `${dir}/r1`;
    assertEquals(await readRunState(run, "r1"), { kind: "pending" });
    await Deno.mkdir(run);
    assertEquals(await readRunState(run, "r1"), { kind: "incomplete", manifestStatus: null });
    await Deno.writeTextFile(`${run}/manifest.json`, JSON.stringify({ status: "running" }));
    assertEquals(await readRunState(run, "r1"), { kind: "incomplete", manifestStatus: "running" });
    await Deno.writeTextFile(
      `${run}/manifest.json`,
      JSON.stringify({ status: "failed", reason: "loss is NaN at step 7" }),
    );
    await Deno.writeTextFile(
      `${run}/result.json`,
      JSON.stringify({ runId: "r1", status: "failed", steps: 7 }),
    );
    const s = await readRunState(run, "r1");
    assertEquals(s.kind === "finished" && [s.status, s.reason, s.result.steps], [
      "failed",
      "loss is NaN at step 7",
      7,
    ]);
    assertEquals(stateWord(s), "failed");
  }));

Deno.test("readRunState() calls a truncated, foreign or status-less result.json unreadable", () =>
  withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/result.json`, `{"runId":"r1","status":"compl`);
    const torn = await readRunState(dir, "r1");
    assertEquals(torn.kind, "unreadable");
    assertStringIncludes(
      torn.kind === "unreadable" ? torn.reason : "",
      `${dir}/result.json is not valid JSON`,
    );
    await Deno.writeTextFile(`${dir}/result.json`, JSON.stringify({ runId: "other", status: "completed" }));
    const foreign = await readRunState(dir, "r1");
    assertStringIncludes(
      foreign.kind === "unreadable" ? foreign.reason : "",
      `belongs to run "other", not r1`,
    );
    await Deno.writeTextFile(`${dir}/result.json`, JSON.stringify({ runId: "r1", status: "done" }));
    const odd = await readRunState(dir, "r1");
    assertStringIncludes(odd.kind === "unreadable" ? odd.reason : "", `has no valid "status"`);
    assertEquals(stateWord(odd), "unreadable");
  }));
