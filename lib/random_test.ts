import { assert, assertAlmostEquals, assertEquals, assertNotEquals, assertThrows } from "@std/assert";
import { RandomStream, restoreStreams, splitSeed, streamStates } from "./random.ts";

Deno.test("splitSeed() gives each named stream its own seed, stable for a root seed", () => {
  const a = splitSeed(7);
  const b = splitSeed(7);
  assertEquals(streamStates(a), streamStates(b));
  const seeds = new Set(Object.values(a).map((s) => s.seed));
  assertEquals(seeds.size, 5);
  assertNotEquals(splitSeed(8).epsilon.seed, a.epsilon.seed);
});

Deno.test("splitSeed() refuses seed 0 and non-integers", () => {
  assertThrows(() => splitSeed(0), RangeError, "got 0");
  assertThrows(() => splitSeed(1.5), RangeError, "1.5");
});

Deno.test("a restored stream continues exactly where the saved one stopped", () => {
  const s = splitSeed(3);
  s.epsilon.normal(101);
  const saved = streamStates(s);
  const next = s.epsilon.normal(50);
  const r = restoreStreams(JSON.parse(JSON.stringify(saved)));
  assertEquals(r.epsilon.normal(50), next);
});

Deno.test("normal() has mean 0 and variance 1 to sampling error", () => {
  const n = 200_000;
  const x = new RandomStream("t", 12345).normal(n);
  let m = 0, v = 0;
  for (const xi of x) m += xi;
  m /= n;
  for (const xi of x) v += (xi - m) ** 2;
  v /= n - 1;
  assertAlmostEquals(m, 0, 5 * Math.sqrt(1 / n));
  assertAlmostEquals(v, 1, 5 * Math.sqrt(2 / n));
});

Deno.test("uniform() stays inside (0, 1) and fills its deciles evenly", () => {
  const u = new RandomStream("t", 99).uniform(100_000);
  const bins = new Array(10).fill(0);
  for (const x of u) {
    assert(x > 0 && x < 1);
    bins[Math.floor(x * 10)]++;
  }
  for (const b of bins) assertAlmostEquals(b, 10_000, 500);
});

Deno.test("permutation() is a permutation", () => {
  const p = new RandomStream("t", 5).permutation(1000);
  assertEquals([...p].sort((a, b) => a - b), Array.from({ length: 1000 }, (_, i) => i));
});
