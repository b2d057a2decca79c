import { assertEquals } from "@std/assert";
import { claim, claimWord, SLOT } from "./claim.ts";

Deno.test("claim() hands out each chunk of the current job exactly once, then -1", () => {
  const I = new Int32Array(new SharedArrayBuffer(64));
  I[SLOT.CLAIM] = claimWord(5, 3, 0);
  assertEquals([claim(I, 5), claim(I, 5), claim(I, 5), claim(I, 5)], [0, 1, 2, -1]);
});

Deno.test("claim() refuses a job that is no longer current, so a late worker never runs a torn job", () => {
  const I = new Int32Array(new SharedArrayBuffer(64));
  I[SLOT.CLAIM] = claimWord(6, 4, 0);
  assertEquals(claim(I, 5), -1);
  assertEquals(claim(I, 6), 0);
  // Sequence numbers wrap at 11 bits: job 6 + 2048 is a different word only through its other fields.
  assertEquals(claimWord(6 + 2048, 4, 1), claimWord(6, 4, 1));
});

Deno.test("claimWord() keeps the largest chunk count and index in their fields", () => {
  const w = claimWord(2047, 1023, 1022);
  assertEquals([w >>> 20, (w >> 10) & 0x3ff, w & 0x3ff], [2047, 1023, 1022]);
  assertEquals(w > 0, true);
});
