import { dirname } from "node:path";
import {
  assert,
  assertEquals,
  assertMatch,
  assertNotEquals,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import {
  collectEnvironment,
  collectGit,
  createManifest,
  effectiveStatus,
  Heartbeat,
  lockfileSha256,
  readManifest,
  updateManifest,
} from "./manifest.ts";
import { RecordError, sha256Hex } from "./io.ts";
import { validateManifest } from "./validate.ts";
import { type Manifest, RECORD_FORMAT_VERSION } from "./types.ts";
import { sampleManifestInit, withTempDir } from "./testutil.ts";

/** Every field of Manifest; optional ones are present only for failed or interrupted runs. */
const REQUIRED_FIELDS = [
  "formatVersion",
  "runId",
  "experiment",
  "cell",
  "config",
  "seeds",
  "dataset",
  "environment",
  "git",
  "lockSha256",
  "command",
  "status",
  "startedAt",
  "endedAt",
  "heartbeatAt",
  "notes",
];

Deno.test("createManifest() writes a manifest with every field present, typed and readable back", () =>
  withTempDir(async (dir) => {
    const now = new Date("2026-01-02T03:04:05.000Z");
    const m = await createManifest(dir, sampleManifestInit(), now);
    assertEquals(Object.keys(m).sort(), [...REQUIRED_FIELDS].sort());
    assertEquals(m.formatVersion, RECORD_FORMAT_VERSION);
    assertEquals(m.status, "running");
    assertEquals(m.startedAt, "2026-01-02T03:04:05.000Z");
    assertEquals(m.heartbeatAt, m.startedAt);
    assertEquals(m.endedAt, null);
    assertEquals(await readManifest(dir), m);
    assertEquals(Object.keys(m.seeds.streams).sort(), ["binarize", "dataOrder", "epsilon", "eval", "init"]);
  }));

Deno.test("validateManifest() names each missing field", () => {
  const full: Manifest = {
    ...sampleManifestInit(),
    formatVersion: 1,
    status: "running",
    startedAt: "2026-01-02T03:04:05.000Z",
    endedAt: null,
    heartbeatAt: "2026-01-02T03:04:05.000Z",
    notes: [],
  };
  validateManifest(full);
  for (const field of REQUIRED_FIELDS) {
    const broken = structuredClone(full) as unknown as Record<string, unknown>;
    delete broken[field];
    let message = "";
    try {
      validateManifest(broken, "runs/x/manifest.json");
    } catch (e) {
      assert(e instanceof RecordError);
      message = e.message;
    }
    assertStringIncludes(message, `runs/x/manifest.json: ${field}`, `missing ${field} was not reported`);
  }
  const env = structuredClone(full) as unknown as Record<string, unknown>;
  delete (env.environment as Record<string, unknown>).cpuModel;
  assertRejectsSync(() => validateManifest(env), "environment.cpuModel must be a string, got nothing");
});

function assertRejectsSync(fn: () => unknown, includes: string): void {
  try {
    fn();
  } catch (e) {
    assertStringIncludes((e as Error).message, includes);
    return;
  }
  throw new Error(`Expected an error including ${JSON.stringify(includes)}`);
}

Deno.test("validateManifest() reports wrong types with the field path and the offending value", () => {
  const base = () =>
    structuredClone({
      ...sampleManifestInit(),
      formatVersion: 1,
      status: "running",
      startedAt: "2026-01-02T03:04:05.000Z",
      endedAt: null,
      heartbeatAt: "2026-01-02T03:04:05.000Z",
      notes: [],
    }) as unknown as Record<string, Record<string, unknown>>;
  const cases: Array<[(m: Record<string, Record<string, unknown>>) => void, string]> = [
    [
      (m) => (m.status as unknown) = "done",
      'status must be one of "running", "completed", "failed", "interrupted", got "done"',
    ],
    [(m) => m.environment.cores = "2", 'environment.cores must be an integer >= 0, got "2"'],
    [(m) => m.git.commit = "HEAD", 'git.commit must be a git commit hash or null, got "HEAD"'],
    [
      (m) => (m.heartbeatAt as unknown) = "yesterday",
      'heartbeatAt must be an ISO 8601 time, got "yesterday"',
    ],
    [
      (m) => m.dataset.sha256 = { "a.amat": "xyz" },
      'dataset.sha256.a.amat must be a 64-digit hex digest, got "xyz"',
    ],
    [(m) => m.seeds.streams = { init: -1 }, "seeds.streams.init must be a 32-bit seed, got -1"],
    [
      (m) => (m.config.train as Record<string, unknown>).batchSize = 0,
      "config.train.batchSize must be an integer",
    ],
    [(m) => (m.notes as unknown) = ["ok", 3], "notes[1] must be a string, got 3"],
    [
      (m) => (m.failure as unknown) = { step: 5, lastMetrics: null, offending: "enc" },
      "failure.offending must be",
    ],
  ];
  for (const [mutate, expected] of cases) {
    const m = base();
    mutate(m);
    assertRejectsSync(() => validateManifest(m), expected);
  }
  assertRejectsSync(
    () => validateManifest([1, 2], "m.json"),
    "m.json: the content must be an object, got [1,2]",
  );
});

Deno.test("readManifest() refuses a manifest from a future format version with a clear message", () =>
  withTempDir(async (dir) => {
    const m = await createManifest(dir, sampleManifestInit());
    await Deno.writeTextFile(
      `${dir}/manifest.json`,
      JSON.stringify({ ...m, formatVersion: RECORD_FORMAT_VERSION + 1 }),
    );
    const err = await assertRejects(() => readManifest(dir), RecordError);
    assertStringIncludes(
      err.message,
      `has format version ${RECORD_FORMAT_VERSION + 1}, newer than this redraw`,
    );
    assertStringIncludes(err.message, `${dir}/manifest.json`);
  }));

Deno.test("readManifest() refuses a truncated manifest and a foreign JSON file, naming the file", () =>
  withTempDir(async (dir) => {
    await createManifest(dir, sampleManifestInit());
    const text = await Deno.readTextFile(`${dir}/manifest.json`);
    await Deno.writeTextFile(`${dir}/manifest.json`, text.slice(0, 200));
    await assertRejects(() => readManifest(dir), RecordError, "looks truncated");
    await Deno.writeTextFile(`${dir}/manifest.json`, '{"name": "some-npm-package", "version": "1.0.0"}');
    await assertRejects(() => readManifest(dir), RecordError, `${dir}/manifest.json: formatVersion must be`);
  }));

Deno.test("effectiveStatus() shows a running manifest with a stale heartbeat as interrupted", () => {
  const beat = "2026-01-01T00:00:00.000Z";
  const at = (s: number) => new Date(Date.parse(beat) + s * 1000);
  assertEquals(effectiveStatus({ status: "running", heartbeatAt: beat }, at(119)), "running");
  assertEquals(effectiveStatus({ status: "running", heartbeatAt: beat }, at(121)), "interrupted");
  assertEquals(effectiveStatus({ status: "running", heartbeatAt: beat }, at(30), 20), "interrupted");
  assertEquals(effectiveStatus({ status: "completed", heartbeatAt: beat }, at(1e6)), "completed");
  assertEquals(effectiveStatus({ status: "failed", heartbeatAt: beat }, at(1e6)), "failed");
  assertEquals(effectiveStatus({ status: "running", heartbeatAt: "garbage" }, at(0)), "interrupted");
});

Deno.test("updateManifest() applies patches, removes fields set to undefined and refuses invalid results", () =>
  withTempDir(async (dir) => {
    await createManifest(dir, sampleManifestInit());
    await updateManifest(dir, { status: "failed", reason: "NaN in loss" });
    let m = await updateManifest(dir, (cur) => ({ notes: [...cur.notes, "resumed"] }));
    assertEquals([m.status, m.reason, m.notes], ["failed", "NaN in loss", ["resumed"]]);
    m = await updateManifest(dir, { status: "running", reason: undefined });
    assert(!("reason" in m));
    assert(!("reason" in JSON.parse(await Deno.readTextFile(`${dir}/manifest.json`))));
    await assertRejects(
      () => updateManifest(dir, { status: "paused" as Manifest["status"] }),
      RecordError,
      "status must be one of",
    );
    assertEquals((await readManifest(dir)).status, "running");
  }));

Deno.test("concurrent updateManifest() calls from one process never lose an update", () =>
  withTempDir(async (dir) => {
    await createManifest(dir, sampleManifestInit());
    const hb = new Heartbeat(dir);
    await Promise.all(
      Array.from(
        { length: 12 },
        (_, i) => i % 3 === 0 ? hb.beat() : updateManifest(dir, (m) => ({ notes: [...m.notes, `n${i}`] })),
      ),
    );
    await hb.stop();
    assertEquals((await readManifest(dir)).notes.length, 8);
  }));

Deno.test("Heartbeat advances heartbeatAt while started and stops cleanly", () =>
  withTempDir(async (dir) => {
    const m = await createManifest(dir, sampleManifestInit(), new Date("2020-01-01T00:00:00.000Z"));
    const hb = new Heartbeat(dir, { intervalSeconds: 0.02 });
    hb.start();
    let beat = m.heartbeatAt;
    for (let i = 0; i < 100 && beat === m.heartbeatAt; i++) {
      await new Promise((r) => setTimeout(r, 20));
      beat = (await readManifest(dir)).heartbeatAt;
    }
    await hb.stop();
    assertNotEquals(beat, m.heartbeatAt);
    assertEquals(hb.lastError, null);
    const after = (await readManifest(dir)).heartbeatAt;
    await new Promise((r) => setTimeout(r, 60));
    assertEquals((await readManifest(dir)).heartbeatAt, after);
  }));

Deno.test("Heartbeat reports a failed beat to onError instead of throwing", () =>
  withTempDir(async (dir) => {
    const errors: Error[] = [];
    const hb = new Heartbeat(`${dir}/missing-run`, { onError: (e) => errors.push(e) });
    await hb.beat();
    await hb.stop();
    assertEquals(errors.length, 1);
    assertStringIncludes(errors[0].message, "manifest file");
  }));

Deno.test("collectEnvironment() fills every field with the running Deno's facts", async () => {
  const env = await collectEnvironment({
    requested: "auto",
    obtained: "cpu",
    device: "cpu",
    tfjsVersion: "4.22.0",
  });
  assertEquals(env.deno, Deno.version.deno);
  assertEquals(env.v8, Deno.version.v8);
  assertEquals(env.typescript, Deno.version.typescript);
  assertEquals([env.backendRequested, env.backend, env.tfjs], ["auto", "cpu", "4.22.0"]);
  assertEquals(env.arch, Deno.build.arch);
  assert(env.cores >= 1);
  assert(env.memoryBytes > 0);
  const m = { ...sampleManifestInit(), environment: env };
  validateManifest({
    ...m,
    formatVersion: 1,
    status: "running",
    startedAt: "2026-01-01T00:00:00Z",
    endedAt: null,
    heartbeatAt: "2026-01-01T00:00:00Z",
    notes: [],
  });
});

async function git(cwd: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command("git", {
    args: ["-c", "user.name=t", "-c", "user.email=t@example.com", ...args],
    cwd,
    stdout: "null",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`git ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
}

async function gitWorks(): Promise<boolean> {
  try {
    return (await new Deno.Command("git", { args: ["--version"], stdout: "null", stderr: "null" }).output())
      .success;
  } catch {
    return false;
  }
}
const hasGit = await gitWorks();

/** A new repository at `repo` with one commit holding `files` (path -> text). */
async function committedRepo(repo: string, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await Deno.mkdir(dirname(`${repo}/${path}`), { recursive: true });
    await Deno.writeTextFile(`${repo}/${path}`, text);
  }
  await git(repo, "init", "-q");
  await git(repo, "add", ...Object.keys(files));
  await git(repo, "commit", "-q", "-m", "first");
}

Deno.test({
  name:
    "collectGit() records the commit, and for a dirty checkout the diff and untracked files, reports aside",
  ignore: !hasGit,
  fn: () =>
    withTempDir(async (dir) => {
      const repo = `${dir}/repo`;
      const run = `${dir}/run`;
      await committedRepo(repo, { "a.ts": "export const a = 1;\n", "reports/grid.html": "<p>old</p>\n" });
      let g = await collectGit(repo, run);
      assertMatch(g.commit ?? "", /^[0-9a-f]{40}$/);
      assertEquals([g.dirty, g.diffFile], [false, null]);
      // Every experiment rewrites its report: that alone must not make the next run's checkout dirty.
      await Deno.writeTextFile(`${repo}/reports/grid.html`, "<p>new</p>\n");
      await Deno.writeTextFile(`${repo}/reports/latent.html`, "<p>new</p>\n");
      g = await collectGit(repo, run);
      assertEquals([g.dirty, g.diffFile], [false, null]);
      assertEquals(await Deno.readTextFile(`${run}/diff.patch`), "");
      await Deno.writeTextFile(`${repo}/a.ts`, "export const a = 2;\n");
      await Deno.writeTextFile(`${repo}/new.ts`, "x");
      g = await collectGit(repo, run);
      assertEquals([g.dirty, g.diffFile], [true, "diff.patch"]);
      const patch = await Deno.readTextFile(`${run}/diff.patch`);
      assertStringIncludes(patch, "# untracked: new.ts\n");
      assertStringIncludes(patch, "+export const a = 2;");
      assertEquals(patch.includes("reports/"), false);
    }),
});

Deno.test("collectGit() outside a repository records no commit and writes no patch", () =>
  withTempDir(async (dir) => {
    const g = await collectGit(dir, `${dir}/run`);
    assertEquals(g, { commit: null, dirty: false, diffFile: null });
  }));

Deno.test("lockfileSha256() hashes deno.lock and is null without one", () =>
  withTempDir(async (dir) => {
    assertEquals(await lockfileSha256(dir), null);
    await Deno.writeTextFile(`${dir}/deno.lock`, '{"version":"5"}');
    assertEquals(await lockfileSha256(dir), await sha256Hex('{"version":"5"}'));
  }));
