import { assert, assertAlmostEquals, assertEquals, assertNotEquals, assertThrows } from "@std/assert";
import {
  drawUint32,
  hash32,
  normalDraws,
  normalsInto,
  RandomStream,
  restoreStreams,
  splitSeed,
  streamStates,
} from "./random.ts";

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

/** normal(n) as it was written before normalsInto() existed (one draw after another): the reference bits. */
function referenceNormal(seed: number, counter: number, n: number): Float32Array {
  const uniform = () => {
    const i = counter++;
    const lo = i >>> 0;
    const hi = Math.floor(i / 4294967296) >>> 0;
    const x = hash32(hash32(lo ^ seed) ^ hash32((hi + 0x9e3779b9) ^ Math.imul(seed, 0x85ebca6b)));
    return (x + 0.5) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i += 2) {
    const u1 = uniform();
    const u2 = uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < n) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

function bits(x: Float32Array): Uint32Array {
  return new Uint32Array(x.buffer, x.byteOffset, x.length);
}

// Counters at 0, odd, and just below 2^32 (the draws' high word changes inside the run).
const COUNTERS = [0, 7, 1000, 2 ** 32 - 5, 2 ** 32 - 4, 2 ** 40 + 3];

Deno.test("normal() gives the same bits as the draw-by-draw Box-Muller it replaced, and advances the counter", () => {
  for (const counter of COUNTERS) {
    for (const n of [0, 1, 2, 3, 10, 11, 1001]) {
      const s = new RandomStream("t", 0x9e3779b9 ^ n, counter);
      assertEquals(
        bits(s.normal(n)),
        bits(referenceNormal(s.seed, counter, n)),
        `counter ${counter}, n ${n}`,
      );
      assertEquals(s.counter, counter + 2 * Math.ceil(n / 2));
      assertEquals(normalDraws(n), 2 * Math.ceil(n / 2));
    }
  }
});

Deno.test("normalsInto() in chunks of any even start and odd or even size equals normal(n) bit for bit", () => {
  for (const counter of COUNTERS) {
    for (const n of [1, 2, 9, 10, 257, 1000]) {
      const want = bits(new RandomStream("t", 4242, counter).normal(n));
      for (const chunk of [1, 2, 3, 7, 64, 999]) {
        // Chunks start at even elements: split [0, n) into pieces of about `chunk` elements.
        const out = new Float32Array(n + 3).fill(-7);
        for (let from = 0; from < n;) {
          const to = Math.min(n, from + chunk + (chunk % 2 === 1 && from + chunk < n ? 1 : 0));
          normalsInto(out, from + 2, 4242, counter, from, to);
          from = to;
        }
        assertEquals(out[0], -7);
        assertEquals(out[1], -7);
        assertEquals(out[n + 2], -7);
        assertEquals(bits(out.subarray(2, n + 2)), want, `counter ${counter}, n ${n}, chunk ${chunk}`);
      }
    }
  }
});

Deno.test("normalsInto() computes a late chunk without the earlier draws, and refuses an odd start", () => {
  const want = new RandomStream("t", 31, 12).normal(101);
  const out = new Float32Array(11);
  normalsInto(out, 0, 31, 12, 90, 101);
  assertEquals(out, want.subarray(90));
  assertThrows(() => normalsInto(out, 0, 31, 12, 3, 5), RangeError, "even");
});

Deno.test("drawUint32() is the stream's nextUint32() at that counter", () => {
  for (const counter of COUNTERS) {
    const s = new RandomStream("t", 77, counter);
    assertEquals([s.nextUint32(), s.nextUint32()], [drawUint32(77, counter), drawUint32(77, counter + 1)]);
    assertEquals(s.counter, counter + 2);
  }
});
