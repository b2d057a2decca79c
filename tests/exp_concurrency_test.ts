// Several `exp` processes (the CLI with the fake trainer and the real run-folder locks) on one runs folder:
// every cell runs exactly once, shards split the work, and a killed process's cell is taken over and resumed.
import { assertEquals, assertMatch } from "@std/assert";
import { PROJECT_ROOT } from "../lib/exp/validate.ts";

const SIX = "tests/fixtures/experiments/six-cells.ts";

/**
 * The fake exp CLI on the six-cell experiment with least privilege: it may write only in `allowed`, while its
 * runs and reports folders are `runsDir` and `reportsDir`.
 */
function fakeExpArgs(allowed: string, runsDir: string, reportsDir: string): string[] {
  return [
    "run",
    "--allow-read",
    `--allow-write=${allowed}`,
    "--allow-env",
    "--allow-sys=hostname",
    "lib/exp/testing/fake_cli.ts",
    SIX,
    "--profile",
    "smoke",
    "--runs-dir",
    runsDir,
    "--reports-dir",
    reportsDir,
  ];
}

function spawn(tmp: string, args: string[], env: Record<string, string> = {}): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [...fakeExpArgs(tmp, `${tmp}/runs`, `${tmp}/reports`), "--poll", "0.1", ...args],
    cwd: PROJECT_ROOT,
    env: { FAKE_STEPS: "5", FAKE_STEP_MS: "40", FAKE_NO_REPORT: "1", NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

async function finish(p: Deno.ChildProcess): Promise<{ code: number; out: string }> {
  const o = await p.output();
  return { code: o.code, out: new TextDecoder().decode(o.stdout) + new TextDecoder().decode(o.stderr) };
}

/** calls.log lines of every run folder, by run id. */
async function callLogs(tmp: string): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for await (const e of Deno.readDir(`${tmp}/runs/six-cells`)) {
    const text = await Deno.readTextFile(`${tmp}/runs/six-cells/${e.name}/calls.log`).catch(() => "");
    out.set(e.name, text.trim().split("\n").filter(Boolean));
  }
  return out;
}

