import { assertEquals, assertStringIncludes } from "@std/assert";
import { PAPER_MNIST } from "./model.ts";
import {
  checkPaperTargets,
  findTable2Row,
  formatTable2Value,
  PAPER_CITATION_TEXT,
  PAPER_TABLE2,
  PAPER_TABLE3_MNIST,
  paperTargetFor,
} from "./paper.ts";

Deno.test("Table 2 holds the paper's eleven rows with DRAW at 80.97 and DRAW without attention at 87.40", () => {
  assertEquals(PAPER_TABLE2.length, 11);
  assertEquals(findTable2Row("DRAW")?.nll, 80.97);
  assertEquals(findTable2Row("draw without attention")?.nll, 87.40);
  assertEquals(findTable2Row("dlgm-8-leapfrog")?.nll, 85.51);
  assertEquals(findTable2Row("no such model"), undefined);
});

Deno.test("Table 2 marks NADE and EoNADE as exact likelihoods and every other row as an upper bound", () => {
  const exact = PAPER_TABLE2.filter((r) => !r.upperBound).map((r) => r.model);
  assertEquals(exact, ["NADE", "EoNADE 2hl (128 orderings)", "EoNADE-5 2hl (128 orderings)"]);
  assertEquals(formatTable2Value(findTable2Row("draw")!), "≤ 80.97");
  assertEquals(formatTable2Value(findTable2Row("nade")!), "88.33");
});

Deno.test("Table 3 agrees with the model config's paper preset", () => {
  for (const [k, v] of Object.entries(PAPER_TABLE3_MNIST)) {
    assertEquals(PAPER_MNIST[k as keyof typeof PAPER_MNIST], v, k);
  }
});

Deno.test("the citation names the authors, the venue and the arXiv id", () => {
  assertStringIncludes(PAPER_CITATION_TEXT, "Gregor, Danihelka, Graves, Rezende, Wierstra");
  assertStringIncludes(PAPER_CITATION_TEXT, "ICML 2015");
  assertStringIncludes(PAPER_CITATION_TEXT, "arXiv:1502.04623");
});

Deno.test("checkPaperTargets() names the entry that is not a Table 2 row, in list and object form", () => {
  assertEquals(checkPaperTargets(["DRAW", { row: "draw-no-attention" }]), []);
  const p = checkPaperTargets(["DRAW", "DRAW 2"]);
  assertEquals(p.length, 1);
  assertStringIncludes(p[0], 'paperTargets[1] names no Table 2 row: "DRAW 2"');
  assertEquals(checkPaperTargets({ "T=64": "DRAW", "T=1": null }), []);
  assertStringIncludes(
    checkPaperTargets({ "attention=true": "DRAW2" })[0],
    'paperTargets["attention=true"] names no Table 2 row',
  );
  assertStringIncludes(
    checkPaperTargets(7)[0],
    "must be a list, an object keyed by cell label or a function",
  );
  assertEquals(checkPaperTargets(() => "DRAW"), []);
});

Deno.test("paperTargetFor() resolves the list form by attention or `where`, and custom rows by their nats", () => {
  const list = ["DRAW", { row: "DBN 2hl", where: { T: 4 }, tolerance: 3 }, "draw-no-attention"] as const;
  assertEquals(paperTargetFor(list, { T: 64 }, true), { row: "DRAW", nats: 80.97 });
  assertEquals(paperTargetFor(list, { T: 64 }, false), { row: "DRAW without attention", nats: 87.40 });
  assertEquals(paperTargetFor([list[1]], { T: 4 }, true), { row: "DBN 2hl", nats: 84.55, tolerance: 3 });
  assertEquals(paperTargetFor([list[1]], { T: 5 }, true), null);
  assertEquals(paperTargetFor(() => ({ row: "ours", nats: 90 }), {}), { row: "ours", nats: 90 });
  assertEquals(paperTargetFor(() => "no such row", {}), null);
  assertEquals(paperTargetFor(undefined, {}), null);
});
