import { assert } from "@std/assert";
import { attentionAblation, synthRecord } from "../../tests/fixtures/report/synthetic.ts";
import { staticReportProblems } from "./check.ts";
import { experimentReportHtml } from "./html.ts";

const MB = 1024 * 1024;

Deno.test("the attention ablation at the paper's sizes renders to a page under 1 MB that still checks clean", async () => {
  // Table 3's model (T = 64 glimpses, so 64-frame animations), two arms of two seeds and a failed seed,
  // 5,000 logged steps (50,000 training steps at logEvery 10) and 500 validations per run.
  const runs = attentionAblation().map((o) =>
    synthRecord({ ...o, lines: 5_000, model: { ...o.model, T: 64 } })
  );
  assert(
    runs[0].metrics.length === 5_000 && runs[0].evals.length > 400 && runs[0].samples?.sequences?.length,
  );
  const { html, charts } = await experimentReportHtml("attention-ablation", runs, {
    generatedAt: new Date(0),
  });
  const bytes = new TextEncoder().encode(html).length;
  assert(bytes < MB, `the page is ${(bytes / MB).toFixed(2)} MB`);
  assert(charts.length >= 7 && charts.every((c) => c.warnings.length === 0));
  assert(staticReportProblems(html).length === 0, staticReportProblems(html).join("\n"));
});