async function withTmp(fn: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = await Deno.makeTempDir({ prefix: "exp-conc-" });
  try {
    await fn(tmp);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

for (const n of [2, 4]) {
  Deno.test(`${n} concurrent exp processes on one experiment run every cell exactly once and all exit 0`, () =>
    withTmp(async (tmp) => {
      const procs = Array.from({ length: n }, () => spawn(tmp, []));
      const results = await Promise.all(procs.map(finish));
      for (const r of results) assertEquals(r.code, 0, r.out);
      const logs = await callLogs(tmp);
      assertEquals(logs.size, 6);
      for (const [id, lines] of logs) {
        assertEquals(lines.length, 1, `${id}: ${lines.join("; ")}`);
        assertMatch(lines[0], /^start pid \d+$/);
      }
      const summary = JSON.parse(await Deno.readTextFile(`${tmp}/reports/six-cells.summary.json`));
      assertEquals(summary.counts, { completed: 6 });
      for (const id of logs.keys()) {
        assertEquals(
          JSON.parse(await Deno.readTextFile(`${tmp}/runs/six-cells/${id}/result.json`)).status,
          "completed",
        );
        // The lock is gone once a run is done.
        assertEquals(
          await Deno.stat(`${tmp}/runs/six-cells/${id}/lock.json`).then(() => true, () => false),
          false,
        );
      }
    }));
}

Deno.test("3 exp processes with --shard i/3 each run their own share, covering every cell once", () =>
  withTmp(async (tmp) => {
    const procs = [0, 1, 2].map((i) => spawn(tmp, ["--shard", `${i}/3`]));
    const results = await Promise.all(procs.map(finish));
    for (const r of results) assertEquals(r.code, 0, r.out);
    const logs = await callLogs(tmp);
    assertEquals(logs.size, 6);
    const byPid = new Map<number, number>();
    for (const lines of logs.values()) {
      assertEquals(lines.length, 1);
      const pid = Number(/pid (\d+)/.exec(lines[0])![1]);
      byPid.set(pid, (byPid.get(pid) ?? 0) + 1);
    }
    assertEquals([...byPid.keys()].sort(), procs.map((p) => p.pid).sort());
    assertEquals([...byPid.values()], [2, 2, 2]);
  }));

Deno.test("a SIGKILLed exp leaves a stale lock that the next exp takes over, resuming the cell", () =>
  withTmp(async (tmp) => {
    const victim = spawn(tmp, ["--only", "T=1", "--only", "attention=true"], {
      FAKE_STEP_MS: "300",
      FAKE_STEPS: "20",
    });
    // Wait until it has checkpointed a step or two, then kill it without warning.
    const deadline = Date.now() + 30_000;
    let ckpt = "";
    while (Date.now() < deadline) {
      const dirs = await Array.fromAsync(Deno.readDir(`${tmp}/runs/six-cells`)).catch(() => []);
      ckpt = dirs.length
        ? await Deno.readTextFile(`${tmp}/runs/six-cells/${dirs[0].name}/fake-ckpt.json`).catch(() => "")
        : "";
      if (ckpt) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    victim.kill("SIGKILL");
    const killed = await finish(victim);
    assertEquals(killed.code, 137);
    const [id] = (await callLogs(tmp)).keys();
    assertEquals(
      await Deno.stat(`${tmp}/runs/six-cells/${id}/lock.json`).then(() => true, () => false),
      true,
    );

    const next = await finish(
      spawn(tmp, ["--only", "T=1", "--only", "attention=true"], { FAKE_STEPS: "20", FAKE_STEP_MS: "1" }),
    );
    assertEquals(next.code, 0, next.out);
    const lines = (await callLogs(tmp)).get(id)!;
    assertEquals(lines.length, 2);
    assertMatch(lines[0], /^start pid \d+$/);
    assertMatch(lines[1], /^resume from [1-9]\d* pid \d+$/);
    assertEquals(
      JSON.parse(await Deno.readTextFile(`${tmp}/runs/six-cells/${id}/result.json`)).status,
      "completed",
    );
  }));

Deno.test("SIGINT and SIGTERM interrupt the current cell and exit 130 and 143", async () => {
  for (const [sig, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    await withTmp(async (tmp) => {
      const p = spawn(tmp, ["--only", "T=2"], { FAKE_STEP_MS: "200", FAKE_STEPS: "50" });
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const dirs = await Array.fromAsync(Deno.readDir(`${tmp}/runs/six-cells`)).catch(() => []);
        const ck = dirs.length
          ? await Deno.readTextFile(`${tmp}/runs/six-cells/${dirs[0].name}/fake-ckpt.json`).catch(() => "")
          : "";
        if (ck) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      p.kill(sig);
      const r = await finish(p);
      assertEquals(r.code, code, r.out);
      const [id] = (await callLogs(tmp)).keys();
      const result = JSON.parse(await Deno.readTextFile(`${tmp}/runs/six-cells/${id}/result.json`));
      assertEquals(result.status, "interrupted");
      assertEquals(
        await Deno.stat(`${tmp}/runs/six-cells/${id}/lock.json`).then(() => true, () => false),
        false,
      );
    });
  }
});

Deno.test("exp refuses runs or reports folders it may not write to, and writes nothing anywhere", () =>
  withTmp(async (tmp) => {
    const allowed = `${tmp}/allowed`;
    for (const [flag, dir] of [["--runs-dir", `${tmp}/elsewhere`], ["--reports-dir", "/etc"]]) {
      const p = new Deno.Command(Deno.execPath(), {
        args: fakeExpArgs(
          allowed,
          flag === "--runs-dir" ? dir : `${allowed}/runs`,
          flag === "--reports-dir" ? dir : `${allowed}/reports`,
        ),
        cwd: PROJECT_ROOT,
        env: { NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      });
      const o = await p.output();
      assertEquals(o.code, 2);
      assertEquals(
        new TextDecoder().decode(o.stderr).trim(),
        `exp: ${flag} ${dir}: this process may not write there (\`deno task exp\` writes only in runs/ and reports/)`,
      );
    }
    assertEquals([...Deno.readDirSync(tmp)].map((e) => e.name), []);
  }));
