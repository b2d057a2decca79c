import { assertEquals, assertThrows } from "@std/assert";
import { parseExpArgs, parseSeeds } from "./args.ts";
import { UsageError } from "./errors.ts";

Deno.test("parseExpArgs() reads every option, with defaults", () => {
  const a = parseExpArgs([
    "grid",
    "--profile=smoke",
    "--backend",
    "wasm",
    "--seeds",
    "1,2",
    "--only",
    "grid=5x5",
    "--only=grid=2x2",
    "--data-dir",
    "/data/mnist",
    "--runs-dir",
    "/tmp/r",
    "--reports-dir",
    "/tmp/p",
    "--shard",
    "1/3",
    "--dry-run",
    "--force",
    "--retry-failed",
    "--no-wait",
    "--poll",
    "0.5",
    "--json",
    "--threads",
    "2",
  ]);
  assertEquals(a, {
    name: "grid",
    profile: "smoke",
    backend: "wasm",
    threads: 2,
    seeds: [1, 2],
    only: ["grid=5x5", "grid=2x2"],
    dataDir: "/data/mnist",
    runsDir: "/tmp/r",
    reportsDir: "/tmp/p",
    shard: { index: 1, count: 3 },
    dryRun: true,
    force: true,
    retryFailed: true,
    report: true,
    reportOnly: false,
    wait: false,
    pollSeconds: 0.5,
    json: true,
    help: false,
  });
  const d = parseExpArgs(["smoke"]);
  assertEquals([d.profile, d.runsDir, d.reportsDir, d.shard, d.wait, d.seeds, d.only], [
    "quick",
    "runs",
    "reports",
    null,
    true,
    undefined,
    [],
  ]);
  assertEquals(parseExpArgs(["-h"]).help, true);
});

Deno.test("parseExpArgs() --shard env reads the scheduler's variables", () => {
  assertEquals(
    parseExpArgs(["smoke", "--shard", "env"], { SLURM_ARRAY_TASK_ID: "1", SLURM_ARRAY_TASK_COUNT: "2" })
      .shard,
    { index: 1, count: 2 },
  );
  assertThrows(
    () => parseExpArgs(["smoke", "--shard", "env"], {}),
    UsageError,
    "--shard env: neither SLURM_ARRAY_TASK_ID nor JOB_COMPLETION_INDEX is set",
  );
});

Deno.test("parseExpArgs() refuses unknown and malformed flags, naming the flag", () => {
  const cases: Array<[string[], string]> = [
    [["smoke", "--profil", "quick"], `Unknown flag "--profil"`],
    [["smoke", "-x"], `Unknown flag "-x"`],
    [["smoke", "--profile"], `Flag "--profile" needs a value`],
    [["smoke", "--profile", "--force"], `Flag "--profile" needs a value, got "--force"`],
    [["smoke", "--runs-dir="], `Flag "--runs-dir" needs a value`],
    [["smoke", "--force=yes"], `Flag "--force" takes no value, got "yes"`],
    [["smoke", "--only"], `Flag "--only" needs a value like attention=false`],
    [["smoke", "--profile", "a", "--profile", "b"], `Flag "--profile" is given twice`],
    [["smoke", "--backend", "gpu"], `--backend gpu: must be one of auto, tensorflow, webgpu, wasm, cpu`],
    [["smoke", "--seeds", "1,x"], `--seeds 1,x: "x" is not a seed`],
    [["smoke", "--seeds", "0"], `--seeds 0: "0" is not a seed`],
    [["smoke", "--shard", "3/3"], `--shard 3/3: i must be from 0 to 2`],
    [["smoke", "--poll", "-1"], `--poll -1: must be a number of seconds`],
    [[], `Missing experiment name`],
    [["smoke", "grid"], `Expected one experiment name, got "smoke" "grid"`],
  ];
  for (const [argv, msg] of cases) assertThrows(() => parseExpArgs(argv), UsageError, msg, argv.join(" "));
});

Deno.test("parseSeeds() refuses a repeated seed", () => {
  assertEquals(parseSeeds("3, 1"), [3, 1]);
  assertThrows(() => parseSeeds("1,2,1"), UsageError, "--seeds 1,2,1: seed 1 is given twice");
});

Deno.test("parseExpArgs() takes --threads up to the machine's cores and says what limits it otherwise", () => {
  const cores = navigator.hardwareConcurrency;
  assertEquals(parseExpArgs(["smoke"]).threads, 1);
  assertEquals(parseExpArgs(["smoke", "--threads", String(cores)]).threads, cores);
  for (const bad of ["0", String(cores + 1), "1.5", "two"]) {
    assertThrows(
      () => parseExpArgs(["smoke", "--threads", bad]),
      UsageError,
      `--threads ${bad}: must be an integer from 1 to ${cores}, the cores of this machine`,
    );
  }
});
