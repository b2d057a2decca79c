import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import type { TopLevelSpec } from "vega-lite";
import { compactSvgNumbers, prefixSvgIds, renderChartSvg } from "./svg.ts";

const data = { values: [{ x: 1, y: 80.97 }, { x: 2, y: 87.4 }] };

Deno.test("renderChartSvg() records the warning of a misspelt field instead of drawing an empty chart silently", async () => {
  const spec = {
    data,
    mark: "point",
    encoding: { x: { field: "x", type: "quantitative" }, y: { field: "yy", type: "quantitative" } },
  } as TopLevelSpec;
  const { warnings } = await renderChartSvg(spec, "t1");
  assert(warnings.some((w) => w.includes('"yy"')), warnings.join("\n"));
});

Deno.test("renderChartSvg() records Vega-Lite's compile warnings too", async () => {
  const spec = {
    data,
    mark: "point",
    encoding: {
      x: { field: "x", type: "quantitative" },
      y: { field: "y", type: "quantitative" },
      shape: { field: "y", type: "quantitative" },
    },
  } as TopLevelSpec;
  const { warnings } = await renderChartSvg(spec, "t2");
  assert(warnings.length > 0);
});

Deno.test("a correct spec renders with no warnings and its values in the SVG's aria-labels", async () => {
  const spec = {
    data,
    mark: "point",
    encoding: { x: { field: "x", type: "quantitative" }, y: { field: "y", type: "quantitative" } },
  } as TopLevelSpec;
  const { svg, warnings } = await renderChartSvg(spec, "t3");
  assertEquals(warnings, []);
  assertStringIncludes(svg, "y: 80.97");
  assertStringIncludes(svg, "y: 87.4");
});

Deno.test("prefixSvgIds() rewrites ids and every reference to them, and leaves other attributes alone", () => {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg"><defs><clipPath id="clip1"><rect/></clipPath>` +
    `<linearGradient id="gradient_0"/></defs><g clip-path="url(#clip1)" fill="url(#gradient_0)"><use xlink:href="#clip1"/><a href="#x"/></g></svg>`;
  const out = prefixSvgIds(svg, "chart-3");
  assertStringIncludes(out, 'id="chart-3-clip1"');
  assertStringIncludes(out, 'id="chart-3-gradient_0"');
  assertStringIncludes(out, 'clip-path="url(#chart-3-clip1)"');
  assertStringIncludes(out, 'fill="url(#chart-3-gradient_0)"');
  assertStringIncludes(out, 'xlink:href="#chart-3-clip1"');
  assertStringIncludes(out, 'xmlns="http://www.w3.org/2000/svg"');
  assertEquals(/ id="(?!chart-3-)/.test(out), false);
});

Deno.test("compactSvgNumbers() rounds geometry to 0.1 pixel and leaves labels and other attributes exact", () => {
  const svg = `<path aria-label="y: 80.97123" transform="translate(517.3333333333334,60.25222526309802)" ` +
    `d="M-0.04,1.2499999L3,1.96e-7Z" stroke-width="1.25"/><text>0.123456</text>`;
  assertEquals(
    compactSvgNumbers(svg),
    `<path aria-label="y: 80.97123" transform="translate(517.3,60.3)" d="M0,1.2L3,0Z" stroke-width="1.25"/>` +
      `<text>0.123456</text>`,
  );
});
