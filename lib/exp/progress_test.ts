import { assertEquals, assertStringIncludes } from "@std/assert";
import type { Progress } from "../train/api.ts";
import { formatDuration } from "./format.ts";
import { ProgressDisplay } from "./progress.ts";

function p(step: number, over: Partial<Progress> = {}): Progress {
  return {
    runId: "r",
    phase: "train",
    step,
    totalSteps: 100,
    epoch: 0,
    loss: 120.5,
    imagesPerSec: 300,
    etaSeconds: 60,
    ...over,
  };
}

Deno.test("ProgressDisplay shows cell i/n, step, loss, images/s and both ETAs", () => {
  let t = 0;
  const out: string[] = [];
  const d = new ProgressDisplay({ write: (s) => out.push(s), tty: false, now: () => t });
  d.cellStart(1, 3, "attention=true seed 1", "run-a");
  t = 30;
  // No finished cell yet: the experiment ETA assumes each of the 2 remaining cells takes as long as this one
  // (30 s elapsed + 60 s left), plus this cell's 60 s.
  assertEquals(
    d.format(p(10)),
    "[1/3] attention=true seed 1  train step 10/100  loss 120.50  300 img/s  cell ETA 1m00s  experiment ETA 4m00s",
  );
  d.cellEnd("done", 100);
  d.cellStart(2, 3, "attention=false seed 1", "run-b");
  assertStringIncludes(d.format(p(0, { etaSeconds: 50 })), "experiment ETA 2m30s");
  assertStringIncludes(
    d.format(p(0, { etaSeconds: null, loss: null, imagesPerSec: null, totalSteps: null })),
    "train step 0  cell ETA ?  experiment ETA ?",
  );
});

Deno.test("ProgressDisplay writes plain lines at most every plainEvery seconds, and on phase changes", () => {
  let t = 0;
  const out: string[] = [];
  const d = new ProgressDisplay({ write: (s) => out.push(s), tty: false, now: () => t, plainEvery: 10 });
  d.cellStart(1, 1, "c", "r");
  out.length = 0;
  for (let step = 1; step <= 30; step++) {
    t = step;
    d.update(p(step));
  }
  d.update(p(30, { phase: "eval" }));
  assertEquals(out.map((l) => /step (\d+)/.exec(l)?.[1]), ["1", "11", "21", "30"]);
  assertEquals(out.every((l) => l.endsWith("\n") && !l.includes("\r")), true);
});

Deno.test("ProgressDisplay rewrites one line on a TTY and clears it before a log line", () => {
  let t = 0;
  const out: string[] = [];
  const d = new ProgressDisplay({ write: (s) => out.push(s), tty: true, now: () => t, columns: 40 });
  d.cellStart(1, 1, "c", "r");
  out.length = 0;
  t = 1;
  d.update(p(1));
  t = 1.05;
  d.update(p(2)); // throttled
  t = 2;
  d.update(p(3));
  d.log("finished");
  assertEquals(out.length, 4);
  assertEquals(
    out.slice(0, 2).every((l) =>
      l.startsWith("\r\x1b[2K") && !l.includes("\n") && l.length <= "\r\x1b[2K".length + 39
    ),
    true,
  );
  assertEquals(out.slice(2), ["\r\x1b[2K", "finished\n"]);
});

Deno.test("formatDuration() reads like a person would write it", () => {
  assertEquals([
    formatDuration(45),
    formatDuration(432),
    formatDuration(3720),
    formatDuration(null),
    formatDuration(-1),
  ], ["45s", "7m12s", "1h02m", "?", "?"]);
});
