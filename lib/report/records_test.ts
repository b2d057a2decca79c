import { assertEquals, assertMatch, assertRejects, assertStringIncludes } from "@std/assert";
import { readExperimentRuns, readRunRecord } from "./records.ts";

const FIXTURES = new URL("../../tests/fixtures/report/records", import.meta.url).pathname;
const NOW = new Date("2025-11-26T08:00:00Z");

Deno.test("readRunRecord() reads every file of a completed run, gradients included, and lists its torn metrics line", async () => {
  const r = await readRunRecord(`${FIXTURES}/tiny/run-ok`, NOW);
  assertEquals(r.manifest.status, "completed");
  assertEquals(r.metrics.length, 3);
  assertEquals(r.gradients.length, 3);
  assertEquals(r.result?.test?.bound.mean, 120.5);
  assertEquals(r.samples?.grid.length, 2);
  assertEquals(r.warnings.length, 1);
  assertMatch(r.warnings[0], /metrics\.jsonl: ignored an unfinished last line/);
});

Deno.test("a running run whose heartbeat is stale is shown as interrupted, with the reason", async () => {
  const r = await readRunRecord(`${FIXTURES}/tiny/run-stale`, NOW);
  assertEquals(r.manifest.status, "interrupted");
  assertStringIncludes(r.manifest.reason ?? "", "the heartbeat stopped at 2025-11-26T07:05:00.000Z");
  const fresh = await readRunRecord(`${FIXTURES}/tiny/run-stale`, new Date("2025-11-26T07:05:30Z"));
  assertEquals(fresh.manifest.status, "running");
});

Deno.test("readExperimentRuns() lists a run folder with a broken manifest as unreadable, naming the file", async () => {
  const { runs, unreadable } = await readExperimentRuns(FIXTURES, "tiny", NOW);
  assertEquals(runs.map((r) => r.manifest.runId), ["run-ok", "run-stale"]);
  assertEquals(unreadable.length, 1);
  assertMatch(unreadable[0].reason, /run-broken\/manifest\.json is not valid JSON/);
  assertEquals(await readExperimentRuns(FIXTURES, "no-such-experiment"), { runs: [], unreadable: [] });
});

Deno.test("readRunRecord() refuses a manifest of a newer format version", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const m = JSON.parse(await Deno.readTextFile(`${FIXTURES}/tiny/run-ok/manifest.json`));
    await Deno.writeTextFile(`${dir}/manifest.json`, JSON.stringify({ ...m, formatVersion: 2 }));
    await assertRejects(() => readRunRecord(dir), Error, "2");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
