import { assert, assertEquals, assertExists, assertStringIncludes } from "@std/assert";
import { inspectLock, LOCK_FILE, type LockInfo, tryAcquireLock } from "./lock.ts";
import { withTempDir } from "./testutil.ts";

const CHILD = new URL("./testdata/lock_child.ts", import.meta.url).pathname;
/** The running deno when permitted, else the one on PATH (a permission set can name "deno" but not its real path). */
const DENO = (await Deno.permissions.query({ name: "run", command: Deno.execPath() })).state === "granted"
  ? Deno.execPath()
  : "deno";
const exists = (p: string) => Deno.stat(p).then(() => true, () => false);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function readLockFile(dir: string): Promise<LockInfo> {
  return JSON.parse(await Deno.readTextFile(`${dir}/${LOCK_FILE}`));
}

/** A lock as another process would have written it (without its flock); `age` seconds old. */
async function plantLock(dir: string, fields: Partial<LockInfo>, age = 0): Promise<void> {
  const t = new Date(Date.now() - age * 1000);
  const info: LockInfo = {
    format: "redraw-lock",
    token: crypto.randomUUID(),
    pid: 4_000_000,
    hostname: Deno.hostname(),
    startedAt: t.toISOString(),
    refreshedAt: t.toISOString(),
    owner: "planted",
    ...fields,
  };
  await Deno.mkdir(dir, { recursive: true });
  await Deno.remove(`${dir}/${LOCK_FILE}`).catch(() => {});
  await Deno.writeTextFile(`${dir}/${LOCK_FILE}`, JSON.stringify(info));
  await Deno.utime(`${dir}/${LOCK_FILE}`, t, t);
}

Deno.test("tryAcquireLock() gives the lock to one holder at a time and release() frees it", () =>
  withTempDir(async (dir) => {
    const a = await tryAcquireLock(dir, { owner: "test a", refreshSeconds: 0 });
    assertExists(a);
    const info = await readLockFile(dir);
    assertEquals([info.pid, info.owner, info.token], [Deno.pid, "test a", a.info.token]);
    assertEquals(info.hostname, Deno.hostname());
    assert(!Number.isNaN(Date.parse(info.startedAt)) && !Number.isNaN(Date.parse(info.refreshedAt)));
    assertEquals(await tryAcquireLock(dir, { refreshSeconds: 0 }), null);
    assertEquals((await inspectLock(dir)).state, "held");
    await a.release();
    await a.release();
    assert(!(await exists(`${dir}/${LOCK_FILE}`)));
    assertEquals((await inspectLock(dir)).state, "free");
    const b = await tryAcquireLock(dir, { refreshSeconds: 0 });
    assertExists(b);
    await b.release();
  }));

Deno.test("the refresh timer rewrites refreshedAt while the lock is held", () =>
  withTempDir(async (dir) => {
    const lock = await tryAcquireLock(dir, { refreshSeconds: 0.02 });
    assertExists(lock);
    const first = (await readLockFile(dir)).refreshedAt;
    let now = first;
    for (let i = 0; i < 100 && now === first; i++) {
      await sleep(10);
      now = (await readLockFile(dir).catch(() => ({ refreshedAt: first }))).refreshedAt;
    }
    await lock.release();
    assert(now > first, `refreshedAt stayed at ${first}`);
  }));

Deno.test("a lock left by a dead process on this machine is taken over at once", () =>
  withTempDir(async (dir) => {
    await plantLock(dir, {});
    const seen = await inspectLock(dir);
    assertEquals(seen.state, "stale");
    assertStringIncludes(seen.reason, "is no longer running");
    const lock = await tryAcquireLock(dir, { refreshSeconds: 0 });
    assertExists(lock);
    assertEquals((await readLockFile(dir)).token, lock.info.token);
    await lock.release();
  }));

Deno.test("a lock held by a live process on this host is respected even when its refresh time is old", () =>
  withTempDir(async (dir) => {
    const lock = await tryAcquireLock(dir, { refreshSeconds: 0, staleAfterSeconds: 5 });
    assertExists(lock);
    const old = new Date(Date.now() - 3600_000);
    await Deno.utime(`${dir}/${LOCK_FILE}`, old, old);
    assertEquals(await tryAcquireLock(dir, { refreshSeconds: 0, staleAfterSeconds: 5 }), null);
    assertStringIncludes((await inspectLock(dir, 5)).reason, "which is running");
    await lock.release();
  }));

Deno.test("another host's lock is respected while refreshed and taken over once stale", () =>
  withTempDir(async (dir) => {
    await plantLock(dir, { hostname: "node-17", pid: 1 }, 5);
    assertEquals(await tryAcquireLock(dir, { refreshSeconds: 0, staleAfterSeconds: 60 }), null);
    await plantLock(dir, { hostname: "node-17", pid: 1 }, 120);
    const seen = await inspectLock(dir);
    assertEquals(seen.state, "stale");
    assertStringIncludes(seen.reason, "pid 1 on node-17 has not refreshed it for 120 s");
    const lock = await tryAcquireLock(dir, { refreshSeconds: 0, staleAfterSeconds: 60 });
    assertExists(lock);
    await lock.release();
  }));

