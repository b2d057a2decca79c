import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { machineCores, threadsProblem } from "./threads.ts";

Deno.test("threadsProblem() accepts 1 to the given cores and names navigator.hardwareConcurrency as the limit", () => {
  assertEquals(threadsProblem("16", 16), null);
  assertEquals(threadsProblem("1", 1), null);
  assertStringIncludes(
    threadsProblem("17", 16)!,
    "from 1 to 16, the cores of this machine (navigator.hardwareConcurrency)",
  );
  for (const bad of ["0", "-1", "2.5", " ", "1e400"]) assert(threadsProblem(bad, 64) !== null, bad);
});

Deno.test("machineCores() is navigator.hardwareConcurrency", () => {
  assertEquals(machineCores(), navigator.hardwareConcurrency);
});
