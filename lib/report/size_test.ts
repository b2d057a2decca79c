import { assert } from "@std/assert";
import { attentionAblation, synthRecord } from "../../tests/fixtures/report/synthetic.ts";
import { staticReportProblems } from "./check.ts";
import { experimentReportHtml } from "./html.ts";

const MB = 1_000_000;

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

Deno.test("a sweep of six arms over two seeds renders to a compact page under 1 MB", async () => {
  // The recipe experiment's shape: six cells, two seeds each, samples in every run, T = 64 for the longest
  // drawing sequences, 2,000 logged steps per run.
  const cells = [1e-3, 3e-4].flatMap((learningRate) =>
    [10, 1000, 0].map((clipNorm) => ({ learningRate, clipNorm }))
  );
  const runs = cells.flatMap((cell, i) =>
    [1, 2].map((seed) =>
      synthRecord({
        experiment: "recipe",
        cell,
        seed,
        model: { T: 64 },
        train: cell,
        finalBound: 160 + i + seed,
        lines: 2_000,
        samples: true,
      })
    )
  );
  const { html, charts } = await experimentReportHtml("recipe", runs, { generatedAt: new Date(0) });
  const bytes = new TextEncoder().encode(html).length;
  assert(bytes < MB, `the page is ${(bytes / MB).toFixed(2)} MB`);
  assert(!html.includes("Vega-Lite spec (data inline"), "a compact page has no inline specs");
  assert(charts.length >= 6 + 4 && charts.every((c) => c.warnings.length === 0));
  assert(staticReportProblems(html).length === 0, staticReportProblems(html).join("\n"));
});
