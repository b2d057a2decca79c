import { assert, assertEquals } from "@std/assert";
import { staticReportProblems } from "./check.ts";

const BROKEN = new URL("../../tests/fixtures/report/broken.html", import.meta.url);

Deno.test("the static check fails the deliberately broken report on each of its faults", async () => {
  const problems = staticReportProblems(await Deno.readTextFile(BROKEN));
  const has = (s: string) =>
    assert(problems.some((p) => p.includes(s)), `expected "${s}" in:\n${problems.join("\n")}`);
  has('network reference: src="https:');
  has("image 1 does not decode");
  has("chart-1: the SVG contains NaN");
  has("chart-2: no SVG");
});

Deno.test("the static check spots an empty chart, CSS imports and external scripts", () => {
  const empty =
    `<figure class="chart" id="c"><div class="svg-wrap"><svg><g class="mark-line role-mark x"></g></svg></div></figure>`;
  assertEquals(staticReportProblems(empty), ["c: the SVG draws no marks"]);
  assertEquals(staticReportProblems(`<style>@import "x.css";</style>`).length, 1);
  assertEquals(staticReportProblems(`<script src="vega.js"></script>`).length, 1);
  assertEquals(staticReportProblems(`<a href="//cdn.example/x">x</a>`).length, 1);
  assertEquals(
    staticReportProblems(`<svg xmlns="http://www.w3.org/2000/svg"></svg><a href="index.html">i</a>`),
    [],
  );
});
