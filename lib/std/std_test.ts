import {
  assert,
  assertAlmostEquals,
  assertArrayIncludes,
  assertEquals,
  AssertionError,
  assertRejects,
  assertThrows,
} from "@std/assert";
import { parseArgs } from "@std/cli";

Deno.test("assertEquals() compares structurally and throws AssertionError on a difference", () => {
  assertEquals({ a: [1, 2] }, { a: [1, 2] });
  assertThrows(() => assertEquals({ a: [1, 2] }, { a: [1, 3] }), AssertionError);
});

Deno.test("assertAlmostEquals() uses the given absolute tolerance", () => {
  assertAlmostEquals(1.0, 1.05, 0.1);
  assertThrows(() => assertAlmostEquals(1.0, 1.2, 0.1), AssertionError, "delta");
});

Deno.test("assert() and assertArrayIncludes() fail when they should", () => {
  assertThrows(() => assert(false), AssertionError);
  assertArrayIncludes([1, 2, 3], [3, 1]);
  assertThrows(() => assertArrayIncludes([1, 2], [4]), AssertionError);
});

Deno.test("assertThrows() checks the error class and message", () => {
  assertThrows(() => assertThrows(() => {}), AssertionError);
  assertThrows(() =>
    assertThrows(() => {
      throw new TypeError("x");
    }, RangeError), AssertionError);
  assertThrows(() =>
    assertThrows(
      () => {
        throw new Error("abc");
      },
      Error,
      "zzz",
    ), AssertionError);
});

Deno.test("assertRejects() waits for the promise", async () => {
  await assertRejects(() => Promise.reject(new Error("boom")), Error, "boom");
  await assertRejects(() => assertRejects(() => Promise.resolve(1)), AssertionError);
});

Deno.test("parseArgs() reads strings, booleans, defaults, aliases and --no- flags", () => {
  const a = parseArgs(["run", "--seed", "3", "--lr=0.001", "-f", "--no-color", "x"], {
    string: ["seed", "lr"],
    boolean: ["force", "color"],
    default: { color: true, seed: "1" },
    alias: { f: "force" },
  });
  assertEquals(a._, ["run", "x"]);
  assertEquals(a.seed, "3");
  assertEquals(a.lr, "0.001");
  assertEquals(a.force, true);
  assertEquals(a.color, false);
});

Deno.test("parseArgs() reports unknown flags through the unknown callback", () => {
  const seen: string[] = [];
  parseArgs(["--bogus", "1"], { unknown: (arg) => (seen.push(arg), false) });
  assertEquals(seen, ["--bogus"]);
  assertThrows(() => parseArgs(["--seed"], { string: ["seed"] }), Error, '"--seed" needs a value');
});
