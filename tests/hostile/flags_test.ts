// Malformed command lines for exp, train, verify and report, through the real CLIs under their own permission
// sets: each is refused with a message naming the flag and the documented exit status, never a stack trace,
// and writes nothing.
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { hasStackTrace, type Project, runCli, show, withProject } from "../faults/harness.ts";

type Case = [args: string[], code: number, message: string];

const EXP: Case[] = [
  [["smoke", "--bogus"], 2, `exp: Unknown flag "--bogus" (see --help)`],
  [["smoke", "--profile"], 2, `exp: Flag "--profile" needs a value`],
  [
    ["smoke", "--profile", "nope"],
    2,
    "exp: --profile nope: smoke has no such profile (profiles: smoke, quick, paper)",
  ],
  [["smoke", "--seeds", "0"], 2, `exp: --seeds 0: "0" is not a seed`],
  [["smoke", "--seeds", "1,x"], 2, `exp: --seeds 1,x: "x" is not a seed`],
  [["smoke", "--seeds", "99999999999"], 2, `"99999999999" is not a seed`],
  [["smoke", "--seeds", "2,2"], 2, "exp: --seeds 2,2: seed 2 is given twice"],
  [["smoke", "--only", "attention=maybe"], 2, "exp: --only attention=maybe: no cell has attention=maybe"],
  [["smoke", "--only", "junk"], 2, `exp: --only "junk" must look like key=value`],
  [["smoke", "--only"], 2, `exp: Flag "--only" needs a value`],
  [["smoke", "--shard", "3/2"], 2, "exp: --shard 3/2: i must be from 0 to 1"],
  [["smoke", "--shard", "x"], 2, `exp: --shard "x" must look like i/n`],
  [
    ["smoke", "--shard", "env"],
    2,
    "exp: --shard env: neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set",
  ],
  [["smoke", "--poll", "-1"], 2, "exp: --poll -1: must be a number of seconds"],
  [["smoke", "--poll", "NaN"], 2, "exp: --poll NaN: must be a number of seconds"],
  [["smoke", "--backend", "quantum"], 2, "exp: --backend quantum: must be one of"],
  [
    ["smoke", "--threads", "100000"],
    2,
    "exp: --threads 100000: must be an integer from 1 to " +
    `${navigator.hardwareConcurrency}, the cores of this machine (navigator.hardwareConcurrency)`,
  ],
  [["smoke", "--dry-run=yes"], 2, `exp: Flag "--dry-run" takes no value, got "yes"`],
  [["smoke", "--force", "--force"], 2, `exp: Flag "--force" is given twice`],
  [["smoke", "other"], 2, `exp: Expected one experiment name, got "smoke" "other"`],
  [
    ["smoke", "--runs-dir", "/etc/redraw"],
    2,
    "exp: --runs-dir /etc/redraw: this process may not write there",
  ],
  [["smoke", "--runs-dir", "../outside"], 2, "exp: --runs-dir ../outside: this process may not write there"],
  [["smoke", "--reports-dir", "/tmp"], 2, "exp: --reports-dir /tmp: this process may not write there"],
];

const TRAIN: Case[] = [
  [["--bogus"], 2, `train: Unknown flag "--bogus"`],
  [["--T"], 2, `train: Flag "--T" needs a value`],
  [["--T", "abc"], 2, `train: --T must be an integer, got "abc"`],
  [["--T", "-3"], 2, "train: run.model.T must be an integer from 1 to 10000, got -3"],
  [["--T", "1e9"], 2, "train: run.model.T must be an integer from 1 to 10000, got 1000000000"],
  [["--lr", "NaN"], 2, `train: --lr must be a number, got "NaN"`],
  [["--batch", "0"], 2, "train: run.train.batchSize must be an integer from 1 to 65536, got 0"],
  [["--seed", "1.5"], 2, `train: --seed must be an integer, got "1.5"`],
  [["--backend", "quantum"], 2, "train: --backend must be one of"],
  [
    ["--threads", "100000"],
    2,
    `train: --threads "100000": must be an integer from 1 to ${navigator.hardwareConcurrency}`,
  ],
  [["--preset", "nope"], 2, `train: Unknown model preset "nope"`],
  [["--attention", "maybe"], 2, `train: Unexpected argument "maybe"`],
  [
    ["--fixtures", "--steps", "1", "--run-dir", "/etc/x"],
    2,
    "train: --run-dir /etc/x: this process may not write there",
  ],
  [
    ["--fixtures", "--steps", "1", "--run-dir", "../x"],
    2,
    "train: --run-dir ../x: this process may not write there",
  ],
];

