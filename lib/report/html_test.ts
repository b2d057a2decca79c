import { assert, assertEquals, assertGreater, assertLess, assertStringIncludes } from "@std/assert";
import { decode } from "fast-png";
import {
  attentionAblation,
  mnistDynamic,
  synthRecord,
  timesteps,
} from "../../tests/fixtures/report/synthetic.ts";
import { pngDataUris, staticReportProblems } from "./check.ts";
import { experimentReportHtml } from "./html.ts";
import { readDigest } from "./render.ts";

const ablation = await experimentReportHtml("attention-ablation", attentionAblation().map(synthRecord));

Deno.test("the report's charts all render without a warning and the page passes the static checks", () => {
  assertEquals(ablation.charts.length, 7);
  for (const c of ablation.charts) assertEquals(c.warnings, [], c.title);
  assertEquals(staticReportProblems(ablation.html), []);
});

Deno.test("the verdict comes first: the verdict cards precede every section and quote both arms against 80.97 and 87.40", () => {
  const verdict = ablation.html.indexOf('id="verdict"');
  assertGreater(verdict, 0);
  assertLess(verdict, ablation.html.indexOf("<h2"));
  const cards = ablation.html.slice(verdict, ablation.html.indexOf("</div>\n</div>", verdict));
  assertStringIncludes(cards, "95.59");
  assertStringIncludes(cards, "paper ≤ 80.97 (DRAW)");
  assertStringIncludes(ablation.html.slice(verdict), "paper ≤ 87.40 (DRAW without attention)");
  assertStringIncludes(cards, "not at this budget");
});

Deno.test("every image in the report is a PNG data URI that decodes", () => {
  const uris = pngDataUris(ablation.html);
  assertEquals(uris.length, 12);
  for (const b64 of uris) {
    const png = decode(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0)));
    assertGreater(png.width, 0);
  }
  assertStringIncludes(ablation.html, "image-rendering: pixelated");
});

Deno.test("the static report references nothing on the network and runs no script", () => {
  const html = ablation.html;
  assertEquals(/\s(src|href)\s*=\s*["']?(https?:)?\/\//i.test(html), false);
  assertEquals(/<script/i.test(html), false);
  assertEquals(/<link\b/i.test(html), false);
});

Deno.test("SVG ids are unique across the page's charts", () => {
  const ids = [...ablation.html.matchAll(/\sid="([^"]+)"/g)].map((m) => m[1]);
  assertEquals(new Set(ids).size, ids.length);
  assert(ids.some((id) => /^chart-\d+-/.test(id)), "no prefixed SVG id found");
});

Deno.test("a failed seed and a failed cell appear as failed with their reasons", async () => {
  assertStringIncludes(ablation.html, "<b>seed 3 failed</b>: NaN in the loss at step 400 (lossX)");
  assertStringIncludes(ablation.html, "1 of 3 seeds did not complete");
  const t = await experimentReportHtml("timesteps", timesteps().map(synthRecord));
  assertStringIncludes(t.html, 'data-verdict="failed"');
  assertStringIncludes(t.html, "seed 1: out of memory at step 200");
  assertStringIncludes(t.html, "No result: T=64 (failed)");
  assertEquals(staticReportProblems(t.html), []);
});

Deno.test("a hostile experiment name, cell value and failure reason are escaped everywhere", async () => {
  const evil = `<script>alert("x")</script>`;
  const runs = attentionAblation(evil).map(synthRecord);
  runs[0].manifest.cell = { attention: true, note: `<img src=x onerror=alert(1)>` };
  runs[4].manifest.reason = `</td><script>alert(2)</script>`;
  runs[4].manifest.command = `deno task exp "<b>"`;
  const { html, charts } = await experimentReportHtml(evil, runs, { description: "<i>desc</i>" });
  assertEquals(/<script/i.test(html), false);
  assertEquals(html.includes("<img src=x"), false);
  assertEquals(html.includes("<i>desc</i>"), false);
  assertStringIncludes(html, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
  assertStringIncludes(html, "&lt;/td&gt;&lt;script&gt;alert(2)&lt;/script&gt;");
  for (const c of charts) assertEquals(c.warnings, [], c.title);
  assertEquals(readDigest(html)?.experiment, evil);
});

Deno.test("MNIST with dynamic binarization is shown as not comparable, and a run without samples says so", async () => {
  const { html } = await experimentReportHtml("mnist-dynamic", mnistDynamic().map(synthRecord));
  assertStringIncludes(html, 'data-verdict="not-comparable"');
  assertStringIncludes(html, "MNIST with dynamic binarization, not the paper&#39;s fixed binarized MNIST");
  assertStringIncludes(html, "No samples recorded for this arm.");
});

Deno.test("an experiment without runs still renders a page that says so", async () => {
  const { html, charts } = await experimentReportHtml("nothing", []);
  assertStringIncludes(html, "No runs found for this experiment.");
  for (const c of charts) assertEquals(c.warnings, [], c.title);
});

Deno.test("the interactive mode inlines the given scripts safely and embeds every chart's spec", async () => {
  const { html, charts } = await experimentReportHtml(
    "attention-ablation",
    attentionAblation().map(synthRecord),
    {
      interactiveScripts: ['var vegaEmbed = () => Promise.resolve(); var s = "</script>";'],
    },
  );
  assertStringIncludes(html, 'var s = "<\\/script>";');
  assertEquals((html.match(/<script type="application\/json" data-chart=/g) ?? []).length, charts.length);
  assertStringIncludes(html, "editor: false");
  assertEquals(staticReportProblems(html), []);
});

Deno.test("the page embeds a digest with each arm's verdict for the index", () => {
  const d = readDigest(ablation.html)!;
  assertEquals(d.experiment, "attention-ablation");
  assertEquals(d.runs, 5);
  assertEquals(d.arms.map((a) => [a.label, a.kind, a.paper]), [["attention=true", "not-at-budget", 80.97], [
    "attention=false",
    "not-at-budget",
    87.4,
  ]]);
});

Deno.test("each chart's spec in its details block parses back to the spec that was rendered", () => {
  const blocks = [...ablation.html.matchAll(/<pre>([\s\S]*?)<\/pre>/g)].map((m) =>
    m[1].replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(
      /&amp;/g,
      "&",
    )
  );
  const specs = blocks.slice(0, ablation.charts.length).map((b) => JSON.parse(b));
  assertEquals(specs, ablation.charts.map((c) => JSON.parse(JSON.stringify(c.spec))));
});
