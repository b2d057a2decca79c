/**
 * Shared machinery of the end-to-end fault and hostile-input suites: a throw-away copy of the project, the
 * real CLIs run as subprocesses under their own named permission sets, and a strict reader that validates
 * every record file and reduces a run folder to what must be bit-identical across interruptions.
 *
 * Why a project copy: the `exp` permission set may write only `./runs` and `./reports` of the project whose
 * `deno.json` it comes from. Each test gets `/tmp/redraw-fault-XXXX/` holding a copy of `deno.json` and
 * `deno.lock`, symlinks to `lib/`, `experiments/` and `node_modules/`, and the data fixtures (a symlink, or a
 * copy a test may damage). The subprocess runs `deno run -P=exp lib/exp/cli.ts` there, so it has exactly
 * the permissions `deno task exp` has, its runs and reports land in the copy, and nothing the test does can
 * touch the real repository's runs, reports or fixtures (other work may be using them at the same time).
 * @module
 */
import { assert, assertEquals } from "@std/assert";
import { readJsonl } from "../../lib/record/io.ts";
import { listCheckpoints, loadCheckpoint } from "../../lib/record/checkpoint.ts";
import { readRun } from "../../lib/record/runs.ts";
import { digestRun, type RunDigest } from "../../lib/record/digest.ts";
import {
  evalLineProblem,
  gradientLineProblem,
  metricLineProblem,
  validateManifest,
  validateResult,
  validateSamples,
} from "../../lib/record/validate.ts";

/** The repository root. */
export const REPO: string = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");

/** The CLI entry points and the permission set each `deno task` uses (from deno.json). */
export const CLIS = {
  exp: { set: "exp", entry: "lib/exp/cli.ts" },
  train: { set: "train", entry: "lib/train/cli.ts" },
  verify: { set: "train", entry: "lib/train/verify.ts" },
  report: { set: "report", entry: "lib/report/cli.ts" },
} as const;

/** A throw-away project copy (see the module doc). */
export interface Project {
  dir: string;
  runs: string;
  reports: string;
  /** Removes the copy (unmounting nothing: callers unmount what they mount). */
  remove(): Promise<void>;
}

/** Creates a project copy; `copyFixtures` makes `tests/fixtures/data` a real copy that the test may damage. */
export async function makeProject(opts: { copyFixtures?: boolean } = {}): Promise<Project> {
  const dir = await Deno.makeTempDir({ prefix: "redraw-fault-" });
  const links = ["lib", "experiments", "node_modules"].map((n) => [`${REPO}/${n}`, `${dir}/${n}`]);
  for (const name of ["deno.json", "deno.lock"]) await Deno.copyFile(`${REPO}/${name}`, `${dir}/${name}`);
  await Deno.mkdir(`${dir}/tests/fixtures`, { recursive: true });
  if (opts.copyFixtures) await copyTree(`${REPO}/tests/fixtures/data`, `${dir}/tests/fixtures/data`);
  else links.push([`${REPO}/tests/fixtures/data`, `${dir}/tests/fixtures/data`]);
  await symlink(links);
  return {
    dir,
    runs: `${dir}/runs`,
    reports: `${dir}/reports`,
    remove: () => Deno.remove(dir, { recursive: true }),
  };
}

/**
 * Creates symlinks with `ln -s`: Deno.symlink needs unscoped read and write permissions, which the test
 * permission set does not grant (it may write only /tmp, runs/ and reports/).
 */
