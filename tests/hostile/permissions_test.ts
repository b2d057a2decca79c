// Least privilege: every deno.json task runs under a named permission set scoped to what it needs, and the
// `exp` process (including the experiment file's own code, which runs inside it) can write only in runs/ and
// reports/ of the project, whatever path it tries.
import { assert, assertEquals } from "@std/assert";
import { CLIS, REPO, runCli, show, withProject } from "../faults/harness.ts";

interface Config {
  tasks: Record<string, string>;
  permissions: Record<string, Record<string, unknown>>;
  test?: { permissions?: string };
}

const config: Config = JSON.parse(await Deno.readTextFile(`${REPO}/deno.json`));

Deno.test("every deno.json task that runs code uses a named permission set, never -A or --allow-*", () => {
  const problems: string[] = [];
  for (const [task, cmd] of Object.entries(config.tasks)) {
    if (/(^|\s)(-A|--allow-[a-z]+|--unstable-[a-z-]+)\b/.test(cmd)) {
      problems.push(`${task}: ${cmd} grants flags`);
    }
    const m = /^deno (run|test)\b(.*)$/.exec(cmd);
    if (!m) continue; // fmt, lint and check run no project code
    const set = /\s-P=([a-z-]+)/.exec(cmd)?.[1] ??
      (/\s-P(\s|$)/.test(cmd) ? config.test?.permissions : undefined);
    if (!set) problems.push(`${task}: ${cmd} has no named permission set`);
    else if (!config.permissions[set]) problems.push(`${task}: permission set ${set} is not defined`);
  }
  assertEquals(problems, []);
});

Deno.test("the permission sets write only their own folders and grant no unscoped write, ffi or run", () => {
  const expected: Record<string, unknown> = {
    exp: ["./runs", "./reports"],
    train: ["./runs"],
    report: ["./reports"],
    bench: ["./bench"],
    doctor: undefined,
  };
  for (const [set, write] of Object.entries(expected)) {
    const perms = config.permissions[set];
    assert(perms, `permission set ${set} is missing`);
    assertEquals(perms.write, write, `${set}.write`);
    assert(perms.all === undefined, `${set} grants all`);
    assert(perms.ffi === undefined || Array.isArray(perms.ffi), `${set} grants unscoped ffi`);
    assert(perms.run === undefined || Array.isArray(perms.run), `${set} may run any program`);
    assert(perms.net === undefined || Array.isArray(perms.net), `${set} may reach any host`);
  }
  assertEquals(config.permissions.exp.run, ["git", "lscpu"]);
  assertEquals(config.permissions.report.run, undefined, "the report needs no subprocess");
  assertEquals(config.permissions.report.net, undefined, "the report works offline");
});

Deno.test("the fault suite runs each CLI exactly as its deno task does", () => {
  for (const [task, { set, entry }] of Object.entries(CLIS)) {
    assertEquals(config.tasks[task], `deno run -q -P=${set} ${entry}`, `deno task ${task}`);
  }
});

Deno.test("exp, and the experiment file's own code, can write only in runs/ and reports/", () =>
  withProject(async (p) => {
    const token = crypto.randomUUID().slice(0, 8);
    const attempts = [
      "runs/ok.txt",
      "reports/ok.txt",
      `pwned-${token}.txt`,
      `../pwned-${token}.txt`,
      `runs/../pwned-${token}.txt`,
      `reports/../../pwned-${token}.txt`,
      `/tmp/pwned-${token}.txt`,
      "lib/pwned.ts",
      "experiments/pwned.ts",
      "node_modules/pwned.js",
      "tests/fixtures/data/pwned.txt",
      "runs-evil/pwned.txt",
      "deno.json",
    ];
    const source = `import { SMOKE_PROFILE } from "../lib/exp/define.ts";
Deno.mkdirSync("runs", { recursive: true });
Deno.mkdirSync("reports", { recursive: true });
for (const p of ${JSON.stringify(attempts)}) {
  try { Deno.writeTextFileSync(p, "x", { append: true }); console.log("WROTE", p); }
  catch (e) { console.log("DENIED", p, (e as Error).name); }
}
for (const [what, f] of [
  ["symlink", () => Deno.symlinkSync("/etc", "runs/etc")],
  ["rename", () => Deno.renameSync("runs/ok.txt", "../moved-${token}.txt")],
  ["hardlink", () => Deno.linkSync("runs/ok.txt", "../hard-${token}.txt")],
  ["chmod", () => Deno.chmodSync("deno.json", 0o777)],
  ["shell", () => new Deno.Command("sh", { args: ["-c", "true"] }).outputSync()],
] as const) {
  try { f(); console.log("WROTE", what); } catch (e) { console.log("DENIED", what, (e as Error).name); }
}
export default { name: "perm", description: "tries to write everywhere", base: { preset: "paper" },
  factors: { attention: [true] }, seeds: [1],
  profiles: { smoke: SMOKE_PROFILE, quick: SMOKE_PROFILE, paper: SMOKE_PROFILE } };
`;
    await Deno.mkdir(`${p.dir}/hostile`);
    await Deno.writeTextFile(`${p.dir}/hostile/perm.ts`, source);
    const deno = await Deno.readTextFile(`${p.dir}/deno.json`);
    const r = await runCli(p.dir, "exp", ["hostile/perm.ts", "--dry-run"]);
    assertEquals(r.code, 0, show(r));
    const wrote = r.stdout.split("\n").filter((l) => l.startsWith("WROTE")).map((l) => l.slice(6));
    const denied = r.stdout.split("\n").filter((l) => l.startsWith("DENIED")).map((l) => l.split(" "));
    assertEquals(wrote, ["runs/ok.txt", "reports/ok.txt"]);
    assertEquals(denied.length, attempts.length - 2 + 5);
    for (const d of denied) assertEquals(d.at(-1), "NotCapable", d.join(" "));
    assertEquals(await Deno.readTextFile(`${p.dir}/deno.json`), deno);
    for (const f of [`pwned-${token}.txt`, `moved-${token}.txt`, `hard-${token}.txt`]) {
      await Deno.stat(`${p.dir}/../${f}`).then(() => assert(false, `${f} was written outside`), () => {});
    }
    const top = (await Array.fromAsync(Deno.readDir(p.dir))).map((e) => e.name).sort();
    assertEquals(top, [
      "deno.json",
      "deno.lock",
      "experiments",
      "hostile",
      "lib",
      "node_modules",
      "reports",
      "runs",
      "tests",
    ]);
  }));
