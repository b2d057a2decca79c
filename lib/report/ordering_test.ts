import { assertEquals, assertStringIncludes } from "@std/assert";
import { orderingChecks, orderingSentence } from "./ordering.ts";
import { findTable2Row } from "../config/paper.ts";
import type { ArmSummary } from "./summary.ts";

/** The fields orderingChecks reads, for an arm compared with a Table 2 row. */
function arm(label: string, row: string, mean: number, std: number, n: number): ArmSummary {
  return { label, paper: findTable2Row(row)!, bound: { mean, std, n } } as unknown as ArmSummary;
}

Deno.test("orderingChecks() says the paper's ordering holds when ours agrees beyond two standard errors", () => {
  const [c] = orderingChecks([
    arm("no attention", "DRAW without attention", 97, 1, 3),
    arm("attention", "DRAW", 94, 1, 3),
  ]);
  assertEquals([c.better.label, c.worse.label, c.diff, c.verdict], [
    "attention",
    "no attention",
    -3,
    "holds",
  ]);
  assertEquals(c.se, Math.sqrt(1 / 3 + 1 / 3));
  assertStringIncludes(
    orderingSentence(c),
    "DRAW (80.97) < DRAW without attention (87.4) holds at this budget",
  );
});

Deno.test("orderingChecks() says the ordering is reversed when ours disagrees beyond two standard errors", () => {
  const [c] = orderingChecks([
    arm("attention", "DRAW", 101.3, 0.3, 3),
    arm("no attention", "DRAW without attention", 97, 0.3, 3),
  ]);
  assertEquals(c.verdict, "reversed");
});

Deno.test("orderingChecks() leaves a difference within two standard errors, or with one seed, unresolved", () => {
  // se = sqrt(4/3 + 4/3) = 1.63: a difference of 3 nats is within 2 se.
  const [within] = orderingChecks([arm("a", "DRAW", 95, 2, 3), arm("b", "DRAW without attention", 98, 2, 3)]);
  assertEquals(within.verdict, "unresolved");
  const [single] = orderingChecks([
    arm("a", "DRAW", 90, 0, 1),
    arm("b", "DRAW without attention", 120, 0, 1),
  ]);
  assertEquals(single.verdict, "unresolved");
  assertStringIncludes(single.why, "one seed gives no spread");
});

Deno.test("orderingChecks() compares only arms with different Table 2 rows and a test bound", () => {
  assertEquals(orderingChecks([arm("a", "DRAW", 90, 1, 3), arm("b", "DRAW", 95, 1, 3)]), []);
  const pending = { ...arm("c", "DRAW without attention", 0, 0, 0), bound: null } as unknown as ArmSummary;
  assertEquals(orderingChecks([arm("a", "DRAW", 90, 1, 3), pending]), []);
});