const VERIFY: Case[] = [
  [[], 2, "verify: Usage: deno task verify <run-dir>"],
  [["--bogus", "runs"], 2, `verify: Unknown flag "--bogus"`],
  [["RUN", "--steps"], 2, `verify: Flag "--steps" needs a value`],
  [["RUN", "--steps", "0"], 2, "verify: --steps must be at least 1, got 0"],
  [["RUN", "--steps", "abc"], 2, `verify: --steps must be an integer, got "abc"`],
  [["RUN", "--backend", "quantum"], 2, "verify: --backend must be one of"],
  [["RUN", "extra"], 2, "verify: Usage:"],
  [["runs/nope"], 1, "verify: The manifest file runs/nope/manifest.json does not exist"],
];

const REPORT: Case[] = [
  [["--bogus"], 2, "Unknown option --bogus"],
  [["../etc"], 1, `error: ../etc: Experiment name "../etc" must be`],
  [["index"], 1, `error: index: Experiment name "index" is taken`],
  [["--runs-dir", "/nonexistent-runs"], 1, "error: Requires read access to"],
  [["smoke", "--reports-dir", "/etc/x"], 1, `Requires write access to "/etc/x"`],
];

async function check(
  p: Project,
  cli: "exp" | "train" | "verify" | "report",
  cases: Case[],
  run = "",
): Promise<void> {
  const failures: string[] = [];
  for (const [args, code, message] of cases) {
    const r = await runCli(p.dir, cli, args.map((a) => (a === "RUN" ? run : a)));
    const out = r.stdout + r.stderr;
    if (r.code !== code || !out.includes(message) || hasStackTrace(out)) {
      failures.push(
        `${cli} ${args.join(" ")}: expected exit ${code} and ${JSON.stringify(message)}\n${show(r)}`,
      );
    }
  }
  assertEquals(failures, [], failures.join("\n\n"));
}

Deno.test(`exp refuses ${EXP.length} malformed command lines with exit 2 and a message naming the flag`, () =>
  withProject(async (p) => {
    await check(p, "exp", EXP);
    for (const d of ["runs", "reports"]) {
      await Deno.stat(`${p.dir}/${d}`).then(() => assert(false, `${d}/ was created`), () => {});
    }
  }));

Deno.test(`train refuses ${TRAIN.length} malformed command lines with exit 2, before any training`, () =>
  withProject(async (p) => {
    await check(p, "train", TRAIN);
    await Deno.stat(`${p.dir}/runs`).then(() => assert(false, "runs/ was created"), () => {});
  }));

Deno.test(`verify and report refuse ${VERIFY.length + REPORT.length} malformed command lines; verify works under its own permissions`, () =>
  withProject(async (p) => {
    const made = await runCli(p.dir, "exp", ["smoke", "--profile", "smoke", "--only", "attention=true"]);
    assertEquals(made.code, 0, show(made));
    const run = `runs/smoke/${(await Array.fromAsync(Deno.readDir(`${p.runs}/smoke`)))[0].name}`;
    await check(p, "verify", VERIFY, run);
    await check(p, "report", REPORT);
    // The "train" permission set may write only runs/: verify's scratch folder must live there.
    const v = await runCli(p.dir, "verify", [run, "--steps", "2"]);
    assertEquals(v.code, 0, show(v));
    assertStringIncludes(v.stdout, "verify: identical: the first 2 steps reproduce bit for bit");
    assertEquals(
      (await Array.fromAsync(Deno.readDir(p.runs))).map((e) => e.name),
      ["smoke"],
      "scratch left behind",
    );
    // Without --data-dir, verify looks for the data where the manifest says the run found it.
    const manifestPath = `${p.dir}/${run}/manifest.json`;
    const manifest = JSON.parse(await Deno.readTextFile(manifestPath));
    manifest.dataset = { ...manifest.dataset, fixtures: false, dir: "/nonexistent/recorded-data" };
    await Deno.writeTextFile(manifestPath, JSON.stringify(manifest, null, 2));
    const recorded = await runCli(p.dir, "verify", [run, "--steps", "1"]);
    assertEquals(recorded.code, 1, show(recorded));
    assertStringIncludes(recorded.stderr, "/nonexistent/recorded-data");
    const given = await runCli(p.dir, "verify", [
      run,
      "--steps",
      "1",
      "--data-dir",
      "/nonexistent/given-data",
    ]);
    assertEquals(given.code, 1, show(given));
    assertStringIncludes(given.stderr, "/nonexistent/given-data");
    assertEquals(given.stderr.includes("/nonexistent/recorded-data"), false, show(given));
  }));
