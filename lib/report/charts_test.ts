import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import {
  attentionAblation,
  mnistDynamic,
  synthRecord,
  timesteps,
} from "../../tests/fixtures/report/synthetic.ts";
import {
  ablationChart,
  csvData,
  curveChart,
  curveData,
  gradientChart,
  gradientGroups,
  groupNorms,
  klChart,
  MAX_MARKED_POINTS,
  MAX_POINTS_PER_LINE,
  nllChart,
  numericFactors,
  variableGroup,
} from "./charts.ts";
import { summarizeArms } from "./summary.ts";
import { renderChartSvg } from "./svg.ts";

const ablation = summarizeArms(attentionAblation().map(synthRecord));
const steps = summarizeArms(timesteps().map(synthRecord));
const mnist = summarizeArms(mnistDynamic().map(synthRecord));

Deno.test("every chart of every fixture experiment compiles and renders with zero Vega or Vega-Lite warnings", async () => {
  let n = 0;
  for (const arms of [ablation, steps, mnist]) {
    const specs = [
      nllChart(arms),
      curveChart(arms, "loss")?.spec,
      curveChart(arms, "lossX")?.spec,
      curveChart(arms, "lossZ")?.spec,
      klChart(arms),
      ...arms.map((a) => gradientChart(a, gradientGroups(arms))),
      ...numericFactors(arms).map((f) => ablationChart(arms, f)),
    ];
    for (const spec of specs) {
      assert(spec, "a fixture chart came out empty");
      const { svg, warnings } = await renderChartSvg(spec, `c${n++}`);
      assertEquals(warnings, [], JSON.stringify(spec).slice(0, 200));
      assert(!svg.includes("NaN"));
    }
  }
  assert(n >= 20);
});

Deno.test("the Table 2 chart's SVG carries the paper's numbers and our bounds exactly", async () => {
  const { svg } = await renderChartSvg(nllChart(ablation), "nll");
  for (const v of ["80.97", "87.4", "84.62", "88.33", "95.59", "103.81", "93.54"]) {
    assertStringIncludes(svg, `: ${v};`);
  }
  assertStringIncludes(svg, "model: ours: attention=true;");
  assertStringIncludes(svg, "source: ours: test bound");
});

Deno.test("the ablation chart plots each completed T and leaves out the failed T=64", async () => {
  assertEquals(numericFactors(steps), ["T"]);
  assertEquals(numericFactors(ablation), []);
  const { svg } = await renderChartSvg(ablationChart(steps, "T")!, "abl");
  for (const v of ["131.4", "112.2", "99.05"]) assertStringIncludes(svg, `: ${v};`);
  assertEquals(svg.includes("T: 64;"), false);
});

Deno.test("training curves are thinned to at most MAX_POINTS_PER_LINE points per line and keep the last step", () => {
  const r = synthRecord({ experiment: "long", cell: {}, seed: 1, finalBound: 90, lines: 20, samples: false });
  r.metrics = Array.from(
    { length: 30_000 },
    (_, i) => ({ ...r.metrics[0], step: (i + 1) * 10, imagesSeen: (i + 1) * 640, loss: 500 - i / 100 }),
  );
  const arms = summarizeArms([r]);
  const train = curveData(arms, "loss").filter((p) => p.split === "train");
  assertEquals(train.length, MAX_POINTS_PER_LINE);
  assertEquals(train.at(-1)?.x, 30_000 * 640);
  assertEquals(train[0].x, 640);
});

Deno.test("curves of several seeds carry a band of ± one standard deviation around their mean", () => {
  const pts = curveData(ablation.slice(0, 1), "loss").filter((p) => p.split === "train");
  assert(pts.every((p) => p.lo <= p.y && p.y <= p.hi));
  assert(pts.some((p) => p.hi - p.lo > 0));
});

Deno.test("variables are grouped by the prefix of their name and the group norm is the root of summed squares", () => {
  assertEquals(variableGroup("enc/lstm/kernel"), "encoder LSTM");
  assertEquals(variableGroup("post/mu/bias"), "posterior μ, log σ");
  assertEquals(variableGroup("init/c0"), "initial canvas and states");
  assertEquals(variableGroup("extra/w"), "extra");
  const stat = (norm: number) => ({ norm, mean: 0, std: 0, maxAbs: 0, fracZero: 0 });
  const g = groupNorms({
    step: 1,
    globalNormBefore: 5,
    globalNormAfter: 5,
    clipped: false,
    vars: { "dec/a": stat(3), "dec/b": stat(4), "write/w": stat(1) },
  });
  assertEquals(g, { "decoder LSTM": 5, "write head": 1 });
});

Deno.test("charts with nothing to draw are null, so the page says so instead of drawing an empty chart", () => {
  const r = synthRecord({ experiment: "empty", cell: {}, seed: 1, finalBound: 90, lines: 3, samples: false });
  r.metrics = [];
  r.gradients = [];
  r.evals = [];
  const arms = summarizeArms([r]);
  assertEquals(curveChart(arms, "loss"), null);
  assertEquals(klChart(arms), null);
  assertEquals(gradientChart(arms[0]), null);
});

Deno.test("validation points are thinned to at most MAX_MARKED_POINTS per line and keep the last evaluation", () => {
  const r = synthRecord({ experiment: "long", cell: {}, seed: 1, finalBound: 90, lines: 20, samples: false });
  r.evals = Array.from(
    { length: 1_000 },
    (_, i) => ({ ...r.evals[0], step: (i + 1) * 10, imagesSeen: (i + 1) * 640 }),
  );
  const valid = curveData(summarizeArms([r]), "loss").filter((p) => p.split === "validation");
  assertEquals(valid.length, MAX_MARKED_POINTS);
  assertEquals(valid.at(-1)?.x, 1_000 * 640);
});

Deno.test("csvData() quotes text with commas and quotes, and Vega reads it back to the same values", async () => {
  const rows = [
    { group: "posterior μ, log σ", step: 10, norm: 4.5 },
    { group: 'say "hi"', step: 20, norm: 0.125 },
  ];
  const data = csvData(rows, ["group", "step", "norm"]);
  assertEquals(data.values, 'group,step,norm\n"posterior μ, log σ",10,4.5\n"say ""hi""",20,0.125');
  assertEquals(data.format, { type: "csv", parse: { step: "number", norm: "number" } });
  const spec = {
    data,
    mark: "point",
    encoding: {
      x: { field: "step", type: "quantitative" },
      y: { field: "norm", type: "quantitative" },
      color: { field: "group", type: "nominal" },
    },
  } as const;
  const { svg, warnings } = await renderChartSvg(spec, "csv");
  assertEquals(warnings, []);
  assertStringIncludes(svg, "step: 10; norm: 4.5; group: posterior μ, log σ");
  assertStringIncludes(svg, "norm: 0.125; group: say &quot;hi&quot;");
});
