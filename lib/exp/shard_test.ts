import { assertEquals, assertThrows } from "@std/assert";
import { UsageError } from "./errors.ts";
import { parseShard, shardFromEnv, shardRuns } from "./shard.ts";

Deno.test("shardRuns() covers every run exactly once over all workers, for many n and plan sizes", () => {
  for (const size of [0, 1, 2, 5, 17, 64]) {
    const runs = Array.from({ length: size }, (_, i) => `run-${i}`);
    for (const n of [1, 2, 3, 4, 7, 10, 100]) {
      const seen = new Map<string, number>();
      const sizes: number[] = [];
      for (let i = 0; i < n; i++) {
        const mine = shardRuns(runs, { index: i, count: n });
        sizes.push(mine.length);
        for (const r of mine) seen.set(r, (seen.get(r) ?? 0) + 1);
      }
      assertEquals([...seen.keys()].sort(), [...runs].sort(), `size ${size}, n ${n}`);
      assertEquals([...seen.values()].every((c) => c === 1), true, `size ${size}, n ${n}`);
      // Round-robin: shares differ by at most one run.
      assertEquals(Math.max(...sizes) - Math.min(...sizes) <= 1, true);
    }
  }
});

Deno.test("shardRuns() is deterministic and keeps plan order", () => {
  const runs = ["a", "b", "c", "d", "e"];
  assertEquals(shardRuns(runs, { index: 1, count: 2 }), ["b", "d"]);
  assertEquals(shardRuns(runs, { index: 1, count: 2 }), ["b", "d"]);
  assertEquals(shardRuns(runs, null), runs);
});

Deno.test("parseShard() reads i/n and names the flag for each mistake", () => {
  assertEquals(parseShard("0/4"), { index: 0, count: 4 });
  assertEquals(parseShard(" 3/4 "), { index: 3, count: 4 });
  const cases: Array<[string, string]> = [
    ["4/4", "--shard 4/4: i must be from 0 to 3"],
    ["1/0", "--shard 1/0: n must be from 1 to 100000"],
    ["-1/4", `--shard -1/4: i must be a whole number, got "-1"`],
    ["1.5/4", `--shard 1.5/4: i must be a whole number, got "1.5"`],
    ["a/b", `--shard a/b: i must be a whole number, got "a"`],
    ["2", `--shard "2" must look like i/n (e.g. --shard 0/4)`],
    ["1/2/3", `--shard "1/2/3" must look like i/n`],
    ["0/", `--shard 0/: n must be a whole number, got ""`],
  ];
  for (const [text, msg] of cases) assertThrows(() => parseShard(text), UsageError, msg);
});

Deno.test("shardFromEnv() reads Slurm array and Kubernetes Indexed Job variables", () => {
  assertEquals(
    shardFromEnv({ SLURM_ARRAY_TASK_ID: "2", SLURM_ARRAY_TASK_COUNT: "4", SLURM_ARRAY_TASK_MIN: "0" }),
    { index: 2, count: 4 },
  );
  assertEquals(shardFromEnv({ JOB_COMPLETION_INDEX: "0", JOB_COMPLETIONS: "3" }), { index: 0, count: 3 });
  assertEquals(shardFromEnv({}), null);
  assertThrows(() => shardFromEnv({ SLURM_ARRAY_TASK_ID: "1" }), UsageError, "SLURM_ARRAY_TASK_COUNT is not");
  assertThrows(
    () => shardFromEnv({ SLURM_ARRAY_TASK_ID: "5", SLURM_ARRAY_TASK_COUNT: "4", SLURM_ARRAY_TASK_MIN: "1" }),
    UsageError,
    `SLURM_ARRAY_TASK_MIN is "1": submit the array as --array=0-(n-1)`,
  );
  assertThrows(
    () => shardFromEnv({ SLURM_ARRAY_TASK_ID: "4", SLURM_ARRAY_TASK_COUNT: "4" }),
    UsageError,
    "i must be from 0 to 3",
  );
  assertThrows(() => shardFromEnv({ JOB_COMPLETION_INDEX: "1" }), UsageError, "JOB_COMPLETIONS is not");
});
