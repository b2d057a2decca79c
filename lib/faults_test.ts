import { assertEquals } from "@std/assert";
import { FAULT_ENV, nanAtStep, parseTrigger } from "./faults.ts";

Deno.test("parseTrigger() reads a point and an optional occurrence, and nothing from an unset variable", () => {
  assertEquals(parseTrigger("step:6"), { point: "step:6", k: 1 });
  assertEquals(parseTrigger("write:manifest.json#2"), { point: "write:manifest.json", k: 2 });
  assertEquals(parseTrigger("append:eval.jsonl#0"), { point: "append:eval.jsonl", k: 1 });
  assertEquals(parseTrigger(undefined), null);
});

Deno.test("nanAtStep() applies to every run, or only to runs whose id contains the filter", () => {
  const before = Deno.env.get(FAULT_ENV.nanAtStep);
  try {
    Deno.env.set(FAULT_ENV.nanAtStep, "6");
    assertEquals(nanAtStep("fx-attention=true-s1-7686ca97fd2d"), 6);
    Deno.env.set(FAULT_ENV.nanAtStep, "6@attention=false");
    assertEquals(nanAtStep("fx-attention=false-s1-566542ba673c"), 6);
    assertEquals(nanAtStep("fx-attention=true-s1-7686ca97fd2d"), undefined);
    Deno.env.set(FAULT_ENV.nanAtStep, "soon");
    assertEquals(nanAtStep("any"), undefined);
    Deno.env.delete(FAULT_ENV.nanAtStep);
    assertEquals(nanAtStep("any"), undefined);
  } finally {
    if (before === undefined) Deno.env.delete(FAULT_ENV.nanAtStep);
    else Deno.env.set(FAULT_ENV.nanAtStep, before);
  }
});