async function symlink(pairs: string[][]): Promise<void> {
  for (const [target, link] of pairs) {
    const out = await new Deno.Command("ln", { args: ["-s", target, link], stdout: "null", stderr: "piped" })
      .output();
    if (!out.success) throw new Error(`ln -s ${target} ${link}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

async function copyTree(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const e of Deno.readDir(from)) {
    if (e.isDirectory) await copyTree(`${from}/${e.name}`, `${to}/${e.name}`);
    else await Deno.copyFile(`${from}/${e.name}`, `${to}/${e.name}`);
  }
}

/** Runs `fn` with a fresh project copy, removed afterwards. */
export async function withProject<T>(
  fn: (p: Project) => Promise<T>,
  opts: { copyFixtures?: boolean } = {},
): Promise<T> {
  const p = await makeProject(opts);
  try {
    return await fn(p);
  } finally {
    await p.remove();
  }
}

/** What a finished subprocess did. */
export interface Ran {
  code: number;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
}

/** The parent's environment without any REDRAW_ variable, plus `extra` and NO_COLOR. */
export function childEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(Deno.env.toObject())) if (!k.startsWith("REDRAW_")) env[k] = v;
  return { ...env, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1", ...extra };
}

/** The subprocess command of `deno task <cli>` in `cwd`: `deno run -q -P=<set> <entry> ...args`. */
export function cliCommand(
  cwd: string,
  cli: keyof typeof CLIS,
  args: string[],
  env: Record<string, string> = {},
  piped = true,
): Deno.Command {
  const { set, entry } = CLIS[cli];
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "--quiet", `-P=${set}`, entry, ...args],
    cwd,
    env: childEnv(env),
    clearEnv: true,
    stdin: "null",
    stdout: piped ? "piped" : "null",
    stderr: piped ? "piped" : "null",
  });
}

/** Runs a CLI to completion. */
export async function runCli(
  cwd: string,
  cli: keyof typeof CLIS,
  args: string[],
  env: Record<string, string> = {},
): Promise<Ran> {
  const out = await cliCommand(cwd, cli, args, env).output();
  const dec = new TextDecoder();
  return {
    code: out.code,
    signal: out.signal,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

/** `exp smoke --profile smoke` (plus `args`) in the project copy, its runs and reports in the copy. */
export function smoke(p: Project, args: string[] = [], env: Record<string, string> = {}): Promise<Ran> {
  return runCli(p.dir, "exp", ["smoke", "--profile", "smoke", ...args], env);
}

/** Fails with the process's output when its exit status is not `code`. */
export function assertExit(r: Ran, code: number, what = "the process"): void {
  assertEquals(r.code, code, `${what} exited ${r.code} (signal ${r.signal}), expected ${code}\n${show(r)}`);
}

/** The output of a process, for failure messages. */
export function show(r: Ran): string {
  return `--- stdout\n${r.stdout}--- stderr\n${r.stderr}---`;
}

/** True when the output contains a JavaScript stack frame (`    at f (file:...)`). */
export function hasStackTrace(text: string): boolean {
  return /^\s+at .*(file:|ext:|<anonymous>)/m.test(text);
}

export type { RunDigest } from "../../lib/record/digest.ts";

/** Every record of an experiment, validated strictly (see {@linkcode readRunStrict}), by run id. */
export async function readExperiment(runsDir: string, experiment = "smoke"): Promise<Map<string, RunDigest>> {
  const out = new Map<string, RunDigest>();
  const root = `${runsDir}/${experiment}`;
  const names: string[] = [];
  for await (const e of Deno.readDir(root)) if (e.isDirectory && !e.name.startsWith(".")) names.push(e.name);
  for (const name of names.sort()) out.set(name, await readRunStrict(`${root}/${name}`));
  return out;
}

/**
 * Reads a run folder the strictest way: lib/record's `readRun` with `strict` (every JSONL line a valid
 * record, the manifest, result and samples validated), no torn tail, every checkpoint loadable with a
 * matching SHA-256, and no leftover temporary file.
 */
export async function readRunStrict(dir: string): Promise<RunDigest> {
  const run = await readRun(dir, { strict: true, gradients: true });
  assertEquals(run.problems, [], `${dir}: the readers found damage`);
  for (
    const [file, check] of [
      ["metrics.jsonl", metricLineProblem],
      ["gradients.jsonl", gradientLineProblem],
      ["eval.jsonl", evalLineProblem],
    ] as const
  ) {
    const r = await readJsonl(`${dir}/${file}`, { strict: true, check, missingOk: true });
    assert(!r.tornTail, `${dir}/${file} ends in a torn line`);
  }
  for (const c of await listCheckpoints(dir)) await loadCheckpoint(c); // throws on a bad checksum, size or table
  for (const c of await listCheckpoints(dir, { folder: "checkpoints/best" })) await loadCheckpoint(c);
  const temps = await findTempFiles(dir);
  assertEquals(temps, [], `${dir}: temporary files left behind`);
  return await digestRun(dir);
}

/** Paths (relative to `dir`) of temporary files of atomic writes under `dir`. */
export async function findTempFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, rel: string) => {
    for await (const e of Deno.readDir(d)) {
      if (e.isDirectory) await walk(`${d}/${e.name}`, `${rel}${e.name}/`);
      else if (e.name.includes(".tmp-")) out.push(`${rel}${e.name}`);
    }
  };
  await walk(dir, "");
  return out.sort();
}

/**
 * Parses every `.json` and every line of every `.jsonl` file under `dir` (temporary files excepted) and
 * checks each `.html` ends with `</html>`; returns the number of files checked.
 */
export async function assertAllParse(dir: string): Promise<number> {
  let n = 0;
  const walk = async (d: string) => {
    for await (const e of Deno.readDir(d)) {
      const path = `${d}/${e.name}`;
      if (e.isDirectory) {
        await walk(path);
        continue;
      }
      if (e.name.includes(".tmp-")) continue;
      if (e.name.endsWith(".json")) {
        JSON.parse(await Deno.readTextFile(path));
        if (e.name === "manifest.json") validateManifest(JSON.parse(await Deno.readTextFile(path)), path);
        if (e.name === "result.json") validateResult(JSON.parse(await Deno.readTextFile(path)), path);
        if (e.name === "samples.json") validateSamples(JSON.parse(await Deno.readTextFile(path)), path);
        n++;
      } else if (e.name.endsWith(".jsonl")) {
        const text = await Deno.readTextFile(path);
        assert(text === "" || text.endsWith("\n"), `${path} ends in a torn line`);
        for (const line of text.split("\n").filter(Boolean)) JSON.parse(line);
        n++;
      } else if (e.name.endsWith(".html")) {
        assert((await Deno.readTextFile(path)).trimEnd().endsWith("</html>"), `${path} is cut short`);
        n++;
      }
    }
  };
  await walk(dir);
  return n;
}

/** What {@linkcode assertSameRecords} compared. */
export interface Compared {
  runs: number;
  lines: number;
  files: number;
}

/**
 * Asserts that every run of `expected` has a run in `actual` whose records are identical: every metric,
 * gradient and eval line, result.json and samples.json (wall-clock fields aside) and the final
 * checkpoint's tensors, and that it completed.
 */
export function assertSameRecords(
  actual: Map<string, RunDigest>,
  expected: Map<string, RunDigest>,
  ids: string[] = [...actual.keys()],
): Compared {
  const c: Compared = { runs: 0, lines: 0, files: 0 };
  for (const id of ids) {
    const a = actual.get(id);
    const e = expected.get(id);
    assert(a && e, `run ${id} is missing (actual: ${[...actual.keys()]}, expected: ${[...expected.keys()]})`);
    assertEquals(a.status, "completed", `${id}: status`);
    assertEquals(a.manifest.status, "completed", `${id}: manifest status`);
    for (const file of Object.keys(e.lines)) {
      assertEquals(a.lines[file].length, e.lines[file].length, `${id}/${file}: number of lines`);
      a.lines[file].forEach((line, i) => assertEquals(line, e.lines[file][i], `${id}/${file} line ${i + 1}`));
      c.lines += a.lines[file].length;
      c.files++;
    }
    assertEquals(a.result, e.result, `${id}/result.json`);
    assertEquals(a.samples, e.samples, `${id}/samples.json`);
    assertEquals(a.finalCheckpointSha, e.finalCheckpointSha, `${id}: final checkpoint tensors`);
    c.files += 3;
    c.runs++;
  }
  return c;
}

/** The uninterrupted `smoke` records with seeds 1 and 2 (4 runs), computed once per test module. */
let baseline: Promise<Map<string, RunDigest>> | null = null;

/** See {@linkcode baseline}. */
export function smokeBaseline(): Promise<Map<string, RunDigest>> {
  baseline ??= withProject(async (p) => {
    const r = await smoke(p, ["--seeds", "1,2"]);
    assertExit(r, 0, "the baseline run");
    return await readExperiment(p.runs);
  });
  return baseline;
}

/** Run ids of the smoke experiment's cells for seed 1 (the default), read from `--dry-run --json`. */
export async function smokeRunIds(p: Project, args: string[] = []): Promise<string[]> {
  const r = await smoke(p, ["--dry-run", "--json", ...args]);
  assertExit(r, 0, "exp --dry-run");
  return (JSON.parse(r.stdout) as { runs: { runId: string }[] }).runs.map((x) => x.runId);
}

/** Appends one line to the suite log printed at the end (faults tried, resumes, records compared). */
export function note(line: string): void {
  console.log(`  [fault] ${line}`);
}

/**
 * Starts `exp smoke --profile smoke` and returns once its stdout has reported a training step, with the
 * child (still running), the stdout reader (for the rest) and what it printed so far.
 */
export async function spawnUntilTraining(p: Project) {
  const child = cliCommand(p.dir, "exp", ["smoke", "--profile", "smoke"]).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  while (!/train step \d+/.test(seen)) {
    const { value, done } = await reader.read();
    if (done) break;
    seen += value;
  }
  return { child, reader, seen };
}
