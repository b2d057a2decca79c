import { assertEquals, assertStringIncludes } from "@std/assert";
import { PAPER_MNIST } from "../draw/config.ts";
import {
  findTable2Row,
  formatTable2Value,
  PAPER_CITATION_TEXT,
  PAPER_TABLE2,
  PAPER_TABLE3_MNIST,
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