Deno.test("an empty lock file (its creator died before writing) is respected while new and broken when old", () =>
  withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/${LOCK_FILE}`, "");
    assertEquals(await tryAcquireLock(dir, { refreshSeconds: 0 }), null);
    const old = new Date(Date.now() - 3600_000);
    await Deno.utime(`${dir}/${LOCK_FILE}`, old, old);
    const lock = await tryAcquireLock(dir, { refreshSeconds: 0 });
    assertExists(lock);
    await lock.release();
  }));

Deno.test("many concurrent take-overs of one stale lock in a process produce exactly one holder", () =>
  withTempDir(async (dir) => {
    await plantLock(dir, {});
    const locks = await Promise.all(
      Array.from({ length: 10 }, () => tryAcquireLock(dir, { refreshSeconds: 0 })),
    );
    const winners = locks.filter((l) => l !== null);
    assertEquals(winners.length, 1);
    assertEquals((await readLockFile(dir)).token, winners[0]!.info.token);
    await winners[0]!.release();
    assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), []);
  }));

Deno.test("a holder whose lock was taken over learns it at its next refresh and does not remove the new lock", () =>
  withTempDir(async (dir) => {
    const reasons: string[] = [];
    const lock = await tryAcquireLock(dir, { refreshSeconds: 0, onLost: (r) => reasons.push(r) });
    assertExists(lock);
    assert(await lock.refresh());
    await plantLock(dir, { hostname: "node-3", pid: 42 });
    assertEquals(await lock.refresh(), false);
    assert(lock.lost);
    assertEquals(reasons.length, 1);
    assertStringIncludes(reasons[0], "now belongs to pid 42 on node-3");
    await lock.release();
    assertEquals((await readLockFile(dir)).hostname, "node-3");
  }));

function spawnChild(dir: string, sync: string, id: number): Deno.ChildProcess {
  return new Deno.Command(DENO, {
    args: [
      "run",
      "--quiet",
      "--allow-read",
      "--allow-write",
      "--allow-sys=hostname",
      CHILD,
      dir,
      sync,
      String(id),
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
}

async function waitFor(paths: string[], what: string): Promise<void> {
  for (let i = 0; i < 3000; i++) {
    if ((await Promise.all(paths.map(exists))).every((x) => x)) return;
    await sleep(10);
  }
  throw new Error(`Timed out waiting for ${what}`);
}

/** Starts n contender processes, lets them race for the lock, and returns each one's result. */
async function race(
  dir: string,
  sync: string,
  n: number,
  first = 0,
): Promise<{ results: string[]; finish: () => Promise<void> }> {
  const ids = Array.from({ length: n }, (_, i) => first + i);
  const children = ids.map((id) => spawnChild(dir, sync, id));
  await waitFor(ids.map((id) => `${sync}/ready-${id}`), "contenders to start");
  await Deno.writeTextFile(`${sync}/go`, "");
  await waitFor(ids.map((id) => `${sync}/result-${id}`), "contenders to report");
  const results = await Promise.all(ids.map((id) => Deno.readTextFile(`${sync}/result-${id}`)));
  return {
    results,
    finish: async () => {
      await Deno.writeTextFile(`${sync}/release`, "");
      const outs = await Promise.all(children.map((c) => c.output()));
      for (const o of outs) assert(o.success, new TextDecoder().decode(o.stderr));
    },
  };
}

Deno.test("several processes racing for one lock: exactly one wins", () =>
  withTempDir(async (root) => {
    const dir = `${root}/run`;
    const sync = `${root}/sync`;
    await Deno.mkdir(sync);
    const { results, finish } = await race(dir, sync, 5);
    assertEquals(results.filter((r) => r === "won").length, 1, results.join(","));
    assertEquals(results.filter((r) => r === "lost").length, 4);
    await finish();
    assert(!(await exists(`${dir}/${LOCK_FILE}`)), "the winner's release left lock.json behind");
  }));

Deno.test("a lock held by a process that was killed is taken over by exactly one of several processes", () =>
  withTempDir(async (root) => {
    const dir = `${root}/run`;
    const sync = `${root}/sync1`;
    await Deno.mkdir(sync);
    const holder = spawnChild(dir, sync, 0);
    await waitFor([`${sync}/ready-0`], "the holder to start");
    await Deno.writeTextFile(`${sync}/go`, "");
    await waitFor([`${sync}/result-0`], "the holder to lock");
    assertEquals(await Deno.readTextFile(`${sync}/result-0`), "won");
    holder.kill("SIGKILL");
    await holder.output();
    const dead = await readLockFile(dir);
    const seen = await inspectLock(dir);
    assertEquals(seen.state, "stale");
    assertStringIncludes(seen.reason, `pid ${dead.pid} on ${dead.hostname} is no longer running`);

    const sync2 = `${root}/sync2`;
    await Deno.mkdir(sync2);
    const { results, finish } = await race(dir, sync2, 4, 1);
    assertEquals(results.filter((r) => r === "won").length, 1, results.join(","));
    const now = await readLockFile(dir);
    assert(now.token !== dead.token && now.pid !== dead.pid);
    await finish();
  }));
